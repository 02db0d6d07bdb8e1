"""The SDK's task methods against a real ``hubbub serve``, each test body run with the sync
``Client`` and with the ``AsyncClient``: the lifecycle, a waiting claim, and refusals raised as
the core's classes with their codes."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import anyio
import pytest

from hubbub.client import AsyncClient
from hubbub.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from hubbub.core.models import Task, TaskPage
from tests.live import LiveHub, running_hub
from tests.realtime import unique
from tests.twins import KINDS, Clients

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]


@pytest.fixture(autouse=True)
def no_outside_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Clients see only what a test gives them: no ``HUBBUB_*`` and no config file."""
    for name in list(os.environ):
        if name.startswith("HUBBUB_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HUBBUB_CONFIG", str(tmp_path / "absent.toml"))


@pytest.fixture(scope="module")
def task_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveHub]:
    """One real hub for this module, machine ``lap``, without rate limits."""
    with running_hub(tmp_path_factory.mktemp("sdk-tasks"), env={"HUBBUB_RATE_LIMIT": "0"}) as hub:
        yield hub


@pytest.fixture(params=KINDS)
async def clients(request: pytest.FixtureRequest) -> AsyncIterator[Clients]:
    made = Clients(request.param)
    try:
        yield made
    finally:
        await made.aclose()


def agent(clients: Clients, hub: LiveHub, prefix: str) -> AsyncClient:
    return clients.open(hub.url, hub.config()["key"], unique(prefix))


async def test_a_task_from_creation_to_completion(clients: Clients, task_hub: LiveHub) -> None:
    boss = agent(clients, task_hub, "lap-boss")
    worker = agent(clients, task_hub, "lap-worker")
    cap = unique("cap").replace("-", "")
    await worker.update_me(capabilities=[cap])
    made = await boss.create_task(
        "index the docs", f"cap:{cap}", body="all of them", priority=3, labels=["docs"]
    )
    assert isinstance(made, Task)
    assert (made.status, made.priority, made.labels) == ("open", 3, ["docs"])
    assert made.created_by == boss.settings.agent
    page = await worker.tasks(target=f"cap:{cap}", available=True)
    assert isinstance(page, TaskPage)
    assert [t.id for t in page.tasks] == [made.id]
    claimed = await worker.claim_next(lease_seconds=60)
    assert claimed is not None
    assert (claimed.id, claimed.holder, claimed.fence) == (made.id, worker.settings.agent, 1)
    fence = claimed.fence
    assert (await worker.renew_task(made.id, fence, lease_seconds=120)).status == "claimed"
    moved = await worker.task_progress(made.id, fence, percent=50, note="halfway")
    assert (moved.progress, moved.progress_note) == (50, "halfway")
    done = await worker.complete_task(made.id, fence, result={"pages": 7}, text="indexed")
    assert (done.status, done.result, done.result_text) == ("done", {"pages": 7}, "indexed")
    assert await boss.task(made.id) == done
    history = await boss.task_events(made.id)
    assert [e.type for e in history] == [
        "task.created",
        "task.claimed",
        "task.renewed",
        "task.progress",
        "task.completed",
    ]
    assert [e.type for e in await boss.task_events(made.id, after=history[2].seq, limit=1)] == [
        "task.progress"
    ]
    assert await worker.claim_next() is None

    again = await boss.create_task("again", f"cap:{cap}", dedupe_key="same")
    twice = await boss.create_task("again", f"cap:{cap}", dedupe_key="same")
    assert (twice.id, twice.occurrences) == (again.id, 2)
    retried = await boss.create_task("once", f"cap:{cap}", idempotency_key="k1")
    assert (await boss.create_task("once", f"cap:{cap}", idempotency_key="k1")).id == retried.id
    fence = (await worker.claim_task(again.id)).fence
    assert (await worker.release_task(again.id, fence)).status == "open"
    fence = (await worker.claim_task(again.id)).fence
    failed = await worker.fail_task(again.id, fence, text="no disk")
    assert (failed.status, failed.result_text) == ("failed", "no disk")
    assert (await boss.cancel_task(retried.id, reason="moot")).status == "cancelled"


async def test_a_waiting_claim_returns_when_a_task_appears(
    clients: Clients, task_hub: LiveHub
) -> None:
    boss = agent(clients, task_hub, "lap-boss")
    worker = agent(clients, task_hub, "lap-worker")
    worker_name = (await worker.whoami()).name
    got: list[Task | None] = []

    async def wait() -> None:
        got.append(await worker.claim_next(wait=30))

    started = anyio.current_time()
    async with anyio.create_task_group() as group:
        group.start_soon(wait)
        made = await boss.create_task("urgent", f"@{worker_name}")
    assert anyio.current_time() - started < 10
    assert got[0] is not None
    assert (got[0].id, got[0].holder) == (made.id, worker_name)


async def test_refusals_are_the_core_classes_with_their_codes(
    clients: Clients, task_hub: LiveHub
) -> None:
    boss = agent(clients, task_hub, "lap-boss")
    worker = agent(clients, task_hub, "lap-worker")
    other = agent(clients, task_hub, "lap-other")
    worker_name = (await worker.whoami()).name
    await other.whoami()
    made = await boss.create_task("mine", f"@{worker_name}")
    fence = (await worker.claim_task(made.id)).fence
    attempts = [
        (Conflict, "not_open", worker.claim_task(made.id)),
        (NotFound, "task_not_found", other.task(made.id)),
        (Conflict, "stale_fence", worker.renew_task(made.id, fence + 1)),
        (Forbidden, "not_creator", worker.cancel_task(made.id)),
        (InvalidInput, "bad_target", boss.create_task("x", "broadcast")),
        (InvalidInput, "bad_lease", worker.claim_next(lease_seconds=0.5)),
    ]
    for cls, code, attempt in attempts:
        with pytest.raises(cls) as caught:
            await attempt
        assert caught.value.code == code, caught.value
    await worker.complete_task(made.id, fence)
    with pytest.raises(Conflict) as late:
        await worker.task_progress(made.id, fence, percent=1)
    assert late.value.code == "not_claimed"
