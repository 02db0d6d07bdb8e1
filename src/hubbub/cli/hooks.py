"""``hubbub hook``: its help and options. The ``hubbub`` script runs the command itself before
the command-line framework loads (``hubbub.hooks.command``); this is the same command for
``--help`` and the reference page."""

from __future__ import annotations

from typing import Annotated

import typer

from hubbub.cli.hub import AgentOption
from hubbub.hooks.contract import DEFAULT_HARNESS, DEFAULT_LIFE_SECONDS, EVENTS, HARNESSES


def hook(
    event: Annotated[str, typer.Argument(help=f"One of {', '.join(EVENTS)}.", show_default=False)],
    payload: Annotated[
        str | None,
        typer.Argument(help="notify only: the harness's JSON, which Codex passes as an argument."),
    ] = None,
    harness: Annotated[
        str, typer.Option(help=f"The harness running the hook: {', '.join(HARNESSES)}.")
    ] = DEFAULT_HARNESS,
    agent: AgentOption = None,
    timeout: Annotated[
        float,
        typer.Option(
            help="wake only: the hook timeout the harness gives it, in seconds; the waiter "
            "ends just before."
        ),
    ] = DEFAULT_LIFE_SECONDS,
) -> None:
    """Relay a harness's hook to the hub: the JSON on stdin (the last argument for notify)
    goes to the hub, and its answer to stdout with no text in it over 10,000 characters.
    Exits 0, also when the hub is down (one quiet line on stderr); 1 for bad input, nothing
    sent. wake waits for a DM, mention or task offer and exits 2 with it on stderr (Claude
    Code's asyncRewake). With HUBBUB_RUNNER set, every hook exits 0 at once."""
    from hubbub.hooks.command import checked, run

    raise typer.Exit(
        run(lambda: checked(event, harness=harness, agent=agent, timeout=timeout, payload=payload))
    )
