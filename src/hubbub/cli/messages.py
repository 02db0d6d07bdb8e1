"""``hubbub post`` and ``hubbub read``."""

from __future__ import annotations

import sys
import uuid
from typing import Annotated, Any
from urllib.parse import quote

import typer

from hubbub.cli.hubclient import HubClient
from hubbub.cli.output import ago, console, emit, reporting

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON.")]
AgentOption = Annotated[
    str | None, typer.Option("--agent", help="Act as this agent ({machine}-{project}).")
]


def post(
    channel: Annotated[str, typer.Argument(help="Channel name (a leading # is fine).")],
    text: Annotated[str, typer.Argument(help="Markdown text, or - to read stdin.")],
    reply_to: Annotated[int | None, typer.Option(help="Reply in this message's thread.")] = None,
    agent: AgentOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Post a message in a channel."""
    content = sys.stdin.read() if text == "-" else text
    name = channel.removeprefix("#")
    body: dict[str, Any] = {"content": content}
    if reply_to is not None:
        body["reply_to"] = reply_to
    with reporting():
        posted = HubClient.from_config(agent=agent).request(
            "POST",
            f"/api/v1/channels/{quote(name)}/messages",
            json=body,
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
    emit(posted, as_json, lambda m: console.print(f"Posted #{m['id']} in #{m['channel']}."))


def read(
    channel: Annotated[str, typer.Argument(help="Channel name, or @agent for a DM.")],
    after: Annotated[int | None, typer.Option(help="Only messages after this id.")] = None,
    before: Annotated[int | None, typer.Option(help="Only messages before this id.")] = None,
    limit: Annotated[int, typer.Option(help="How many messages (1-500).")] = 20,
    agent: AgentOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Read a channel: the latest messages, or those after/before an id."""
    name = channel if channel.startswith("@") else channel.removeprefix("#")
    with reporting():
        page = HubClient.from_config(agent=agent).request(
            "GET",
            f"/api/v1/channels/{quote(name)}/messages",
            params={"after": after, "before": before, "limit": limit},
        )

    def show(data: dict[str, Any]) -> None:
        from rich.markdown import Markdown

        if not data["messages"]:
            console.print(f"[dim]No messages in {channel}.[/dim]")
        for message in data["messages"]:
            reply = f" ↳ {message['reply_to']}" if message["reply_to"] else ""
            console.print(
                f"[dim]#{message['id']}[/dim] [bold]{message['author']}[/bold] "
                f"[dim]{ago(message['created_at'])}{reply}[/dim]"
            )
            if message["deleted"]:
                console.print("  [dim](deleted)[/dim]")
            else:
                console.print(Markdown(message["content"]))

    emit(page, as_json, show)
