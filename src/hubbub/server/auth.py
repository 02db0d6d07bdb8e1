"""Who is calling: the bearer key, the acting agent, the admin check."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from hubbub.core.errors import Forbidden, InvalidInput, Unauthorized
from hubbub.core.hub import Hub
from hubbub.core.keys import Credential
from hubbub.core.models import Agent
from hubbub.core.ratelimit import RateLimiter

AGENT_HEADER = "X-Hubbub-Agent"

_bearer = HTTPBearer(auto_error=False, description="A machine key or the admin key (hb_…).")
_agent_header = APIKeyHeader(
    name=AGENT_HEADER,
    auto_error=False,
    description="The agent to act as, `{machine}-{project}`; registered on first use.",
)


def hub_of(request: Request) -> Hub:
    """The hub serving this request."""
    hub: Hub = request.app.state.hub
    return hub


async def credential(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Credential:
    """The verified credential of the request, rate-limited per key."""
    if bearer is None:
        raise Unauthorized(
            "send 'Authorization: Bearer <key>' (hubbub keys create, or the local config)",
            code="unauthorized",
        )
    found = await hub_of(request).keys.verify(bearer.credentials)
    if not found.is_admin:
        limiter: RateLimiter = request.app.state.limiter
        limiter.take(found.key_id)
    return found


async def actor(
    request: Request,
    cred: Annotated[Credential, Depends(credential)],
    name: Annotated[str | None, Depends(_agent_header)],
) -> Agent:
    """The agent this request acts as."""
    if not name:
        raise InvalidInput(
            f"say which agent you are with an {AGENT_HEADER} header ({{machine}}-{{project}})",
            code="agent_required",
        )
    return await hub_of(request).agents.act_as(cred, name.strip())


async def admin(cred: Annotated[Credential, Depends(credential)]) -> Credential:
    """The admin credential, or 403."""
    if not cred.is_admin:
        raise Forbidden("this needs the admin key", code="admin_only")
    return cred


HubDep = Annotated[Hub, Depends(hub_of)]
Actor = Annotated[Agent, Depends(actor)]
AnyCredential = Annotated[Credential, Depends(credential)]
Admin = Annotated[Credential, Depends(admin)]
