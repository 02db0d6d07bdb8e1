"""Files on the dashboard, in a real browser: a file an agent shares appears live in its
message (an image as a preview), a human shares one from the page (with the page's script,
and with a plain form), downloads it, sees it leave when deleted, and a refused upload says
why on the page with nothing written."""

from __future__ import annotations

import base64
import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser import Dash, chromium, context, dash, page, shoot, wait_for

__all__ = ["chromium", "context", "dash", "page"]  # fixtures

pytestmark = pytest.mark.e2e

PNG = base64.b64decode(  # 2 by 2 red pixels
    "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAEElEQVR4nGP4z8AARAwQCgAf7gP9i18U1AAAAABJRU5ErkJggg=="
)


def open_channel(page: Page, dash: Dash, user: str, channel: str = "general") -> None:
    """Sign ``user`` in with a one-time link and open ``#channel`` (made by a first post)."""
    dash.post(dash.agent("greeter"), channel, "welcome")
    page.goto(dash.link(user))
    page.goto(f"{dash.url}/c/{channel}")
    expect(page.locator("#live-state")).to_have_text("live")


def files(dash: Dash, agent: str, name: str) -> list[dict[str, object]]:
    """The files named like ``name``, through the REST API."""
    listed = dash.api("GET", "/files", agent=agent, params={"name": name})
    assert listed.status_code == 200, listed.text
    found: list[dict[str, object]] = listed.json()["files"]
    return found


def test_a_shared_image_appears_live_with_its_preview_and_leaves_when_deleted(
    dash: Dash, page: Page
) -> None:
    dash.user("ivy")
    agent = dash.agent("painter")
    open_channel(page, dash, "ivy")
    shared = dash.api(
        "POST",
        "/files",
        agent=agent,
        params={"to": "general", "name": "chart.png", "message": "today's chart"},
        content=PNG,
    )
    assert shared.status_code == 201, shared.text
    file = shared.json()
    message = page.locator(f"#m{file['message_id']}")
    expect(message).to_contain_text("today's chart")
    figure = message.locator(f"#f{file['id']}")
    expect(figure.locator("figcaption")).to_contain_text("chart.png")
    image = figure.locator("img")
    expect(image).to_have_attribute("alt", "chart.png")
    page.wait_for_function("el => el.complete && el.naturalWidth === 2", arg=image.element_handle())
    download = figure.get_by_role("link", name="chart.png", exact=True)
    got = page.request.get(dash.url + str(download.get_attribute("href")))
    assert got.body() == PNG
    assert got.headers["content-disposition"].startswith("attachment;")
    shoot(page, "file-preview")
    # After a reload the page shows the same, from the files attached to its messages.
    page.reload()
    expect(page.locator(f"#f{file['id']} img")).to_be_visible()
    gone = dash.api("DELETE", f"/files/{file['id']}", agent=agent)
    assert gone.status_code == 200, gone.text
    expect(page.locator(f"#f{file['id']}")).to_have_count(0)


def test_a_human_shares_a_file_from_the_page(dash: Dash, page: Page) -> None:
    dash.user("hugo")
    reader = dash.agent("reader")
    open_channel(page, dash, "hugo")
    page.get_by_text("Share a file").click()
    form = page.locator("form.upload")
    form.get_by_placeholder("A message with it (optional)").fill("the notes")
    form.locator('input[type="file"]').set_input_files(
        {"name": "notes from hugo.txt", "mimeType": "text/plain", "buffer": b"remember the milk"}
    )
    form.get_by_role("button", name="Share").click()
    figure = page.locator("#messages .file", has_text="notes from hugo.txt")
    expect(figure).to_have_count(1)
    wait_for(lambda: bool(files(dash, reader, "notes from hugo")))
    [file] = files(dash, reader, "notes from hugo")
    assert (file["uploader"], file["size"]) == ("hugo", 17)
    read = dash.api("GET", f"/files/{file['id']}/content", agent=reader)
    assert read.content == b"remember the milk"
    message = dash.api("GET", f"/messages/{file['message_id']}", agent=reader).json()
    assert message["content"] == "the notes"

    # Refused (an empty file): the page says why, and nothing is written.
    page.get_by_text("Share a file").click()
    form.locator('input[type="file"]').set_input_files(
        {"name": "empty.txt", "mimeType": "text/plain", "buffer": b""}
    )
    form.get_by_role("button", name="Share").click()
    expect(form.locator(".form-error")).to_contain_text("empty")
    assert files(dash, reader, "empty") == []


def test_a_plain_form_shares_a_file_without_the_pages_script(dash: Dash, chromium: Browser) -> None:
    dash.user("nora")
    dash.post(dash.agent("greeter"), "general", "welcome")
    plain = chromium.new_context(java_script_enabled=False)
    try:
        page = plain.new_page()
        page.goto(dash.link("nora"))
        page.goto(f"{dash.url}/c/general")
        page.get_by_text("Share a file").click()
        form = page.locator("form.upload")
        form.locator('input[type="file"]').set_input_files(
            {"name": "plain.csv", "mimeType": "text/csv", "buffer": b"a,b\n"}
        )
        form.get_by_role("button", name="Share").click()
        page.wait_for_url(re.compile(r"/c/general$"))
        expect(page.locator(".file", has_text="plain.csv")).to_have_count(1)
    finally:
        plain.close()
