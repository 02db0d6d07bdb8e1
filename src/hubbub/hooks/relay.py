"""The relay's HTTP: one request to the hub's hook routes, over ``http.client``.

Failures are the exception tree's: ``Unavailable`` (code ``unreachable``) when the hub cannot be
reached or does not answer in time, else the class of the status the hub answered with.
"""

from __future__ import annotations

import http.client
import json
import tomllib
from dataclasses import dataclass
from urllib.parse import quote, urlencode, urlsplit

from hubbub import config
from hubbub.core.errors import (
    HubbubError,
    InvalidInput,
    RateLimited,
    Unavailable,
    error_class_for_status,
)
from hubbub.hooks.contract import HOOK_ROUTE, WAIT_ROUTE

AGENT_HEADER = "X-Hubbub-Agent"  # as the SDK sends it (importing the SDK would load httpx)
MAX_ANSWER_BYTES = 1024 * 1024  # far above any answer the contract allows; a bound all the same
USER_AGENT = "hubbub-hook"


@dataclass(frozen=True, slots=True)
class Target:
    """The hub a hook talks to, and as whom."""

    url: str
    key: str
    agent: str | None

    @classmethod
    def resolve(cls, agent: str | None = None) -> Target:
        """``agent`` if given, else ``HUBBUB_*``, else the client config file."""
        try:
            loaded = config.load()
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise InvalidInput(f"cannot read the client config: {error}") from None
        if not loaded.url:
            raise InvalidInput("no hub URL: set HUBBUB_URL or run 'hubbub login'", code="no_config")
        if not loaded.key:
            raise InvalidInput("no key: set HUBBUB_KEY or run 'hubbub login'", code="no_config")
        return cls(url=loaded.url.rstrip("/"), key=loaded.key, agent=agent or loaded.agent_name())


@dataclass(frozen=True, slots=True)
class Answer:
    """The hub's answer: its status and body (empty for 204)."""

    status: int
    body: str


def post_hook(target: Target, harness: str, event: str, body: bytes, timeout: float) -> Answer:
    """``POST /api/v1/hooks/{harness}/{event}`` with the harness's JSON as the body."""
    path = HOOK_ROUTE.format(harness=quote(harness, safe=""), event=quote(event, safe=""))
    return request(target, "POST", path, body=body, timeout=timeout)


def wait(target: Target, harness: str, session_id: str, seconds: int) -> str | None:
    """``GET /api/v1/hooks/{harness}/wait``: the text of news for this session, or ``None``
    when the wait ended with nothing."""
    path = WAIT_ROUTE.format(harness=quote(harness, safe=""))
    query = urlencode({"session_id": session_id, "wait": seconds})
    # The hub answers by the end of the wait; give the network a margin on top.
    answer = request(target, "GET", f"{path}?{query}", timeout=seconds + 10)
    if answer.status != 200 or not answer.body:
        return None
    try:
        text = json.loads(answer.body).get("text")
    except (ValueError, AttributeError):
        raise Unavailable("the hub's wait answer is not the JSON expected") from None
    return text if isinstance(text, str) and text else None


def request(
    target: Target, method: str, path: str, *, body: bytes | None = None, timeout: float
) -> Answer:
    """One request; a status of 400 or more raises its error class."""
    base = urlsplit(target.url)
    if base.scheme not in ("http", "https") or not base.hostname:
        raise InvalidInput(f"the hub URL {target.url!r} is not an http:// or https:// URL")
    connection: http.client.HTTPConnection
    if base.scheme == "https":
        connection = http.client.HTTPSConnection(base.hostname, base.port, timeout=timeout)
    else:
        connection = http.client.HTTPConnection(base.hostname, base.port, timeout=timeout)
    headers = {"Authorization": f"Bearer {target.key}", "User-Agent": USER_AGENT}
    if target.agent:
        headers[AGENT_HEADER] = target.agent
    if body is not None:
        headers["Content-Type"] = "application/json"
    try:
        connection.request(method, base.path.rstrip("/") + path, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read(MAX_ANSWER_BYTES)
        status = response.status
        retry_after = response.getheader("Retry-After")
    except (OSError, http.client.HTTPException) as error:
        reason = str(error) or type(error).__name__
        raise Unavailable(
            f"cannot reach the hub at {target.url}: {reason}", code="unreachable"
        ) from None
    finally:
        connection.close()
    text = data.decode("utf-8", errors="replace")
    if status >= 400:
        raise _problem(status, text, retry_after)
    return Answer(status, text)


def _problem(status: int, text: str, retry_after: str | None) -> HubbubError:
    """The error a problem+json answer describes (or its status alone, for any other body)."""
    detail, code = f"the hub answered {status}", None
    try:
        problem = json.loads(text)
    except ValueError:
        problem = None
    if isinstance(problem, dict):
        detail = str(problem.get("detail") or detail)
        code = problem.get("code") if isinstance(problem.get("code"), str) else None
    if status == RateLimited.status:
        try:
            seconds = float(retry_after or 1)
        except ValueError:
            seconds = 1.0
        return RateLimited(detail, retry_after=seconds, code=code)
    return error_class_for_status(status)(detail, code=code)
