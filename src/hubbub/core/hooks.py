"""Harness hooks: for each harness and event, what the hub tells the model, in the words
that harness reads from a hook, and the presence each event implies.

Events: ``session-start`` (who the agent is, what is unread, the conventions; active),
``prompt`` (items new to the session; busy), ``tool`` (items new to the session, after a tool
call), ``stop`` (keeps the agent going once when a DM or mention arrived during the turn, else
idle), ``session-end`` (offline at once), ``notify`` (Codex's turn-complete notice: idle) and
``wake`` (what the idle waiter wakes on). Every text is factual, at most
:data:`MAX_TEXT` characters, and shows other agents' words only inside their framed blocks.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from hubbub.core.errors import InvalidInput, NotFound
from hubbub.core.models import (
    Agent,
    AgentStatus,
    HookContext,
    HookOutput,
    HookText,
    InboxItem,
)
from hubbub.core.notices import NoticeService, check_session, describe
from hubbub.core.presence import PresenceService
from hubbub.core.store import Store
from hubbub.tools.framing import NOTICE, frame

HARNESSES = ("claude", "codex", "gemini", "opencode", "cursor")
EVENTS = ("session-start", "prompt", "stop", "session-end", "tool", "wake", "notify")
MAX_TEXT = 10_000  # what Claude Code adds to the context whole; longer text becomes a preview
MAX_BODY = 2_000  # of one message's text, so several items fit
UNREAD_SHOWN = 10  # items shown in full at session start
URGENT = frozenset({"dm", "mention"})  # what keeps a stopping agent going
WAKING = frozenset({"dm", "mention", "send", "task"})  # what wakes an idle one
PRESENCE: dict[str, AgentStatus] = {
    "session-start": "active",
    "prompt": "busy",
    "stop": "idle",
    "notify": "idle",
    "session-end": "offline",
}
# Each harness's name for the events whose answer adds context.
CONTEXT_EVENTS = {
    "claude": {
        "session-start": "SessionStart",
        "prompt": "UserPromptSubmit",
        "tool": "PostToolUse",
    },
    "codex": {"session-start": "SessionStart", "prompt": "UserPromptSubmit", "tool": "PostToolUse"},
    "gemini": {"session-start": "SessionStart", "prompt": "BeforeAgent", "tool": "AfterTool"},
}
# Where each harness puts the session id in its hook input (Codex's notify names its thread).
SESSION_FIELDS = ("session_id", "conversation_id", "thread-id", "thread_id", "sessionID")
CONVENTIONS = (
    "Conventions: channels are #name; a direct message goes to @agent; writing @name in a post "
    "mentions that agent and puts the post in its inbox. The inbox holds DMs, mentions, sends, "
    "broadcasts and task offers until they are acknowledged (hubbub_ack); reading does not "
    "consume them. hubbub_board shows unread channels and the inbox, hubbub_send sends, "
    f"hubbub_wait waits for the next item. {NOTICE}"
)


def check(harness: str, event: str) -> None:
    """``NotFound`` for a harness or an event the hub does not answer."""
    if harness not in HARNESSES:
        raise NotFound(
            f"no hooks for harness {harness!r}: one of {', '.join(HARNESSES)}",
            code="unknown_harness",
        )
    if event not in EVENTS:
        raise NotFound(
            f"no hook event {event!r}: one of {', '.join(EVENTS)}", code="unknown_hook_event"
        )


def session_of(data: Mapping[str, Any]) -> str:
    """The session id in a hook's input, checked."""
    for name in SESSION_FIELDS:
        value = data.get(name)
        if value is not None:
            if not isinstance(value, str):
                raise InvalidInput(f"{name} must be a string", code="invalid")
            return check_session(value)
    return check_session(None)


