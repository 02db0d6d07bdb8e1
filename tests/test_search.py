"""Full-text search: ranked hits with snippets, filters, and user text taken literally."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.clients import AgentClient, problem

pytestmark = pytest.mark.anyio


async def ids(agent: AgentClient, q: str, **params: str) -> list[int]:
    return [hit["message"]["id"] for hit in await agent.search(q, **params)]


async def test_search_finds_every_word_with_a_snippet(
    alpha: AgentClient, beta: AgentClient
) -> None:
    match = await alpha.say("general", "The deploy pipeline broke on the migration step")
    await alpha.say("general", "The deploy went fine")
    [hit] = await beta.search("deploy migration")
    assert hit["message"]["id"] == match["id"]
    assert "**migration**" in hit["snippet"]
    assert isinstance(hit["rank"], float)
    result = await beta.ok("GET", "/search", params={"q": "  deploy  "})
    assert result["query"] == "deploy"
    assert len(result["hits"]) == 2


async def test_phrases_prefixes_and_case(alpha: AgentClient) -> None:
    one = await alpha.say("general", "Rolling restart of the Kubernetes cluster")
    two = await alpha.say("general", "restart rolling back")
    assert await ids(alpha, '"rolling restart"') == [one["id"]]
    assert sorted(await ids(alpha, "kube*")) == [one["id"]]
    assert sorted(await ids(alpha, "ROLLING")) == sorted([one["id"], two["id"]])
    assert await ids(alpha, "kube") == []


async def test_diacritics_are_folded(alpha: AgentClient) -> None:
    posted = await alpha.say("general", "le café est prêt")
    assert await ids(alpha, "cafe pret") == [posted["id"]]


@pytest.mark.parametrize(
    "q",
    ['"', "AND", "OR NOT", "NEAR(a b)", "col:x", "^start", "a -b", "(", "*", "'; DROP TABLE"],
)
async def test_fts_syntax_in_user_text_is_literal(alpha: AgentClient, q: str) -> None:
    await alpha.say("general", "plain words AND more")
    response = await alpha.get("/search", params={"q": q})
    assert response.status_code == 200, response.text
    assert isinstance(response.json()["hits"], list)


async def test_edited_text_is_searched_and_deleted_messages_vanish(
    alpha: AgentClient, beta: AgentClient
) -> None:
    posted = await alpha.say("general", "unicorn sighting")
    await alpha.ok("PATCH", f"/messages/{posted['id']}", {"content": "pegasus sighting"})
    assert await ids(beta, "unicorn") == []
    assert await ids(beta, "pegasus") == [posted["id"]]
    other = await alpha.say("general", "another sighting")
    await alpha.ok("DELETE", f"/messages/{posted['id']}")
    assert await ids(beta, "pegasus") == []
    assert await ids(beta, "sighting") == [other["id"]]


async def test_filters_by_channel_author_and_time(alpha: AgentClient, beta: AgentClient) -> None:
    in_general = await alpha.say("general", "needle one")
    in_project = await alpha.say("project-x", "needle two")
    by_beta = await beta.say("project-x", "needle three")
    assert sorted(await ids(beta, "needle", channel="project-x")) == sorted(
        [in_project["id"], by_beta["id"]]
    )
    assert sorted(await ids(beta, "needle", channel="#general")) == [in_general["id"]]
    assert sorted(await ids(beta, "needle", author="lap-beta")) == [by_beta["id"]]
    assert sorted(await ids(beta, "needle", author="@lap-alpha")) == sorted(
        [in_general["id"], in_project["id"]]
    )
    assert await ids(beta, "needle", author="lap-nobody") == []
    now = datetime.now(UTC)
    past = (now - timedelta(hours=1)).isoformat()
    future = (now + timedelta(hours=1)).isoformat()
    assert len(await ids(beta, "needle", since=past, until=future)) == 3
    assert await ids(beta, "needle", since=future) == []
    assert await ids(beta, "needle", until=past) == []


async def test_limit_caps_the_hits(alpha: AgentClient) -> None:
    for i in range(5):
        await alpha.say("general", f"repeat {i}")
    assert len(await ids(alpha, "repeat", limit="3")) == 3


async def test_equal_ranks_come_newest_first_with_their_snippets(
    alpha: AgentClient, beta: AgentClient
) -> None:
    posted = [await alpha.say("general", "identical twin report") for _ in range(6)]
    await alpha.say("general", "a twin of another kind")
    newest_first = [p["id"] for p in reversed(posted)]
    hits = await beta.search("twin report", limit="4")
    assert [hit["message"]["id"] for hit in hits] == newest_first[:4]
    assert all(hit["snippet"] == "identical **twin** **report**" for hit in hits)


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"q": ""}, "empty_query"),
        ({"q": "   "}, "empty_query"),
        ({"q": "x" * 501}, "invalid"),
        ({"q": "x", "limit": "0"}, "invalid"),
        ({"q": "x", "limit": "101"}, "invalid"),
        ({"q": "x", "since": "2030-01-01T00:00:00Z", "until": "2020-01-01T00:00:00Z"}, "bad_range"),
        ({"q": "x", "since": "yesterday"}, "invalid"),
        ({"q": "x", "channel": "Bad Name"}, "bad_name"),
        ({"q": "x", "channel": "nowhere"}, "channel_not_found"),
        ({"q": "x", "author": "Bad Name"}, "bad_name"),
        ({"q": "x", "sort": "new"}, "invalid"),
    ],
)
async def test_bad_searches_are_clear_errors(
    alpha: AgentClient, params: dict[str, str], code: str
) -> None:
    response = await alpha.get("/search", params=params)
    body = problem(response, response.status_code, code)
    assert body["status"] in (404, 422)
