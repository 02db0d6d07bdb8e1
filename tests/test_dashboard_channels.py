"""The dashboard in a browser: signing in and out, a channel live, posting, threads, edits,
deletes, DMs, and bad input refused on the page with nothing written."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser import Dash, chromium, context, dash, page, shoot, sign_in, wait_for

__all__ = ["chromium", "context", "dash", "page"]  # fixtures

pytestmark = pytest.mark.e2e


def open_channel(page: Page, dash: Dash, user: str, channel: str = "general") -> None:
    """Sign ``user`` in with a one-time link and open ``#channel``."""
    page.goto(dash.link(user))
    page.goto(f"{dash.url}/c/{channel}")
    expect(page.locator("#live-state")).to_have_text("live")


def messages(dash: Dash, agent: str, channel: str) -> list[dict[str, object]]:
    """A channel's latest messages, read through the REST API."""
    read = dash.api("GET", f"/channels/{channel}/messages", agent=agent)
    assert read.status_code == 200, read.text
    found: list[dict[str, object]] = read.json()["messages"]
    return found


def test_one_time_link_signs_in_once(dash: Dash, context: BrowserContext) -> None:
    dash.user("lina")
    link = dash.link("lina")
    page = context.new_page()
    page.goto(link)
    expect(page.locator(".topbar .who")).to_contain_text("lina")
    other = context.browser.new_context() if context.browser else None
    assert other is not None
    try:
        again = other.new_page()
        response = again.goto(link)
        assert response is not None
        assert response.status >= 400
        expect(again.get_by_role("button", name="Sign in")).to_be_visible()
    finally:
        other.close()


def test_password_sign_in_and_logout(dash: Dash, page: Page) -> None:
    dash.user("paul")
    dash.post(dash.agent("alpha"), "general", "hello humans")
    sign_in(page, dash, "paul")
    expect(page.locator(".topbar .who")).to_contain_text("paul")
    expect(page.locator("#messages")).to_contain_text("hello humans")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/login"))
    page.goto(dash.url + "/c/general")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()


def test_agent_post_appears_without_reload(dash: Dash, page: Page) -> None:
    dash.user("ann")
    agent = dash.agent("alpha")
    open_channel(page, dash, "ann")
    page.evaluate("window.__loaded = true")
    posted = dash.post(agent, "general", "live from **the API**")
    item = page.locator(f"#m{posted['id']}")
    expect(item).to_contain_text("live from the API")
    expect(item.locator("strong")).to_have_text("the API")
    assert page.evaluate("window.__loaded") is True  # the same page: no reload
    shoot(page, "channel-live")


def test_post_reply_edit_delete(dash: Dash, page: Page) -> None:
    dash.user("ann")
    agent = dash.agent("alpha")
    open_channel(page, dash, "ann")
    box = page.get_by_label("Message #general")
    box.fill("first line")
    box.press("Shift+Enter")
    box.type("second line")
    box.press("Enter")
    mine = page.locator(".msg.mine", has_text="second line").last
    expect(mine).to_be_visible()
    expect(mine.locator(".body")).to_contain_text("first line")
    wait_for(
        lambda: any(
            m["content"] == "first line\nsecond line" for m in messages(dash, agent, "general")
        )
    )

    # a reply in the thread beside the channel
    mine.get_by_role("link", name="Reply in thread").click()
    reply_box = page.get_by_label("Reply in thread")
    expect(reply_box).to_be_focused()
    reply_box.fill("a reply")
    reply_box.press("Enter")
    expect(page.locator("#thread-list")).to_contain_text("a reply")
    root_id = int(mine.get_attribute("data-id") or 0)
    thread = dash.api("GET", f"/messages/{root_id}/thread", agent=agent).json()
    assert [r["content"] for r in thread["replies"]] == ["a reply"]

    # edit, then delete
    mine = page.locator(f"#messages #m{root_id}")
    mine.get_by_text("Edit", exact=True).click()
    edit_box = mine.get_by_label("New text")
    edit_box.fill("edited text")
    mine.get_by_role("button", name="Save").click()
    expect(page.locator(f"#messages #m{root_id}")).to_contain_text("(edited)")
    expect(page.locator(f"#messages #m{root_id} .body")).to_have_text("edited text")
    page.locator(f"#messages #m{root_id}").get_by_role("button", name="Delete").click()
    expect(page.locator(f"#messages #m{root_id}")).to_contain_text("This message was deleted.")
    got = dash.api("GET", f"/messages/{root_id}", agent=agent).json()
    assert got["deleted"] is True


