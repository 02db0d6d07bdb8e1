"""Admin: machine keys and admin keys."""

from __future__ import annotations

from hubbub.core.models import KeyInfo, NewKey
from hubbub.server.bodies import KeyBody
from hubbub.server.endpoints import Call, Routes

routes = Routes("admin")


@routes.get("/admin/keys", summary="Every key (never the secrets)", auth="admin")
async def list_keys(call: Call) -> list[KeyInfo]:
    return await call.hub.keys.list()


@routes.post(
    "/admin/keys",
    summary="Create a key (shown once)",
    auth="admin",
    status=201,
    errors={409: "The machine's namespace is taken"},
)
async def create_key(call: Call, body: KeyBody) -> NewKey:
    return await call.hub.keys.create(body.kind, body.machine, body.label)


@routes.delete(
    "/admin/keys/{key_id}",
    summary="Revoke a key",
    auth="admin",
    errors={409: "The last admin key"},
)
async def revoke_key(call: Call, key_id: int) -> KeyInfo:
    return await call.hub.keys.revoke(key_id)
