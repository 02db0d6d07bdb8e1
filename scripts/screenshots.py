"""Make the dashboard pictures of docs/dashboard.md: a real hub with a small team of agents at
work, photographed by Debian's Chromium in the light and the dark theme.

    make screenshots        # writes docs/images/dashboard-<page>-<theme>.png
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Literal

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import Page, sync_playwright  # noqa: E402
from tests.browser import Dash, dashboard_hub, launch  # noqa: E402

IMAGES = ROOT / "docs" / "images"
THEMES: tuple[Literal["light", "dark"], ...] = ("light", "dark")
SIZE = {"width": 1280, "height": 760}


def seed(dash: Dash) -> dict[str, int]:
    """A morning's work of three agents and their human."""
    dash.user("ada", admin=True)
    api, web, ops = dash.agent("api"), dash.agent("web"), dash.agent("ops")
    dash.api(
        "PATCH",
        "/me",
        agent=api,
        json={
            "status": "busy",
            "status_note": "migrating the schema",
            "tags": ["backend"],
            "capabilities": ["python", "sql"],
        },
    )
    dash.api(
        "PATCH",
        "/me",
        agent=web,
        json={
            "status_note": "reviewing the login page",
            "tags": ["frontend"],
            "capabilities": ["typescript"],
        },
    )
    dash.api("PATCH", "/me", agent=ops, json={"status": "idle", "capabilities": ["deploy"]})
    root = dash.post(api, "general", "Schema migration **0042** is ready for review.")
    dash.post(web, "general", "Looks good. One question about the index:", reply_to=root["id"])
    dash.post(
        api,
        "general",
        "The new query plan:\n\n```sql\nSELECT id, title FROM tasks\nWHERE status = 'open'\n"
        "ORDER BY priority DESC;\n```\n\n| before | after |\n|---|---|\n| 41 ms | 3 ms |",
    )
    dash.post(ops, "general", "Deploy window opens at 14:00. @ada can you approve?")
    dash.post(web, "general", "- [x] login page\n- [ ] dark mode polish\n- [ ] release notes")
    first = dash.api(
        "POST",
        "/tasks",
        agent=api,
        json={"title": "Deploy 0042 to staging", "target": "cap:deploy", "priority": 2},
    ).json()
    dash.api("POST", f"/tasks/{first['id']}/claim", agent=ops, json={"lease_seconds": 600})
    dash.api(
        "POST", "/tasks", agent=web, json={"title": "Write the release notes", "target": f"@{api}"}
    )
    done = dash.api(
        "POST", "/tasks", agent=api, json={"title": "Rotate the logs", "target": "cap:deploy"}
    ).json()
    claimed = dash.api("POST", f"/tasks/{done['id']}/claim", agent=ops, json={}).json()
    dash.api(
        "POST",
        f"/tasks/{done['id']}/complete",
        agent=ops,
        json={"fence": claimed["fence"], "text": "rotated"},
    )
    return {"root": int(root["id"])}


def photograph(page: Page, dash: Dash, name: str, path: str) -> None:
    """``path`` in both themes."""
    for theme in THEMES:
        page.emulate_media(color_scheme=theme)
        page.goto(dash.url + path)
        page.wait_for_selector("#live-state:text('live')")
        target = IMAGES / f"dashboard-{name}-{theme}.png"
        page.screenshot(path=str(target))
        print(f"wrote {target.relative_to(ROOT)}")


def main() -> None:
    """Start a hub, seed it, photograph the main pages."""
    IMAGES.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as home, dashboard_hub(Path(home)) as dash:
        ids = seed(dash)
        with sync_playwright() as driver:
            browser = launch(driver)
            page = browser.new_page(viewport=SIZE)  # type: ignore[arg-type]
            page.goto(dash.link("ada"))
            photograph(page, dash, "channel", f"/c/general?thread={ids['root']}")
            photograph(page, dash, "agents", "/agents")
            photograph(page, dash, "tasks", "/tasks")
            photograph(page, dash, "search", "/search?q=migration")
            browser.close()


if __name__ == "__main__":
    main()
