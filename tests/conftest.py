"""Shared fixtures: the anyio backend, in-process hubs on a real database (a SQLite file, and
a PostgreSQL database of a throwaway server: each test of a hub runs on both), and real
``hubbub serve`` processes for the end-to-end tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from hubbub.server import create_app
from hubbub.settings import Settings
from hubbub.store import is_postgres
from tests.clients import AgentClient, HubFactory, InProcessHub
from tests.live import LiveHub, running_hub
from tests.postgres import Cluster, session_cluster
from tests.realtime import LiveAgents, live_agents


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
"""Every test of a hub runs on both engines; ``-m "not postgres"`` runs SQLite alone."""


@pytest.fixture(scope="session")
def postgres() -> Iterator[Cluster]:
    """A throwaway PostgreSQL server for the session, with a migrated template database."""
    with session_cluster() as cluster:
        yield cluster


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The storage engine under test: ``sqlite`` or ``postgres``."""
    return str(request.param)


@pytest.fixture
def new_database(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[[], str]]:
    """Make a fresh, empty database for ``backend`` (a file path, or a PostgreSQL URL),
    deleted after the test."""
    counter = iter(range(1_000_000))
    if backend == "sqlite":
        yield lambda: str(tmp_path / f"hub{next(counter)}.db")
        return
    cluster: Cluster = request.getfixturevalue("postgres")
    made: list[str] = []

    def make() -> str:
        made.append(cluster.new_database())
        return cluster.url(made[-1])

    yield make
    for name in made:
        cluster.drop_database(name)


@pytest.fixture
def hub_factory(tmp_path: Path, new_database: Callable[[], str]) -> HubFactory:
    """Start an in-process hub with some settings changed; each gets its own database."""

    @asynccontextmanager
    async def start(**settings: Any) -> AsyncIterator[InProcessHub]:
        db = new_database()
        app = create_app(Settings(db=db, provision=False, **settings))
        async with app.router.lifespan_context(app):
            admin = await app.state.hub.keys.create("admin", None, None)
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://hub") as http:
                pg = is_postgres(db)
                path = tmp_path / "unused.db" if pg else Path(db)
                yield InProcessHub(app, http, path, admin.key, db_url=db if pg else None)

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


@pytest.fixture(scope="session", params=BACKENDS)
def realtime_hub(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[LiveHub]:
    """A real hub for the event-stream tests, with rate limiting off so bursts always land;
    one on each engine."""
    home = tmp_path_factory.mktemp("realtime")
    db = None
    if request.param == "postgres":
        cluster: Cluster = request.getfixturevalue("postgres")
        db = cluster.url(cluster.new_database())
    with running_hub(home, db=db, env={"HUBBUB_RATE_LIMIT": "0"}) as started:
        yield started


@pytest.fixture
async def realtime(realtime_hub: LiveHub) -> AsyncIterator[LiveAgents]:
    """Agents of ``realtime_hub``, over one HTTP client per test."""
    async with live_agents(realtime_hub) as agents:
        yield agents
