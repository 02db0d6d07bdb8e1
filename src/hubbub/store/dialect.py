"""Where the engines' SQL differs: every engine-specific fragment, the two engines side by
side (:data:`SQLITE` and :data:`POSTGRES` at the end).

A query that needs one writes ``Query(lambda d: f"... {d.iso('m.created_at')} ...")``; the
query module stays one module for both engines. A new difference between the engines is a
new template here, written for each of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson


@dataclass(frozen=True, slots=True)
class Dialect:
    """The SQL one engine speaks, where it is not the SQL both speak: a template per
    fragment, filled in by the method of the same name."""

    name: str
    driver: str | None
    """The SQLAlchemy dialect (``dialect.driver``) that renders this engine's statements for
    its driver, or ``None`` where the driver takes them as written (see
    :func:`hubbub.store.sql.render`)."""
    json_arrays: bool
    """Whether list parameters travel as JSON text (else as the driver's arrays)."""
    templates: dict[str, str]

    def _fill(self, fragment: str, **parts: str) -> str:
        return self.templates[fragment].format(**parts)

    def iso(self, column: str) -> str:
        """A stored time (integer microseconds) as an exact RFC 3339 UTC string; NULL stays
        NULL."""
        return self._fill("iso", c=column)

    def json_object(self, *pairs: str) -> str:
        """A JSON object from alternating keys and values."""
        return self._fill("json_object", pairs=", ".join(pairs))

    def json(self, column: str) -> str:
        """A JSON column, as a value inside :meth:`json_object`."""
        return self._fill("json", c=column)

    def json_bool(self, condition: str) -> str:
        """A condition as a JSON ``true``/``false`` inside :meth:`json_object`."""
        return self._fill("json_bool", condition=condition)

    def json_param(self, name: str) -> str:
        """The parameter ``name``, JSON text, as a value for a JSON column."""
        return self._fill("json_param", name=name)

    def any_of(self, column: str, name: str) -> str:
        """``column`` is one of the values of the parameter ``name`` (see :meth:`array`)."""
        return self._fill("any_of", c=column, name=name)

    def array(self, values: Sequence[Any]) -> Any:
        """A list of values as a parameter for :meth:`any_of`."""
        return orjson.dumps(list(values)).decode() if self.json_arrays else list(values)

    def by_name(self, column: str) -> str:
        """``column`` as an ORDER BY term that sorts names by code point on every engine."""
        return self._fill("by_name", c=column)

    def inserted(self, column: str, name: str) -> str:
        """In an upsert's RETURNING: whether the row was inserted rather than updated.
        SQLite cannot tell, so it compares ``column``, which only an insert sets, with the
        parameter ``name`` that the insert set it to."""
        return self._fill("inserted", c=column, name=name)

    def greatest(self, a: str, b: str) -> str:
        return self._fill("greatest", a=a, b=b)

    def least(self, a: str, b: str) -> str:
        return self._fill("least", a=a, b=b)

    def json_contains(self, column: str, name: str) -> str:
        """The JSON array ``column`` (``jsonb`` on PostgreSQL) holds the string parameter
        ``name``."""
        return self._fill("json_contains", c=column, name=name)

    def json_elements(self, column: str, alias: str) -> str:
        """A FROM item ``alias`` with one row per element of the JSON array ``column``
        (``jsonb`` on PostgreSQL), its text in the column ``value``."""
        return self._fill("json_elements", c=column, alias=alias)

    def among(self, column: str, select: str) -> str:
        """``column`` is one of the values a (non-correlated) ``select`` returns, computed
        once for the whole statement (on PostgreSQL an array: a semi-join would run
        ``select`` again for each row in a generic plan)."""
        return self._fill("among", c=column, select=select)

    def table_exists(self, name: str) -> str:
        """A condition: the database holds a table named by the parameter ``name``."""
        return self._fill("table_exists", name=name)


SQLITE = Dialect(
    name="sqlite",
    driver=None,  # sqlite3 takes ``:name`` parameters as they are written
    json_arrays=True,
    templates={
        "iso": "CASE WHEN {c} IS NULL THEN NULL ELSE "
        "strftime('%Y-%m-%dT%H:%M:%S', {c} / 1000000, 'unixepoch') "
        "|| printf('.%06dZ', {c} % 1000000) END",
        "json_object": "json_object({pairs})",
        "json": "json({c})",
        "json_bool": "json(CASE WHEN {condition} THEN 'true' ELSE 'false' END)",
        "json_param": ":{name}",
        "any_of": "{c} IN (SELECT value FROM json_each(:{name}))",
        "by_name": "{c}",
        "inserted": "({c} = :{name})",
        "greatest": "max({a}, {b})",
        "least": "min({a}, {b})",
        "json_contains": "EXISTS (SELECT 1 FROM json_each({c}) WHERE value = :{name})",
        "json_elements": "json_each({c}) AS {alias}",
        "among": "{c} IN ({select})",
        "table_exists": "EXISTS (SELECT 1 FROM sqlite_master "
        "WHERE type = 'table' AND name = :{name})",
    },
)
POSTGRES = Dialect(
    name="postgresql",
    driver="postgresql.psycopg",
    json_arrays=False,
    templates={
        "iso": "(to_char(to_timestamp({c} / 1000000) AT TIME ZONE 'UTC', "
        "'YYYY-MM-DD\"T\"HH24:MI:SS') || '.' || lpad(mod({c}, 1000000)::text, 6, '0') || 'Z')",
        "json_object": "json_build_object({pairs})",
        "json": "{c}",
        "json_bool": "({condition})",
        "json_param": "CAST(:{name} AS json)",
        "any_of": "{c} = ANY(:{name})",
        "by_name": '{c} COLLATE "C"',
        "inserted": "(xmax = 0)",
        "greatest": "greatest({a}, {b})",
        "least": "least({a}, {b})",
        "json_contains": "{c} @> jsonb_build_array(CAST(:{name} AS text))",
        "json_elements": "jsonb_array_elements_text({c}) AS {alias}(value)",
        "among": "{c} = ANY(ARRAY({select}))",
        "table_exists": "(to_regclass(:{name}) IS NOT NULL)",
    },
)