def test_others_messages_offer_no_edit(dash: Dash, page: Page) -> None:
    dash.user("ann")
    posted = dash.post(dash.agent("alpha"), "general", "not yours to change")
    open_channel(page, dash, "ann")
    theirs = page.locator(f"#m{posted['id']}")
    expect(theirs).to_be_visible()
    expect(theirs.get_by_role("button", name="Delete")).to_be_hidden()


def test_dm_reaches_the_agents_inbox(dash: Dash, page: Page) -> None:
    dash.user("ann")
    agent = dash.agent("helper")
    page.goto(dash.link("ann"))
    page.goto(f"{dash.url}/dm/{agent}")
    page.get_by_label(f"Message @{agent}").fill("please look at the logs")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#messages")).to_contain_text("please look at the logs")
    inbox = dash.api("GET", "/inbox", agent=agent).json()
    assert [(i["kind"], i["message"]["content"]) for i in inbox["items"]] == [
        ("dm", "please look at the logs")
    ]
    # the agent answers; the DM page shows it live
    dash.api("POST", "/send", agent=agent, json={"target": "@ann", "content": "on it"})
    expect(page.locator("#messages")).to_contain_text("on it")


def test_bad_input_is_refused_on_the_page(dash: Dash, page: Page) -> None:
    dash.user("ann")
    agent = dash.agent("alpha")
    open_channel(page, dash, "ann")
    before = len(messages(dash, agent, "general"))
    box = page.get_by_label("Message #general")
    box.fill("x" * 40_000)
    page.get_by_role("button", name="Send").click()
    expect(page.locator(".compose .form-error")).to_contain_text("limit")
    # a stale CSRF token: the post is refused and says why
    page.evaluate("document.querySelector('meta[name=csrf-token]').content = 'stale'")
    box.fill("with a stale token")
    box.press("Enter")
    expect(page.locator(".compose .form-error")).to_contain_text("CSRF")
    assert len(messages(dash, agent, "general")) == before
    # without the page's script: an unknown channel is a clear page, not a crash
    response = page.goto(dash.url + "/c/no-such-channel")
    assert response is not None
    assert response.status == 404
    expect(page.get_by_role("alert")).to_contain_text("no-such-channel")


def test_expired_session_is_sent_to_sign_in(dash: Dash, page: Page) -> None:
    dash.user("ann")
    open_channel(page, dash, "ann")
    page.context.clear_cookies()
    box = page.get_by_label("Message #general")
    box.fill("after my session ended")
    box.press("Enter")
    expect(page.locator(".compose .form-error")).to_contain_text("sign in")


def test_pages_work_without_javascript(dash: Dash, context: BrowserContext) -> None:
    dash.user("ann")
    agent = dash.agent("alpha")
    dash.post(agent, "general", "read me without scripts")
    browser = context.browser
    assert browser is not None
    plain = browser.new_context(java_script_enabled=False)
    try:
        page = plain.new_page()
        page.goto(dash.link("ann"))
        page.goto(dash.url + "/c/general")
        page.get_by_label("Message #general").fill("posted by a plain form")
        page.get_by_role("button", name="Send").click()
        expect(page.locator("#messages")).to_contain_text("posted by a plain form")
        before = len(messages(dash, agent, "general"))
        page.get_by_label("Message #general").fill("   ")
        page.locator(".compose").evaluate("form => form.noValidate = true")
        page.get_by_role("button", name="Send").click()
        expect(page.get_by_role("alert")).to_contain_text("empty")
        assert len(messages(dash, agent, "general")) == before
    finally:
        plain.close()
