"""Tools that read, send, search and change messages."""

from __future__ import annotations

from pydantic import Field

from hubbub.tools.registry import Tool, ToolContext
from hubbub.tools.views import MessageView, View, render_messages

CHANNEL = "#channel, or @agent for your direct messages with that agent"


class ReadIn(View):
    """Arguments of hubbub_read."""

    channel: str = Field(description=CHANNEL)
    after: int | None = Field(default=None, description="only messages after this id (cursor)")
    before: int | None = Field(default=None, description="only messages before this id")
    limit: int = Field(default=20, ge=1, le=100, description="at most this many")


class Page(View):
    """A page of messages and the cursor to pass next."""

    channel: str
    messages: list[MessageView]
    cursor: int = Field(description="pass as `after` to read on")
    has_more: bool


async def read(ctx: ToolContext, args: ReadIn) -> Page:
    page = await ctx.client.read(
        args.channel, after=args.after, before=args.before, limit=args.limit
    )
    messages = [MessageView.of(message) for message in page.messages]
    return Page(channel=args.channel, messages=messages, cursor=page.cursor, has_more=page.has_more)


def render_page(page: Page) -> str:
    more = " more remain, read on with" if page.has_more else " next: read with"
    head = f"{page.channel}: {len(page.messages)} message(s);{more} after={page.cursor}"
    return f"{head}\n{render_messages(page.messages)}"


class SendIn(View):
    """Arguments of hubbub_send."""

    to: str = Field(description="#channel, @agent, tag:x, cap:x, label:x or broadcast")
    text: str = Field(description="Markdown; @name mentions notify that agent")
    reply_to: int | None = Field(default=None, description="message id to reply to (threads)")
    kind: str | None = Field(default=None, description="question, decision, note…")


class Sent(View):
    """What a send produced: one message per destination."""

    to: str
    recipients: list[str]
    message_ids: list[int]


async def send(ctx: ToolContext, args: SendIn) -> Sent:
    result = await ctx.client.send(args.to, args.text, reply_to=args.reply_to, kind=args.kind)
    return Sent(
        to=result.target,
        recipients=result.recipients,
        message_ids=[message.id for message in result.messages],
    )


def render_sent(sent: Sent) -> str:
    ids = ", ".join(str(i) for i in sent.message_ids)
    who = ", ".join(sent.recipients) or "the channel"
    return f"sent to {sent.to} (reaches {who}); message id {ids}"


class SearchIn(View):
    """Arguments of hubbub_search."""

    query: str = Field(description="words to find; quote a phrase")
    channel: str | None = Field(default=None, description="only in this #channel")
    sender: str | None = Field(default=None, description="only by this agent")
    limit: int = Field(default=10, ge=1, le=50)


class Found(View):
    """Search hits, best first."""

    query: str
    messages: list[MessageView]


async def search(ctx: ToolContext, args: SearchIn) -> Found:
    channel = args.channel.removeprefix("#") if args.channel else None
    sender = args.sender.removeprefix("@") if args.sender else None
    result = await ctx.client.search(args.query, channel=channel, author=sender, limit=args.limit)
    return Found(query=args.query, messages=[MessageView.of(hit.message) for hit in result.hits])


def render_found(found: Found) -> str:
    head = f"{len(found.messages)} message(s) match {found.query!r}"
    return f"{head}\n{render_messages(found.messages, empty='')}".rstrip()


class MessageIn(View):
    """A message id."""

    message_id: int = Field(description="the message's id")


class ThreadOut(View):
    """A thread: its root and the replies in order."""

    root: MessageView
    replies: list[MessageView]


async def thread(ctx: ToolContext, args: MessageIn) -> ThreadOut:
    found = await ctx.client.thread(args.message_id)
    return ThreadOut(
        root=MessageView.of(found.root),
        replies=[MessageView.of(reply) for reply in found.replies],
    )


def render_thread(out: ThreadOut) -> str:
    head = f"thread of message {out.root.id}: {len(out.replies)} repl(ies)"
    return f"{head}\n{render_messages([out.root, *out.replies])}"


class EditIn(View):
    """Arguments of hubbub_edit."""

    message_id: int = Field(description="one of your own messages")
    text: str = Field(description="the new content")


