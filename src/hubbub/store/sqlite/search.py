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


def search(conn: sqlite3.Connection, query: SearchQuery) -> list[SearchHit]:
    match = fts_query(query.terms)
    if not match:
        return []
    clauses = [
        "messages_fts MATCH ?",
        "m.deleted_at IS NULL",
        "((c.kind = 'channel' AND c.visibility = 'public') OR EXISTS "
        "(SELECT 1 FROM members mb WHERE mb.channel_id = m.channel_id AND mb.agent_id = ?))",
    ]
    params: list[Any] = [match, query.viewer_id]
    if query.channel_id is not None:
        clauses.append("m.channel_id = ?")
        params.append(query.channel_id)
    if query.author_id is not None:
        clauses.append("m.author_id = ?")
        params.append(query.author_id)
    if query.since is not None:
        clauses.append("m.created_at >= ?")
        params.append(rows.to_us(query.since))
    if query.until is not None:
        clauses.append("m.created_at <= ?")
        params.append(rows.to_us(query.until))
    sql = f"""
        SELECT {rows.MESSAGE_COLUMNS},
               snippet(messages_fts, 0, '**', '**', '…', 16) AS snippet,
               bm25(messages_fts) AS rank
          FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid {rows.MESSAGE_JOINS}
         WHERE {" AND ".join(clauses)}
         ORDER BY rank LIMIT ?
    """
    params.append(query.limit)
    return [
        SearchHit.model_construct(message=rows.message(r), snippet=r["snippet"], rank=-r["rank"])
        for r in conn.execute(sql, params)
    ]
