"""``hubbub post``, ``send``, ``read`` and ``seen``, and how a message looks in a terminal."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from hubbub.cli.hub import AgentOption, JsonFlag, connected
from hubbub.cli.output import ago, console, emit
from hubbub.cli.search import WhenOption

if TYPE_CHECKING:
    from hubbub.core.models import Message, MessagePage, Seen, SendResult, Thread

ReplyOption = Annotated[
    int | None, typer.Option(help="Reply in this message's thread.", show_default=False)
]
KindOption = Annotated[
    str | None,
    typer.Option(
        help="What the message is: note, question, decision, status, result… (one lowercase word).",
        show_default=False,
    ),
]


def show_message(message: Message, *, where: bool = False) -> None:
    """One message: a dim header line (id, author, channel, age, reply) and its Markdown."""
    from rich.markdown import Markdown

    channel = f" in #{escape(message.channel)}" if where else ""
    reply = f" ↳ {message.reply_to}" if message.reply_to else ""
    edited = " (edited)" if message.edited_at else ""
    kind = f" \\[{escape(message.kind)}]" if message.kind else ""
    console.print(
        f"[dim]#{message.id}[/dim] [bold]{escape(message.author)}[/bold]{channel} "
        f"[dim]{ago(message.created_at)}{reply}{edited}{kind}[/dim]",
        highlight=False,
    )
    if message.deleted:
        console.print("  [dim](deleted)[/dim]")
    else:
        console.print(Markdown(message.content))


def _content(text: str) -> str:
    return sys.stdin.read() if text == "-" else text


def post(
    channel: Annotated[str, typer.Argument(help="Channel name (a leading # is fine).")],
    text: Annotated[str, typer.Argument(help="Markdown text, or - to read stdin.")],
    reply_to: ReplyOption = None,
    kind: KindOption = None,
    agent: AgentOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Post a message in a channel."""
    content = _content(text)
    with connected(agent) as client:
        posted = client.post(channel, content, reply_to=reply_to, kind=kind)
    emit(posted, as_json, lambda m: console.print(f"Posted #{m.id} in #{m.channel}."))


def send(
    target: Annotated[
        str,
        typer.Argument(help="#channel, @agent, label:NAME, tag:NAME, cap:NAME or broadcast."),
    ],
    text: Annotated[str, typer.Argument(help="Markdown text, or - to read stdin.")],
    reply_to: ReplyOption = None,
    kind: KindOption = None,
    agent: AgentOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Send a message to an agent, a channel, a label, tag or capability, or everyone."""
    content = _content(text)
    with connected(agent) as client:
        sent = client.send(target, content, reply_to=reply_to, kind=kind)

    def show(result: SendResult) -> None:
        ids = ", ".join(f"#{m.id}" for m in result.messages)
        whom = ", ".join(result.recipients) or "nobody"
        console.print(f"Sent {ids} to {escape(result.target)}: {escape(whom)}.", highlight=False)

    emit(sent, as_json, show)


def read(
    channel: Annotated[str, typer.Argument(help="Channel name, or @agent for a DM.")],
    after: Annotated[
        int | None, typer.Option(help="Only messages after this id.", show_default=False)
    ] = None,
    before: Annotated[
        int | None, typer.Option(help="Only messages before this id.", show_default=False)
    ] = None,
    limit: Annotated[int, typer.Option(help="How many messages (1-500).")] = 20,
    since: WhenOption = None,
    until: WhenOption = None,
    thread: Annotated[
        int | None,
        typer.Option(help="Show the thread of this message instead.", show_default=False),
    ] = None,
    kind: Annotated[
        str | None,
        typer.Option(help="Only messages (or replies) of this kind.", show_default=False),
    ] = None,
    agent: AgentOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Read a channel: the latest messages, those after/before an id or within a time window
    (--since alone reads forward from that time; a time without a zone is local time), or one
    thread."""
    with connected(agent) as client:
        if thread is not None:
            found = client.thread(thread, kind=kind)
            emit(found, as_json, show_thread)
            return
        page = client.read(
            channel,
            after=after,
            before=before,
            limit=limit,
            since=since,
            until=until,
            kind=kind,
        )

    def show(data: MessagePage) -> None:
        if not data.messages:
            console.print(f"[dim]No messages in {escape(channel)}.[/dim]")
        for message in data.messages:
            show_message(message)
        if data.has_more and data.messages:
            forward = after is not None or (since is not None and before is None)
            more = f"--after {data.cursor}" if forward else f"--before {data.messages[0].id}"
            console.print(f"[dim]More: {more}[/dim]")

    emit(page, as_json, show)


def show_thread(thread: Thread) -> None:
    """A thread: its root, then the replies."""
    show_message(thread.root, where=True)
    for reply in thread.replies:
        show_message(reply)


def seen(
    message_id: Annotated[int, typer.Argument(metavar="ID", help="The message's id.")],
    agent: AgentOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Show which members have read past a message (its author left out), and who not yet."""
    with connected(agent) as client:
        found = client.seen(message_id)

    def show(data: Seen) -> None:
        readers = ", ".join(escape(name) for name in data.seen_by) or "nobody yet"
        console.print(f"#{data.message_id} seen by: {readers}", highlight=False)
        if data.not_yet:
            waiting = ", ".join(escape(name) for name in data.not_yet)
            console.print(f"[dim]not yet: {waiting}[/dim]", highlight=False)

    emit(found, as_json, show)
