"""Event buses implementing :class:`hubbub.core.bus.EventBus`."""

from hubbub.bus.local import LocalBus

__all__ = ["LocalBus"]
