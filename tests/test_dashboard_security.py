"""Agents' text is untrusted: a stored-XSS corpus through every agent-written field that
reaches a page runs nothing and stays visible as text; and a human who is not a member sees
nothing of a private channel or a DM, on any page, in any count or in the live stream."""

from __future__ import annotations

import threading

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser import Dash, Watch, chromium, context, dash, page, wait_for

__all__ = ["chromium", "context", "dash", "page"]  # fixtures

pytestmark = pytest.mark.e2e

PWN = "window.__pwned=1"
CORPUS = [
    f"<script>{PWN}</script>",
    f'<img src=x onerror="{PWN}">',
    f"<svg onload={PWN}><circle r=1 /></svg>",
    f'<svg><script href="data:,{PWN}" /></svg>',
    f"[click me](javascript:{PWN})",
    f"[click me](JaVaScRiPt:{PWN})",
    f"![pic](javascript:{PWN})",
    f'![pic" onerror="{PWN}](x.png)',
    f'<a href="javascript:{PWN}">link</a>',
    "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    '<iframe srcdoc="<script>parent.__pwned=1</script>"></iframe>',
    f'<details open ontoggle="{PWN}">x</details>',
    f'"><script>{PWN}</script>',
    f"'><img src=x onerror={PWN}>",
    f"</textarea><script>{PWN}</script>",
    f"<!--<script>{PWN}</script>-->",
    f"<style>body{{display:none}}</style><b onmouseover={PWN}>hover</b>",
    f'<math><mtext><table><mglyph><style><img src=x onerror="{PWN}">',
    "{{ 7*7 }} {% raw %}",
    f"`<script>{PWN}</script>` and ```\n<img src=x onerror={PWN}>\n```",
    f"<scr<script>ipt>{PWN}</script>",
    f'<form action="javascript:{PWN}"><button>go</button></form>',
]


def safe(page: Page, watch: Watch) -> None:
    """Nothing ran: no flag, no dialog, no script error."""
    assert page.evaluate("window.__pwned") is None
    assert watch.dialogs == []
    assert [e for e in watch.errors if "pwned" in e] == []


def test_xss_corpus_runs_nothing_and_stays_text(dash: Dash, page: Page) -> None:
    dash.user("ann", admin=True)
    agent = dash.agent("mallory")
    peer = dash.agent("bystander")
    watch = Watch()
    watch.attach(page)
    topic = f"<img src=x onerror={PWN}> topic"
    made = dash.api("POST", "/channels", agent=agent, json={"name": "xss-lab", "topic": topic})
    assert made.status_code == 201, made.text
    note = f"<script>{PWN}</script> note"
    assert (
        dash.api("PATCH", "/me", agent=agent, json={"status_note": note, "label": "evil"})
    ).status_code == 200
    title = f"<img src=x onerror={PWN}> title"
    task = dash.api(
        "POST",
        "/tasks",
        agent=agent,
        json={"title": title, "target": f"@{peer}", "body": CORPUS[0] + "\n\n" + CORPUS[4]},
    ).json()
    claimed = dash.api("POST", f"/tasks/{task['id']}/claim", agent=peer, json={}).json()
    progress = dash.api(
        "POST",
        f"/tasks/{task['id']}/progress",
        agent=peer,
        json={"fence": claimed["fence"], "percent": 5, "note": f"<svg onload={PWN}>"},
    )
    assert progress.status_code == 200, progress.text
    stored = [dash.post(agent, "xss-lab", f"xsscase {i} {p}")["id"] for i, p in enumerate(CORPUS)]
    dash.api("POST", "/send", agent=agent, json={"target": "@ann", "content": CORPUS[1]})

    page.goto(dash.link("ann"))
    page.goto(dash.url + "/c/xss-lab")
    page.get_by_role("button", name="Join").click()
    expect(page.get_by_role("button", name="Join")).to_have_count(0)
    expect(page.locator("#live-state")).to_have_text("live")
    # the same corpus again, live, into the open page
    live = [dash.post(agent, "xss-lab", f"xsslive {i} {p}")["id"] for i, p in enumerate(CORPUS)]
    dash.post(agent, "xss-lab", "reply " + CORPUS[1], reply_to=stored[0])
    expect(page.locator(f"#m{live[-1]}")).to_be_visible()
    expect(page.locator(".pagehead .topic")).to_have_text(topic)
    expect(page.locator(f"#m{stored[0]} .body")).to_contain_text(f"<script>{PWN}</script>")
    expect(page.locator(f"#m{live[0]} .body")).to_contain_text(f"<script>{PWN}</script>")
    expect(page.locator(f"#m{live[1]} .body")).to_contain_text("onerror")
    assert (
        page.locator("#messages script, #messages iframe, #messages svg, #messages img").count()
        == 0
    )
    hrefs = page.eval_on_selector_all("#messages a[href]", "els => els.map(e => e.href)")
    assert not [h for h in hrefs if not h.startswith(("http://", "https://"))]
    safe(page, watch)

    page.goto(f"{dash.url}/c/xss-lab?thread={stored[0]}")
    expect(page.locator("#thread-list")).to_contain_text("reply")
    safe(page, watch)
    for path, shown in [
        ("/agents", note),
        (f"/agents/{agent}", note),
        ("/tasks", title),
        (f"/tasks/{task['id']}", title),
        ("/search?q=xsscase", "xsscase"),
        ("/activity", "xsslive"),
        ("/inbox", "onerror"),
    ]:
        page.goto(dash.url + path)
        expect(page.locator("#content")).to_contain_text(shown)
        safe(page, watch)


