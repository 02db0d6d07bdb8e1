"""Refuse request bodies over the size limit before anything reads them."""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hubbub.core.errors import TooLarge
from hubbub.server.problems import problem


class BodyLimit:
    """ASGI middleware: a body over ``max_bytes`` gets 413 ``too_large`` and reaches no route.
    A ``POST`` to a path ``uploads`` matches may bring up to ``max_upload_bytes``: it is never
    buffered, but counted as the route reads it, and refused as soon as it passes that."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        uploads: re.Pattern[str] | None = None,
        max_upload_bytes: int = 0,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.uploads = uploads
        self.max_upload_bytes = max_upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        length = None
        for name, value in scope["headers"]:
            if name == b"content-length":
                length = int(value) if value.isdigit() else None
                break
        upload = (
            self.uploads is not None
            and scope["method"] == "POST"
            and self.uploads.fullmatch(scope.get("path", "")) is not None
        )
        limit = self.max_upload_bytes if upload else self.max_bytes
        if length is not None:
            if length > limit:
                await self._refuse(scope, receive, send, limit)
                return
            await self.app(scope, receive, send)
            return
        if upload:
            await self.app(scope, self._counted(receive, limit), send)
            return
        # No Content-Length (chunked): buffer up to the limit, then replay.
        chunks: list[Message] = []
        size = 0
        while True:
            message = await receive()
            chunks.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                await self._refuse(scope, receive, send, self.max_bytes)
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return chunks.pop(0) if chunks else await receive()

        await self.app(scope, replay, send)

    @staticmethod
    def _counted(receive: Receive, limit: int) -> Receive:
        """``receive`` for a body of no announced length that may not pass ``limit``."""
        size = 0

        async def counted() -> Message:
            nonlocal size
            message = await receive()
            size += len(message.get("body", b""))
            if size > limit:
                raise TooLarge(f"request body is over {limit} bytes")
            return message

        return counted

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        response = problem(
            413,
            "too_large",
            "Too large",
            f"request body is over {limit} bytes",
            scope.get("path", ""),
        )
        await response(scope, receive, send)
