"""Pair session events on the event stream of a real server, on both engines: its two agents
see every step as it happens, with who did it and why it ended; a third agent sees none."""

from __future__ import annotations

import pytest

from tests.realtime import LiveAgents, unique
from tests.sse import open_stream

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]


async def test_pair_events_reach_its_two_agents_and_no_one_else(realtime: LiveAgents) -> None:
    alpha = await realtime.agent("lap-pairer")
    beta = await realtime.agent("lap-paired")
    gamma = await realtime.agent("lap-outsider")
    async with (
        open_stream(alpha, types="pair") as seen_by_alpha,
        open_stream(beta, types="pair") as seen_by_beta,
        open_stream(gamma, types="pair,agent.updated") as seen_by_gamma,
    ):
        first = await alpha.ok("POST", "/pairs", {"target": f"@{beta.name}", "topic": "live"})
        await beta.ok("POST", f"/pairs/{first['id']}/accept")
        await alpha.say(first["channel"], "a message is no pair event")
        await alpha.ok("POST", f"/pairs/{first['id']}/end")
        second = await beta.ok("POST", "/pairs", {"target": f"@{alpha.name}"})
        await alpha.ok("POST", f"/pairs/{second['id']}/reject")
        third = await alpha.ok("POST", "/pairs", {"target": f"@{beta.name}"})
        await alpha.ok("POST", f"/pairs/{third['id']}/end")
        await gamma.patch("/me", {"label": unique("mark")})

        expected = [
            ("pair.invited", first["id"], alpha.name, None),
            ("pair.accepted", first["id"], beta.name, None),
            ("pair.ended", first["id"], alpha.name, "hung_up"),
            ("pair.invited", second["id"], beta.name, None),
            ("pair.rejected", second["id"], alpha.name, "rejected"),
            ("pair.invited", third["id"], alpha.name, None),
            ("pair.ended", third["id"], alpha.name, "cancelled"),
        ]
        for stream in (seen_by_alpha, seen_by_beta):
            events = await stream.take(2, kind="pair.ended")
            got = [
                (e.type, e.payload["pair"]["id"], e.payload["by"], e.payload["reason"])
                for e in events
            ]
            assert got == expected
            assert events[0].payload["pair"]["topic"] == "live"
            assert events[0].payload["pair"]["channel"] == first["channel"]
        # The outsider's stream carries its own update and not one pair event before it.
        outsider = await seen_by_gamma.until(lambda e: e.payload.get("agent") == gamma.name)
        assert [e.type for e in outsider if e.type.startswith("pair.")] == []
