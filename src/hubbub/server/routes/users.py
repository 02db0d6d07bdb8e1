"""Admin: human user accounts."""

from __future__ import annotations

from hubbub.core.models import LoginLink, User
from hubbub.server.bodies import AdminFlagBody, AgentName, PasswordBody, UserBody
from hubbub.server.endpoints import Call, Routes

routes = Routes("admin")


@routes.get("/admin/users", summary="Every user (never the password hashes)", auth="admin")
async def list_users(call: Call) -> list[User]:
    return await call.hub.users.list()


@routes.post(
    "/admin/users",
    summary="Create a user",
    auth="admin",
    status=201,
    errors={409: "An agent has that name"},
)
async def create_user(call: Call, body: UserBody) -> User:
    return await call.hub.users.create(body.name, body.password, admin=body.admin)


@routes.put("/admin/users/{name}/password", summary="Set a user's password", auth="admin")
async def set_password(call: Call, name: AgentName, body: PasswordBody) -> User:
    return await call.hub.users.set_password(name, body.password)


@routes.post(
    "/admin/users/{name}/disable",
    summary="Disable a user (its dashboard sessions end)",
    auth="admin",
    errors={409: "The user is the last admin credential"},
)
async def disable_user(call: Call, name: AgentName) -> User:
    return await call.hub.users.disable(name)


@routes.put(
    "/admin/users/{name}/admin",
    summary="Make a user an admin, or take it back",
    auth="admin",
    errors={409: "The user is the last admin credential"},
)
async def set_user_admin(call: Call, name: AgentName, body: AdminFlagBody) -> User:
    return await call.hub.users.set_admin(name, body.admin)


@routes.post(
    "/admin/users/{name}/login-link",
    summary="A one-time dashboard login link for a user (valid 10 minutes, usable once)",
    auth="admin",
    status=201,
    errors={409: "The user is disabled"},
)
async def create_login_link(call: Call, name: AgentName) -> LoginLink:
    return await call.hub.sessions.link(name)
