"""``hubbub setup``: wire the installed coding agents to the hub, show what that writes,
report what is configured, or take it out again."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import typer

from hubbub.cli.output import reporting

app = typer.Typer(
    help="Wire coding agents (Claude Code, Codex, Gemini CLI, OpenCode, Cursor) to the hub: "
    "the MCP server, the hooks and, for Claude Code, slash commands and a short instructions "
    "block. Without a harness named, every one installed.",
    invoke_without_command=True,
)

ProjectFlag = Annotated[
    bool, typer.Option("--project", help="Write the project's files (in the repository).")
]
UserFlag = Annotated[
    bool, typer.Option("--user", help="Write the files in your home directory (the default).")
]
DryRunFlag = Annotated[bool, typer.Option("--dry-run", help="Show the changes; write nothing.")]
RemoveFlag = Annotated[
    bool, typer.Option("--remove", help="Take out exactly what setup added, nothing else.")
]
AgentName = Annotated[
    str | None,
    typer.Option(
        "--agent",
        help="A fixed agent name for the server and hooks (default: named after each "
        "project's directory, {machine}-{dir}).",
    ),
]
HttpHooksFlag = Annotated[
    bool,
    typer.Option(
        "--http-hooks",
        help="Claude Code: let the hub answer the prompt, stop, session-end and after-tool "
        "hooks over HTTP (no process per hook); Claude Code must then run with HUBBUB_KEY "
        "(and HUBBUB_AGENT unless --agent is given) in its environment.",
    ),
]


def _run(names: tuple[str, ...], flags: dict[str, Any]) -> None:
    from hubbub.core.errors import InvalidInput
    from hubbub.setup.harness import Scope
    from hubbub.setup.install import Options, run

    with reporting():
        if flags["project"] and flags["user"]:
            raise InvalidInput("--project and --user exclude each other", code="invalid")
        options = Options(
            names=names,
            scope=Scope.project if flags["project"] else Scope.user,
            agent=flags["agent"],
            http_hooks=flags["http_hooks"],
            dry_run=flags["dry_run"],
            remove=flags["remove"],
        )
        run(options, typer.echo)


def _merged(ctx: typer.Context, **flags: Any) -> dict[str, Any]:
    """This command's options, with the ones given before the harness's name."""
    given = dict(ctx.obj or {}) if isinstance(ctx.obj, dict) else {}
    return {name: value or given.get(name) for name, value in flags.items()}


@app.callback()
def setup(
    ctx: typer.Context,
    project: ProjectFlag = False,
    user: UserFlag = False,
    dry_run: DryRunFlag = False,
    remove: RemoveFlag = False,
    agent: AgentName = None,
    http_hooks: HttpHooksFlag = False,
) -> None:
    """Set up every installed harness (or the one named after ``setup``)."""
    flags = {
        "project": project,
        "user": user,
        "dry_run": dry_run,
        "remove": remove,
        "agent": agent,
        "http_hooks": http_hooks,
    }
    if ctx.invoked_subcommand is None:
        _run((), flags)
    else:
        ctx.obj = flags


def _harness_command(name: str, title: str) -> Callable[..., None]:
    def command(
        ctx: typer.Context,
        project: ProjectFlag = False,
        user: UserFlag = False,
        dry_run: DryRunFlag = False,
        remove: RemoveFlag = False,
        agent: AgentName = None,
        http_hooks: HttpHooksFlag = False,
    ) -> None:
        flags = _merged(
            ctx,
            project=project,
            user=user,
            dry_run=dry_run,
            remove=remove,
            agent=agent,
            http_hooks=http_hooks,
        )
        _run((name,), flags)

    command.__doc__ = f"Set up {title} only."
    return command


for _name, _title in (
    ("claude", "Claude Code"),
    ("codex", "Codex CLI"),
    ("gemini", "Gemini CLI"),
    ("opencode", "OpenCode"),
    ("cursor", "Cursor"),
):
    app.command(_name)(_harness_command(_name, _title))


@app.command("status")
def status(ctx: typer.Context) -> None:
    """Show, per harness, what is configured, for which agent, and whether the hub answers."""
    from hubbub.setup.status import status as show

    with reporting():
        show(typer.echo)
