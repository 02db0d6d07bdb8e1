"""A2A test helpers: an a2a-sdk client for a hub agent's card, integration tokens with the
``a2a`` scope, and the messages and reads a test sends and checks."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from a2a.client import Client, ClientConfig, create_client
from a2a.types import Message, Part, Role, SendMessageRequest, StreamResponse, Task

from tests.clients import API, InProcessHub, Json

TOKEN_SCOPES = ["a2a"]


async def a2a_token(
    hub: InProcessHub,
    name: str = "partner",
    *,
    scopes: list[str] | None = None,
    targets: list[str] | None = None,
) -> str:
    """A new integration's token (by default with the ``a2a`` scope, to every ``lap-`` agent)."""
    body = {
        "name": name,
        "scopes": TOKEN_SCOPES if scopes is None else scopes,
        "targets": ["@lap-*"] if targets is None else targets,
        "rate_limit": 1000,
        "rate_burst": 1000,
    }
    response = await hub.http.post(
        f"{API}/admin/integrations", json=body, headers=hub.admin_headers
    )
    assert response.status_code == 201, response.text
    token: str = response.json()["token"]
    return token


def http_for(hub: InProcessHub, token: str | None, **headers: str) -> httpx.AsyncClient:
    """An HTTP client into the hub app, sending ``token`` as the bearer credential."""
    sent = dict(headers)
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    transport = httpx.ASGITransport(app=hub.app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://hub", headers=sent, timeout=60)


@asynccontextmanager
async def a2a_client(
    hub: InProcessHub,
    token: str | None,
    agent: str,
    *,
    streaming: bool = False,
    polling: bool = False,
    binding: str = "JSONRPC",
    headers: dict[str, str] | None = None,
) -> AsyncIterator[Client]:
    """An a2a-sdk client made from ``agent``'s card, as the SDK's factory makes one."""
    async with http_for(hub, token, **(headers or {})) as http:
        config = ClientConfig(
            streaming=streaming,
            polling=polling,
            httpx_client=http,
            supported_protocol_bindings=[binding],
        )
        client = await create_client(f"http://hub/a2a/{agent}", client_config=config)
        try:
            yield client
        finally:
            await client.close()


def request(
    text: str,
    *,
    context_id: str = "",
    task_id: str = "",
    message_id: str | None = None,
    **metadata: Any,
) -> SendMessageRequest:
    """A SendMessage request of one text part (``metadata`` on the message)."""
    message = Message(
        message_id=message_id or uuid.uuid4().hex,
        role=Role.ROLE_USER,
        parts=[Part(text=text)],
        context_id=context_id,
        task_id=task_id,
    )
    if metadata:
        message.metadata.update(metadata)
    return SendMessageRequest(message=message)


async def send(client: Client, sent: SendMessageRequest) -> list[StreamResponse]:
    """Every answer of a send (one task without streaming, the stream's events with it)."""
    return [answer async for answer in client.send_message(sent)]


def task_of(answers: list[StreamResponse]) -> Task:
    """The task a non-streaming send answered with."""
    assert len(answers) == 1, answers
    assert answers[0].HasField("task"), answers
    return answers[0].task


def text(task_or_message: Any) -> str:
    """The text parts of a message or artifact, joined."""
    return "\n".join(p.text for p in task_or_message.parts if p.WhichOneof("content") == "text")


async def dm_messages(hub: InProcessHub, agent_headers: dict[str, str], dm: str) -> list[Json]:
    """The messages of a DM as one of its members reads them over REST."""
    response = await hub.http.get(f"{API}/channels/{dm}/messages", headers=agent_headers)
    assert response.status_code == 200, response.text
    found: list[Json] = response.json()["messages"]
    return found
