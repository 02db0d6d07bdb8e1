"""Shared fixtures: the anyio backend, in-process hubs on a real SQLite file, and one real
``hubbub serve`` process for the end-to-end tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from hubbub.server import create_app
from hubbub.settings import Settings
from tests.clients import AgentClient, HubFactory, InProcessHub
from tests.live import LiveHub, running_hub
from tests.realtime import LiveAgents, live_agents


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def hub_factory(tmp_path: Path) -> HubFactory:
    """Start an in-process hub with some settings changed; each gets its own database."""
    counter = iter(range(1_000_000))

    @asynccontextmanager
    async def start(**settings: Any) -> AsyncIterator[InProcessHub]:
        db_path = tmp_path / f"hub{next(counter)}.db"
        app = create_app(Settings(db=str(db_path), provision=False, **settings))
        async with app.router.lifespan_context(app):
            admin = await app.state.hub.keys.create("admin", None, None)
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://hub") as http:
                yield InProcessHub(app, http, db_path, admin.key)

    return start


@pytest.fixture
async def hub(hub_factory: HubFactory) -> AsyncIterator[InProcessHub]:
    """An in-process hub with default settings."""
    async with hub_factory() as started:
        yield started


@pytest.fixture
async def alpha(hub: InProcessHub) -> AgentClient:
    """``lap-alpha`` on machine ``lap``."""
    return await hub.agent("lap-alpha")


@pytest.fixture
async def beta(hub: InProcessHub) -> AgentClient:
    """``lap-beta`` on machine ``lap``."""
    return await hub.agent("lap-beta")


@pytest.fixture
async def gamma(hub: InProcessHub) -> AgentClient:
    """``srv-gamma`` on another machine, ``srv``."""
    return await hub.agent("srv-gamma")


@pytest.fixture(scope="session")
def live_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveHub]:
    """One real ``hubbub serve`` for the session, provisioned on first start (machine ``lap``)."""
    with running_hub(tmp_path_factory.mktemp("live")) as started:
        yield started


@pytest.fixture(scope="session")
def realtime_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveHub]:
    """A real hub for the event-stream tests, with rate limiting off so bursts always land."""
    home = tmp_path_factory.mktemp("realtime")
    with running_hub(home, env={"HUBBUB_RATE_LIMIT": "0"}) as started:
        yield started


@pytest.fixture
async def realtime(realtime_hub: LiveHub) -> AsyncIterator[LiveAgents]:
    """Agents of ``realtime_hub``, over one HTTP client per test."""
    async with live_agents(realtime_hub) as agents:
        yield agents
