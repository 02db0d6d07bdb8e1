"""``hubbub service``: the hub as a background service of the current user (a systemd user
unit, or a launchd agent on macOS) — ``install``, ``status``, ``logs``, ``restart``, ``stop``,
``uninstall``."""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from hubbub.cli.output import console, emit, reporting
from hubbub.cli.serve import Db, Host, Port, checked_settings, given

if TYPE_CHECKING:
    from hubbub.service import Manager, Service
    from hubbub.settings import Settings

app = typer.Typer(
    help="Keep the hub running in the background: a systemd user unit (Linux) or a launchd "
    "agent (macOS) that starts it at log-in and restarts it if it stops.",
    no_args_is_help=True,
)
UNIT = "hubbub"
# Besides the hub's own settings (every HUBBUB_<SETTING> set now), what the service carries.
CARRIED = ("HUBBUB_CONFIG", "XDG_CONFIG_HOME", "XDG_DATA_HOME")


def _environment(settings: Settings, carry: list[str]) -> dict[str, str]:
    """The unit's environment: PATH, the hub settings and client paths set here, the
    database (never on the command line, where any user's ``ps`` would show a password in
    its URL), and each ``--env`` variable."""
    from hubbub.core.errors import InvalidInput
    from hubbub.settings import ENV_PREFIX

    names = {ENV_PREFIX + field.upper() for field in type(settings).model_fields}
    environment = {
        name: value for name, value in os.environ.items() if name in names or name in CARRIED
    }
    environment["HUBBUB_DB"] = settings.db
    environment["PATH"] = os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin")
    for name in carry:
        if name not in os.environ:
            raise InvalidInput(f"--env {name}: it is not set here", code="bad_service")
        environment[name] = os.environ[name]
    return environment


def _service(settings: Settings, carry: list[str]) -> Service:
    from hubbub.service import Service, program

    argv = [program("hubbub"), "serve", "--host", settings.host, "--port", str(settings.port)]
    return Service(
        name=UNIT,
        description=f"Hubbub hub on {settings.host}:{settings.port}",
        argv=argv,
        working_directory=Path.home(),
        environment=_environment(settings, carry),
    )


def _address(services: Manager) -> tuple[str, int] | None:
    """The host and port the installed hub listens on, read back from its unit."""
    argv = services.command(UNIT)
    try:
        host = argv[argv.index("--host") + 1]
        port = int(argv[argv.index("--port") + 1])
    except (ValueError, IndexError):
        return None
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1" if host == "0.0.0.0" else "::1"
    return host, port


def _answers(address: tuple[str, int] | None) -> str:
    """What the hub's health route says at ``address``."""
    import httpx

    if address is None:
        return "unknown address"
    host, port = address
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}/api/v1/health"
    try:
        answer = httpx.get(url, timeout=3.0)
    except httpx.HTTPError as error:
        return f"not answering at {url} ({type(error).__name__})"
    if answer.status_code != 200:
        return f"answering {answer.status_code} at {url}"
    return f"up at {url} (version {answer.json().get('version', '?')})"


@app.command("install")
def install(
    host: Host = None,
    port: Port = None,
    db: Db = None,
    env: Annotated[
        list[str] | None,
        typer.Option(
            "--env",
            help="Carry this variable of your environment into the service (repeatable).",
            show_default=False,
        ),
    ] = None,
    enable: Annotated[bool, typer.Option(help="Start the service now and at every log-in.")] = True,
    show: Annotated[
        bool, typer.Option("--print", help="Print the unit; write and start nothing.")
    ] = False,
) -> None:
    """Install the hub as a background service of your user, with these options and the
    HUBBUB_* settings set now, and start it. The unit is readable by you alone (it holds the
    database's address). Where no service manager runs, it says so and prints the command to
    run the hub instead."""
    from hubbub.core.errors import InvalidInput, Unavailable
    from hubbub.service import manager

    settings = checked_settings(given(host=host, port=port, db=db))
    if "://" not in settings.db:  # a SQLite path: the service starts in the home folder
        settings = settings.model_copy(update={"db": str(Path(settings.db).expanduser().resolve())})
    with reporting():
        if settings.port == 0:
            raise InvalidInput(
                "a service needs a fixed port: --port 0 would move at every start",
                code="bad_service",
            )
        service = _service(settings, env or [])
        services = manager()
        if show:
            typer.echo(services.render(service), nl=False)
            return
        absent = services.missing()
        if absent is not None and enable:
            command = shlex.join([*service.argv, "--db", settings.db])
            raise Unavailable(
                f"{absent}, so the hub cannot run as its service; nothing was written. Run it "
                f"in the background yourself: nohup {command} >>hubbub.log 2>&1 &   "
                "(or use --no-enable to write the unit anyway)",
                code="service_unavailable",
            )
        if put_in_place(services, service, enable):
            console.print(f"The hub listens on http://{settings.host}:{settings.port}")


def put_in_place(services: Manager, service: Service, enable: bool) -> bool:
    """Write ``service``'s unit and, with ``enable``, start it (now and at every log-in),
    saying what was done; whether it was started. A service manager that cannot start it is
    an error that says how to, once it can."""
    from hubbub.core.errors import Unavailable

    path = services.write(service)
    console.print(f"Wrote {escape(str(path))}", highlight=False)
    if not enable:
        console.print(f"Start it with: {services.hint(service.name)}", highlight=False)
        return False
    try:
        services.enable(service.name)
    except Unavailable as error:
        raise Unavailable(
            f"{error.detail}. The unit is written; once your user's service manager runs "
            "(see 'loginctl enable-linger'), start it with: " + services.hint(service.name),
            code=error.code,
        ) from None
    console.print(f"Started {service.name} ({services.kind}).", highlight=False)
    return True


@app.command("status")
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The hub's service as its service manager sees it, and whether the hub answers."""
    from hubbub.service import manager

    with reporting():
        services = manager()
        installed = services.installed(UNIT)
        said = services.status(UNIT) if installed else "not installed"
        hub = _answers(_address(services)) if installed else "not installed"

    def show(data: dict[str, Any]) -> None:
        console.print(f"[bold]service[/bold] {UNIT} ({services.kind})", highlight=False)
        console.print(escape(data["service"]), highlight=False)
        console.print(f"[bold]hub[/bold] {escape(data['hub'])}", highlight=False)

    emit({"installed": installed, "service": said, "hub": hub}, as_json, show)


@app.command("logs")
def logs(
    lines: Annotated[int, typer.Option("--lines", "-n", help="Lines to show.")] = 100,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep showing new lines.")] = False,
) -> None:
    """The hub service's log (journalctl, or the launchd log file)."""
    from hubbub.service import manager

    with reporting():
        argv = manager().logs(UNIT, lines, follow)
    os.execvp(argv[0], argv)


@app.command("restart")
def restart() -> None:
    """Restart the hub's service (after an upgrade or a changed setting)."""
    from hubbub.service import manager

    with reporting():
        manager().restart(UNIT)
    console.print(f"Restarted {UNIT}.", highlight=False)


@app.command("stop")
def stop() -> None:
    """Stop the hub's service until the next restart or log-in; it stays installed."""
    from hubbub.service import manager

    with reporting():
        manager().stop(UNIT)
    console.print(f"Stopped {UNIT}.", highlight=False)


@app.command("uninstall")
def uninstall() -> None:
    """Stop the hub's service, disable it and delete its unit. The database stays."""
    from hubbub.service import manager

    with reporting():
        removed = manager().remove(UNIT)
    console.print(f"Removed {escape(str(removed))}", highlight=False)
