"""A throwaway PostgreSQL cluster for the tests: ``initdb`` into a temporary directory, a
server on a free port with its socket in that directory, and a fresh database per test cloned
from a migrated template (one ``CREATE DATABASE … TEMPLATE``, a few milliseconds).

The binaries are found with ``pg_config --bindir`` or under ``/usr/lib/postgresql/*/bin``
(``HUBBUB_TEST_PG_BINDIR`` overrides both). ``initdb`` refuses to run as root, so as root the
cluster belongs to the ``postgres`` user (or ``nobody``) and its commands run as that user.

The benchmarks (``bench/postgres.py``) start their cluster with this module too, with durable
settings; only :func:`session_cluster` needs pytest, and imports it when called.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import queue
import re
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from typing import Any

import psycopg

SUPERUSER = "hubbub"
PASSWORD_USER = "hubbub_pw"
PASSWORD = "s3cret-pw"
TEMPLATE = "hubbub_template"
PREFIX = "hubbub-pg-"
SETTINGS = {
    # Throwaway data: durability buys nothing here and costs time on every commit.
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "400",
    "shared_buffers": "64MB",
    "log_min_messages": "warning",
    "log_min_error_statement": "panic",
}
DURABLE_SETTINGS = {
    # For measurements: PostgreSQL's own durable defaults (every commit flushed to disk, torn
    # pages guarded), stated so that nothing else changes them.
    "fsync": "on",
    "synchronous_commit": "on",
    "full_page_writes": "on",
    "max_connections": "200",
    "log_min_messages": "warning",
    "log_min_error_statement": "panic",
}


def find_bindir() -> Path | None:
    """The directory holding ``initdb`` and ``pg_ctl``, or ``None`` when PostgreSQL is absent."""
    chosen = os.environ.get("HUBBUB_TEST_PG_BINDIR")
    candidates: list[Path] = [Path(chosen)] if chosen else []
    if not chosen:
        pg_config = shutil.which("pg_config")
        if pg_config is not None:
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                done = subprocess.run(
                    [pg_config, "--bindir"], capture_output=True, text=True, timeout=10
                )
                candidates.append(Path(done.stdout.strip()))

        def version(path: Path) -> tuple[int, ...]:
            return tuple(int(part) for part in re.findall(r"\d+", path.parent.name))

        candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=version, reverse=True)
    for candidate in candidates:
        if (candidate / "initdb").is_file() and (candidate / "pg_ctl").is_file():
            return candidate
    return None


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Cluster:
    """A running throwaway PostgreSQL server."""

    bindir: Path
    root: Path
    port: int
    owner: pwd.struct_passwd | None
    _names: Iterator[int] = field(default_factory=count)
    _spares: _Spares | None = None

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root

    def url(self, dbname: str = "postgres") -> str:
        """The URL of a database over the Unix socket (trusted, no password)."""
        return f"postgresql://{SUPERUSER}@/{dbname}?host={self.socket_dir}&port={self.port}"

    def tcp_url(self, dbname: str, *, password: str = PASSWORD) -> str:
        """The URL of a database over TCP, as the password-authenticated role."""
        return f"postgresql://{PASSWORD_USER}:{password}@127.0.0.1:{self.port}/{dbname}"

    def _run(self, *args: str, timeout: float = 60) -> None:
        kwargs: dict[str, Any] = {}
        if self.owner is not None:
            kwargs.update(user=self.owner.pw_uid, group=self.owner.pw_gid, extra_groups=[])
        done = subprocess.run(
            [str(self.bindir / args[0]), *args[1:]],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            cwd=self.root,
            **kwargs,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"{args[0]} failed ({done.returncode}): {done.stderr or done.stdout}"
            )

    def init(self, *, durable: bool = False) -> None:
        """``initdb`` and the server's settings: :data:`SETTINGS` (fast, for tests), or
        :data:`DURABLE_SETTINGS` (for measurements)."""
        self._run(
            "initdb", "-D", str(self.data), "-U", SUPERUSER, "--auth-local=trust",
            "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync",
        )  # fmt: skip
        settings = {
            **(DURABLE_SETTINGS if durable else SETTINGS),
            "port": str(self.port),
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{self.socket_dir}'",
        }
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.writelines(f"{name} = {value}\n" for name, value in settings.items())

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "log"), "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``immediate`` is a crash: no shutdown checkpoint)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def restart(self, mode: str = "fast") -> None:
        self.stop(mode)
        self.start()

    def admin(self, dbname: str = "postgres") -> psycopg.Connection[Any]:
        """An autocommit superuser connection."""
        return psycopg.connect(self.url(dbname), autocommit=True)

    def execute(self, sql: str, dbname: str = "postgres") -> list[tuple[Any, ...]]:
        """Run one statement as the superuser; its rows, if any."""
        with self.admin(dbname) as conn:
            cursor = conn.execute(sql.encode())
            return cursor.fetchall() if cursor.description else []

    def new_database(self, template: str | None = TEMPLATE) -> str:
        """A fresh database (cloned from the migrated template); its name. Clones of the
        template are made ahead, in a thread, while the tests run."""
        if template == TEMPLATE and self._spares is not None:
            return self._spares.take()
        return self.create_database(template)

    def create_database(self, template: str | None = TEMPLATE) -> str:
        name = f"t{next(self._names)}"
        # WAL_LOG (the default) copies without the two checkpoints FILE_COPY makes.
        clause = f" TEMPLATE {template} STRATEGY WAL_LOG" if template else ""
        self.execute(f"CREATE DATABASE {name}{clause}")
        return name

    def drop_database(self, name: str) -> None:
        """Drop a database (in the background, once clones are made ahead)."""
        if self._spares is not None:
            self._spares.drop(name)
        else:
            self.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def make_spares(self, ahead: int = 2) -> None:
        """From now on, keep ``ahead`` clones of the template ready."""
        self._spares = _Spares(self, ahead)

    def stop_spares(self) -> None:
        if self._spares is not None:
            self._spares.stop()
            self._spares = None


class _Spares:
    """A thread that keeps some template clones ready and drops used databases."""

    def __init__(self, cluster: Cluster, ahead: int) -> None:
        self._cluster = cluster
        self._ready: queue.Queue[str | BaseException] = queue.Queue()
        self._work: queue.Queue[str | None] = queue.Queue()
        for _ in range(ahead):
            self._work.put("")  # "" asks for one more clone
        self._thread = threading.Thread(target=self._run, name="pg-spares", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (job := self._work.get()) is not None:
            try:
                if job:
                    self._cluster.execute(f"DROP DATABASE IF EXISTS {job} WITH (FORCE)")
                else:
                    self._ready.put(self._cluster.create_database())
            except Exception as error:  # handed to the test that waits for a clone
                if not job:
                    self._ready.put(error)

    def take(self) -> str:
        self._work.put("")
        made = self._ready.get(timeout=60)
        if isinstance(made, BaseException):
            raise RuntimeError(f"could not clone the template: {made}") from made
        return made

    def drop(self, name: str) -> None:
        self._work.put(name)

    def stop(self) -> None:
        self._work.put(None)
        self._thread.join(timeout=30)


def _owner() -> pwd.struct_passwd | None:
    """Who runs the cluster: ourselves, or an unprivileged user when we are root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise RuntimeError("running as root and there is no postgres or nobody user for initdb")


