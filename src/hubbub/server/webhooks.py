"""The HTTP side of webhooks: the core's :class:`~hubbub.core.webhooks.Poster` over httpx."""

from __future__ import annotations

from types import TracebackType

import httpx

from hubbub.core.webhooks import PostResult


class HttpPoster:
    """POSTs webhook deliveries over one connection pool; never follows redirects (a signed
    request goes only where it was configured to go)."""

    def __init__(self, timeout: float) -> None:
        self._http = httpx.AsyncClient(timeout=httpx.Timeout(timeout), follow_redirects=False)

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> PostResult:
        """One attempt: the status the receiver answered, or what went wrong on the way."""
        try:
            response = await self._http.post(url, content=body, headers=headers)
        except httpx.HTTPError as error:
            return PostResult(error=f"{type(error).__name__}: {error}"[:500] or "request failed")
        if response.is_success:
            return PostResult(status=response.status_code)
        return PostResult(status=response.status_code, error=response.text[:200] or None)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def __aenter__(self) -> HttpPoster:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.aclose()
