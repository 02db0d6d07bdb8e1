"""Dashboard tests in a real browser: a real ``hubbub serve`` and Debian's Chromium driven by
Playwright (headless). One hub per test module; each test gets a fresh page."""

from __future__ import annotations

import os
import re
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Dialog,
    Error,
    Page,
    Playwright,
    sync_playwright,
)

from tests.live import LiveHub, running_hub

CHROMIUM = Path("/usr/bin/chromium")
ARTEFACTS = Path(__file__).parent.parent / "build" / "test-artefacts" / "dashboard"
WAIT_MS = 15_000  # how long a condition may take to show in the page (generous, never asserted)
PASSWORD = "correct horse battery staple"
API = "/api/v1"


def free_port() -> int:
    """A loopback port free now, so a restarted hub can come back on the same address."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Dash:
    """A running hub and what the tests need to act on it: keys, users, agents."""

    hub: LiveHub
    home: Path
    port: int
    admin_key: str
    machine_key: str
    machine: str
    registered: set[str] = field(default_factory=set)

    @property
    def url(self) -> str:
        """The hub's address."""
        return self.hub.url

    def api(
        self, method: str, path: str, *, agent: str | None = None, admin: bool = False, **kw: Any
    ) -> httpx.Response:
        """A REST call as ``agent`` (with this machine's key) or with the admin key."""
        headers = {"Authorization": f"Bearer {self.admin_key if admin else self.machine_key}"}
        if agent is not None:
            headers["X-Hubbub-Agent"] = agent
        return httpx.request(method, self.url + API + path, headers=headers, timeout=15, **kw)

    def agent(self, project: str) -> str:
        """An agent of this hub's machine, registered (by a first request) on first use."""
        name = f"{self.machine}-{project}"
        if name not in self.registered:
            assert self.api("GET", "/me", agent=name).status_code == 200
            self.registered.add(name)
        return name

    def post(self, agent: str, channel: str, content: str, **body: Any) -> dict[str, Any]:
        """``agent`` posts in ``channel`` through the REST API."""
        done = self.api(
            "POST", f"/channels/{channel}/messages", agent=agent, json={"content": content, **body}
        )
        assert done.status_code in (200, 201), done.text
        result: dict[str, Any] = done.json()
        return result

    def user(self, name: str, *, admin: bool = False) -> str:
        """A human user with :data:`PASSWORD` (created on first use)."""
        made = self.api(
            "POST",
            "/admin/users",
            admin=True,
            json={"name": name, "password": PASSWORD, "admin": admin},
        )
        assert made.status_code in (201, 409), made.text
        return name

    def link(self, name: str) -> str:
        """A fresh one-time login link for ``name``."""
        made = self.api("POST", f"/admin/users/{name}/login-link", admin=True)
        assert made.status_code == 201, made.text
        path: str = made.json()["path"]
        return self.url + path


@contextmanager
def dashboard_hub(home: Path, port: int | None = None) -> Iterator[Dash]:
    """A hub on ``port`` (a free one by default) with the data in ``home``."""
    chosen = port or free_port()
    with running_hub(home, port=chosen, db_path=home / "hub.db") as hub:
        config = hub.config()
        yield Dash(hub, home, chosen, config["admin_key"], config["key"], config["machine"])


def restarted(dash: Dash) -> Callable[[], Any]:
    """A context manager factory: the same hub (same port, same database) started again."""
    return lambda: dashboard_hub(dash.home, dash.port)


@pytest.fixture(scope="module")
def dash(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dash]:
    """One real hub for the test module."""
    with dashboard_hub(tmp_path_factory.mktemp("dash")) as running:
        yield running


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless, for the test module."""
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("no /usr/bin/chromium: .ci/run installs it")
        pytest.skip("no /usr/bin/chromium (.ci/run installs it)")
    with sync_playwright() as driver:
        browser = launch(driver)
        yield browser
        browser.close()


def launch(driver: Playwright) -> Browser:
    """Chromium, headless, from Debian's package."""
    return driver.chromium.launch(executable_path=str(CHROMIUM), headless=True)


@dataclass
class Watch:
    """What a page did that it never should: dialogs, errors, a set ``window.__pwned``."""

    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def attach(self, page: Page) -> None:
        """Listen to ``page``."""

        def dialog(opened: Dialog) -> None:
            self.dialogs.append(opened.message)
            opened.dismiss()

        def error(raised: Error) -> None:
            self.errors.append(str(raised))

        page.on("dialog", dialog)
        page.on("pageerror", error)


@pytest.fixture
def context(chromium: Browser) -> Iterator[BrowserContext]:
    """A fresh browser context (no cookies) for one test."""
    made = chromium.new_context(viewport={"width": 1280, "height": 800})
    made.set_default_timeout(WAIT_MS)
    yield made
    made.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    """A fresh page in the test's context."""
    return context.new_page()


def sign_in(page: Page, dash: Dash, name: str) -> None:
    """Sign ``name`` in with the password form."""
    page.goto(dash.url + "/login")
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"^(?!.*/login).*$"))


def shoot(page: Page, name: str) -> Path:
    """Keep a screenshot of ``page`` among the test artefacts (git-ignored)."""
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTEFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def wait_for(check: Callable[[], bool], timeout: float = WAIT_MS / 1000) -> None:
    """Wait until ``check()`` holds (for conditions outside the page, such as the REST API)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("the condition never held")
        time.sleep(0.05)  # polling interval of a test helper, not of the dashboard
