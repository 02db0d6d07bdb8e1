"""The live stream of the dashboard: fragments in order, and a page that loses its hub
reconnects and catches up with no gap and no duplicate."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser import chromium, context, dashboard_hub, page

__all__ = ["chromium", "context", "page"]  # fixtures

pytestmark = pytest.mark.e2e


def shown_ids(page: Page) -> list[int]:
    """The ids of the messages in the open channel, in page order."""
    ids: list[str] = page.eval_on_selector_all(
        "#messages .msg", "els => els.map(e => e.dataset.id)"
    )
    return [int(i) for i in ids]


def test_reconnects_after_a_restart_with_no_gap_and_no_duplicate(
    tmp_path: Path, page: Page
) -> None:
    home = tmp_path / "hub"
    with dashboard_hub(home) as first:
        agent = first.agent("steady")
        first.user("ann")
        before = [first.post(agent, "general", f"before {n}")["id"] for n in range(3)]
        page.goto(first.link("ann"))
        page.goto(first.url + "/c/general")
        expect(page.locator("#live-state")).to_have_text("live")
        during = [first.post(agent, "general", f"live {n}")["id"] for n in range(3)]
        expect(page.locator(f"#m{during[-1]}")).to_be_visible()
        port = first.port
    expect(page.locator("#live-state")).to_have_text("reconnecting…")
    with dashboard_hub(home, port) as second:
        # posted before the page has found the hub again: the resume must bring them
        after = [second.post(agent, "general", f"after {n}")["id"] for n in range(5)]
        expect(page.locator(f"#m{after[-1]}")).to_be_visible(timeout=30_000)
        expect(page.locator("#live-state")).to_have_text("live")
        more = second.post(agent, "general", "and one more")["id"]
        expect(page.locator(f"#m{more}")).to_be_visible()
        assert shown_ids(page) == [*before, *during, *after, more]


def test_live_route_needs_a_session_and_resumes_from_last_event_id(tmp_path: Path) -> None:
    with dashboard_hub(tmp_path / "hub") as dash:
        refused = httpx.get(dash.url + "/live", timeout=10)
        assert refused.status_code == 401
        assert refused.headers["content-type"].startswith("application/problem+json")
        agent = dash.agent("source")
        dash.user("ann")
        ids = [dash.post(agent, "general", f"m{n}")["id"] for n in range(4)]
        client = httpx.Client(base_url=dash.url, timeout=10)
        signed = client.get(dash.link("ann").removeprefix(dash.url))
        assert signed.status_code in (200, 303)
        client.post(
            "/c/general/join",
            headers={"X-Requested-With": "fetch", "X-CSRF-Token": csrf(client)},
        )
        seen: list[tuple[int, str]] = []
        # resume after the second message: exactly the later posts, each once, in order
        resume = str(ids[1])
        with client.stream(
            "GET", "/live?channel=general", headers={"Last-Event-ID": resume}
        ) as stream:
            event_id, name = 0, ""
            for line in stream.iter_lines():
                if line.startswith("id: "):
                    event_id = int(line[4:])
                elif line.startswith("event: "):
                    name = line[7:]
                elif line == "" and name:
                    seen.append((event_id, name))
                    if name == "message.posted" and event_id > ids[-1]:
                        break
                    if event_id >= max(ids) and name == "message.posted":
                        dash.post(agent, "general", "the next one")
        posted = [i for i, n in seen if n == "message.posted"]
        assert [i for i, _ in seen] == sorted({i for i, _ in seen})  # no duplicate, in order
        assert all(i > int(resume) for i, _ in seen)
        assert len(posted) == 3  # m2, m3 and the next one
        client.close()


def csrf(client: httpx.Client) -> str:
    """The CSRF token the signed-in pages carry."""
    html = client.get("/agents").text
    start = html.index('name="csrf-token" content="') + len('name="csrf-token" content="')
    return html[start : html.index('"', start)]
