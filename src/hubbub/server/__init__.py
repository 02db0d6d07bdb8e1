"""The ASGI app: REST under /api/v1, authentication, limits and problem+json errors."""

from hubbub.server.app import create_app

__all__ = ["create_app"]
