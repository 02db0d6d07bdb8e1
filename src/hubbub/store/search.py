"""Full-text search: ranked hits with highlighted snippets.

Both engines read what a user typed the same way (:func:`terms`), apply the same filters and
rank among the same window of matches; only the matching and ranking is each engine's own:

- SQLite: the FTS5 table ``messages_fts``, ranked by BM25, snippets from ``snippet()``.
- PostgreSQL: the stored column ``messages.search``, ``to_tsvector('hubbub', content)``
  (words as written, lower-cased, without diacritics: the ``hubbub`` text search
  configuration) under a GIN index, ranked with ``ts_rank``, snippets from ``ts_headline``.
  Stored, the vector is parsed once per write, not once per match ranked or row scanned.
"""

from __future__ import annotations

import functools
import re

from hubbub.core.models import SearchHit
from hubbub.core.store import SearchQuery
from hubbub.store.dialect import SQLITE, Dialect
from hubbub.store.rows import MESSAGE_JOINS, SEARCH_HITS, message_json
from hubbub.store.sql import Query, Session
from hubbub.store.times import to_us

WINDOW = 250
"""Hits are ranked among the newest ``WINDOW`` matches, so a common word costs no more than a
rare one; if that window holds fewer than ``limit`` hits the viewer may see (or the filters
remove them), every match is ranked."""

_TOKEN = re.compile(r'"([^"]*)"|(\S+)')
_WORD = re.compile(r"\w+")
_PIECE = re.compile(r"[^\W_]+")  # letters and digits only: safe in to_tsquery


def terms(text: str) -> list[tuple[str, bool]]:
    """What a user typed as terms that must all match: ``"a b"`` is a phrase, a trailing
    ``*`` makes a token's last word a prefix, and only words count (operators of either
    engine's query syntax are taken literally). Each term is a word or a phrase (its words
    joined by spaces) and whether it is a prefix."""
    found: list[tuple[str, bool]] = []
    for phrase, token in _TOKEN.findall(text):
        words = _WORD.findall(phrase or token)
        if phrase:
            found += [(" ".join(words), False)] if words else []
            continue
        found += [(word, False) for word in words]
        if words and token.endswith("*"):
            found[-1] = (words[-1], True)
    return found


def fts_query(text: str) -> str:
    """SQLite: an FTS5 query, every term quoted, ``"word"*`` for a prefix."""
    return " ".join(f'"{words}"' + ("*" if prefix else "") for words, prefix in terms(text))


def ts_query(text: str) -> tuple[str, str]:
    """PostgreSQL: text for ``websearch_to_tsquery`` (every word and phrase quoted) and for
    ``to_tsquery`` (the prefixes, ``word:*``, of letters and digits alone: a prefix's other
    pieces are words); either may be empty."""
    quoted: list[str] = []
    prefixes: list[str] = []
    for words, prefix in terms(text):
        if not prefix:
            quoted.append(f'"{words}"')
            continue
        pieces = _PIECE.findall(words)
        if pieces:
            prefixes.append(f"{pieces.pop()}:*")
        quoted += [f'"{piece}"' for piece in pieces]
    return " ".join(quoted), " & ".join(prefixes)


VISIBLE = (
    "((c.kind = 'channel' AND c.visibility = 'public') OR EXISTS "
    "(SELECT 1 FROM members mb WHERE mb.channel_id = m.channel_id AND mb.agent_id = :viewer))"
)
FILTERS = {
    "channel": "m.channel_id = :channel",
    "author": "m.author_id = :author",
    "since": "m.created_at >= :since",
    "until": "m.created_at <= :until",
    "kind": "m.kind = :kind",
    "project": "c.project = :project",
}

# SQLite: FTS5 finds and ranks the matches; the page is joined and filtered after.
FTS5_EDGE = Query(
    "SELECT rowid FROM messages_fts WHERE messages_fts MATCH :match "
    "ORDER BY rowid DESC LIMIT 1 OFFSET :offset"
)


