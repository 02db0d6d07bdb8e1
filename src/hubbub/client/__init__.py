"""The Python SDK: :class:`Client` and :class:`AsyncClient`, one implementation (the sync
client is generated from the async one), the core's models and exceptions."""

from hubbub.client._async import AsyncClient
from hubbub.client._sync import Client
from hubbub.client.settings import ClientSettings

__all__ = ["AsyncClient", "Client", "ClientSettings"]
