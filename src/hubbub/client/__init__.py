"""The Python SDK: :class:`Client` and :class:`AsyncClient`, one implementation (the sync
client is generated from the async one), the core's models and exceptions.

Each client is imported on first use, so a program (or a command) that uses only one does not
pay for loading the other (the async one brings ``asyncio``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hubbub.client.settings import ClientSettings

if TYPE_CHECKING:
    from hubbub.client._async import AsyncClient
    from hubbub.client._sync import Client

__all__ = ["AsyncClient", "Client", "ClientSettings"]


def __getattr__(name: str) -> Any:
    if name == "AsyncClient":
        from hubbub.client._async import AsyncClient

        return AsyncClient
    if name == "Client":
        from hubbub.client._sync import Client

        return Client
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
