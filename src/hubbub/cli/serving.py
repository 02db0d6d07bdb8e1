"""Running the hub for ``hubbub serve``: bind, provision, print the banner, serve."""

from __future__ import annotations

import asyncio
import gc
import ipaddress
import socket
from collections.abc import Callable
from pathlib import Path
from types import FrameType

import typer
import uvicorn
from rich.markup import escape

from hubbub import __version__
from hubbub.cli.output import console, reporting
from hubbub.core.hub import Hub
from hubbub.server import create_app, logs
from hubbub.server.http import HeadLimits, protocol
from hubbub.server.provision import Provisioned
from hubbub.settings import Settings
from hubbub.store import is_postgres, open_store


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        console.print(f"[red]error[/red]: cannot listen on {host}:{port}: {exc.strerror}")
        raise typer.Exit(1) from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _url(host: str, port: int) -> str:
    if host in ("0.0.0.0", "::"):
        host = socket.gethostname()
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def _banner(url: str, settings: Settings, done: Provisioned | None, loopback: bool) -> None:
    console.print(f"[bold]Hubbub {__version__}[/bold] listening on [cyan]{url}[/cyan]")
    if is_postgres(settings.db):
        from hubbub.store.postgres.engine import describe

        console.print(f"  database  {escape(describe(settings.db))} (PostgreSQL)")
    else:
        shown = f"(SQLite, synchronous={settings.synchronous})"
        console.print(f"  database  {escape(settings.db)} {shown}")
    if done is not None:
        state = "written" if done.wrote_config else "up to date"
        console.print(f"  config    {escape(str(done.config_path))} ({state})")
        if done.note:
            console.print(f"  [yellow]note[/yellow]      {escape(done.note)}")
        if done.new_admin_key:
            console.print(
                f"  admin key {done.new_admin_key}  [yellow](shown once: keep it)[/yellow]"
            )
        console.print(
            f"  agents    this machine is [bold]{done.machine}[/bold]; agents are named "
            f"{done.machine}-<project> (default: the current directory's name)"
        )
    if done is not None and done.dashboard:
        console.print(
            f"  dashboard [cyan]{escape(done.dashboard)}[/cyan]  (signs you in: once, within "
            "10 minutes; later: hubbub dashboard)",
            soft_wrap=True,  # a link cut across lines would not open
        )
    if settings.a2a_enabled:
        console.print(
            f"  a2a       {url}/a2a/<agent> (card: /a2a/<agent>/.well-known/agent-card.json; "
            "callers need an integration token with the a2a scope)"
        )
    console.print("\nTry, from any project directory:")
    console.print('  hubbub post general "hello from $(basename $PWD)"')
    console.print("  hubbub read general")
    console.print(f"  curl -s {url}/api/v1/health")
    console.print(f"  API: {url}/openapi.json  ·  stop with Ctrl-C")
    if not loopback:
        console.print(
            "\n[bold]Listening beyond this machine.[/bold] Every request needs a key. "
            "To add a machine:\n"
            "  hubbub keys create --machine <name>      # here; prints the key once\n"
            f"  export HUBBUB_URL={url} HUBBUB_KEY=<key> HUBBUB_MACHINE=<name>   # there"
        )


async def _check_database(settings: Settings) -> None:
    """Open (and migrate, unless told not to) the database once before serving, so a bad one
    is a clear error rather than a failed start-up."""
    store = open_store(
        settings.db,
        synchronous=settings.synchronous,
        readers=1,
        pool_min=1,
        pool_max=1,
        statement_timeout=settings.postgres_statement_timeout_seconds,
        migrate=settings.migrate,
        lock_timeout=settings.lock_timeout_seconds,
    )
    await store.open()
    await store.close()


class _Server(uvicorn.Server):
    def __init__(
        self, config: uvicorn.Config, on_ready: Callable[[], None], on_stop: Callable[[], None]
    ) -> None:
        super().__init__(config)
        self._on_ready = on_ready
        self._on_stop = on_stop
        self._loop: asyncio.AbstractEventLoop | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # Streams and waits end now, so connections can close within the grace period.
        if self._loop is not None and not self.should_exit:
            self._loop.call_soon_threadsafe(self._on_stop)
        super().handle_exit(sig, frame)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        await super().startup(sockets)
        if self.started:
            if not gc.isenabled():  # paused while the hub started (hubbub.cli.serve)
                gc.freeze()  # what start-up built lives as long as the process: never scanned
                gc.enable()
            self._on_ready()


def run(settings: Settings, config_file: Path) -> None:
    """Check the database, bind, then serve until stopped."""
    sock = _bind(settings.host, settings.port)
    url = _url(settings.host, sock.getsockname()[1])
    with reporting():
        asyncio.run(_check_database(settings))
        app = create_app(settings, url=url, config_path=config_file)
    loopback = _is_loopback(settings.host)
    limits = HeadLimits(
        max_bytes=settings.max_header_bytes,
        max_fields=settings.max_headers,
        timeout=settings.header_timeout_seconds,
    )
    json_logs = settings.log_format == "json"
    log_config = logs.configure(settings.log_level) if json_logs else uvicorn.config.LOGGING_CONFIG
    server_config = uvicorn.Config(
        app,
        http=protocol(limits),  # httptools with head limits; h11 is never used
        log_level=settings.log_level,
        access_log=settings.access_log,
        log_config=log_config,
        timeout_graceful_shutdown=5,
        server_header=False,
    )
    hub: Hub = app.state.hub
    server = _Server(
        server_config,
        on_ready=lambda: _banner(url, settings, app.state.provisioned, loopback),
        on_stop=hub.end_streams,
    )
    server.run(sockets=[sock])
