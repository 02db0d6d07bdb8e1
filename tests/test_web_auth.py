"""Dashboard sign-in: one-time links, passwords, sessions, CSRF and the security headers, over
HTTP against a hub on each engine; sessions shared by two hub processes on one PostgreSQL;
and the ``hubbub users`` and ``hubbub dashboard`` commands against a real hub."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from hubbub.core.errors import Conflict
from hubbub.web.auth import COOKIE, credential, viewer
from tests.clients import API, InProcessHub, problem
from tests.live import LiveHub, cli_of, ok_json, running_hub
from tests.postgres import Cluster

pytestmark = pytest.mark.anyio

SECRET = "correct horse battery"
CSRF = re.compile(r'<meta name="csrf-token" content="([^"]*)">')
JSON = {"Accept": "application/json"}
SECURITY = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}


class Browser:
    """One browser: its own cookies, against one in-process hub."""

    def __init__(self, hub: InProcessHub) -> None:
        self.hub = hub
        transport = httpx.ASGITransport(app=hub.app, raise_app_exceptions=False)
        self.http = httpx.AsyncClient(transport=transport, base_url="http://hub")

    async def close(self) -> None:
        await self.http.aclose()

    async def link_login(self, name: str) -> httpx.Response:
        path = await link(self.hub, name)
        return await self.http.get(path)

    async def password_login(self, name: str, password: str, **form: str) -> httpx.Response:
        return await self.http.post("/login", data={"name": name, "password": password, **form})

    async def csrf(self) -> str:
        page = await self.http.get("/")
        assert page.status_code == 200, page.text
        found = CSRF.search(page.text)
        assert found is not None
        assert found.group(1)
        return found.group(1)

    async def signed_in(self) -> bool:
        page = await self.http.get("/")
        if page.status_code == 303:
            assert page.headers["location"].startswith("/login")
            return False
        assert page.status_code == 200, page.text
        return True


@pytest.fixture
async def browsers(hub: InProcessHub) -> AsyncIterator[list[Browser]]:
    made = [Browser(hub) for _ in range(3)]
    yield made
    for browser in made:
        await browser.close()


async def make_user(hub: InProcessHub, name: str, *, admin: bool = False) -> None:
    made = await hub.http.post(
        f"{API}/admin/users",
        json={"name": name, "password": SECRET, "admin": admin},
        headers=hub.admin_headers,
    )
    assert made.status_code == 201, made.text
    assert made.json()["admin"] is admin


async def link(hub: InProcessHub, name: str) -> str:
    made = await hub.http.post(f"{API}/admin/users/{name}/login-link", headers=hub.admin_headers)
    assert made.status_code == 201, made.text
    path: str = made.json()["path"]
    assert path.startswith("/login/link?token=")
    return path


def sessions(hub: InProcessHub) -> int:
    return int(hub.query("SELECT count(*) FROM web_sessions")[0][0])


def write(hub: InProcessHub, sql: str) -> None:
    """Change the database past the hub (to age a link or a session)."""
    if hub.db_url is not None:
        import psycopg

        with psycopg.connect(hub.db_url) as pg:
            pg.execute(sql)
        return
    conn = sqlite3.connect(hub.db_path, timeout=30)
    try:
        with conn:
            conn.execute(sql)
    finally:
        conn.close()


async def test_a_login_link_signs_in_once(hub: InProcessHub, browsers: list[Browser]) -> None:
    first, second, _ = browsers
    await make_user(hub, "ada")
    path = await link(hub, "ada")
    assert not await first.signed_in()

    opened = await first.http.get(path)
    assert (opened.status_code, opened.headers["location"]) == (303, "/"), opened.text
    cookie = opened.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    assert "HttpOnly" in cookie, cookie
    assert "SameSite=lax" in cookie, cookie
    assert await first.signed_in()
    page = await first.http.get("/")
    assert "ada" in page.text

    again = await second.http.get(path)
    assert again.status_code == 401
    assert "unknown, used or expired" in again.text
    assert "set-cookie" not in again.headers
    assert not await second.signed_in()
    problem(await second.http.get(path, headers=JSON), 401, "bad_link")
    assert sessions(hub) == 1


async def test_expired_forged_and_truncated_links_are_refused(
    hub: InProcessHub, browsers: list[Browser]
) -> None:
    browser = browsers[0]
    await make_user(hub, "ada")
    path = await link(hub, "ada")
    write(hub, "UPDATE login_links SET expires_at = 0")
    problem(await browser.http.get(path, headers=JSON), 401, "bad_link")
    fresh = await link(hub, "ada")
    token = fresh.split("=", 1)[1]
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    for bad in (forged, token.split(".")[0], "", "x" * 5000, "é.é"):
        response = await browser.http.get("/login/link", params={"token": bad}, headers=JSON)
        problem(response, 401, "bad_link")
    assert sessions(hub) == 0
    assert (await browser.http.get(fresh)).status_code == 303  # the good one still works


async def test_links_for_unknown_disabled_or_agent_names_are_refused(hub: InProcessHub) -> None:
    await make_user(hub, "ada")
    await hub.agent("lap-alpha")
    await hub.http.post(f"{API}/admin/users/ada/disable", headers=hub.admin_headers)
    before = hub.query("SELECT count(*) FROM login_links")
    for name, status, code in (
        ("nobody", 404, "user_not_found"),
        ("lap-alpha", 404, "user_not_found"),
        ("ada", 409, "user_disabled"),
        ("Bad!", 422, "bad_name"),
    ):
        response = await hub.http.post(
            f"{API}/admin/users/{name}/login-link", headers=hub.admin_headers
        )
        problem(response, status, code)
    alpha = await hub.agent("lap-beta")
    problem(await alpha.post("/admin/users/lap-beta/login-link"), 403, "admin_only")
    assert hub.query("SELECT count(*) FROM login_links") == before


async def test_password_login_wrong_password_and_safe_next(
    hub: InProcessHub, browsers: list[Browser]
) -> None:
    browser, other, _ = browsers
    await make_user(hub, "ada")
    wrong = await browser.password_login("ada", "not the password")
    assert wrong.status_code == 401
    assert "wrong user name or password" in wrong.text
    assert "set-cookie" not in wrong.headers
    unknown = await browser.password_login("nobody", SECRET)
    assert unknown.status_code == 401
    assert "wrong user name or password" in unknown.text
    assert sessions(hub) == 0

    done = await browser.password_login("ada", SECRET, next="/channels/general?x=1")
    assert (done.status_code, done.headers["location"]) == (303, "/channels/general?x=1")
    assert await browser.signed_in()
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:x"):
        sent = await other.password_login("ada", SECRET, next=target)
        assert (sent.status_code, sent.headers["location"]) == (303, "/"), target

    # the sign-in page sends a signed-in browser on, and offers only local paths
    page = await browser.http.get("/login", params={"next": "//evil.example"})
    assert (page.status_code, page.headers["location"]) == (303, "/")
    redirect = await hub.http.get("/", follow_redirects=False)
    assert redirect.headers["location"] == "/login?next=/"
    problem(await hub.http.get("/", headers=JSON), 401, "login_required")
    problem(await hub.http.get("/", headers={"X-Requested-With": "fetch"}), 401, "login_required")


async def test_sign_in_attempts_are_limited_per_name_and_address(hub_factory: object) -> None:
    async with hub_factory(login_attempts_per_minute=2) as hub:  # type: ignore[operator]
        await make_user(hub, "ada")
        browser = Browser(hub)
        try:
            for _ in range(2):
                assert (await browser.password_login("ada", "wrong one!")).status_code == 401
            limited = await browser.password_login("ada", SECRET)
            assert limited.status_code == 429
            assert "too many sign-in attempts" in limited.text
            as_json = await browser.http.post(
                "/login", data={"name": "bob", "password": SECRET}, headers=JSON
            )
            body = problem(as_json, 429, "too_many_logins")
            assert body["retry_after"] >= 1
            assert as_json.headers["retry-after"]
            assert sessions(hub) == 0
        finally:
            await browser.close()


async def test_bad_sign_in_input_says_why_and_writes_nothing(
    hub: InProcessHub, browsers: list[Browser]
) -> None:
    browser = browsers[0]
    await make_user(hub, "ada")
    before = hub.snapshot()
    cases = [
        ({"name": "", "password": SECRET}, 422, "enter a user name and a password"),
        ({"name": "ada", "password": ""}, 422, "enter a user name and a password"),
        ({"password": SECRET}, 422, "enter a user name and a password"),
        ({"name": "a" * 65, "password": SECRET}, 422, "too long"),
        ({"name": "ada", "password": "p" * 257}, 422, "too long"),
        ({"name": "Ada Lovelace", "password": SECRET}, 401, "wrong user name or password"),
        ({"name": "ada\x00", "password": SECRET}, 401, "wrong user name or password"),
    ]
    for form, status, said in cases:
        response = await browser.http.post("/login", data=form)
        assert response.status_code == status, (form, response.text)
        assert said in response.text, form
        assert "set-cookie" not in response.headers
    problem(await browser.http.post("/login", data={"name": ""}, headers=JSON), 422, "invalid")
    # a name too long to be one is not echoed back into the form
    response = await browser.http.post("/login", data={"name": "<b>" * 40, "password": "x"})
    assert "<b>" not in response.text
    assert hub.snapshot() == before
    assert sessions(hub) == 0


async def test_every_change_needs_the_sessions_csrf_token(
    hub: InProcessHub, browsers: list[Browser]
) -> None:
    first, second, _ = browsers
    await make_user(hub, "ada")
    await make_user(hub, "bob")
    await first.link_login("ada")
    await second.link_login("bob")
    own, others = await first.csrf(), await second.csrf()
    assert own != others

    missing = await first.http.post("/logout")
    assert missing.status_code == 403
    assert "CSRF" in missing.text
    for token in ("", "wrong", others, own + "x", "é" * 10):
        refused = await first.http.post("/logout", data={"csrf": token})
        assert refused.status_code == 403, token
        # sent as raw bytes, as a browser might
        raw = {b"X-CSRF-Token": token.encode(), b"Accept": b"application/json"}
        problem(
            await first.http.post("/logout", headers=raw),
            403,
            "bad_csrf",
        )
    problem(await first.http.post("/logout", headers=JSON), 403, "bad_csrf")
    evil = {"Origin": "http://evil.example", **JSON}
    problem(await first.http.post("/logout", data={"csrf": own}, headers=evil), 403, "bad_origin")
    assert sessions(hub) == 2
    assert await first.signed_in()

    # the right token, in the form or the header, goes through
    out = await first.http.post("/logout", data={"csrf": own}, headers={"Origin": "http://hub"})
    assert (out.status_code, out.headers["location"]) == (303, "/login")
    assert not await first.signed_in()
    assert sessions(hub) == 1
    out = await second.http.post("/logout", headers={"X-CSRF-Token": others})
    assert out.status_code == 303
    assert sessions(hub) == 0


async def test_logout_ends_the_session_for_a_kept_cookie(
    hub: InProcessHub, browsers: list[Browser]
) -> None:
    browser, thief, _ = browsers
    await make_user(hub, "ada")
    await browser.link_login("ada")
    stolen = browser.http.cookies[COOKIE]
    token = await browser.csrf()
    await browser.http.post("/logout", data={"csrf": token})
    thief.http.cookies.set(COOKIE, stolen, domain="hub")
    assert not await thief.signed_in()


async def test_password_change_disable_and_admin_revoked_end_sessions(
    hub: InProcessHub, browsers: list[Browser]
) -> None:
    first, second, third = browsers
    admin = hub.admin_headers
    for name in ("ada", "bob", "cy"):
        await make_user(hub, name, admin=True)
    await first.link_login("ada")
    await second.password_login("bob", SECRET)
    await third.link_login("cy")
    assert all([await b.signed_in() for b in browsers])

    changed = await hub.http.put(
        f"{API}/admin/users/ada/password", json={"password": "another secret"}, headers=admin
    )
    assert changed.status_code == 200
    assert not await first.signed_in()
    assert await second.signed_in()
    assert await third.signed_in()

    await hub.http.post(f"{API}/admin/users/bob/disable", headers=admin)
    assert not await second.signed_in()
    assert (await second.password_login("bob", SECRET)).status_code == 401

    revoked = await hub.http.put(
        f"{API}/admin/users/cy/admin", json={"admin": False}, headers=admin
    )
    assert revoked.json()["admin"] is False
    assert not await third.signed_in()
    # granting changes nothing for open sessions; signing in again works
    await third.link_login("cy")
    assert await third.signed_in()
    granted = await hub.http.put(f"{API}/admin/users/cy/admin", json={"admin": True}, headers=admin)
    assert granted.json()["admin"] is True
    assert await third.signed_in()
    assert sessions(hub) == 1


async def test_expired_sessions_end(hub: InProcessHub, browsers: list[Browser]) -> None:
    browser = browsers[0]
    await make_user(hub, "ada")
    await browser.link_login("ada")
    write(hub, "UPDATE web_sessions SET expires_at = 1")
    assert not await browser.signed_in()
    problem(await browser.http.get("/", headers=JSON), 401, "login_required")


async def test_admin_humans_act_as_admin_credentials(
    hub: InProcessHub, browsers: list[Browser]
) -> None:
    first, second, _ = browsers
    await make_user(hub, "ada", admin=True)
    await make_user(hub, "bob")
    await first.link_login("ada")
    await second.link_login("bob")
    from starlette.requests import Request

    def request_of(browser: Browser) -> Request:
        cookie = f"{COOKIE}={browser.http.cookies[COOKIE]}".encode()
        scope = {
            "type": "http",
            "method": "GET",
            "path": "/",
            "headers": [(b"cookie", cookie)],
            "app": hub.app,
            "query_string": b"",
        }
        return Request(scope)

    ada = await viewer(request_of(first))
    bob = await viewer(request_of(second))
    assert (ada.is_admin, ada.agent.kind, ada.agent.name) == (True, "human", "ada")
    assert (bob.is_admin, bob.user.name) == (False, "bob")
    assert credential(ada).is_admin
    assert not credential(bob).is_admin
    acting = await hub.hub.agents.act_as(credential(bob), "bob")
    assert acting.name == "bob"
    with pytest.raises(Exception, match="acts only as itself"):
        await hub.hub.agents.act_as(credential(bob), "ada")


async def test_the_last_admin_credential_stays(hub: InProcessHub) -> None:
    await make_user(hub, "ada", admin=True)
    keys = await hub.hub.keys.list()
    for key in keys:
        await hub.hub.keys.revoke(key.id)  # the admin user keeps one credential live
    for attempt in (hub.hub.users.disable("ada"), hub.hub.users.set_admin("ada", False)):
        with pytest.raises(Conflict) as caught:
            await attempt
        assert caught.value.code == "last_admin"
    assert (await hub.hub.users.get("ada")).admin is True


async def test_machine_keys_and_agents_cannot_open_a_session(
    hub: InProcessHub, browsers: list[Browser]
) -> None:
    browser = browsers[0]
    alpha = await hub.agent("lap-alpha")
    bearer = {**alpha.headers, **JSON}
    problem(await browser.http.get("/", headers=bearer), 401, "login_required")
    admin = {**hub.admin_headers, **JSON}
    problem(await browser.http.get("/", headers=admin), 401, "login_required")
    for secret in (alpha.key, hub.admin_key):
        tried = await browser.password_login("lap-alpha", secret)
        assert tried.status_code == 401
        browser.http.cookies.set(COOKIE, secret, domain="hub")
        assert not await browser.signed_in()
    assert sessions(hub) == 0


async def test_security_headers_on_every_web_response(
    hub: InProcessHub, browsers: list[Browser]
) -> None:
    browser = browsers[0]
    await make_user(hub, "ada")
    responses = [
        await browser.http.get("/"),
        await browser.http.get("/login"),
        await browser.http.get("/static/app.css"),
        await browser.http.get("/login/link", params={"token": "x"}),
        await browser.http.post("/logout"),
        await browser.link_login("ada"),
        await browser.http.get("/"),
    ]
    for response in responses:
        for name, value in SECURITY.items():
            assert response.headers.get(name) == value, (response.url, name)
        policy = response.headers["content-security-policy"]
        assert "script-src 'self';" in policy
        assert "unsafe-inline" not in policy
        assert "frame-ancestors 'none'" in policy
    page = responses[-1].text
    assert "<script>" not in page
    assert "style=" not in page
    assert "<style" not in page
    api = await hub.http.get(f"{API}/health")
    assert "content-security-policy" not in api.headers
    assert "x-frame-options" not in api.headers


async def test_rotating_the_secret_signs_everyone_out(
    hub: InProcessHub, browsers: list[Browser]
) -> None:
    browser, late, _ = browsers
    await make_user(hub, "ada")
    await browser.link_login("ada")
    unused = await link(hub, "ada")
    await hub.hub.sessions.rotate_secret()
    assert not await browser.signed_in()
    problem(await late.http.get(unused, headers=JSON), 401, "bad_link")
    await browser.link_login("ada")
    assert await browser.signed_in()


@pytest.mark.e2e
@pytest.mark.postgres
def test_sessions_are_shared_by_hub_processes_on_one_database(
    tmp_path: Path, postgres: Cluster
) -> None:
    db = postgres.url(postgres.new_database())
    with (
        running_hub(tmp_path / "a", db=db) as a,
        running_hub(tmp_path / "b", db=db) as b,
    ):
        admin = a.config()["admin_key"]
        made = a.request(
            "POST", f"{API}/admin/users", key=admin, json={"name": "ada", "password": SECRET}
        )
        assert made.status_code == 201, made.text
        path = a.request("POST", f"{API}/admin/users/ada/login-link", key=admin).json()["path"]
        with httpx.Client(base_url=a.url) as on_a, httpx.Client(base_url=b.url) as on_b:
            assert on_a.get(path).status_code == 303
            cookie = on_a.cookies[COOKIE]
            on_b.cookies.set(COOKIE, cookie)
            page = on_b.get("/")
            assert page.status_code == 200, page.text
            token = CSRF.search(page.text)
            assert token is not None
            assert on_b.post("/logout", data={"csrf": token.group(1)}).status_code == 303
            assert on_a.get("/").status_code == 303  # ended on b, so on a too
            # a link made on b is spent once, on either
            link_b = b.request("POST", f"{API}/admin/users/ada/login-link", key=admin)
            fresh = link_b.json()["path"]
            assert on_a.get(fresh).status_code == 303
            assert on_b.get(fresh).status_code == 401


@pytest.mark.e2e
def test_users_admin_and_dashboard_commands(live_hub: LiveHub) -> None:
    cli = cli_of(live_hub)
    made = ok_json(
        cli(
            "users",
            "create",
            "web-boss",
            "--admin",
            "--password-stdin",
            "--json",
            stdin=SECRET + "\n",
        )
    )
    assert made["admin"] is True
    assert ok_json(cli("users", "admin", "web-boss", "--revoke", "--json"))["admin"] is False
    assert ok_json(cli("users", "admin", "web-boss", "--json"))["admin"] is True
    listed = {u["name"]: u for u in ok_json(cli("users", "list", "--json"))}
    assert listed["web-boss"]["admin"] is True
    missing = cli("users", "admin", "nobody-here")
    assert (missing.returncode, "user_not_found" in missing.stderr) == (3, True), missing.stderr

    # the first start made the local human, an admin, and printed a link that signs it in
    banner = "\n".join(live_hub.banner)
    shown = re.search(r"dashboard\s+(http://\S+/login/link\?token=\S+)", banner)
    assert shown is not None, banner
    humans = [u for u in listed.values() if u["admin"] and u["name"] != "web-boss"]
    assert humans, listed

    printed = cli("dashboard", "--user", "web-boss", "--no-browser")
    assert printed.returncode == 0, printed.stderr
    url = re.search(r"(http://\S+/login/link\?token=\S+)", printed.stdout)
    assert url is not None, printed.stdout
    with httpx.Client() as browser:
        opened = browser.get(url.group(1))
        assert (opened.status_code, opened.headers["location"]) == (303, "/")
        home = browser.get(live_hub.url + "/", follow_redirects=True)
        assert home.status_code == 200  # signed in: the first channel, or a welcome page
        assert browser.get(url.group(1)).status_code == 401
    as_json = ok_json(cli("dashboard", "--user", "web-boss", "--json"))
    assert as_json["user"] == "web-boss"
    assert as_json["path"].startswith("/login/link?token=")
    # with no display and no $BROWSER, nothing is opened and nothing fails
    quiet = cli("dashboard", "--user", "web-boss", DISPLAY="", WAYLAND_DISPLAY="")
    assert quiet.returncode == 0, quiet.stderr
    absent = cli("dashboard", "--user", "nobody-here", "--no-browser")
    assert (absent.returncode, "user_not_found" in absent.stderr) == (3, True), absent.stderr
    helped = cli("dashboard", "--help")
    assert helped.returncode == 0
    assert "one-time" in helped.stdout
