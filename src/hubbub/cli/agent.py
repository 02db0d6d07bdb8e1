"""``hubbub agent``: the always-on runner (``run``), and the background service that keeps it
running (``install``, ``status``, ``logs``, ``uninstall``)."""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from hubbub.cli.hub import AgentOption, JsonFlag, connected
from hubbub.cli.output import console, emit, reporting
from hubbub.runner import limits
from hubbub.runner import options as defaults

if TYPE_CHECKING:
    from hubbub.runner.options import RunnerOptions
    from hubbub.service import Service

app = typer.Typer(
    help="Always-on agents: a runner that wakes a harness's headless mode for each DM, "
    "mention and task offer, posts the answer back and never answers twice; and the "
    "background service that keeps it running.",
    no_args_is_help=True,
)
# The client settings a service carries over from the environment it was installed from.
CARRIED = ("HUBBUB_URL", "HUBBUB_KEY", "HUBBUB_CONFIG", "HUBBUB_MACHINE")


class Mode(StrEnum):
    """Approval modes."""

    open = "open"
    guarded = "guarded"
    read_only = "read-only"


Exec = Annotated[
    str,
    typer.Option(
        "--exec",
        help="claude, codex, gemini, opencode, or any command (the prompt on its stdin, the "
        "answer on its stdout).",
        show_default=False,
    ),
]
Cwd = Annotated[
    Path | None,
    typer.Option(
        help="Where the harness works (default: the current directory).", show_default=False
    ),
]
ModeOption = Annotated[
    Mode,
    typer.Option(
        help="open: run what arrives; guarded: ask an --approver first; read-only: the "
        "harness's read-only mode (claude, codex, gemini, opencode only)."
    ),
]
Approver = Annotated[
    list[str] | None,
    typer.Option(
        "--approver",
        help="An agent or human whose 'approve CODE' lets a run start (guarded; repeatable).",
        show_default=False,
    ),
]
ApprovalTimeout = Annotated[
    float, typer.Option(help="Seconds to wait for an approver before counting it a denial.")
]
Allow = Annotated[
    list[str] | None,
    typer.Option(
        "--allow",
        help="Only these senders (names or globs such as 'lap-*'; repeatable). Default: all.",
        show_default=False,
    ),
]
SenderLimit = Annotated[int, typer.Option(help="Runs per sender per hour (0: no limit).")]
ThreadLimit = Annotated[int, typer.Option(help="Runs per DM or thread per hour (0: no limit).")]
HopLimit = Annotated[
    int,
    typer.Option(
        help="Do not answer when this many latest messages of the thread were all written by "
        "runners (0: no limit)."
    ),
]
Concurrency = Annotated[int, typer.Option(help="Runs at the same time.")]
Timeout = Annotated[float, typer.Option(help="Seconds a run may take before it is stopped.")]
LeaseOption = Annotated[
    float, typer.Option(help="Seconds of a task's lease, renewed while the run goes on.")
]
History = Annotated[
    int, typer.Option(help="Earlier messages of the conversation put in the prompt.")
]
Arg = Annotated[
    list[str] | None,
    typer.Option(
        "--arg",
        help="An extra argument for the harness (repeatable; write --arg=--flag). Not with "
        "read-only.",
        show_default=False,
    ),
]


def _options(agent: str | None, fields: dict[str, Any]) -> RunnerOptions:
    """The runner's options for ``agent`` (resolved as every command resolves it)."""
    from hubbub.client import ClientSettings
    from hubbub.runner.options import RunnerOptions

    name = ClientSettings.resolve(agent=agent).agent
    if not name:
        from hubbub.core.errors import InvalidInput

        raise InvalidInput("no agent name: pass --agent", code="no_config")
    return RunnerOptions(
        agent=name,
        exec=fields["exec_"],
        cwd=(fields["cwd"] or Path.cwd()).resolve(),
        mode=fields["mode"].value,
        approvers=tuple(fields["approver"] or ()),
        approval_timeout=fields["approval_timeout"],
        allow=tuple(fields["allow"] or ()),
        sender_limit=fields["sender_limit"],
        thread_limit=fields["thread_limit"],
        hop_limit=fields["hop_limit"],
        concurrency=fields["concurrency"],
        timeout=fields["timeout"],
        lease=fields["lease"],
        history=fields["history"],
        args=tuple(fields["arg"] or ()),
    )


@app.command("run")
def run(
    exec_: Exec,
    agent: AgentOption = None,
    cwd: Cwd = None,
    mode: ModeOption = Mode.open,
    approver: Approver = None,
    approval_timeout: ApprovalTimeout = defaults.DEFAULT_APPROVAL_TIMEOUT,
    allow: Allow = None,
    sender_limit: SenderLimit = limits.SENDER_LIMIT,
    thread_limit: ThreadLimit = limits.THREAD_LIMIT,
    hop_limit: HopLimit = limits.HOP_LIMIT,
    concurrency: Concurrency = 1,
    timeout: Timeout = defaults.DEFAULT_TIMEOUT,
    lease: LeaseOption = defaults.DEFAULT_LEASE,
    history: History = defaults.DEFAULT_HISTORY,
    arg: Arg = None,
) -> None:
    """Run the agent: for each DM, mention and task offer in its inbox, start the harness,
    post its answer back (or complete the task) and acknowledge the item. Runs until stopped
    (Ctrl-C or SIGTERM); what is unfinished then is done on the next start."""
    import asyncio
    import logging

    from hubbub.runner.lock import exclusive

    with reporting():
        options = _options(agent, locals())
        harness = options.check()
        logging.basicConfig(
            level=logging.INFO,
            format="%(asctime)s %(message)s",
            datefmt="%Y-%m-%dT%H:%M:%S",
        )
        logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request otherwise
        with exclusive(options.agent):
            asyncio.run(_serve(options, harness))


