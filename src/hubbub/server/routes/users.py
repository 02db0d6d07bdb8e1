"""Admin: human user accounts."""

from __future__ import annotations

from hubbub.core.models import User
from hubbub.server.bodies import AgentName, PasswordBody, UserBody
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
    return await call.hub.users.create(body.name, body.password)


@routes.put("/admin/users/{name}/password", summary="Set a user's password", auth="admin")
async def set_password(call: Call, name: AgentName, body: PasswordBody) -> User:
    return await call.hub.users.set_password(name, body.password)


@routes.post("/admin/users/{name}/disable", summary="Disable a user", auth="admin")
async def disable_user(call: Call, name: AgentName) -> User:
    return await call.hub.users.disable(name)
