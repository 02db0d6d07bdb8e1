"""The dashboard's other pages in a browser: the tasks board live, search into a message,
agents and their presence, the inbox count, older history and the "new messages" pill,
@ completion, admin pages for admins only, and both themes."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser import Dash, chromium, context, dash, page, shoot, wait_for

__all__ = ["chromium", "context", "dash", "page"]  # fixtures

pytestmark = pytest.mark.e2e


def signed_in(page: Page, dash: Dash, user: str = "ann", path: str = "/") -> None:
    """``user`` (an admin) signed in, at ``path``, with the live stream up."""
    dash.user(user, admin=True)
    page.goto(dash.link(user))
    page.goto(dash.url + path)
    expect(page.locator("#live-state")).to_have_text("live")


def test_tasks_board_shows_a_claim_and_its_lease_counting_down(dash: Dash, page: Page) -> None:
    creator, worker = dash.agent("boss"), dash.agent("worker")
    dash.post(creator, "general", "board opens")
    signed_in(page, dash, path="/tasks")
    made = dash.api(
        "POST", "/tasks", agent=creator, json={"title": "Rotate the logs", "target": "cap:ops"}
    )
    task = made.json()
    card = page.locator(f"#t{task['id']}")
    expect(page.locator('[data-column="open"]').locator(f"#t{task['id']}")).to_be_visible()
    dash.api("PATCH", "/me", agent=worker, json={"capabilities": ["ops"]})
    claim = dash.api("POST", f"/tasks/{task['id']}/claim", agent=worker, json={"lease_seconds": 90})
    assert claim.status_code == 200, claim.text
    claimed = page.locator('[data-column="claimed"]').locator(f"#t{task['id']}")
    expect(claimed).to_contain_text(worker)
    lease = card.locator(".lease")
    expect(lease).to_have_text(re.compile(r"^\d+s left$"))
    first = int((lease.text_content() or "0").removesuffix("s left"))
    expect(lease).not_to_have_text(f"{first}s left", timeout=5000)
    later = int((lease.text_content() or "0").removesuffix("s left"))
    assert later < first
    shoot(page, "tasks-claimed")

    # the task's history, then cancel it from the page
    page.goto(f"{dash.url}/tasks/{task['id']}")
    expect(page.locator(".list")).to_contain_text("task.claimed")


def test_create_and_cancel_a_task(dash: Dash, page: Page) -> None:
    agent = dash.agent("doer")
    signed_in(page, dash, path="/tasks")
    page.get_by_text("New task").click()
    page.get_by_label("Title").fill("Write the release notes")
    page.get_by_label("Target").fill(f"@{agent}")
    page.get_by_role("button", name="Create").click()
    page.wait_for_url(re.compile(r"/tasks/\d+$"))
    task_id = int(page.url.rsplit("/", 1)[1])
    offers = dash.api("GET", "/inbox", agent=agent).json()["items"]
    assert any(i["kind"] == "task" for i in offers)
    page.get_by_role("button", name="Cancel").click()
    expect(page.locator(f"#t{task_id}")).to_have_attribute("data-status", "cancelled")
    assert dash.api("GET", f"/tasks/{task_id}", agent=agent).json()["status"] == "cancelled"


def test_search_finds_and_opens_a_message(dash: Dash, page: Page) -> None:
    agent = dash.agent("writer")
    for n in range(3):
        dash.post(agent, "general", f"filler {n}")
    target = dash.post(agent, "general", "the quokka <b>escaped</b> the enclosure")
    for n in range(60):  # push it off the channel's first page
        dash.post(agent, "general", f"later {n}")
    signed_in(page, dash)
    page.get_by_label("Search messages").fill("quokka")
    page.get_by_label("Search messages").press("Enter")
    hit = page.locator("#hits .hit").first
    expect(hit.locator("mark")).to_have_text("quokka")
    expect(hit).to_contain_text("<b>escaped</b>")
    hit.locator(".snippet a").click()
    page.wait_for_url(re.compile(rf"/c/general\?at={target['id']}#m{target['id']}$"))
    expect(page.locator(f"#m{target['id']}")).to_be_in_viewport()


def test_inbox_count_and_presence_are_live(dash: Dash, page: Page) -> None:
    agent = dash.agent("pinger")
    dash.post(agent, "general", "hello")
    signed_in(page, dash, path="/agents")
    count = page.locator("#inbox-count")
    before = int(count.get_attribute("data-count") or 0)
    dash.post(agent, "general", "@ann have a look")
    expect(count).to_have_attribute("data-count", str(before + 1))
    dash.api("PATCH", "/me", agent=agent, json={"status": "busy", "status_note": "compiling"})
    card = page.locator(f"#a-{agent}")
    expect(card).to_contain_text("compiling")
    expect(card.locator(".dot")).to_have_class(re.compile("s-busy"))
    page.goto(dash.url + "/inbox")
    expect(page.locator("#inbox-list")).to_contain_text("mention")


def test_older_history_and_new_messages_pill(dash: Dash, page: Page) -> None:
    agent = dash.agent("chatty")
    posted = [dash.post(agent, "tech-history", f"history {n}")["id"] for n in range(70)]
    signed_in(page, dash, path="/c/tech-history")
    expect(page.locator(f"#m{posted[-1]}")).to_be_visible()
    assert page.locator(f"#m{posted[0]}").count() == 0
    page.locator("#stream").evaluate("el => el.scrollTop = 0")
    expect(page.locator(f"#m{posted[0]}")).to_be_attached()
    assert page.locator("#messages .msg").count() == 70
    # scrolled up: new messages wait behind a pill instead of moving the page
    page.locator("#stream").evaluate("el => el.scrollTop = 0")
    top = page.locator("#stream").evaluate("el => el.scrollTop")
    dash.post(agent, "tech-history", "news 1")
    dash.post(agent, "tech-history", "news 2")
    pill = page.locator("#new-pill")
    expect(pill).to_have_text("2 new messages")
    assert page.locator("#stream").evaluate("el => el.scrollTop") == top
    pill.click()
    expect(pill).to_be_hidden()
    expect(page.locator("#messages .msg").last).to_be_in_viewport()


def test_mention_completion(dash: Dash, page: Page) -> None:
    agent = dash.agent("zanzibar")
    dash.post(agent, "general", "here")
    signed_in(page, dash, path="/c/general")
    box = page.get_by_label("Message #general")
    box.type("ping @lap-zan")
    option = page.locator(".completions li", has_text=agent)
    expect(option).to_be_visible()
    box.press("Tab")
    expect(box).to_have_value(f"ping @{agent} ")


def test_admin_pages_for_admins_only(dash: Dash, page: Page) -> None:
    signed_in(page, dash, path="/admin")
    page.get_by_label("Machine").fill("desk")
    page.get_by_role("button", name="Create key").click()
    key = page.locator("#new-key").text_content() or ""
    assert key.startswith("hb_")
    works = httpx.get(
        f"{dash.url}/api/v1/me",
        headers={"Authorization": f"Bearer {key}", "X-Hubbub-Agent": "desk-notes"},
    )
    assert works.status_code == 200, works.text
    page.goto(dash.url + "/admin")
    assert key not in page.content()  # shown once
    page.locator("#user-name").fill("carol")
    page.locator("#user-password").fill("a long enough password")
    page.get_by_role("button", name="Create user").click()
    page.wait_for_url(re.compile(r"/admin#users$"))
    row = page.locator("tr", has_text="carol")
    row.get_by_role("button", name="Make admin").click()
    expect(page.locator("tr", has_text="carol")).to_contain_text("yes")
    page.locator("tr", has_text="carol").get_by_role("button", name="Disable").click()
    expect(page.locator("tr", has_text="carol")).to_contain_text("disabled")
    users = {u["name"]: u for u in dash.api("GET", "/admin/users", admin=True).json()}
    assert users["carol"]["disabled"]
    assert users["carol"]["admin"]

    dash.user("norm")
    page.context.clear_cookies()
    page.goto(dash.link("norm"))
    assert "/admin" not in page.locator(".sidebar").inner_text()
    response = page.goto(dash.url + "/admin")
    assert response is not None
    assert response.status == 403
    assert "hb_" not in page.content()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_themes(dash: Dash, page: Page, scheme: str) -> None:
    agent = dash.agent("painter")
    dash.post(agent, "general", "| colour | hex |\n|---|---|\n| red | `#f00` |\n\n- one\n- two")
    page.emulate_media(color_scheme=scheme)  # type: ignore[arg-type]
    signed_in(page, dash, path="/c/general")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    dark = background == "rgb(23, 25, 29)"
    assert dark == (scheme == "dark"), background
    for path in ["/c/general", "/agents", "/tasks"]:
        page.goto(dash.url + path)
        shoot(page, f"{path.strip('/').replace('/', '-')}-{scheme}")
    # the toggle pins the other theme, and it stays across pages
    page.get_by_role("button", name=re.compile("^Theme")).click()
    page.goto(dash.url + "/agents")
    pinned = page.evaluate("document.documentElement.dataset.theme")
    assert pinned == "dark"
    wait_for(
        lambda: (
            page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(23, 25, 29)"
        )
    )


def test_profile_card_on_a_name(dash: Dash, page: Page) -> None:
    agent = dash.agent("cardholder")
    dash.api(
        "PATCH", "/me", agent=agent, json={"status_note": "reading the docs", "tags": ["docs"]}
    )
    posted = dash.post(agent, "general", "hello from the card")
    signed_in(page, dash, path="/c/general")
    page.locator(f"#m{posted['id']} .author").click()
    card = page.get_by_role("dialog", name=f"Profile of {agent}")
    expect(card).to_contain_text("reading the docs")
    expect(card).to_contain_text("docs")
    page.keyboard.press("Escape")
    expect(card).to_have_count(0)
    page.goto(f"{dash.url}/agents/{agent}")  # the same card as a page, with shared channels
    expect(page.locator("#content")).to_contain_text("Channels you share")
