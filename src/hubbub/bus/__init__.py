"""Event buses implementing :class:`hubbub.core.bus.EventBus`."""

from hubbub.bus.local import LocalBus
from hubbub.core.bus import EventBus


def bus_for(db: str) -> EventBus:
    """The bus for a database setting: hub processes sharing a PostgreSQL database hear each
    other's commits through it (PostgresBus); a SQLite file has one hub process (LocalBus)."""
    if db.startswith(("postgres://", "postgresql://")):
        from hubbub.bus.postgres import PostgresBus

        return PostgresBus(db)
    return LocalBus()


__all__ = ["LocalBus", "bus_for"]
