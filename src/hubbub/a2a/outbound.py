"""The hub as an A2A client: the core's :class:`~hubbub.core.a2a_remotes.Forwarder` over the
A2A SDK, for remote agents an admin registered.

Every connection goes through the same checked transport as webhooks
(:mod:`hubbub.server.webhooks`): the host is resolved once and only an address the hub's
:class:`~hubbub.core.outbound.OutboundPolicy` allows is connected to. A registered URL may name
a private address (an admin chose it), so exactly that URL's host and port may reach a
non-public address (never a cloud metadata one); any other address a remote's Agent Card names
is judged like a webhook's. Redirects are never followed.

The A2A SDK is the optional extra ``hubbub[a2a]``: it is imported only when a card is read or a
message sent, and :func:`forwarder` answers ``None`` (said once in the log) without it.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

from hubbub.core.a2a_remotes import (
    MISSING_EXTRA,
    Answer,
    AnswerState,
    ForwardError,
    Outgoing,
    RemoteCard,
    RemoteTarget,
    ReturnedFile,
    capabilities_of,
)
from hubbub.core.errors import InvalidInput
from hubbub.core.outbound import FORBIDDEN, OutboundPolicy
from hubbub.server.webhooks import CheckedBackend, CheckedTransport, Resolver, resolve

if TYPE_CHECKING:
    from a2a.types import AgentCard, Message, Part, Task

log = logging.getLogger("hubbub.a2a")

CARD_SECONDS = 300.0  # how long a fetched card is reused for sending
CARD_TIMEOUT = 10.0  # seconds a registration waits for the card
FIRST_POLL = 0.2  # seconds before the first look at a remote task still under way
LONGEST_POLL = 5.0
BINDINGS = ["JSONRPC", "HTTP+JSON"]
# The states a remote task ends in, or waits in, by the SDK's enum names.
STATES: dict[str, AnswerState] = {
    "TASK_STATE_COMPLETED": "completed",
    "TASK_STATE_FAILED": "failed",
    "TASK_STATE_CANCELED": "canceled",
    "TASK_STATE_REJECTED": "rejected",
    "TASK_STATE_INPUT_REQUIRED": "input_required",
    "TASK_STATE_AUTH_REQUIRED": "auth_required",
}
# Errors a remote answers that trying again cannot mend.
PERMANENT = frozenset(
    {
        "InvalidParamsError",
        "InvalidRequestError",
        "MethodNotFoundError",
        "ContentTypeNotSupportedError",
        "UnsupportedOperationError",
        "VersionNotSupportedError",
        "ExtensionSupportRequiredError",
    }
)

_said_missing = False


def available() -> bool:
    """Whether the A2A SDK (the ``hubbub[a2a]`` extra) is installed."""
    return importlib.util.find_spec("a2a") is not None


def forwarder(policy: OutboundPolicy, timeout: float, follow_seconds: float) -> A2AForwarder | None:
    """The forwarder, or ``None`` (said once in the log) when the extra is missing."""
    global _said_missing
    if available():
        return A2AForwarder(policy, timeout, follow_seconds)
    if not _said_missing:
        _said_missing = True
        log.info("remote A2A agents are off: %s", MISSING_EXTRA)
    return None


def endpoint(url: str) -> tuple[str, int]:
    """The host (lowercased, without a trailing dot) and port a URL connects to."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").rstrip(".").lower()
        return host, parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as error:  # a port out of range, an unclosed "["
        raise ForwardError(f"bad URL: {error}", permanent=True) from None


