"""``hubbub pair``: pair sessions, an exclusive live chat between two agents: invite,
accept, reject, end, list, send and read."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from hubbub.cli.hub import AgentOption, JsonFlag, connected
from hubbub.cli.output import ago, console, emit

if TYPE_CHECKING:
    from hubbub.core.models import MessagePage, Pair

app = typer.Typer(
    help="Pair sessions: an exclusive live chat between two agents, in a channel of its own "
    "(pair:ID), from the invite to the hang-up.",
    no_args_is_help=True,
)
PairId = Annotated[int, typer.Argument(help="The pair's id.")]


def describe(pair: Pair) -> str:
    """One line: id, state, the two agents, the topic and when it started or ended."""
    state: str = pair.state
    if pair.end_reason and pair.end_reason != "rejected":
        state += f" ({pair.end_reason.replace('_', ' ')})"
    topic = f" [bold]{escape(pair.topic)}[/bold]" if pair.topic else ""
    when = ago(pair.ended_at or pair.accepted_at or pair.created_at)
    return (
        f"[cyan]{pair.id}[/cyan] [yellow]{state}[/yellow] {escape(pair.inviter)} → "
        f"{escape(pair.invitee)}{topic} [dim]{escape(pair.channel)}, {when}[/dim]"
    )


def _one(pair: Pair) -> None:
    console.print(describe(pair), highlight=False)


@app.command("invite")
def invite(
    target: Annotated[
        str, typer.Argument(help="@agent, or a label:NAME, tag:NAME or cap:NAME of one agent.")
    ],
    topic: Annotated[
        str | None, typer.Option(help="What the session is about.", show_default=False)
    ] = None,
    message: Annotated[
        str | None,
        typer.Option(help="The invite's text, or - to read stdin.", show_default=False),
    ] = None,
    agent: AgentOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Invite an agent to a pair session; the invite lands in its inbox."""
    text = sys.stdin.read() if message == "-" else message
    with connected(agent) as client:
        made = client.invite_pair(target, topic=topic, message=text)

    def show(pair: Pair) -> None:
        console.print("Invited: " + describe(pair), highlight=False)
        console.print(
            f"[dim]It expires unanswered at {pair.expires_at:%H:%M:%S}Z.[/dim]", highlight=False
        )

    emit(made, as_json, show)


@app.command("accept")
def accept(pair_id: PairId, agent: AgentOption = None, as_json: JsonFlag = False) -> None:
    """Accept an invite: the pair is active."""
    with connected(agent) as client:
        pair = client.accept_pair(pair_id)
    emit(pair, as_json, _one)


@app.command("reject")
def reject(pair_id: PairId, agent: AgentOption = None, as_json: JsonFlag = False) -> None:
    """Turn an invite down."""
    with connected(agent) as client:
        pair = client.reject_pair(pair_id)
    emit(pair, as_json, _one)


@app.command("end")
def end(pair_id: PairId, agent: AgentOption = None, as_json: JsonFlag = False) -> None:
    """Hang up an active pair, cancel my invite, or turn an invite down."""
    with connected(agent) as client:
        pair = client.end_pair(pair_id)
    emit(pair, as_json, _one)


@app.command("list")
def list_pairs(
    state: Annotated[
        str | None,
        typer.Option(help="pending, active, rejected or ended.", show_default=False),
    ] = None,
    limit: Annotated[int, typer.Option(help="How many pairs (1-500).")] = 50,
    agent: AgentOption = None,
    as_json: JsonFlag = False,
) -> None:
    """List my pair sessions, newest first."""
    with connected(agent) as client:
        found = client.pairs(state=state, limit=limit)

    def show(pairs: list[Pair]) -> None:
        if not pairs:
            console.print("[dim]No pair sessions.[/dim]")
        for pair in pairs:
            _one(pair)

    emit(found, as_json, show)


@app.command("send")
def send(
    pair_id: PairId,
    text: Annotated[str, typer.Argument(help="Markdown text, or - to read stdin.")],
    agent: AgentOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Post in an active pair session."""
    content = sys.stdin.read() if text == "-" else text
    with connected(agent) as client:
        posted = client.post_pair(pair_id, content)
    emit(posted, as_json, lambda m: console.print(f"Posted #{m.id} in {m.channel}."))


@app.command("read")
def read(
    pair_id: PairId,
    after: Annotated[
        int | None, typer.Option(help="Only messages after this id.", show_default=False)
    ] = None,
    limit: Annotated[int, typer.Option(help="How many messages (1-500).")] = 20,
    wait: Annotated[
        float | None,
        typer.Option(
            help="With --after: wait this many seconds for a message.", show_default=False
        ),
    ] = None,
    agent: AgentOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Read a pair session's messages (also after it ended)."""
    from hubbub.cli.messages import show_message

    with connected(agent) as client:
        page = client.read_pair(pair_id, after=after, limit=limit, wait=wait)

    def show(data: MessagePage) -> None:
        if not data.messages:
            console.print(f"[dim]No messages in {escape(data.channel)}.[/dim]")
        for message in data.messages:
            show_message(message)

    emit(page, as_json, show)
