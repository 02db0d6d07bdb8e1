"""The Claude Code channel push: each new inbox item of the acting agent (a DM, a mention, a
routed send, a task offer), as it arrives on the SDK's resuming event stream, is sent to the
MCP client as a ``notifications/claude/channel`` notification."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final, Literal

import anyio
import mcp_types as types

from hubbub.client import AsyncClient
from hubbub.client._async import backoff
from hubbub.core.errors import Forbidden, HubbubError, InvalidInput, NotFound, Unauthorized
from hubbub.core.models import File, Message
from hubbub.tools.framing import channel_label, frame, neutralize
from hubbub.tools.registry import error_text

log = logging.getLogger("hubbub.mcp")

METHOD: Final = "notifications/claude/channel"
CAPABILITY = "claude/channel"
Notify = Callable[[str, dict[str, str]], Awaitable[None]]
"""Sends one channel event: its content and its meta attributes."""

AHEAD = 2**62
# Refusals a retry cannot fix: the key, the agent name or the filter is wrong.
FATAL = (Unauthorized, Forbidden, InvalidInput)


class ChannelNotification(
    types.Notification[dict[str, Any], Literal["notifications/claude/channel"]]
):
    """The notification Claude Code turns into a ``<channel>`` event in the session."""

    method: Literal["notifications/claude/channel"] = METHOD
    params: dict[str, Any]


def event(message: Message, kind: str) -> tuple[str, dict[str, str]]:
    """A message as a channel event: the framed text, and meta attributes (identifier keys,
    string values) taken from what the hub stamped."""
    content = "(deleted)" if message.deleted else message.content
    text = frame(message.id, message.author, message.channel, message.created_at, content)
    meta = {
        "from": message.author,
        "channel": channel_label(message.channel),
        "msg_id": str(message.id),
        "kind": kind,
    }
    return text, meta


async def shared_file(client: AsyncClient, message: Message) -> File | None:
    """The file a message shared, if it did: named in its metadata and, since anyone may
    write metadata, confirmed by the hub as attached to that very message."""
    named = message.metadata.get("file")
    file_id = named.get("id") if isinstance(named, dict) else None
    if type(file_id) is not int or file_id < 1:
        return None
    try:
        found = await client.file(file_id)
    except HubbubError:
        return None
    return found if found.message_id == message.id else None


async def deliver(client: AsyncClient, notify: Notify, data: dict[str, Any]) -> None:
    """Fetch the message an ``inbox.item`` event names and push it, with the file it shared
    (``file.shared``) named in its meta attributes."""
    try:
        message = await client.message(int(data["message_id"]))
    except NotFound:
        return  # deleted, or no longer readable: nothing to show
    content, meta = event(message, str(data.get("kind", "dm")))
    file = await shared_file(client, message)
    if file is not None:
        meta["file_id"] = str(file.id)
        meta["file_name"] = neutralize(file.name)
        content += (
            f"\n(it shares file {file.id}, {neutralize(file.name)!r}, {file.size} bytes: "
            "get it with hubbub_file)"
        )
    await notify(content, meta)


async def push(client: AsyncClient, notify: Notify) -> None:
    """Push every inbox item that arrives from now on, until cancelled. The hub being away
    only delays the pushes: the stream resumes after the last event handled. A refused key or
    agent name stops the push (logged); the MCP server goes on serving tools."""
    # A cursor beyond the log makes the hub open the stream with a `stream.gap` naming its
    # newest event: the push knows its place from the start, so a reconnect after the hub was
    # away resumes there even if no inbox item had come yet.
    cursor = AHEAD
    failures = 0
    while True:
        try:
            async for item in client.events(after=cursor, types=["inbox.item"]):
                if item.type == "inbox.item":
                    await deliver(client, notify, item.data)
                cursor = item.seq  # after delivering: a failure replays this item
                failures = 0
        except FATAL as error:
            log.error("channel push stopped: %s", error_text(error))
            return
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            return  # the MCP client went away
        except HubbubError as error:
            failures += 1
            log.warning("channel push interrupted (%s); resuming", error_text(error))
            await anyio.sleep(backoff(failures))
