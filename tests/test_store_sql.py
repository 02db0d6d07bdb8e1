"""Statements as each driver takes them: SQLite's as written, which is exactly what
SQLAlchemy would render for it (so a SQLite hub need not load SQLAlchemy at all), and
psycopg's rendered by SQLAlchemy."""

from __future__ import annotations

import gc
import importlib
import itertools
import pkgutil
import subprocess
import sys

from sqlalchemy import text
from sqlalchemy.dialects import sqlite

import hubbub.store
from hubbub.store import search
from hubbub.store.dialect import POSTGRES, SQLITE
from hubbub.store.sql import Query, render


def every_query() -> list[Query]:
    """Every statement of the store: the modules' own, and each shape search builds."""
    for module in pkgutil.walk_packages(hubbub.store.__path__, "hubbub.store."):
        importlib.import_module(module.name)
    for size in range(len(search.FILTERS) + 1):
        for filters in itertools.combinations(search.FILTERS, size):
            search._statements(SQLITE.name, ("match",), filters)
            search._statements(POSTGRES.name, ("words",), filters)
    return [found for found in gc.get_objects() if isinstance(found, Query)]


def test_sqlalchemy_renders_every_sqlite_statement_as_written() -> None:
    named = sqlite.dialect(paramstyle="named")
    queries = every_query()
    assert len(queries) > 100
    for query in queries:
        source = query.source if isinstance(query.source, str) else query.source(SQLITE)
        assert query.sql(SQLITE) == source
        assert str(text(source).compile(dialect=named)) == source, source


def test_psycopg_statements_are_rendered_with_its_markers() -> None:
    rendered = render("SELECT * FROM t WHERE a = :a AND b LIKE '50%'", POSTGRES)
    assert rendered == "SELECT * FROM t WHERE a = %(a)s AND b LIKE '50%%'"


def test_a_sqlite_hub_never_imports_sqlalchemy() -> None:
    probe = (
        "import asyncio, sys, tempfile, pathlib\n"
        "from hubbub.server import create_app\n"
        "from hubbub.settings import Settings\n"
        "from hubbub.store import open_store\n"
        "async def main():\n"
        "    store = open_store(str(pathlib.Path(tempfile.mkdtemp()) / 'hub.db'))\n"
        "    await store.open()\n"
        "    await store.close()\n"
        "asyncio.run(main())\n"
        "print('sqlalchemy' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.strip() == "False", done.stderr
