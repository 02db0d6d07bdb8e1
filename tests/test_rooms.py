"""Project rooms: a channel's project and branch, set at creation and changed by its creator
or an admin; listings filtered by project, kind and name category; the projects with their
counts, as the viewer may see them; search within a project. Through REST, the SDK, the
MCP tools and the CLI."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from hubbub.core.errors import Forbidden, InvalidInput
from tests.agent_tools import acting, sdk
from tests.clients import API, AgentClient, InProcessHub, problem
from tests.live import LiveHub, cli_of, ok_json

pytestmark = pytest.mark.anyio


async def room(
    agent: AgentClient, name: str, project: str, branch: str | None = None, **extra: Any
) -> dict[str, Any]:
    body = {"name": name, "project": project, **extra}
    if branch is not None:
        body["branch"] = branch
    response = await agent.post("/channels", body)
    assert response.status_code == 201, response.text
    made: dict[str, Any] = response.json()
    return made


def names(channels: list[dict[str, Any]]) -> list[str]:
    return [c["name"] for c in channels]


async def test_a_room_carries_its_project_branch_and_category(alpha: AgentClient) -> None:
    made = await room(alpha, "parser-work", "hubbub", "feature/fast-parse")
    assert (made["project"], made["branch"], made["category"]) == (
        "hubbub",
        "feature/fast-parse",
        "other",
    )
    got = await alpha.ok("GET", "/channels/parser-work")
    assert (got["project"], got["branch"]) == ("hubbub", "feature/fast-parse")
    await alpha.say("project-hubbub", "hello")
    await alpha.say("general", "hi all")
    await alpha.say("tech-rust", "borrowck")
    categories = {c["name"]: c["category"] for c in await alpha.ok("GET", "/channels")}
    assert categories == {
        "general": "global",
        "parser-work": "other",
        "project-hubbub": "project",
        "tech-rust": "tech",
    }


async def test_listings_filter_by_project_kind_and_category(
    alpha: AgentClient, beta: AgentClient
) -> None:
    await room(alpha, "api-main", "api", "main")
    await room(alpha, "api-next", "api", "next")
    await room(alpha, "web-main", "web")
    await alpha.say("project-api", "the api room")
    await alpha.say("global", "everyone")
    await alpha.send(f"@{beta.name}", "a DM")
    assert names(await alpha.ok("GET", "/channels", params={"project": "api"})) == [
        "api-main",
        "api-next",
    ]
    assert names(await alpha.ok("GET", "/channels", params={"category": "project"})) == [
        "project-api"
    ]
    assert names(await alpha.ok("GET", "/channels", params={"category": "global"})) == ["global"]
    assert names(await alpha.ok("GET", "/channels", params={"category": "other"})) == [
        "api-main",
        "api-next",
        "web-main",
    ]
    assert (
        names(await alpha.ok("GET", "/channels", params={"project": "api", "category": "project"}))
        == []
    )
    dms = await alpha.ok("GET", "/channels", params={"kind": "dm"})
    assert names(dms) == ["dm:" + ":".join(sorted([alpha.name, beta.name]))]
    assert await alpha.ok("GET", "/channels", params={"kind": "pair"}) == []
    gamma_view = await beta.ok("GET", "/channels", params={"kind": "channel", "project": "web"})
    assert names(gamma_view) == ["web-main"]


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"project": "Bad Name"}, "bad_project"),
        ({"project": "-api"}, "bad_project"),
        ({"kind": "room"}, "invalid"),
        ({"category": "misc"}, "invalid"),
    ],
)
async def test_bad_listing_filters_are_422(
    alpha: AgentClient, params: dict[str, str], code: str
) -> None:
    problem(await alpha.get("/channels", params=params), 422, code)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"project": "Hubbub"}, "bad_project"),
        ({"project": "x" * 65}, "bad_project"),
        ({"project": ""}, "bad_project"),
        ({"project": "ok", "branch": "a..b"}, "bad_branch"),
        ({"project": "ok", "branch": "feature/x.lock"}, "bad_branch"),
        ({"project": "ok", "branch": "-x"}, "bad_branch"),
        ({"project": "ok", "branch": "a b"}, "bad_branch"),
        ({"project": "ok", "branch": "a\u0007b"}, "bad_branch"),
        ({"project": "ok", "branch": "b" * 201}, "bad_branch"),
        ({"project": "ok", "branch": ""}, "bad_branch"),
        ({"project": 7}, "invalid"),
    ],
)
async def test_a_bad_project_or_branch_is_422_and_creates_nothing(
    hub: InProcessHub, alpha: AgentClient, body: dict[str, Any], code: str
) -> None:
    before = hub.snapshot()
    answer = problem(await alpha.post("/channels", {"name": "room", **body}), 422, code)
    shown = body.get("branch", body.get("project"))
    if code != "invalid":
        assert repr(shown)[:40] in answer["detail"]
    assert hub.snapshot() == before


async def test_the_creator_or_an_admin_changes_a_room_and_no_one_else(
    hub: InProcessHub, alpha: AgentClient, beta: AgentClient
) -> None:
    await room(alpha, "ops", "infra", "main", topic="deploys")
    changed = await alpha.ok("PATCH", "/channels/ops", {"branch": "release/2.0"})
    assert (changed["project"], changed["branch"], changed["topic"]) == (
        "infra",
        "release/2.0",
        "deploys",
    )
    await beta.ok("POST", "/channels/ops/join")
    before = hub.snapshot()
    problem(await beta.patch("/channels/ops", {"project": "mine"}), 403, "not_creator")
    assert hub.snapshot() == before
    admin = AgentClient(hub.http, beta.name, hub.admin_key)
    cleared = await admin.ok("PATCH", "/channels/ops", {"branch": "", "project": "platform"})
    assert (cleared["project"], cleared["branch"]) == ("platform", None)
    assert (await alpha.ok("GET", "/channels/ops"))["project"] == "platform"
    updates = hub.query("SELECT count(*) FROM events WHERE type = 'channel.updated'")
    assert updates[0][0] == 2


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        ("/channels/ops", {"project": "Not Valid"}, 422, "bad_project"),
        ("/channels/ops", {"branch": "x..y"}, 422, "bad_branch"),
        ("/channels/ops", {}, 422, "invalid"),
        ("/channels/ops", {"colour": "red"}, 422, "invalid"),
        ("/channels/nowhere", {"project": "x"}, 404, "channel_not_found"),
        ("/channels/general", {"project": "x"}, 403, "not_creator"),
    ],
)
async def test_bad_changes_are_refused_and_change_nothing(
    hub: InProcessHub,
    alpha: AgentClient,
    path: str,
    body: dict[str, Any],
    status: int,
    code: str,
) -> None:
    await room(alpha, "ops", "infra", "main")
    await alpha.say("general", "here")
    before = hub.snapshot()
    problem(await alpha.patch(path, body), status, code)
    assert hub.snapshot() == before
    assert (await alpha.ok("GET", "/channels/ops"))["branch"] == "main"


async def test_projects_count_only_what_the_viewer_may_see(
    alpha: AgentClient, beta: AgentClient
) -> None:
    await room(alpha, "api-open", "api")
    await room(alpha, "api-secret", "api", visibility="secret")
    await room(alpha, "web-private", "web", visibility="private")
    await alpha.say("api-open", "one")
    for text in ("two", "three"):
        await alpha.say("api-secret", text)
    await alpha.say("web-private", "four")
    mine = {p["project"]: p for p in await alpha.ok("GET", "/projects")}
    assert {k: (v["channels"], v["messages"]) for k, v in mine.items()} == {
        "api": (2, 3),
        "web": (1, 1),
    }
    theirs = await beta.ok("GET", "/projects")
    assert [(p["project"], p["channels"], p["messages"]) for p in theirs] == [("api", 1, 1)]
    await alpha.ok("POST", "/channels/web-private/archive")
    assert [p["project"] for p in await alpha.ok("GET", "/projects")] == ["api"]
    archived = await alpha.ok("GET", "/projects", params={"include_archived": "true"})
    assert [p["project"] for p in archived] == ["api", "web"]


async def test_search_within_a_project_on_either_engine(
    alpha: AgentClient, beta: AgentClient
) -> None:
    await room(alpha, "api-room", "api")
    await room(alpha, "web-room", "web")
    await room(alpha, "api-hidden", "api", visibility="secret")
    await alpha.say("api-room", "the flaky deploy again")
    await alpha.say("web-room", "a flaky deploy of the site")
    await alpha.say("api-hidden", "secret flaky deploy notes")
    hits = await alpha.search("flaky deploy", project="api")
    assert sorted(h["message"]["channel"] for h in hits) == ["api-hidden", "api-room"]
    seen = await beta.search("flaky deploy", project="api")
    assert [h["message"]["channel"] for h in seen] == ["api-room"]
    assert await beta.search("flaky deploy", project="nothing") == []
    problem(await alpha.get("/search", params={"q": "x", "project": "No!"}), 422, "bad_project")


async def test_rooms_through_the_sdk_and_the_tools(hub: InProcessHub, alpha: AgentClient) -> None:
    async with sdk(hub, "lap-sdk") as client:
        made = await client.create_channel("sdk-room", project="kit", branch="main")
        assert (made.project, made.branch, made.category) == ("kit", "main", "other")
        changed = await client.update_channel("sdk-room", branch="dev")
        assert changed.branch == "dev"
        await client.post("project-kit", "a post")
        assert [c.name for c in await client.channels(project="kit")] == ["sdk-room"]
        assert [c.name for c in await client.channels(category="project")] == ["project-kit"]
        projects = await client.projects()
        assert [(p.project, p.channels, p.messages) for p in projects] == [("kit", 1, 0)]
        found = await client.search("post", project="kit")
        assert found.hits == []
        with pytest.raises(InvalidInput) as bad:
            await client.create_channel("other-room", project="kit", branch="x..y")
        assert bad.value.code == "bad_branch"
    async with sdk(hub, "srv-other") as other:
        with pytest.raises(Forbidden):
            await other.update_channel("sdk-room", project="theirs")
    async with acting(hub, "lap-sdk") as call:
        listed = await call.ok("hubbub_channels", project="kit")
        assert [c["name"] for c in listed["channels"]] == ["#sdk-room"]
        assert listed["channels"][0]["branch"] == "dev"
        by_category = await call.ok("hubbub_channels", category="project")
        assert [c["name"] for c in by_category["channels"]] == ["#project-kit"]


@pytest.mark.e2e
def test_rooms_on_the_command_line(live_hub: LiveHub) -> None:
    cli = cli_of(live_hub)
    project = f"cli-{uuid.uuid4().hex[:8]}"
    name = f"{project}-room"
    made = ok_json(
        cli("channels", "create", name, "--project", project, "--branch", "main", "--json")
    )
    assert (made["project"], made["branch"]) == (project, "main")
    changed = ok_json(cli("channels", "update", name, "--branch", "dev", "--json"))
    assert changed["branch"] == "dev"
    listed = ok_json(cli("channels", "--project", project, "--json"))
    assert [c["name"] for c in listed] == [name]
    shown = cli("channels", "--project", project)
    assert shown.returncode == 0
    assert project in shown.stdout
    word = f"w{uuid.uuid4().hex[:10]}"
    ok_json(cli("post", f"#{name}", f"the {word} notes", "--json"))
    found = ok_json(cli("search", word, "--project", project, "--json"))
    assert [h["message"]["channel"] for h in found["hits"]] == [name]
    assert ok_json(cli("search", word, "--project", "elsewhere", "--json"))["hits"] == []
    projects = ok_json(cli("projects", "--json"))
    assert next(p for p in projects if p["project"] == project)["channels"] == 1
    assert project in cli("projects").stdout
    bad = cli("channels", "create", f"{name}-2", "--project", project, "--branch", "a..b")
    assert bad.returncode != 0
    assert "bad branch" in bad.stderr


async def test_the_dashboard_shows_a_rooms_project_and_branch(
    hub: InProcessHub, alpha: AgentClient
) -> None:
    await room(alpha, "kit-room", "kit", "release/1.2")
    made = await hub.http.post(
        f"{API}/admin/users", json={"name": "ann", "password": "a" * 12}, headers=hub.admin_headers
    )
    assert made.status_code == 201, made.text
    link = await hub.http.post(f"{API}/admin/users/ann/login-link", headers=hub.admin_headers)
    assert link.status_code == 201, link.text
    transport = httpx.ASGITransport(app=hub.app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub") as browser:
        await browser.get(link.json()["path"])
        page = await browser.get("/c/kit-room")
    assert page.status_code == 200, page.text
    assert "kit @ release/1.2" in page.text