def _reap(bindir: Path, owner: pwd.struct_passwd | None) -> None:
    """Stop and delete the clusters of test runs that were killed before cleaning up."""
    for root in Path("/tmp").glob(PREFIX + "*"):
        try:
            creator = int((root / "creator.pid").read_text())
            os.kill(creator, 0)
            continue  # its run goes on
        except ProcessLookupError:
            pass
        except (OSError, ValueError):
            continue  # not ours to judge (another user's, or still being made)
        with contextlib.suppress(Exception):
            Cluster(bindir, root, 0, owner).stop("immediate")
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def running_cluster(*, durable: bool = False) -> Iterator[Cluster]:
    """Initialise and start a cluster; stop and delete it afterwards. ``durable``: with
    PostgreSQL's durable settings (for benchmarks) instead of the fast ones."""
    bindir = find_bindir()
    if bindir is None:
        raise RuntimeError("PostgreSQL is not installed (no initdb found)")
    owner = _owner()
    _reap(bindir, owner)
    # A short path under /tmp: socket paths are limited to about 100 bytes, and the cluster's
    # owner (another user when we are root) must be able to reach it.
    root = Path(tempfile.mkdtemp(prefix=PREFIX, dir="/tmp"))
    (root / "creator.pid").write_text(str(os.getpid()))
    if owner is not None:
        os.chown(root, owner.pw_uid, owner.pw_gid)
    cluster = Cluster(bindir, root, free_port(), owner)
    try:
        cluster.init(durable=durable)
        cluster.start()
        cluster.execute(f"CREATE ROLE {PASSWORD_USER} LOGIN PASSWORD '{PASSWORD}' CREATEDB")
        yield cluster
    finally:
        with contextlib.suppress(Exception):
            cluster.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)


async def _migrate(url: str) -> None:
    from hubbub.store.postgres import PostgresStore

    store = PostgresStore(url, pool_min=0, pool_max=1)
    await store.open()
    await store.close()


def prepare_template(cluster: Cluster) -> None:
    """Create the template database and bring it to the current schema."""
    import asyncio

    cluster.execute(f"CREATE DATABASE {TEMPLATE}")
    asyncio.run(_migrate(cluster.url(TEMPLATE)))


@contextlib.contextmanager
def session_cluster() -> Iterator[Cluster]:
    """A cluster with a migrated template for a test session. Without PostgreSQL the tests
    that need it are skipped, except under CI, where they fail."""
    import pytest

    if find_bindir() is None:
        reason = (
            "PostgreSQL is not installed (no initdb under `pg_config --bindir` or "
            "/usr/lib/postgresql/*/bin): the PostgreSQL runs are skipped"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI must run them (.ci/run installs postgresql)")
        pytest.skip(reason)
    with running_cluster() as cluster:
        prepare_template(cluster)
        cluster.make_spares()
        try:
            yield cluster
        finally:
            cluster.stop_spares()
