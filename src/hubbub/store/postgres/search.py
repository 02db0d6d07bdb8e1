"""Full-text search with a GIN index over ``to_tsvector('hubbub', content)``: ranked with
``ts_rank``, with highlighted snippets from ``ts_headline``. Words are matched as written,
lower-cased and without diacritics (the ``hubbub`` text search configuration)."""

from __future__ import annotations

import re
from typing import Any

from hubbub.core.models import SearchHit
from hubbub.core.store import SearchQuery
from hubbub.store.postgres import rows
from hubbub.store.postgres.rows import Conn

_TOKEN = re.compile(r'"([^"]*)"|(\S+)')
_WORD = re.compile(r"\w+", re.UNICODE)
_PIECE = re.compile(r"[^\W_]+", re.UNICODE)  # letters and digits only: safe in to_tsquery

VECTOR = "to_tsvector('hubbub', m.content)"
HEADLINE = (
    "ts_headline('hubbub', m.content, q.query, "
    "'StartSel=**, StopSel=**, MaxFragments=1, MaxWords=16, MinWords=4, "
    'FragmentDelimiter=" … "\')'
)
VISIBLE = (
    "((c.kind = 'channel' AND c.visibility = 'public') OR EXISTS "
    "(SELECT 1 FROM members mb WHERE mb.channel_id = m.channel_id AND mb.agent_id = %s))"
)
WINDOW = 250


def ts_query(text: str) -> tuple[str, str]:
    """What a user typed as a safe query, the same as on SQLite: every word must match,
    ``"a b"`` is a phrase, a trailing ``*`` makes a prefix; operators are taken literally.
    Returns text for ``websearch_to_tsquery`` (every word and phrase quoted) and for
    ``to_tsquery`` (the prefixes, ``word:*``); either may be empty."""
    quoted: list[str] = []
    prefixes: list[str] = []
    for phrase, word in _TOKEN.findall(text):
        if phrase:
            words = _WORD.findall(phrase)
            if words:
                quoted.append('"' + " ".join(words) + '"')
            continue
        words = _WORD.findall(word)
        if word.endswith("*") and words:
            pieces = _PIECE.findall(words.pop())
            if pieces:
                prefixes.append(pieces[-1] + ":*")
                words += pieces[:-1]
        quoted += [f'"{w}"' for w in words]
    return " ".join(quoted), " & ".join(prefixes)


async def search(conn: Conn, query: SearchQuery) -> list[SearchHit]:
    """Hits ranked among the newest ``WINDOW`` matches, so a common word costs no more than a
    rare one; if that window holds fewer than ``limit`` hits the viewer may see (or filters
    remove them), every match is ranked."""
    words, prefixes = ts_query(query.terms)
    parts = []
    params: list[Any] = []
    if words:
        parts.append("websearch_to_tsquery('hubbub', %s)")
        params.append(words)
    if prefixes:
        parts.append("to_tsquery('hubbub', %s)")
        params.append(prefixes)
    if not parts:
        return []
    with_query = f"WITH q AS (SELECT {' && '.join(parts)} AS query)"
    clauses = ["m.deleted_at IS NULL", VISIBLE]
    filters: list[Any] = [query.viewer_id]
    for column, value, op in (
        ("m.channel_id", query.channel_id, "="),
        ("m.author_id", query.author_id, "="),
        ("m.created_at", None if query.since is None else rows.to_us(query.since), ">="),
        ("m.created_at", None if query.until is None else rows.to_us(query.until), "<="),
    ):
        if value is not None:
            clauses.append(f"{column} {op} %s")
            filters.append(value)
    edge = await rows.one(
        conn,
        f"{with_query} SELECT m.id FROM q, messages m WHERE {VECTOR} @@ q.query "
        "ORDER BY m.id DESC LIMIT 1 OFFSET %s",
        (*params, WINDOW - 1),
    )
    if edge is not None:
        hits = await _ranked(conn, with_query, params, int(edge["id"]), clauses, filters, query)
        if len(hits) == query.limit:
            return hits
    return await _ranked(conn, with_query, params, 0, clauses, filters, query)


async def _ranked(
    conn: Conn,
    with_query: str,
    params: list[Any],
    newest_from: int,
    clauses: list[str],
    filters: list[Any],
    query: SearchQuery,
) -> list[SearchHit]:
    """Matches with ``id >= newest_from`` the viewer may see, best first; the JSON and the
    snippets are built for the page alone."""
    sql = f"""
        {with_query}, ranked AS (
            SELECT m.id, ts_rank({VECTOR}, q.query) AS rank
              FROM q, messages m {rows.MESSAGE_JOINS}
             WHERE {VECTOR} @@ q.query AND m.id >= %s AND {" AND ".join(clauses)}
             ORDER BY rank DESC, m.id DESC LIMIT %s
        )
        SELECT json_build_object('message', {rows.MESSAGE_JSON}, 'snippet', {HEADLINE},
                                 'rank', ranked.rank)::text
          FROM q, ranked JOIN messages m ON m.id = ranked.id {rows.MESSAGE_JOINS}
         ORDER BY ranked.rank DESC, m.id DESC
    """
    return await rows.parse_all(
        rows.SEARCH_HITS, conn, sql, [*params, newest_from, *filters, query.limit]
    )
