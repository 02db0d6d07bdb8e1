"""kill -9, again and again: the runner at random moments while it works through DMs and tasks,
and the hub under a running runner. In the end every task is completed exactly once, every DM
answered exactly once, and nothing is left in the inbox. The loops are bounded by count."""

from __future__ import annotations

import os
import random
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import anyio
import httpx
import pytest

from tests.clients import AgentClient, Json
from tests.live import LiveHub, running_hub
from tests.realtime import LiveAgents, eventually, live_agents, unique
from tests.runners import alive, running_runner
from tests.test_kill_loops import restartable
from tests.test_runner import reply_to, settled, task_events

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

KILLS = int(os.environ.get("HUBBUB_TEST_RUNNER_KILLS", "20"))
WITHIN = 90.0
STARTED = re.compile(r"started \(pid (\d+)\)")
UNLIMITED = ("--sender-limit", "0", "--thread-limit", "0")  # the DMs share one conversation


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveHub]:
    home = tmp_path_factory.mktemp("runner-kills")
    with running_hub(home, env={"HUBBUB_RATE_LIMIT": "0"}) as started:
        yield started


@pytest.fixture
async def agents(hub: LiveHub) -> AsyncIterator[LiveAgents]:
    async with live_agents(hub) as found:
        yield found


async def replies(reader: AgentClient, runner: str, dm: int) -> list[Json]:
    """Every reply of ``runner`` to DM ``dm``."""
    later = await reader.messages(f"@{runner}", after=dm, limit=500)
    return [m for m in later if m["reply_to"] == dm and m["author"] == runner]


@pytest.mark.timeout(900)
async def test_killing_the_runner_loses_and_doubles_nothing(
    hub: LiveHub, agents: LiveAgents, tmp_path: Path
) -> None:
    boss = await agents.agent("lap-boss")
    sender = await agents.agent("lap-asker")
    name = unique("lap-run")
    await agents.agent_named(name)  # registered, so work can be sent before its runner starts
    seed = random.randrange(1 << 32)
    chance = random.Random(seed)
    tasks: list[int] = []
    dms: list[int] = []
    orphans: set[str] = set()
    for round_ in range(KILLS):
        made = await boss.ok(
            "POST", "/tasks", {"title": f"job {round_} cue:sleep=0.4", "target": f"@{name}"}
        )
        tasks.append(made["id"])
        sent = await sender.send(f"@{name}", f"dm {round_} cue:sleep=0.2")
        dms.append(sent["messages"][0]["id"])
        with running_runner(hub, tmp_path, name, *UNLIMITED) as runner:
            await anyio.sleep(chance.uniform(0.05, 2.0))  # a random moment to kill it at
            runner.kill()
            orphans.update(STARTED.findall("\n".join(runner.seen())))
    with running_runner(hub, tmp_path, name, *UNLIMITED):
        me = await agents.agent_named(name)

        async def all_done() -> bool | None:
            found = [await boss.ok("GET", f"/tasks/{t}") for t in tasks]
            return True if all(t["status"] == "done" for t in found) else None

        await eventually(all_done, WITHIN)
        for dm in dms:
            await eventually(reply_to(sender, f"@{name}", dm), WITHIN)
        await eventually(settled(me), WITHIN)

    def standin(pid: str) -> bool:
        """Still alive, and still the stand-in (not a process that got its number since)."""
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return False
        return alive(int(pid)) and b"standin_harness" in command

    async def reaped() -> bool | None:
        return None if any(standin(pid) for pid in orphans) else True

    await eventually(reaped, WITHIN)  # a killed runner's harness dies with it
    for task_id in tasks:
        history = await task_events(boss, task_id)
        assert history.count("task.completed") == 1, (seed, task_id, history)
        assert "task.failed" not in history, (seed, task_id, history)
        task = await boss.ok("GET", f"/tasks/{task_id}")
        assert task["result_text"].startswith("stand-in: Title: job"), (seed, task)
    for dm in dms:
        found = await replies(sender, name, dm)
        assert len(found) == 1, (seed, dm, found)
        assert found[0]["content"].startswith("stand-in: dm "), (seed, found)
    print(
        f"\n{KILLS} kills of the runner (seed {seed}): {len(tasks)} tasks, {len(dms)} DMs, "
        f"{len(orphans)} harness runs started by runners that were killed"
    )


@pytest.mark.timeout(300)
async def test_a_hub_killed_under_a_runner_loses_no_answer(tmp_path: Path) -> None:
    # No kept-alive connections: a killed hub leaves none behind to fail on.
    limits = httpx.Limits(max_keepalive_connections=0)
    with restartable(tmp_path / "hub") as server:
        async with httpx.AsyncClient(base_url=server.hub.url, timeout=30, limits=limits) as http:
            agents = LiveAgents(server.hub, http)
            sender = await agents.agent("lap-asker")
            name = unique("lap-run")
            with running_runner(server.hub, tmp_path / "runner", name) as runner:
                first = (await sender.send(f"@{name}", "cue:sleep=2 during"))["messages"][0]
                runner.until("started (pid", WITHIN)
                await anyio.to_thread.run_sync(server.kill_and_restart)
                reply = await eventually(reply_to(sender, f"@{name}", first["id"]), WITHIN)
                # The stream resumes by itself: a DM after the restart is answered too.
                second = (await sender.send(f"@{name}", "after"))["messages"][0]
                again = await eventually(reply_to(sender, f"@{name}", second["id"]), WITHIN)
                await eventually(settled(await agents.agent_named(name)), WITHIN)
            assert reply["content"] == "stand-in: cue:sleep=2 during"
            assert again["content"] == "stand-in: after"
            assert len(await replies(sender, name, first["id"])) == 1
