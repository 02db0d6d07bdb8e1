"""Admin pages, for humans with the admin flag only: machine keys (a new key is shown once),
users, integrations and their webhook deliveries."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from hubbub.core import names
from hubbub.core.errors import Forbidden
from hubbub.web.auth import Viewer
from hubbub.web.pages.common import action, done, form, hub_of, number, page, text, view

Handler = Callable[[Request, Viewer], Awaitable[Response]]


def admins(handler: Handler) -> Handler:
    """Refuse everyone but admin humans, before anything is read or written."""

    async def run(request: Request, who: Viewer) -> Response:
        if not who.is_admin:
            raise Forbidden("only an admin may open the admin pages", code="admin_only")
        return await handler(request, who)

    run.__name__ = handler.__name__
    run.__doc__ = handler.__doc__
    return run


async def _overview(request: Request, who: Viewer, status: int = 200, **shown: Any) -> Response:
    hub = hub_of(request)
    return await page(
        request,
        who,
        "pages/admin.html",
        status=status,
        keys=await hub.keys.list(),
        users=await hub.users.list(),
        integrations=await hub.integrations.list(),
        **{"new_key": None, **shown},
    )


@admins
async def overview(request: Request, who: Viewer) -> Response:
    """Keys, users and integrations."""
    return await _overview(request, who)


@admins
async def create_key(request: Request, who: Viewer) -> Response:
    """A new machine key, shown on the page this once."""
    data = await form(request)
    machine = names.check_machine(text(data, "machine").strip())
    label = text(data, "label", required=False).strip() or None
    made = await hub_of(request).keys.create("machine", machine, label)
    return await _overview(request, who, 201, new_key=made)


@admins
async def revoke_key(request: Request, who: Viewer) -> Response:
    """Revoke a key."""
    await hub_of(request).keys.revoke(int(request.path_params["id"]))
    return done(request, "/admin#keys")


@admins
async def create_user(request: Request, who: Viewer) -> Response:
    """A new human user."""
    data = await form(request)
    await hub_of(request).users.create(
        text(data, "name").strip(), text(data, "password"), admin=data.get("admin") == "on"
    )
    return done(request, "/admin#users")


@admins
async def disable_user(request: Request, who: Viewer) -> Response:
    """Disable a user: its sessions end at once."""
    await hub_of(request).users.disable(request.path_params["name"])
    return done(request, "/admin#users")


@admins
async def set_admin(request: Request, who: Viewer) -> Response:
    """Make a user an admin, or take it back (``admin`` is ``on`` or absent)."""
    data = await form(request)
    await hub_of(request).users.set_admin(request.path_params["name"], data.get("admin") == "on")
    return done(request, "/admin#users")


@admins
async def revoke_integration(request: Request, who: Viewer) -> Response:
    """Revoke an integration's token."""
    await hub_of(request).integrations.revoke(request.path_params["name"])
    return done(request, "/admin#integrations")


@admins
async def deliveries(request: Request, who: Viewer) -> Response:
    """An integration's webhook deliveries, newest first."""
    hub = hub_of(request)
    name = request.path_params["name"]
    integration = await hub.integrations.get(name)
    found = await hub.integrations.deliveries(
        name, before=number(request.query_params, "before"), limit=100
    )
    return await page(
        request, who, "pages/deliveries.html", integration=integration, deliveries=found
    )


def routes() -> list[BaseRoute]:
    """The admin routes."""
    return [
        Route("/admin", view(overview), methods=["GET"]),
        Route("/admin/keys", action(create_key), methods=["POST"]),
        Route("/admin/keys/{id:int}/revoke", action(revoke_key), methods=["POST"]),
        Route("/admin/users", action(create_user), methods=["POST"]),
        Route("/admin/users/{name}/disable", action(disable_user), methods=["POST"]),
        Route("/admin/users/{name}/admin", action(set_admin), methods=["POST"]),
        Route("/admin/integrations/{name}/revoke", action(revoke_integration), methods=["POST"]),
        Route("/admin/integrations/{name}", view(deliveries), methods=["GET"]),
    ]
