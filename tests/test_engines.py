"""The two storage engines stay in step: the same store methods, with the same signatures,
and the same numbered migrations."""

from __future__ import annotations

import inspect

from hubbub.core.store import Store
from hubbub.store import migrations
from hubbub.store.postgres import PostgresStore
from hubbub.store.sqlite import SqliteStore


def _methods(cls: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_")
    }


def test_both_engines_implement_every_store_method_alike() -> None:
    protocol = _methods(Store)
    sqlite, postgres = _methods(SqliteStore), _methods(PostgresStore)
    assert set(protocol) <= set(sqlite)
    assert set(protocol) <= set(postgres)
    for name in protocol:
        assert sqlite[name].parameters.keys() == postgres[name].parameters.keys(), name
        assert inspect.iscoroutinefunction(getattr(PostgresStore, name)), name


def test_both_engines_ship_the_same_numbered_migrations() -> None:
    sqlite = migrations.load("hubbub.store.sqlite")
    postgres = migrations.load("hubbub.store.postgres")
    assert [(m.version, m.name) for m in postgres] == [(m.version, m.name) for m in sqlite]