class A2AForwarder:
    """Reads Agent Cards and sends messages to remote agents with the A2A SDK's client."""

    def __init__(
        self,
        policy: OutboundPolicy,
        timeout: float,
        follow_seconds: float,
        *,
        resolver: Resolver = resolve,
    ) -> None:
        self._policy = policy
        self._timeout = timeout
        self._follow = follow_seconds
        self._resolver = resolver
        self._cards: dict[tuple[str, str | None], tuple[float, AgentCard]] = {}

    def _http(self, target: RemoteTarget, timeout: float | None = None) -> httpx.AsyncClient:
        """A client for one remote: its token sent, its URL's host and port pinned."""
        backend = CheckedBackend(self._policy, pinned=endpoint(target.url), resolver=self._resolver)
        headers = {"User-Agent": "hubbub-a2a"}
        if target.token:
            headers["Authorization"] = f"Bearer {target.token}"
        return httpx.AsyncClient(
            transport=CheckedTransport(backend),
            timeout=httpx.Timeout(timeout or self._timeout),
            follow_redirects=False,
            headers=headers,
        )

    async def card(self, target: RemoteTarget) -> RemoteCard:
        """Fetch and read the remote's Agent Card."""
        from google.protobuf.json_format import MessageToDict

        card: AgentCard = await _guarded(self._card(target))
        self._cards[(target.url, target.token)] = (time.monotonic(), card)
        skills = [(s.id, list(s.tags)) for s in card.skills]
        return RemoteCard(
            name=card.name,
            description=card.description,
            capabilities=capabilities_of(skills),
            card=MessageToDict(card),
        )

    async def _card(self, target: RemoteTarget) -> AgentCard:
        async with self._http(target, min(CARD_TIMEOUT, self._timeout)) as http:
            return await self._fetch_card(http, target)

    async def _fetch_card(self, http: httpx.AsyncClient, target: RemoteTarget) -> AgentCard:
        from a2a.client import A2ACardResolver

        path = urlsplit(target.url).path
        if path.endswith(".json"):  # the card's own URL rather than the agent's base
            return await A2ACardResolver(http, target.url).get_agent_card("/")
        return await A2ACardResolver(http, target.url).get_agent_card()

    async def send(self, target: RemoteTarget, outgoing: Outgoing) -> Answer:
        """Send one message and follow the answer to its end (bounded)."""
        answer: Answer = await _guarded(self._sent(target, outgoing))
        return answer

    async def _sent(self, target: RemoteTarget, outgoing: Outgoing) -> Answer:
        async with self._http(target) as http:
            return await self._send(http, target, outgoing)

    async def _send(
        self, http: httpx.AsyncClient, target: RemoteTarget, outgoing: Outgoing
    ) -> Answer:
        from a2a.client import ClientConfig, ClientFactory
        from a2a.types import (
            GetTaskRequest,
            Message,
            Part,
            Role,
            SendMessageConfiguration,
            SendMessageRequest,
        )

        cached = self._cards.get((target.url, target.token))
        if cached is None or time.monotonic() - cached[0] > CARD_SECONDS:
            card = await self._fetch_card(http, target)
            self._cards[(target.url, target.token)] = (time.monotonic(), card)
        else:
            card = cached[1]
        config = ClientConfig(
            streaming=False, httpx_client=http, supported_protocol_bindings=BINDINGS
        )
        client = ClientFactory(config).create(card)
        message = Message(
            role=Role.ROLE_USER,
            message_id=outgoing.message_id,
            parts=[Part(text=outgoing.text)],
        )
        if outgoing.context_id:
            message.context_id = outgoing.context_id
        if outgoing.task_id:
            message.task_id = outgoing.task_id
        message.metadata.update(outgoing.metadata)
        # The remote answers at once with a task when it works longer; it is followed here,
        # so a long job never outlasts one request's timeout (and is never sent twice).
        request = SendMessageRequest(
            message=message, configuration=SendMessageConfiguration(return_immediately=True)
        )
        answer: Answer | None = None
        async for event in client.send_message(request):
            if event.HasField("message"):
                return answer_of_message(event.message)
            if event.HasField("task"):
                task = event.task
                answer = await self._follow_task(client, task, GetTaskRequest)
                break
        if answer is None:
            raise ForwardError("the remote agent answered neither a message nor a task")
        return answer

    async def _follow_task(self, client: Any, task: Task, request: Any) -> Answer:
        """Look at a remote task with backoff until it ends or waits for input."""
        deadline = time.monotonic() + self._follow
        pause = FIRST_POLL
        while True:
            found = answer_of_task(task)
            if found is not None:
                return found
            if time.monotonic() + pause > deadline:
                raise ForwardError(
                    f"the remote task {task.id} was still under way after {self._follow:g} s",
                    permanent=True,
                )
            await asyncio.sleep(pause)
            pause = min(LONGEST_POLL, pause * 2)
            task = await client.get_task(request(id=task.id))


