"""The CLI's HTTP access to a running hub: config, headers, and problem+json mapped back to
the core's exception classes."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hubbub import config
from hubbub.core.errors import HubbubError, InvalidInput, Unavailable, error_class_for_status

if TYPE_CHECKING:
    import httpx

RETRY_DELAYS = (0.2, 0.6, 1.5)


@dataclass(frozen=True, slots=True)
class HubClient:
    """Calls a hub as the configured agent (or with the admin key)."""

    settings: config.ClientConfig
    timeout: float = 30.0

    @classmethod
    def from_config(
        cls, *, url: str | None = None, key: str | None = None, agent: str | None = None
    ) -> HubClient:
        loaded = config.load()
        overrides = {k: v for k, v in {"url": url, "key": key, "agent": agent}.items() if v}
        return cls(config.ClientConfig(**{**_fields(loaded), **overrides}))

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        admin: bool = False,
    ) -> Any:
        """Send one request; return the decoded JSON or raise a :class:`HubbubError`."""
        url = self.settings.url
        if not url:
            raise InvalidInput(
                "no hub URL: run 'hubbub serve' here, or set HUBBUB_URL", code="no_config"
            )
        secret = self.settings.admin_key if admin else self.settings.key
        if not secret:
            which = "admin key (HUBBUB_ADMIN_KEY)" if admin else "key (HUBBUB_KEY)"
            raise InvalidInput(f"no {which} in the config", code="no_config")
        sent = {"Authorization": f"Bearer {secret}", **(headers or {})}
        agent = self.settings.agent_name()
        if agent and not admin:
            sent["X-Hubbub-Agent"] = agent
        query = {k: v for k, v in (params or {}).items() if v is not None}
        import httpx  # here, not at the top: 'hubbub serve' starts faster without it

        # Reads and keyed writes are safe to repeat: retry them through a brief network fault.
        safe = method == "GET" or "Idempotency-Key" in sent
        delays = RETRY_DELAYS if safe else ()
        for delay in (*delays, None):
            try:
                response = httpx.request(
                    method,
                    url.rstrip("/") + path,
                    json=json,
                    params=query,
                    headers=sent,
                    timeout=self.timeout,
                )
                break
            except httpx.TransportError as exc:
                if delay is None:
                    raise Unavailable(
                        f"cannot reach the hub at {url}: {exc}", code="unreachable"
                    ) from exc
                time.sleep(delay)
        if response.is_success:
            return response.json()
        raise _error(response)


def _fields(loaded: config.ClientConfig) -> dict[str, Any]:
    return {name: getattr(loaded, name) for name in config.ClientConfig.__slots__}


def _error(response: httpx.Response) -> HubbubError:
    """The core exception a problem+json answer stands for."""
    cls = error_class_for_status(response.status_code)
    try:
        body = response.json()
    except ValueError:
        return cls(f"HTTP {response.status_code}: {response.text[:200]}")
    detail = str(body.get("detail") or body.get("title") or response.reason_phrase)
    code = body.get("code")
    if cls.__name__ == "RateLimited":
        return cls(detail, retry_after=float(body.get("retry_after", 1.0)), code=code)
    return cls(detail, code=code)
