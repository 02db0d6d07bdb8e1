"""The dashboard under load, on fresh ``hubbub serve`` processes (rate limiting off):

- **Posts with dashboards open**: wrk's post run at the highest client count with 0, 1 and
  ``DASHBOARDS`` dashboards open, each a real subscriber of the page's live route
  (``GET /live?channel=general`` on its own session cookie) taking every fragment. The
  ratio to the run with none is what an open web UI costs the hub.
- **Post → fragment**: one open dashboard, tagged posts a fixed interval apart; from just
  before a post's request goes out to the read in which its rendered fragment reaches the
  dashboard (the same clock and subscriber process as the API stream's latency).
- **Channel page**: the server's answer to ``GET /c/general`` (the page with its latest 50
  messages, sidebar and all) next to ``GET /api/v1/channels/general/messages?limit=50``, the
  same read through the REST API, from one keep-alive client each.

Sessions come the way a person's does: an admin creates a user and a one-time link, and the
link's answer sets the cookie.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from itertools import count
from pathlib import Path

import httpx

from bench import load, posts, processes, reads
from bench.config import BenchConfig, scratch
from bench.progress import say
from bench.rawhttp import Poster
from bench.realtime import DeliveryLatency, barrier, drained, timed
from bench.subscribers import dashboards

DASHBOARDS = (0, 1, 10)
LIVE = "/live?channel=general"
PAGE = "/c/general"
COOKIE = "hubbub_session"
SEEDED = 200
"""Messages in the channel before its page is timed (the page shows the latest 50)."""


@dataclass(frozen=True, slots=True)
class DashboardLoad:
    """One wrk post run with ``dashboards`` live streams open."""

    dashboards: int
    posts: posts.PostRun
    expected: int
    """Messages posted while the dashboards were open: each should take every one."""
    delivered: list[int]
    """``message.posted`` fragments each dashboard took."""
    resyncs: int


@dataclass(frozen=True, slots=True)
class DashboardResults:
    load: list[DashboardLoad]
    latency: DeliveryLatency
    page: reads.Latency
    rest: reads.Latency

    def ratio(self, run: DashboardLoad) -> float:
        """Posts/s with ``run``'s dashboards open ÷ posts/s with none."""
        return run.posts.wrk.rate / self.load[0].posts.wrk.rate


def sessions(hub: processes.HubServer, count: int) -> list[str]:
    """``count`` signed-in people: the ``Cookie`` header of each one's session."""
    if hub.admin_key is None:
        raise RuntimeError("the hub's first start wrote no admin key")
    admin = {"Authorization": f"Bearer {hub.admin_key}"}
    cookies: list[str] = []
    with httpx.Client(base_url=hub.url, timeout=30) as client:
        for i in range(count):
            name = f"viewer-{i:02d}"
            body = {"name": name, "password": secrets.token_urlsafe(16)}
            client.post("/api/v1/admin/users", json=body, headers=admin).raise_for_status()
            made = client.post(f"/api/v1/admin/users/{name}/login-link", headers=admin)
            made.raise_for_status()
            answer = client.get(made.json()["path"])
            if COOKIE not in answer.cookies:
                raise RuntimeError(f"the login link set no session: {answer.status_code}")
            cookies.append(f"{COOKIE}={answer.cookies[COOKIE]}")
            client.cookies.clear()
    return cookies


def loaded(cfg: BenchConfig, workdir: Path, count_open: int) -> DashboardLoad:
    """wrk's post run with ``count_open`` dashboards following the posted channel."""
    db = workdir / "hub.db"
    clients = max(cfg.clients)
    with processes.hub(workdir, db) as hub:
        warm = acked = load.warm_up(hub.url, hub.headers, cfg.warmup)
        delivered: list[int] = []
        resyncs = 0
        if count_open:
            log = workdir / "dashboards.log"
            with dashboards(hub.url, LIVE, sessions(hub, count_open), log) as open_pages:
                with Poster(hub.url, hub.headers) as poster:
                    barrier(poster, open_pages, count(1))
                acked += 1
                say(f"dashboard: wrk, {clients} connections, {count_open} dashboards open")
                run = load.wrk(cfg, hub.url, clients, hub.headers, hub.server.pid)
                drained(open_pages)
                final = open_pages.stop()
                delivered, resyncs = final["events"], int(final["resyncs"])
        else:
            say(f"dashboard: wrk, {clients} connections, no dashboard open")
            run = load.wrk(cfg, hub.url, clients, hub.headers, hub.server.pid)
    rows = posts.count_messages(db)
    run_posts = posts.PostRun("FULL", run, acked + run.acked, rows)
    return DashboardLoad(count_open, run_posts, rows - warm, delivered, resyncs)


def fragment_latency(cfg: BenchConfig, workdir: Path) -> DeliveryLatency:
    """Post (sent) → its fragment read by one open dashboard."""
    with processes.hub(workdir, workdir / "hub.db") as hub:
        load.warm_up(hub.url, hub.headers, cfg.warmup)
        log = workdir / "dashboards.log"
        with dashboards(hub.url, LIVE, sessions(hub, 1), log) as open_page:
            return timed(cfg, hub, open_page, "dashboard")


def page_times(cfg: BenchConfig, workdir: Path) -> tuple[reads.Latency, reads.Latency]:
    """The channel page and the same 50 messages through the REST API."""
    with processes.hub(workdir, workdir / "hub.db") as hub:
        with httpx.Client(base_url=hub.url, headers=hub.headers, timeout=30) as api:
            for i in range(SEEDED):
                api.post(
                    "/api/v1/channels/general/messages",
                    json={
                        "content": f"message **{i}** with `code` and a [link](https://example.org/{i})"
                    },
                ).raise_for_status()
            say(f"dashboard: timing the channel page and its REST read, {cfg.samples} each")
            rest = reads._sample(
                api, [f"{reads.MESSAGES}?limit=50"], cfg.samples, reads._page_of(50), cfg.warmup
            )
        [cookie] = sessions(hub, 1)
        with httpx.Client(base_url=hub.url, headers={"Cookie": cookie}, timeout=30) as browser:
            page = reads._sample(browser, [PAGE], cfg.samples, _html, cfg.warmup)
    return (
        reads.summarize("channel page", page, "GET /c/general, latest 50"),
        reads.summarize("REST read", rest, "GET …/messages?limit=50"),
    )


def _html(response: httpx.Response) -> None:
    response.raise_for_status()
    if "text/html" not in response.headers.get("content-type", ""):
        raise RuntimeError(f"the channel page answered {response.headers.get('content-type')}")


def measure(cfg: BenchConfig, workdir: Path) -> DashboardResults:
    found = [loaded(cfg, workdir / f"load-{n}", n) for n in DASHBOARDS]
    latency = fragment_latency(cfg, workdir / "latency")
    page, rest = page_times(cfg, workdir / "page")
    return DashboardResults(found, latency, page, rest)


def main() -> int:
    """``python -m bench.dashboard``: only these measurements, printed as in a full run."""
    import sys

    from rich.console import Console

    from bench.report import print_dashboard_tables

    cfg = BenchConfig.from_env()
    with scratch("hubbub-bench-dashboard-") as tmp:
        results = measure(cfg, tmp)
    print_dashboard_tables(results, Console(width=132))
    lost = sum(run.posts.lost for run in results.load)
    if lost:
        print(f"FAILED: {lost} acknowledged posts are missing", file=sys.stderr)
    return 1 if lost else 0


if __name__ == "__main__":
    raise SystemExit(main())
