"""The PostgreSQL store: a reader pool, one group-committing writer per process under a
cluster-wide write lock, full-text search with ``tsvector`` and GIN."""

from __future__ import annotations

from hubbub.store.facade import SqlStore
from hubbub.store.postgres.engine import Database


class PostgresStore(SqlStore):
    """:class:`hubbub.core.store.Store` on one PostgreSQL database."""

    db: Database

    def __init__(
        self,
        conninfo: str,
        *,
        pool_min: int = 1,
        pool_max: int = 10,
        statement_timeout: float = 30.0,
        migrate: bool = True,
    ) -> None:
        super().__init__(
            Database(
                conninfo,
                pool_min=pool_min,
                pool_max=pool_max,
                statement_timeout=statement_timeout,
                migrate=migrate,
            )
        )
