"""REST routes, one module per concept, all under /api/v1."""

from fastapi import APIRouter

from hubbub.server.routes import agents, channels, health, inbox, keys, messages, search

api = APIRouter(prefix="/api/v1")
for module in (health, agents, channels, messages, inbox, search, keys):
    api.include_router(module.router)

__all__ = ["api"]