async def _guarded(step: Any) -> Any:
    """Run an SDK call, turning what can go wrong into :class:`ForwardError`."""
    try:
        return await step
    except ForwardError:
        raise
    except InvalidInput as error:
        if error.code != FORBIDDEN:
            raise
        raise ForwardError(f"forbidden destination: {error}", permanent=True) from None
    except (httpx.HTTPError, httpx.InvalidURL, OSError, ValueError) as error:
        raise ForwardError(_reason(error)) from None
    except Exception as error:
        forbidden = _forbidden_cause(error)
        if forbidden is not None:
            raise ForwardError(f"forbidden destination: {forbidden}", permanent=True) from None
        if not type(error).__module__.startswith("a2a."):  # not the remote's doing
            log.exception("A2A call failed")
        permanent = type(error).__name__ in PERMANENT
        raise ForwardError(_reason(error), permanent=permanent) from None


def _forbidden_cause(error: BaseException) -> InvalidInput | None:
    """The refused destination behind an error the SDK wrapped, if that is what it was."""
    seen: BaseException | None = error
    for _ in range(8):
        if seen is None:
            return None
        if isinstance(seen, InvalidInput) and seen.code == FORBIDDEN:
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _reason(error: BaseException) -> str:
    text = str(error).strip()
    return (f"{type(error).__name__}: {text}" if text else type(error).__name__)[:500]


def answer_of_message(message: Message) -> Answer:
    """A remote's plain message as the answer."""
    text, data, files = _contents(message.parts)
    return Answer(
        state="message",
        text="\n\n".join(text),
        data=data,
        files=files,
        context_id=message.context_id or None,
        task_id=message.task_id or None,
    )


def answer_of_task(task: Task) -> Answer | None:
    """A remote task as the answer, once it ended or waits for input (else ``None``): its
    status message, then its artifacts."""
    from a2a.types import Role, TaskState

    state = STATES.get(TaskState.Name(task.status.state))
    if state is None:
        return None
    text, data, files = _contents(task.status.message.parts)
    for artifact in task.artifacts:
        more_text, more_data, more_files = _contents(artifact.parts)
        text += more_text
        data += more_data
        files += more_files
    if not text and not data and not files and state == "completed":
        # Some agents answer only in the history: take the last thing they said there.
        agent_said = [m for m in task.history if m.role == Role.ROLE_AGENT]
        if agent_said:
            text, data, files = _contents(agent_said[-1].parts)
    return Answer(
        state=state,
        text="\n\n".join(text),
        data=data,
        files=files,
        context_id=task.context_id or None,
        task_id=task.id or None,
    )


def _contents(parts: Iterable[Part]) -> tuple[list[str], list[Any], list[ReturnedFile]]:
    """The texts, JSON data and files of a message's or artifact's parts."""
    from google.protobuf.json_format import MessageToDict

    text: list[str] = []
    data: list[Any] = []
    files: list[ReturnedFile] = []
    for part in parts:
        kind = part.WhichOneof("content")
        if kind == "text":
            text.append(part.text)
        elif kind == "data":
            data.append(MessageToDict(part.data))
        elif kind == "raw":
            files.append(ReturnedFile(part.filename, part.media_type, data=part.raw))
        elif kind == "url":
            files.append(ReturnedFile(part.filename, part.media_type, url=part.url))
    return text, data, files