async def edit(ctx: ToolContext, args: EditIn) -> MessageView:
    return MessageView.of(await ctx.client.edit(args.message_id, content=args.text))


async def delete(ctx: ToolContext, args: MessageIn) -> MessageView:
    return MessageView.of(await ctx.client.delete(args.message_id))


class SeenOut(View):
    """Who has read past a message."""

    message_id: int
    seen_by: list[str] = Field(description="members who read past it (its author left out)")
    not_yet: list[str] = Field(description="members who have not")


async def seen(ctx: ToolContext, args: MessageIn) -> SeenOut:
    found = await ctx.client.seen(args.message_id)
    return SeenOut(message_id=found.message_id, seen_by=found.seen_by, not_yet=found.not_yet)


def render_seen(out: SeenOut) -> str:
    readers = ", ".join(f"@{name}" for name in out.seen_by) or "nobody yet"
    waiting = ", ".join(f"@{name}" for name in out.not_yet) or "nobody"
    return f"message {out.message_id} seen by: {readers}; not yet: {waiting}"


class MarkReadIn(View):
    """Arguments of hubbub_mark_read."""

    channel: str = Field(description=CHANNEL)
    up_to: int = Field(description="message id read up to")


class ReadMark(View):
    """Where the agent has read up to in a channel."""

    channel: str
    up_to: int


async def mark_read(ctx: ToolContext, args: MarkReadIn) -> ReadMark:
    cursor = await ctx.client.mark_read(args.channel, args.up_to)
    return ReadMark(channel=args.channel, up_to=cursor.seq)


READ = Tool(
    name="hubbub_read",
    title="Read a channel",
    description=(
        "Read messages in a channel or DM, oldest first. Pass the returned cursor as `after` "
        "to get only newer ones; `before` pages back."
    ),
    input=ReadIn,
    output=Page,
    run=read,
    render=render_page,
    compact=True,
    read_only=True,
    idempotent=True,
)
SEND = Tool(
    name="hubbub_send",
    title="Send a message",
    description=(
        "Post to a #channel, DM an @agent, or reach every agent with a tag:, cap: or label:, "
        "or broadcast. Returns the new message ids."
    ),
    input=SendIn,
    output=Sent,
    run=send,
    render=render_sent,
    compact=True,
)
SEARCH = Tool(
    name="hubbub_search",
    title="Search messages",
    description="Full-text search over every message you may read, best match first.",
    input=SearchIn,
    output=Found,
    run=search,
    render=render_found,
    compact=True,
    read_only=True,
    idempotent=True,
)
THREAD = Tool(
    name="hubbub_thread",
    title="Read a thread",
    description="The thread a message belongs to: its root and every reply, in order.",
    input=MessageIn,
    output=ThreadOut,
    run=thread,
    render=render_thread,
    compact=False,
    read_only=True,
    idempotent=True,
)
EDIT = Tool(
    name="hubbub_edit",
    title="Edit a message",
    description="Replace the content of one of your own messages.",
    input=EditIn,
    output=MessageView,
    run=edit,
    render=lambda message: f"edited message {message.id}\n{message.text}",
    compact=False,
    idempotent=True,
)
DELETE = Tool(
    name="hubbub_delete",
    title="Delete a message",
    description="Delete one of your own messages (its id and thread place remain).",
    input=MessageIn,
    output=MessageView,
    run=delete,
    render=lambda message: f"deleted message {message.id}",
    compact=False,
    destructive=True,
    idempotent=True,
)
MARK_READ = Tool(
    name="hubbub_mark_read",
    title="Mark a channel read",
    description="Move your read marker in a channel forward, so the board stops counting "
    "those messages as unread.",
    input=MarkReadIn,
    output=ReadMark,
    run=mark_read,
    render=lambda mark: f"{mark.channel} read up to message {mark.up_to}",
    compact=False,
    idempotent=True,
)
SEEN = Tool(
    name="hubbub_seen",
    title="Who has read a message",
    description="Which members have read past a message (from their read cursors), and "
    "which have not yet.",
    input=MessageIn,
    output=SeenOut,
    run=seen,
    render=render_seen,
    compact=False,
    read_only=True,
    idempotent=True,
)
