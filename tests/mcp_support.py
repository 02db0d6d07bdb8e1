"""MCP sessions for the tests: calls through the official SDK's client, results checked
against the tools' declared schemas, and one scenario that uses every compact tool, shared
by the in-memory, HTTP and stdio tests."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import mcp_types as types
from mcp.client import Client

from hubbub.tools import tools


class Session:
    """An entered MCP client acting as one agent, with the tools it listed."""

    def __init__(self, client: Client, agent: str) -> None:
        self.client = client
        self.agent = agent
        self.tools: dict[str, types.Tool] = {}
        self.called: set[str] = set()

    async def list(self) -> list[types.Tool]:
        """Every listed tool, following pagination."""
        listed: list[types.Tool] = []
        cursor: str | None = None
        while True:
            page = await self.client.list_tools(cursor=cursor)
            listed.extend(page.tools)
            cursor = page.next_cursor
            if cursor is None:
                break
        self.tools = {tool.name: tool for tool in listed}
        return listed

    async def call(self, name: str, /, **arguments: Any) -> types.CallToolResult:
        if not self.tools:
            await self.list()
        return await self.client.call_tool(name, arguments)

    async def ok(self, name: str, /, **arguments: Any) -> dict[str, Any]:
        """The structured result of a call that must succeed, checked against the tool's
        output schema, with a non-empty text rendering beside it."""
        result = await self.call(name, **arguments)
        text = rendered(result)
        assert not result.is_error, (name, text)
        assert isinstance(result.structured_content, dict), (name, result)
        schema = self.tools[name].output_schema
        assert schema is not None, name
        jsonschema.Draft202012Validator(schema).validate(result.structured_content)
        assert text.strip(), name
        self.called.add(name)
        return result.structured_content

    async def refused(self, name: str, /, **arguments: Any) -> str:
        """The text of a call that must come back as a tool error (not a protocol error)."""
        result = await self.call(name, **arguments)
        assert result.is_error, (name, result)
        assert result.structured_content is None, result
        return rendered(result)


def rendered(result: types.CallToolResult) -> str:
    """A result's text content (one text block)."""
    texts = [block.text for block in result.content if isinstance(block, types.TextContent)]
    assert len(texts) == len(result.content) == 1, result.content
    return texts[0]


async def exercise(alpha: Session, beta: Session) -> None:
    """Use every compact tool as ``alpha``, with ``beta`` (on the full surface) writing to it
    and handing it a task; waits must be short (a cap of a second or so). Fails naming any
    compact tool it did not call."""
    me = await alpha.ok("hubbub_whoami")
    assert me["name"] == alpha.agent
    assert "hubbub_send" in (await alpha.ok("hubbub_help"))["text"]

    await beta.ok("hubbub_send", to=f"@{alpha.agent}", text="ping from beta")
    word = "deploy" + alpha.agent.replace("-", "")  # a word only this scenario writes
    sent = await alpha.ok("hubbub_send", to="#general", text=f"{word} at five")
    page = await alpha.ok("hubbub_read", channel="#general")
    assert sent["message_ids"][0] in [message["id"] for message in page["messages"]]

    board = await alpha.ok("hubbub_board")
    assert board["me"] == alpha.agent
    assert board["unacked"] >= 1
    inbox = await alpha.ok("hubbub_inbox")
    dm = inbox["items"][-1]
    assert dm["kind"] == "dm"
    assert f"from={beta.agent} " in json.dumps(dm)  # in its sender-stamped frame
    acked = await alpha.ok("hubbub_ack", items=[dm["item"]])
    assert acked["acked"] == 1
    waited = await alpha.ok("hubbub_wait", after=inbox["cursor"])
    assert waited["timed_out"] is True
    found = await alpha.ok("hubbub_search", query=word)
    assert [message["id"] for message in found["messages"]] == sent["message_ids"]

    shared = await beta.ok(
        "hubbub_upload", to=f"@{alpha.agent}", name="trace.log", text="boom at line 3"
    )
    fetched = await alpha.ok("hubbub_file", file_id=shared["id"])
    assert "boom at line 3" in fetched["text"]

    task = await beta.ok("hubbub_create_task", title="rotate the keys", target=f"@{alpha.agent}")
    offered = await alpha.ok("hubbub_tasks")
    assert task["id"] in [listed["id"] for listed in offered["tasks"]]
    claim = await alpha.ok("hubbub_claim", task_id=task["id"])
    assert claim["claimed"] is True
    fence = claim["task"]["fence"]
    done = await alpha.ok("hubbub_complete", task_id=task["id"], fence=fence, text="rotated")
    assert done["status"] == "done"

    for tool in tools("compact"):
        if tool.name not in alpha.called:
            # A tool added since this scenario was written: call it if it needs nothing.
            assert not tool.input_schema().get("required"), f"exercise {tool.name} too"
            await alpha.ok(tool.name)
    assert alpha.called >= {tool.name for tool in tools("compact")}