async def _serve(options: RunnerOptions, harness: Any) -> None:
    import asyncio
    import signal

    from hubbub.client import AsyncClient
    from hubbub.runner.runner import Runner

    main = asyncio.current_task()
    assert main is not None
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, main.cancel)
    async with AsyncClient(agent=options.agent) as client:
        try:
            await Runner(options, harness, client).run()
        except asyncio.CancelledError:
            return


def _service(options: RunnerOptions, carry: list[str]) -> Service:
    from hubbub.service import Service, program

    environment = {name: os.environ[name] for name in CARRIED if os.environ.get(name)}
    environment["PATH"] = os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin")
    for name in carry:
        if name not in os.environ:
            from hubbub.core.errors import InvalidInput

            raise InvalidInput(f"--env {name}: it is not set here", code="bad_runner_option")
        environment[name] = os.environ[name]
    return Service(
        name=f"hubbub-agent-{options.agent}",
        description=f"Hubbub runner for {options.agent} ({options.exec})",
        argv=[program("hubbub"), *options.command_line()],
        working_directory=options.cwd,
        environment=environment,
    )


@app.command("install")
def install(
    exec_: Exec,
    agent: AgentOption = None,
    cwd: Cwd = None,
    mode: ModeOption = Mode.open,
    approver: Approver = None,
    approval_timeout: ApprovalTimeout = defaults.DEFAULT_APPROVAL_TIMEOUT,
    allow: Allow = None,
    sender_limit: SenderLimit = limits.SENDER_LIMIT,
    thread_limit: ThreadLimit = limits.THREAD_LIMIT,
    hop_limit: HopLimit = limits.HOP_LIMIT,
    concurrency: Concurrency = 1,
    timeout: Timeout = defaults.DEFAULT_TIMEOUT,
    lease: LeaseOption = defaults.DEFAULT_LEASE,
    history: History = defaults.DEFAULT_HISTORY,
    arg: Arg = None,
    env: Annotated[
        list[str] | None,
        typer.Option(
            "--env",
            help="Carry this variable of your environment into the service, such as a "
            "harness's API key (repeatable).",
            show_default=False,
        ),
    ] = None,
    enable: Annotated[bool, typer.Option(help="Start the service now and at every log-in.")] = True,
    show: Annotated[
        bool, typer.Option("--print", help="Print the unit; write and start nothing.")
    ] = False,
) -> None:
    """Install the runner as a background service of your user (a systemd user unit, or a
    launchd agent on macOS) with these options, and start it. The unit carries PATH and the
    HUBBUB_URL, HUBBUB_KEY, HUBBUB_CONFIG and HUBBUB_MACHINE set now, and is readable by you
    alone."""
    from hubbub.cli.service import put_in_place
    from hubbub.service import manager

    with reporting():
        options = _options(agent, locals())
        options.check()
        service = _service(options, env or [])
        services = manager()
        if show:
            typer.echo(services.render(service), nl=False)
            return
        put_in_place(services, service, enable)


@app.command("status")
def status(agent: AgentOption = None, as_json: JsonFlag = False) -> None:
    """The runner's service, as its service manager sees it, and the agent, as the hub
    does: its status, its note (what it is doing) and whether it is marked as a runner."""
    from hubbub.client import ClientSettings
    from hubbub.service import manager

    with reporting():
        name = ClientSettings.resolve(agent=agent).agent or ""
        services = manager()
        unit = f"hubbub-agent-{name}"
        installed = services.installed(unit)
        said = services.status(unit) if installed else "not installed"
    with connected() as client:
        # Looked up as this machine's default agent: acting as the runner's own would
        # count as its activity.
        found = client.agent(name)

    def show(data: dict[str, Any]) -> None:
        from hubbub.cli.agents import styled_status

        console.print(f"[bold]service[/bold] {unit} ({services.kind})", highlight=False)
        console.print(escape(data["service"]), highlight=False)
        mark = " (runner)" if found.runner else ""
        console.print(
            f"[bold]hub[/bold] @{escape(found.name)}{mark}: {styled_status(found)}", highlight=False
        )

    emit({"service": said, "installed": installed, "agent": found}, as_json, show)


@app.command("logs")
def logs(
    agent: AgentOption = None,
    lines: Annotated[int, typer.Option("--lines", "-n", help="Lines to show.")] = 100,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep showing new lines.")] = False,
) -> None:
    """The runner service's log (journalctl, or the launchd log file)."""
    from hubbub.client import ClientSettings
    from hubbub.service import manager

    with reporting():
        name = ClientSettings.resolve(agent=agent).agent or ""
        argv = manager().logs(f"hubbub-agent-{name}", lines, follow)
    os.execvp(argv[0], argv)


@app.command("uninstall")
def uninstall(agent: AgentOption = None) -> None:
    """Stop the runner's service, disable it and delete its unit."""
    from hubbub.client import ClientSettings
    from hubbub.service import manager

    with reporting():
        name = ClientSettings.resolve(agent=agent).agent or ""
        removed = manager().remove(f"hubbub-agent-{name}")
    console.print(f"Removed {escape(str(removed))}", highlight=False)
