"""The function-calling loops in docs/tools.md run as written against a real hub. No model is
reachable, so each vendor's SDK module is replaced by a scripted stand-in with the same
surface: it answers from recorded responses in the API's own JSON shape (parsed into typed
objects, as the SDK does), the first of them calling ``hubbub_send`` and ``hubbub_whoami``,
and records every request. The tests check what the loop sent (the exported declarations,
the tool results in the vendor's shape) and that the post really landed in the hub."""

from __future__ import annotations

import json
import re
import sys
import types
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from hubbub.client import Client
from hubbub.tools.exports import export
from tests.live import LiveHub

pytestmark = pytest.mark.e2e

DOC = Path(__file__).parent.parent / "docs" / "tools.md"
EXAMPLE = re.compile(r"<!-- example: (\w+) -->\n```python\n(.*?)\n```", re.DOTALL)
PROMPT = "Check my inbox and answer what needs it."
FINAL = "Posted the status; nothing else needs an answer."


def examples() -> dict[str, str]:
    """The marked Python blocks of docs/tools.md, by name."""
    return dict(EXAMPLE.findall(DOC.read_text()))


@dataclass
class Script:
    """Recorded model turns, answered in order; every request's arguments, as sent."""

    turns: list[Any]
    requests: list[dict[str, Any]] = field(default_factory=list)

    def answer(self, **request: Any) -> Any:
        # The history is copied: the loop goes on appending to the same list.
        for key in ("messages", "contents"):
            if key in request:
                request[key] = list(request[key])
        self.requests.append(request)
        return self.turns[len(self.requests) - 1]


def namespace(**attributes: Any) -> types.SimpleNamespace:
    return types.SimpleNamespace(**attributes)


# OpenAI: the Chat Completions response, as the `openai` package types it.


class OpenAIFunction(BaseModel):
    name: str
    arguments: str


class OpenAIToolCall(BaseModel):
    id: str
    type: Literal["function"]
    function: OpenAIFunction


class OpenAIMessage(BaseModel):
    role: Literal["assistant"]
    content: str | None = None
    refusal: str | None = None
    tool_calls: list[OpenAIToolCall] | None = None


class OpenAIChoice(BaseModel):
    index: int
    finish_reason: str
    message: OpenAIMessage


class OpenAICompletion(BaseModel):
    id: str
    object: Literal["chat.completion"]
    created: int
    model: str
    choices: list[OpenAIChoice]


def openai_module(script: Script) -> types.ModuleType:
    module = types.ModuleType("openai")

    class AsyncOpenAI:
        def __init__(self) -> None:
            async def create(**request: Any) -> Any:
                return script.answer(**request)

            self.chat = namespace(completions=namespace(create=create))

    module.AsyncOpenAI = AsyncOpenAI  # type: ignore[attr-defined]
    return module


def openai_turns(channel: str) -> list[Any]:
    arguments = {"to": f"#{channel}", "text": "status: green", "reply_to": None}
    calls = [
        {
            "id": "call_send",
            "type": "function",
            "function": {"name": "hubbub_send", "arguments": json.dumps(arguments)},
        },
        {
            "id": "call_me",
            "type": "function",
            "function": {"name": "hubbub_whoami", "arguments": "{}"},
        },
    ]
    recorded: list[dict[str, Any]] = [
        {"role": "assistant", "content": None, "tool_calls": calls},
        {"role": "assistant", "content": FINAL},
    ]
    return [
        OpenAICompletion.model_validate(
            {
                "id": f"chatcmpl-{number}",
                "object": "chat.completion",
                "created": 1767225600,
                "model": "gpt-5",
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "tool_calls" if "tool_calls" in message else "stop",
                        "message": message,
                    }
                ],
            }
        )
        for number, message in enumerate(recorded)
    ]


# Anthropic: the Messages API response, as the `anthropic` package types it.


class AnthropicText(BaseModel):
    type: Literal["text"]
    text: str


class AnthropicToolUse(BaseModel):
    type: Literal["tool_use"]
    id: str
    name: str
    input: dict[str, Any]


class AnthropicMessage(BaseModel):
    id: str
    type: Literal["message"]
    role: Literal["assistant"]
    model: str
    content: list[Annotated[AnthropicText | AnthropicToolUse, Field(discriminator="type")]]
    stop_reason: str


