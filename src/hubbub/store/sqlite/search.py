"""Full-text search with FTS5: ranked by BM25, with highlighted snippets."""

from __future__ import annotations

import re
import sqlite3
from typing import Any

from hubbub.core.models import SearchHit
from hubbub.core.store import SearchQuery
from hubbub.store.sqlite import rows

_TOKEN = re.compile(r'"([^"]*)"|(\S+)')
_WORD = re.compile(r"\w+", re.UNICODE)


def fts_query(text: str) -> str:
    """Turn what a user typed into a safe FTS5 query: every word must match, ``"a b"`` is a
    phrase, a trailing ``*`` is a prefix. FTS5 operators in user text are taken literally."""
    parts: list[str] = []
    for phrase, word in _TOKEN.findall(text):
        if phrase:
            words = _WORD.findall(phrase)
            if words:
                parts.append('"' + " ".join(words) + '"')
            continue
        prefix = word.endswith("*")
        for piece in _WORD.findall(word):
            parts.append(f'"{piece}"')
        if prefix and parts and _WORD.findall(word):
            parts[-1] += "*"
    return " ".join(parts)


VISIBLE = (
    "((c.kind = 'channel' AND c.visibility = 'public') OR EXISTS "
    "(SELECT 1 FROM members mb WHERE mb.channel_id = m.channel_id AND mb.agent_id = ?))"
)
WINDOW = 250


def search(conn: sqlite3.Connection, query: SearchQuery) -> list[SearchHit]:
    """Hits ranked by BM25 among the newest ``WINDOW`` matches, so a common word costs no more
    than a rare one; if that window holds fewer than ``limit`` hits the viewer may see (or
    filters remove them), every match is ranked."""
    match = fts_query(query.terms)
    if not match:
        return []
    clauses = ["m.deleted_at IS NULL", VISIBLE]
    params: list[Any] = [query.viewer_id]
    for column, value, op in (
        ("m.channel_id", query.channel_id, "="),
        ("m.author_id", query.author_id, "="),
        ("m.created_at", None if query.since is None else rows.to_us(query.since), ">="),
        ("m.created_at", None if query.until is None else rows.to_us(query.until), "<="),
    ):
        if value is not None:
            clauses.append(f"{column} {op} ?")
            params.append(value)
    edge = conn.execute(
        "SELECT rowid FROM messages_fts WHERE messages_fts MATCH ? "
        "ORDER BY rowid DESC LIMIT 1 OFFSET ?",
        (match, WINDOW - 1),
    ).fetchone()
    if edge is not None:
        hits = _ranked(conn, match, int(edge[0]), clauses, params, query.limit)
        if len(hits) == query.limit:
            return hits
    return _ranked(conn, match, 0, clauses, params, query.limit)


def _ranked(
    conn: sqlite3.Connection,
    match: str,
    newest_from: int,
    clauses: list[str],
    params: list[Any],
    limit: int,
) -> list[SearchHit]:
    """Matches with ``rowid >= newest_from``, ranked inside FTS5, then joined and filtered."""
    sql = f"""
        WITH hits AS (
            SELECT rowid, rank, snippet(messages_fts, 0, '**', '**', '…', 16) AS snippet
              FROM messages_fts WHERE messages_fts MATCH ? AND rowid >= ?
        )
        SELECT json_object('message', {rows.MESSAGE_JSON}, 'snippet', hits.snippet,
                           'rank', -hits.rank)
          FROM hits JOIN messages m ON m.id = hits.rowid {rows.MESSAGE_JOINS}
         WHERE {" AND ".join(clauses)}
         ORDER BY hits.rank LIMIT ?
    """
    return rows.parse_all(rows.SEARCH_HITS, conn.execute(sql, [match, newest_from, *params, limit]))