def _fts5_ranked(where: str) -> Query:
    """The page first (ids and ranks alone), then snippets for the page's rows only: an
    FTS5 ``snippet()`` costs more than ranking, and ties broken by id keep FTS5 from
    ordering by rank itself, so every match would otherwise get one. The snippets come
    from one materialized pass over the window (``+rowid``: no FTS5 lookup per row)."""

    def source(d: Dialect) -> str:
        hit = d.json_object(
            f"'message', {message_json(d)}", "'snippet', snippets.snippet", "'rank', -page.rank"
        )
        return f"""
            WITH page AS (
                SELECT f.rowid AS id, f.rank AS rank
                  FROM messages_fts f JOIN messages m ON m.id = f.rowid
                  JOIN channels c ON c.id = m.channel_id
                 WHERE f.messages_fts MATCH :match AND f.rowid >= :newest_from AND {where}
                 ORDER BY f.rank, m.id DESC LIMIT :limit
            ), snippets AS MATERIALIZED (
                SELECT rowid AS id, snippet(messages_fts, 0, '**', '**', '…', 16) AS snippet
                  FROM messages_fts
                 WHERE messages_fts MATCH :match AND rowid >= :newest_from
                   AND +rowid IN (SELECT id FROM page)
            )
            SELECT {hit} FROM page JOIN snippets ON snippets.id = page.id
              JOIN messages m ON m.id = page.id {MESSAGE_JOINS}
             ORDER BY page.rank, page.id DESC
        """

    return Query(source)


# PostgreSQL: the query ``q`` from the words and the prefixes, whichever there are.
TS_PARTS = {
    "words": "websearch_to_tsquery('hubbub', :words)",
    "prefixes": "to_tsquery('hubbub', :prefixes)",
}
VECTOR = "m.search"
HEADLINE = (
    "ts_headline('hubbub', m.content, q.query, "
    "'StartSel=**, StopSel=**, MaxFragments=1, MaxWords=16, MinWords=4, "
    'FragmentDelimiter=" … "\')'
)


def _ts_edge(with_q: str) -> Query:
    return Query(
        f"{with_q} SELECT m.id FROM q, messages m WHERE {VECTOR} @@ q.query "
        "ORDER BY m.id DESC LIMIT 1 OFFSET :offset"
    )


def _ts_ranked(with_q: str, where: str) -> Query:
    """The matches the viewer may see, best first; JSON and snippets for the page alone."""

    def source(d: Dialect) -> str:
        hit = d.json_object(
            f"'message', {message_json(d)}", f"'snippet', {HEADLINE}", "'rank', ranked.rank"
        )
        return f"""
            {with_q}, ranked AS (
                SELECT m.id, ts_rank({VECTOR}, q.query) AS rank FROM q, messages m {MESSAGE_JOINS}
                 WHERE {VECTOR} @@ q.query AND m.id >= :newest_from AND {where}
                 ORDER BY rank DESC, m.id DESC LIMIT :limit
            )
            SELECT {hit} FROM q, ranked JOIN messages m ON m.id = ranked.id {MESSAGE_JOINS}
             ORDER BY ranked.rank DESC, m.id DESC
        """

    return Query(source)


@functools.cache
def _statements(
    engine: str, parts: tuple[str, ...], filters: tuple[str, ...]
) -> tuple[Query, Query]:
    """The statements that find the window's edge and rank, for one engine, one shape of
    match and one set of filters (a handful of shapes, each rendered once)."""
    where = " AND ".join(["m.deleted_at IS NULL", VISIBLE, *(FILTERS[f] for f in filters)])
    if engine == SQLITE.name:
        return FTS5_EDGE, _fts5_ranked(where)
    with_q = f"WITH q AS (SELECT {' && '.join(TS_PARTS[p] for p in parts)} AS query)"
    return _ts_edge(with_q), _ts_ranked(with_q, where)


async def search(conn: Session, query: SearchQuery) -> list[SearchHit]:
    """Hits ranked among the newest :data:`WINDOW` matches, else among every match; best
    first, ties newest first."""
    engine = conn.dialect.name
    if engine == SQLITE.name:
        match = {"match": fts_query(query.terms)}
    else:
        words, prefixes = ts_query(query.terms)
        match = {"words": words, "prefixes": prefixes}
    match = {part: value for part, value in match.items() if value}
    if not match:
        return []
    filters = {
        name: value
        for name, value in (
            ("channel", query.channel_id),
            ("author", query.author_id),
            ("since", None if query.since is None else to_us(query.since)),
            ("until", None if query.until is None else to_us(query.until)),
            ("kind", query.kind),
            ("project", query.project),
        )
        if value is not None
    }
    edge, ranked = _statements(engine, tuple(match), tuple(filters))
    params = {**match, **filters, "viewer": query.viewer_id, "limit": query.limit}
    newest = await conn.value(edge, **match, offset=WINDOW - 1)
    if newest is not None:
        hits = await conn.models(SEARCH_HITS, ranked, newest_from=int(newest), **params)
        if len(hits) == query.limit:
            return hits
    return await conn.models(SEARCH_HITS, ranked, newest_from=0, **params)
