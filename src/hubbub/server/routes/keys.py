"""Admin: machine keys and admin keys."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from hubbub.core.models import KeyInfo, NewKey
from hubbub.server.auth import Admin, HubDep
from hubbub.server.bodies import KeyBody
from hubbub.server.responses import ok, ok_list

router = APIRouter(prefix="/admin", tags=["admin"])


@router.get("/keys", response_model=list[KeyInfo], summary="Every key (never the secrets)")
async def list_keys(_: Admin, hub: HubDep) -> Response:
    return ok_list(await hub.keys.list(), KeyInfo)


@router.post("/keys", response_model=NewKey, status_code=201, summary="Create a key")
async def create_key(body: KeyBody, _: Admin, hub: HubDep) -> Response:
    return ok(await hub.keys.create(body.kind, body.machine, body.label), 201)


@router.delete("/keys/{key_id}", response_model=KeyInfo, summary="Revoke a key")
async def revoke_key(key_id: int, _: Admin, hub: HubDep) -> Response:
    return ok(await hub.keys.revoke(key_id))