def anthropic_module(script: Script) -> types.ModuleType:
    module = types.ModuleType("anthropic")

    class AsyncAnthropic:
        def __init__(self) -> None:
            async def create(**request: Any) -> Any:
                return script.answer(**request)

            self.messages = namespace(create=create)

    module.AsyncAnthropic = AsyncAnthropic  # type: ignore[attr-defined]
    return module


def anthropic_turns(channel: str) -> list[Any]:
    uses = [
        {"type": "text", "text": "Posting the status."},
        {
            "type": "tool_use",
            "id": "toolu_send",
            "name": "hubbub_send",
            "input": {"to": f"#{channel}", "text": "status: green"},
        },
        {"type": "tool_use", "id": "toolu_me", "name": "hubbub_whoami", "input": {}},
    ]
    recorded = [(uses, "tool_use"), ([{"type": "text", "text": FINAL}], "end_turn")]
    return [
        AnthropicMessage.model_validate(
            {
                "id": f"msg_{number}",
                "type": "message",
                "role": "assistant",
                "model": "claude-sonnet-4-5",
                "content": content,
                "stop_reason": stop,
            }
        )
        for number, (content, stop) in enumerate(recorded)
    ]


# Gemini: the `google-genai` types, which take the API's camelCase names or their own
# snake_case ones and refuse any other field.


class GeminiModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class FunctionCall(GeminiModel):
    id: str | None = None
    name: str | None = None
    args: dict[str, Any] | None = None


class FunctionResponse(GeminiModel):
    id: str | None = None
    name: str | None = None
    response: dict[str, Any] | None = None


class Part(GeminiModel):
    text: str | None = None
    function_call: FunctionCall | None = None
    function_response: FunctionResponse | None = None


class Content(GeminiModel):
    role: str | None = None
    parts: list[Part] | None = None


class FunctionDeclaration(GeminiModel):
    name: str | None = None
    description: str | None = None
    parameters_json_schema: Any = None


class Tool(GeminiModel):
    function_declarations: list[FunctionDeclaration] | None = None


class GenerateContentConfig(GeminiModel):
    tools: list[Tool] | None = None


class Candidate(GeminiModel):
    content: Content | None = None
    finish_reason: str | None = None


class GenerateContentResponse(GeminiModel):
    candidates: list[Candidate] | None = None

    @property
    def function_calls(self) -> list[FunctionCall] | None:
        """The first candidate's function calls, or None (as the SDK answers)."""
        parts = (self.candidates or [Candidate()])[0].content or Content()
        calls = [part.function_call for part in parts.parts or [] if part.function_call]
        return calls or None

    @property
    def text(self) -> str | None:
        parts = (self.candidates or [Candidate()])[0].content or Content()
        texts = [part.text for part in parts.parts or [] if part.text is not None]
        return "".join(texts) if texts else None


def gemini_modules(script: Script) -> dict[str, types.ModuleType]:
    google = types.ModuleType("google")
    genai = types.ModuleType("google.genai")
    typed = types.ModuleType("google.genai.types")
    for model in (Part, Content, GenerateContentConfig, FunctionCall, FunctionResponse, Tool):
        setattr(typed, model.__name__, model)

    class GenaiClient:
        def __init__(self) -> None:
            async def generate_content(**request: Any) -> Any:
                return script.answer(**request)

            self.aio = namespace(models=namespace(generate_content=generate_content))

    genai.Client = GenaiClient  # type: ignore[attr-defined]
    genai.types = typed  # type: ignore[attr-defined]
    google.genai = genai  # type: ignore[attr-defined]
    return {"google": google, "google.genai": genai, "google.genai.types": typed}


def gemini_turns(channel: str) -> list[Any]:
    calls = [
        {
            "functionCall": {
                "id": "g-send",
                "name": "hubbub_send",
                "args": {"to": f"#{channel}", "text": "status: green"},
            }
        },
        {"functionCall": {"id": "g-me", "name": "hubbub_whoami", "args": {}}},
    ]
    recorded = [calls, [{"text": FINAL}]]
    return [
        GenerateContentResponse.model_validate(
            {"candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP"}]}
        )
        for parts in recorded
    ]


# Running a block as written, against the live hub.


