"""News in tool results: after a tool call, one short line naming the inbox items the tool
session has not been told of (``2 new: DM from lap-api, mention in #ops — hubbub_inbox``), so
a client without push learns of them on its next call. Each item is announced once per
session; tools that show the inbox itself only note how far the session has seen it."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from hubbub.core.errors import HubbubError

if TYPE_CHECKING:
    from hubbub.client import AsyncClient

SHOW_INBOX = frozenset({"hubbub_board", "hubbub_inbox", "hubbub_wait"})
"""Tools whose result is the inbox: they announce nothing and mark what they showed."""


def new_session(prefix: str) -> str:
    """A fresh tool session id (a process, an executor, a toolkit)."""
    return f"{prefix}-{uuid.uuid4().hex}"


def shown_upto(name: str, structured: Mapping[str, Any] | None) -> int | None:
    """How far an inbox tool's result showed the inbox (``None``: it did not show it)."""
    if structured is None or name not in SHOW_INBOX:
        return None
    if name == "hubbub_wait" and structured.get("messages") is not None:
        return None  # a wait on a channel, not on the inbox
    cursor = structured.get("cursor")
    return cursor if isinstance(cursor, int) else None


async def news_line(
    client: AsyncClient, session: str, name: str, structured: Mapping[str, Any] | None
) -> str | None:
    """After tool ``name``: the line to add to its result, if any. Best effort: the hub's
    refusal or absence never spoils the tool's own result."""
    upto = None
    if name in SHOW_INBOX:
        upto = shown_upto(name, structured)
        if not upto:
            return None
    try:
        found = await client.news(session, upto)
    except HubbubError:
        return None
    return found.line
