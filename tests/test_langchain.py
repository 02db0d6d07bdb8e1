"""The LangChain toolkit in a real agent loop: langchain-core's fake chat model, scripted to
call tools, drives the toolkit against a hub; the post lands and a read returns it. Without
langchain-core, importing the toolkit says how to install it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from langchain_core.language_models import LanguageModelInput
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field

from hubbub.tools import tools
from hubbub.tools.langchain import HubbubToolkit
from tests.agent_tools import sdk
from tests.clients import InProcessHub

pytestmark = pytest.mark.anyio


class ScriptedToolModel(GenericFakeChatModel):
    """A chat model that answers with scripted messages (tool calls included) and records
    the tool definitions it was bound to, as a provider would receive them."""

    bound: list[dict[str, Any]] = Field(default_factory=list)

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        self.bound = [convert_to_openai_tool(tool) for tool in tools]
        return self


def call(name: str, args: dict[str, Any], number: int) -> dict[str, Any]:
    return {"name": name, "args": args, "id": f"call_{number}", "type": "tool_call"}


async def test_an_agent_loop_posts_and_reads_through_the_toolkit(hub: InProcessHub) -> None:
    script = iter(
        [
            AIMessage(
                content="",
                tool_calls=[call("hubbub_send", {"to": "#general", "text": "hi from lc"}, 1)],
            ),
            AIMessage(content="", tool_calls=[call("hubbub_read", {"channel": "#general"}, 2)]),
            AIMessage(content="", tool_calls=[call("hubbub_read", {"channel": "#nowhere"}, 3)]),
            AIMessage(content="", tool_calls=[call("hubbub_send", {"to": "#general"}, 4)]),
            AIMessage(content="posted and read back"),
        ]
    )
    model = ScriptedToolModel(messages=script)
    async with sdk(hub, "lap-chain") as client:
        toolkit = HubbubToolkit(client=client, max_wait=0.2)
        chain_tools = toolkit.get_tools()
        by_name = {tool.name: tool for tool in chain_tools}
        agent = model.bind_tools(chain_tools)

        history: list[BaseMessage] = [HumanMessage("Say hi in #general, then read it back.")]
        replies: list[ToolMessage] = []
        for _ in range(10):
            answer = await agent.ainvoke(history)
            history.append(answer)
            if not answer.tool_calls:
                break
            for tool_call in answer.tool_calls:
                reply = await by_name[tool_call["name"]].ainvoke(tool_call)
                assert isinstance(reply, ToolMessage)
                history.append(reply)
                replies.append(reply)

    assert history[-1].content == "posted and read back"
    sent, read, missing, invalid = replies
    assert sent.status == "success"
    assert str(sent.content).startswith("sent to #general")
    assert read.tool_call_id == "call_2"
    assert "from=lap-chain" in str(read.content)
    assert "hi from lc" in str(read.content)
    assert [m["sender"] for m in read.artifact["messages"]] == ["lap-chain"]
    assert missing.status == "error"
    assert "channel_not_found" in str(missing.content)
    assert invalid.status == "error"
    assert "invalid arguments for hubbub_send: text: Field required" in str(invalid.content)

    # The post landed: another agent reads it straight from the hub.
    other = await hub.agent("lap-other")
    assert [m["content"] for m in await other.messages("general")] == ["hi from lc"]
    # The model saw every compact tool, with the registry's argument schemas.
    assert [t["function"]["name"] for t in model.bound] == [t.name for t in tools()]
    (send,) = [t["function"] for t in model.bound if t["function"]["name"] == "hubbub_send"]
    assert set(send["parameters"]["required"]) == {"to", "text"}


async def test_the_full_surface_and_the_tool_shapes(hub: InProcessHub) -> None:
    async with sdk(hub, "lap-chain") as client:
        full = HubbubToolkit(client=client, surface="full").get_tools()
    assert [tool.name for tool in full] == [tool.name for tool in tools("full")]
    for tool, spec in zip(full, tools("full"), strict=True):
        assert tool.description == spec.description
        assert tool.args_schema is spec.input
        assert tool.response_format == "content_and_artifact"


def test_importing_without_langchain_names_the_install_command() -> None:
    probe = (
        "import sys\n"
        "sys.modules['langchain_core'] = sys.modules['langchain_core.tools'] = None\n"
        "from hubbub import HubbubError\n"
        "try:\n"
        "    import hubbub.tools.langchain\n"
        "except HubbubError as error:\n"
        "    print(type(error).__name__, error.code, isinstance(error, ImportError), error)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("MissingExtra missing_extra True ")
    assert "pip install 'hubbub[langchain]'" in done.stdout
