"""Where the engines' SQL differs: every engine-specific fragment, side by side.

A query that needs one writes ``Query(lambda d: f"... {d.iso('m.created_at')} ...")``; the
query module stays one module for both engines. A new difference between the engines is a
new method here, written for each of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect as SqlalchemyDialect


class Dialect:
    """The SQL one engine speaks, where it is not the SQL both speak."""

    name: str
    sqlalchemy: SqlalchemyDialect

    def iso(self, column: str) -> str:
        """A stored time (integer microseconds) as an exact RFC 3339 UTC string; NULL stays
        NULL."""
        raise NotImplementedError

    def json_object(self, *pairs: str) -> str:
        """A JSON object from alternating keys and values."""
        raise NotImplementedError

    def json(self, column: str) -> str:
        """A JSON column, as a value inside :meth:`json_object`."""
        raise NotImplementedError

    def json_bool(self, condition: str) -> str:
        """A condition as a JSON ``true``/``false`` inside :meth:`json_object`."""
        raise NotImplementedError

    def json_param(self, name: str) -> str:
        """The parameter ``name``, JSON text, as a value for a JSON column."""
        raise NotImplementedError

    def any_of(self, column: str, name: str) -> str:
        """``column`` is one of the values of the parameter ``name`` (see :meth:`array`)."""
        raise NotImplementedError

    def array(self, values: Sequence[Any]) -> Any:
        """A list of values as a parameter for :meth:`any_of`."""
        raise NotImplementedError

    def by_name(self, column: str) -> str:
        """``column`` as an ORDER BY term that sorts names by code point on every engine."""
        raise NotImplementedError

    def inserted(self, column: str, name: str) -> str:
        """In an upsert's RETURNING: whether the row was inserted rather than updated.
        SQLite cannot tell, so it compares ``column``, which only an insert sets, with the
        parameter ``name`` that the insert set it to."""
        raise NotImplementedError

    def greatest(self, a: str, b: str) -> str:
        raise NotImplementedError

    def least(self, a: str, b: str) -> str:
        raise NotImplementedError

    def json_contains(self, column: str, name: str) -> str:
        """The JSON array ``column`` (``jsonb`` on PostgreSQL) holds the string parameter
        ``name``."""
        raise NotImplementedError

    def json_elements(self, column: str, alias: str) -> str:
        """A FROM item ``alias`` with one row per element of the JSON array ``column``
        (``jsonb`` on PostgreSQL), its text in the column ``value``."""
        raise NotImplementedError

    def among(self, column: str, select: str) -> str:
        """``column`` is one of the values a (non-correlated) ``select`` returns, computed
        once for the whole statement."""
        raise NotImplementedError

    def table_exists(self, name: str) -> str:
        """A condition: the database holds a table named by the parameter ``name``."""
        raise NotImplementedError


class Sqlite(Dialect):
    name = "sqlite"
    sqlalchemy = sqlite.dialect(paramstyle="named")

    def iso(self, column: str) -> str:
        return (
            f"CASE WHEN {column} IS NULL THEN NULL ELSE "
            f"strftime('%Y-%m-%dT%H:%M:%S', {column} / 1000000, 'unixepoch') "
            f"|| printf('.%06dZ', {column} % 1000000) END"
        )

    def json_object(self, *pairs: str) -> str:
        return f"json_object({', '.join(pairs)})"

    def json(self, column: str) -> str:
        return f"json({column})"

    def json_bool(self, condition: str) -> str:
        return f"json(CASE WHEN {condition} THEN 'true' ELSE 'false' END)"

    def json_param(self, name: str) -> str:
        return f":{name}"

    def any_of(self, column: str, name: str) -> str:
        return f"{column} IN (SELECT value FROM json_each(:{name}))"

    def array(self, values: Sequence[Any]) -> Any:
        return orjson.dumps(list(values)).decode()

    def by_name(self, column: str) -> str:
        return column

    def inserted(self, column: str, name: str) -> str:
        return f"({column} = :{name})"

    def greatest(self, a: str, b: str) -> str:
        return f"max({a}, {b})"

    def least(self, a: str, b: str) -> str:
        return f"min({a}, {b})"

    def json_contains(self, column: str, name: str) -> str:
        return f"EXISTS (SELECT 1 FROM json_each({column}) WHERE value = :{name})"

    def json_elements(self, column: str, alias: str) -> str:
        return f"json_each({column}) AS {alias}"

    def among(self, column: str, select: str) -> str:
        return f"{column} IN ({select})"

    def table_exists(self, name: str) -> str:
        return f"EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = :{name})"


class Postgres(Dialect):
    name = "postgresql"
    sqlalchemy = postgresql.psycopg.dialect()  # type: ignore[no-untyped-call]

    def iso(self, column: str) -> str:
        return (
            f"(to_char(to_timestamp({column} / 1000000) AT TIME ZONE 'UTC', "
            f"'YYYY-MM-DD\"T\"HH24:MI:SS') || '.' || lpad(mod({column}, 1000000)::text, 6, '0') "
            "|| 'Z')"
        )

    def json_object(self, *pairs: str) -> str:
        return f"json_build_object({', '.join(pairs)})"

    def json(self, column: str) -> str:
        return column

    def json_bool(self, condition: str) -> str:
        return f"({condition})"

    def json_param(self, name: str) -> str:
        return f"CAST(:{name} AS json)"

    def any_of(self, column: str, name: str) -> str:
        return f"{column} = ANY(:{name})"

    def array(self, values: Sequence[Any]) -> Any:
        return list(values)

    def by_name(self, column: str) -> str:
        return f'{column} COLLATE "C"'

    def inserted(self, column: str, name: str) -> str:
        return "(xmax = 0)"

    def greatest(self, a: str, b: str) -> str:
        return f"greatest({a}, {b})"

    def least(self, a: str, b: str) -> str:
        return f"least({a}, {b})"

    def json_contains(self, column: str, name: str) -> str:
        return f"{column} @> jsonb_build_array(CAST(:{name} AS text))"

    def json_elements(self, column: str, alias: str) -> str:
        return f"jsonb_array_elements_text({column}) AS {alias}(value)"

    def among(self, column: str, select: str) -> str:
        # An array built once: a semi-join would re-run ``select`` per row in a generic plan.
        return f"{column} = ANY(ARRAY({select}))"

    def table_exists(self, name: str) -> str:
        return f"(to_regclass(:{name}) IS NOT NULL)"


SQLITE = Sqlite()
POSTGRES = Postgres()