@pytest.fixture
def private_world(dash: Dash) -> dict[str, str]:
    """A private channel and a DM between two agents, and a human who is in neither."""
    a, b = dash.agent("keeper"), dash.agent("partner")
    dash.post(a, "general", "welcome")
    made = dash.api("POST", "/channels", agent=a, json={"name": "vault", "visibility": "private"})
    assert made.status_code in (201, 409), made.text
    dash.api("POST", "/channels/vault/invite", agent=a, json={"agent": b})
    dash.user("outsider")
    return {"a": a, "b": b}


def test_non_member_sees_nothing_private(
    dash: Dash, page: Page, private_world: dict[str, str]
) -> None:
    a, b = private_world["a"], private_world["b"]
    hidden = dash.post(a, "vault", "zebracode in the vault")
    dm = dash.api("POST", "/send", agent=a, json={"target": f"@{b}", "content": "zebracode dm"})
    dm_id = dm.json()["messages"][0]["id"]

    page.goto(dash.link("outsider"))
    page.goto(dash.url + "/activity")
    expect(page.locator("#live-state")).to_have_text("live")
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    frames: list[str] = []
    seen_public = threading.Event()

    def listen() -> None:
        with httpx.stream(
            "GET", dash.url + "/live?after=0&channel=general", cookies=cookies, timeout=20
        ) as stream:
            for line in stream.iter_lines():
                frames.append(line)
                if "zebrapublic" in line:
                    seen_public.set()
                    return

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    # while the outsider watches: more private posts, then a public one
    dash.post(a, "vault", "zebracode again, live")
    dash.api("POST", "/send", agent=b, json={"target": f"@{a}", "content": "zebracode back"})
    dash.post(a, "general", "zebrapublic for everyone")
    expect(page.locator("#activity")).to_have_count(1)
    wait_for(seen_public.is_set)
    listener.join(timeout=20)
    assert [f for f in frames if "zebracode" in f or "vault" in f] == []

    for path in ["/activity", "/inbox", "/agents", "/tasks", f"/agents/{a}"]:
        page.goto(dash.url + path)
        content = page.content()
        assert "zebracode" not in content, path
        assert "vault" not in content, path
    page.goto(dash.url + "/c/general")
    expect(page.locator("#messages")).to_contain_text("zebrapublic")
    assert "vault" not in page.locator(".sidebar").inner_text()
    assert "@" + a not in page.locator(".sidebar").inner_text()
    page.goto(dash.url + "/search?q=zebracode")
    expect(page.locator("#hits")).to_contain_text("Nothing found")
    for path, status in [
        ("/c/vault", 403),
        (f"/c/dm:{min(a, b)}:{max(a, b)}", 404),
        (f"/m/{hidden['id']}", 404),
        (f"/m/{dm_id}", 404),
        (f"/c/vault/thread/{hidden['id']}", 403),
        ("/admin", 403),
    ]:
        response = page.goto(dash.url + path)
        assert response is not None, path
        assert response.status == status, path
        assert "zebracode" not in page.content(), path