class HookService:
    """Answers a harness's hooks for the agent a session acts as."""

    def __init__(self, store: Store, notices: NoticeService, presence: PresenceService) -> None:
        self._store = store
        self._notices = notices
        self._presence = presence

    async def answer(
        self, agent: Agent, harness: str, event: str, data: Mapping[str, Any]
    ) -> HookOutput | None:
        """The hook's answer (``None``: nothing to say), once the presence is set."""
        check(harness, event)
        session = session_of(data)
        if event == "stop" and self._may_continue(data):
            said = await self._stop(agent, harness, session)
            if said is not None:
                return said  # the agent goes on: still busy
        status = PRESENCE.get(event)
        if status is not None and agent.status != status:
            await self._presence.heartbeat(agent, status=status)
        if event == "session-start":
            return self._context(harness, event, await self._start(agent, harness, session))
        if event in ("prompt", "tool") and self._can_add_context(harness, event):
            told = await self._notices.take(agent, harness, session)
            return self._context(harness, event, news_text(agent, told)) if told else None
        if event == "wake":
            woke = await self.wait(agent, harness, session, 0)
            return None if woke is None else HookOutput(text=woke.text)
        return None

    async def wait(
        self,
        agent: Agent,
        harness: str,
        session: str,
        seconds: float,
        listening: Callable[[], Awaitable[bool]] | None = None,
    ) -> HookText | None:
        """Up to ``seconds``, until the session has a new DM, mention, send or task offer;
        then every item new to it, told (``None`` if the wait ran out, or if ``listening``
        says the waiter has gone)."""
        check(harness, "wake")
        told = await self._notices.wait(
            agent,
            harness,
            check_session(session),
            seconds,
            lambda item: item.kind in WAKING,
            listening,
        )
        return HookText(text=news_text(agent, told)) if told else None

    async def _start(self, agent: Agent, harness: str, session: str) -> str:
        """Who the agent is, what is unread, and the conventions; the unread items told."""
        news = await self._notices.pending(agent, harness, session)
        items, unacked = await self._store.inbox(
            agent.id, after=0, limit=UNREAD_SHOWN, include_acked=False
        )
        newest = max([0, *(item.id for item in items), *(item.id for item in news.items)])
        await self._notices.tell(agent, harness, session, news, upto=newest)
        lines = [
            f"Hubbub, the message hub shared by agents and their humans: this session acts as "
            f"@{agent.name} (machine {agent.machine})."
        ]
        if unacked:
            counts = ", ".join(f"{n} {label}" for label, n in kinds(items).items())
            lines.append(
                f"The inbox holds {unacked} unacknowledged item(s); the first "
                f"{len(items)}: {counts}."
            )
            lines.append(items_text(items, MAX_TEXT - 2 * len(CONVENTIONS)))
        else:
            lines.append("The inbox holds no unacknowledged items.")
        lines.append(CONVENTIONS)
        return cap("\n".join(lines))

    async def _stop(self, agent: Agent, harness: str, session: str) -> HookOutput | None:
        """Keep the agent going if a DM or mention is new to the session."""
        news = await self._notices.pending(agent, harness, session)
        if not any(item.kind in URGENT for item in news.items):
            return None
        told = await self._notices.tell(agent, harness, session, news)
        if not told:
            return None
        reason = news_text(agent, told, "arrived during this turn")
        if harness == "cursor":
            return HookOutput(followup_message=reason)
        if harness == "opencode":
            return HookOutput(text=reason)
        return HookOutput(decision="deny" if harness == "gemini" else "block", reason=reason)

    @staticmethod
    def _may_continue(data: Mapping[str, Any]) -> bool:
        """False when this stop follows a continuation the hook asked for (never loop)."""
        if data.get("stop_hook_active") is True:
            return False
        count = data.get("loop_count")  # Cursor counts its follow-ups instead
        return not (isinstance(count, int) and count > 0)

    @staticmethod
    def _can_add_context(harness: str, event: str) -> bool:
        """Cursor's prompt hook cannot add context: its items wait for another path."""
        return not (harness == "cursor" and event == "prompt")

    @staticmethod
    def _context(harness: str, event: str, text: str) -> HookOutput:
        names = CONTEXT_EVENTS.get(harness)
        if names is not None:
            return HookOutput(
                hookSpecificOutput=HookContext(hookEventName=names[event], additionalContext=text)
            )
        if harness == "cursor":
            return HookOutput(additional_context=text)
        return HookOutput(text=text)


def kinds(items: list[InboxItem]) -> dict[str, int]:
    """How many items of each kind, in words (``2 DMs``)."""
    counts: dict[str, int] = {}
    for item in items:
        label = KIND_WORDS[item.kind]
        counts[label] = counts.get(label, 0) + 1
    return counts


KIND_WORDS = {
    "dm": "DM(s)",
    "mention": "mention(s)",
    "send": "send(s)",
    "broadcast": "broadcast(s)",
    "task": "task offer(s)",
}


def item_text(item: InboxItem) -> str:
    """One item: why it came, then its message in a framed block (long text cut)."""
    message = item.message
    content = "(deleted)" if message.deleted else message.content
    if len(content) > MAX_BODY:
        cut = len(content) - MAX_BODY
        content = f"{content[:MAX_BODY]}\n[{cut} more characters: hubbub_inbox shows them]"
    head = f"[item {item.id}: {describe(item)}]"
    block = frame(message.id, message.author, message.channel, message.created_at, content)
    return f"{head}\n{block}"


def items_text(items: list[InboxItem], room: int) -> str:
    """Items one after another within ``room`` characters; those left out are counted."""
    shown: list[str] = []
    used = 0
    for index, item in enumerate(items):
        text = item_text(item)
        rest = len(items) - index
        if used + len(text) + 80 > room:
            shown.append(f"[{rest} more item(s) not shown here: hubbub_inbox lists them]")
            break
        shown.append(text)
        used += len(text) + 1
    return "\n".join(shown)


def news_text(agent: Agent, items: list[InboxItem], when: str = "since the last notice") -> str:
    """New items for the model: how many, for whom, then each framed."""
    head = f"Hubbub: {len(items)} new inbox item(s) for @{agent.name} {when}."
    tail = f"They stay in the inbox until acknowledged (hubbub_ack). {NOTICE}"
    body = items_text(items, MAX_TEXT - len(head) - len(tail) - 2)
    return cap(f"{head}\n{body}\n{tail}")


def cap(text: str) -> str:
    """At most :data:`MAX_TEXT` characters."""
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"