@pytest.fixture
def acting(live_hub: LiveHub, monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    """Points the SDK's defaults (the environment) at the live hub, as agent ``name``."""

    def act(name: str) -> None:
        for variable in ("HUBBUB_MACHINE", "HUBBUB_ADMIN_KEY", "HUBBUB_TOOL_WAIT_SECONDS"):
            monkeypatch.delenv(variable, raising=False)
        monkeypatch.setenv("HUBBUB_URL", live_hub.url)
        monkeypatch.setenv("HUBBUB_KEY", live_hub.config()["key"])
        monkeypatch.setenv("HUBBUB_AGENT", name)

    return act


def run_example(
    name: str, modules: dict[str, types.ModuleType], monkeypatch: pytest.MonkeyPatch
) -> None:
    for module_name, module in modules.items():
        monkeypatch.setitem(sys.modules, module_name, module)
    code = compile(examples()[name], f"docs/tools.md ({name})", "exec")
    exec(code, {"__name__": "__main__"})


def landed(live_hub: LiveHub, channel: str) -> list[tuple[str, str]]:
    with Client(live_hub.url, live_hub.config()["key"], "lap-reader") as reader:
        return [(m.author, m.content) for m in reader.read(channel).messages]


def test_the_doc_marks_one_example_per_vendor() -> None:
    assert sorted(examples()) == ["anthropic", "gemini", "openai"]


def test_the_openai_loop(
    live_hub: LiveHub,
    acting: Callable[[str], None],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    channel = f"project-oai-{uuid.uuid4().hex[:8]}"
    script = Script(openai_turns(channel))
    acting("lap-openai-loop")
    run_example("openai", {"openai": openai_module(script)}, monkeypatch)

    first, second = script.requests
    assert first["tools"] == export("openai")
    assert first["messages"] == [{"role": "user", "content": PROMPT}]
    asked, send, whoami = second["messages"][1:]
    assert asked is script.turns[0].choices[0].message
    assert send["role"] == whoami["role"] == "tool"
    assert send["tool_call_id"] == "call_send"
    assert send["content"].startswith(f"sent to #{channel}")
    assert whoami["tool_call_id"] == "call_me"
    assert "lap-openai-loop" in whoami["content"]
    assert landed(live_hub, channel) == [("lap-openai-loop", "status: green")]
    assert capsys.readouterr().out == FINAL + "\n"


def test_the_anthropic_loop(
    live_hub: LiveHub,
    acting: Callable[[str], None],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    channel = f"project-ant-{uuid.uuid4().hex[:8]}"
    script = Script(anthropic_turns(channel))
    acting("lap-claude-loop")
    run_example("anthropic", {"anthropic": anthropic_module(script)}, monkeypatch)

    first, second = script.requests
    assert first["tools"] == export("anthropic")
    assert first["messages"] == [{"role": "user", "content": PROMPT}]
    assert first["max_tokens"] > 0
    asked, answered = second["messages"][1:]
    assert asked == {"role": "assistant", "content": script.turns[0].content}
    assert answered["role"] == "user"
    send, whoami = answered["content"]
    assert send["type"] == whoami["type"] == "tool_result"
    assert (send["tool_use_id"], send["is_error"]) == ("toolu_send", False)
    assert send["content"].startswith(f"sent to #{channel}")
    assert whoami["tool_use_id"] == "toolu_me"
    assert "lap-claude-loop" in whoami["content"]
    assert landed(live_hub, channel) == [("lap-claude-loop", "status: green")]
    assert capsys.readouterr().out == FINAL + "\n"


def test_the_gemini_loop(
    live_hub: LiveHub,
    acting: Callable[[str], None],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    channel = f"project-gem-{uuid.uuid4().hex[:8]}"
    script = Script(gemini_turns(channel))
    acting("lap-gemini-loop")
    run_example("gemini", gemini_modules(script), monkeypatch)

    first, second = script.requests
    # The declarations went through the SDK's own types with nothing refused or dropped.
    sent = first["config"].model_dump(by_alias=True, exclude_none=True)
    assert sent == {"tools": export("gemini")}
    assert [c.model_dump(exclude_none=True) for c in first["contents"]] == [
        {"role": "user", "parts": [{"text": PROMPT}]}
    ]
    asked, answered = second["contents"][1:]
    assert asked is script.turns[0].candidates[0].content
    assert answered.role == "user"
    send, whoami = (part.function_response for part in answered.parts)
    assert (send.id, send.name) == ("g-send", "hubbub_send")
    assert send.response["output"]["to"] == f"#{channel}"
    assert (whoami.id, whoami.name) == ("g-me", "hubbub_whoami")
    assert whoami.response["output"]["name"] == "lap-gemini-loop"
    assert landed(live_hub, channel) == [("lap-gemini-loop", "status: green")]
    assert capsys.readouterr().out == FINAL + "\n"
