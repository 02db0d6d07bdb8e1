"""What an integration token may do: its scopes, and the targets and channels it may touch.

A pattern is a target (``#ops``, ``@lap-api``, ``cap:deploy``, ``tag:backend``,
``label:web``, ``broadcast``) or a channel name (``ops``), either exact or ending in ``*``
to match every value that starts with the rest (``tag:*``, ``#alerts-*``, ``lap-*``);
``*`` alone matches everything.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, get_args

from hubbub.core import names
from hubbub.core.errors import Forbidden, InvalidInput

Scope = Literal[
    "tasks:create",
    "tasks:read",
    "tasks:update",
    "messages:write",
    "messages:read",
    "metrics:read",
    "a2a",
]
SCOPES: tuple[str, ...] = get_args(Scope)
MAX_PATTERNS = 64
_TARGET_PREFIXES = ("#", "@", "cap:", "tag:", "label:")
_PREFIX_BODY = re.compile(r"^[a-z0-9._:/-]*$")


def check_scopes(scopes: Iterable[str]) -> list[str]:
    """Validate scope names; returns them deduplicated in the documented order."""
    wanted = set(scopes)
    unknown = sorted(wanted - set(SCOPES))
    if unknown:
        raise InvalidInput(
            f"unknown scope {unknown[0]!r}: use {', '.join(SCOPES)}", code="bad_scope"
        )
    return [s for s in SCOPES if s in wanted]


def check_target_patterns(patterns: Sequence[str]) -> list[str]:
    """Validate target patterns (``#ops``, ``cap:deploy``, ``tag:*``, ``@lap-*``, ``*``)."""
    return _check(patterns, _valid_target_pattern, "target pattern", "#ops, cap:deploy, tag:*")


def check_channel_patterns(patterns: Sequence[str]) -> list[str]:
    """Validate channel patterns (``ops``, ``alerts-*``, ``*``); a leading ``#`` is dropped."""
    stripped = [p.removeprefix("#") for p in patterns]
    return _check(stripped, _valid_channel_pattern, "channel pattern", "ops, alerts-*, *")


def _check(
    patterns: Sequence[str], valid: Callable[[str], bool], what: str, examples: str
) -> list[str]:
    if len(patterns) > MAX_PATTERNS:
        raise InvalidInput(f"at most {MAX_PATTERNS} {what}s", code="bad_pattern")
    found: list[str] = []
    for pattern in patterns:
        if not valid(pattern):
            raise InvalidInput(f"bad {what} {pattern!r}: e.g. {examples}", code="bad_pattern")
        if pattern not in found:
            found.append(pattern)
    return found


def _valid_target_pattern(pattern: str) -> bool:
    if pattern in ("*", "broadcast"):
        return True
    if pattern.endswith("*"):
        stem = pattern[:-1]
        kind = next((p for p in _TARGET_PREFIXES if stem.startswith(p)), None)
        return kind is not None and bool(_PREFIX_BODY.fullmatch(stem[len(kind) :]))
    try:
        names.parse_target(pattern)
    except InvalidInput:
        return False
    return pattern == pattern.strip()


def _valid_channel_pattern(pattern: str) -> bool:
    if pattern == "*":
        return True
    if pattern.endswith("*"):
        return bool(_PREFIX_BODY.fullmatch(pattern[:-1]))
    return bool(names.CHANNEL_RE.fullmatch(pattern))


def matches(patterns: Iterable[str], value: str) -> bool:
    """True if any pattern matches ``value`` (exact, or a prefix before a trailing ``*``)."""
    for pattern in patterns:
        if pattern.endswith("*"):
            if value.startswith(pattern[:-1]):
                return True
        elif pattern == value:
            return True
    return False


@dataclass(frozen=True, slots=True)
class Grant:
    """What one integration token allows; every check raises :class:`Forbidden`."""

    integration_id: int
    name: str
    scopes: frozenset[str]
    targets: tuple[str, ...]
    channels: tuple[str, ...]
    rate_limit: float
    rate_burst: float

    def require(self, scope: str) -> None:
        """Refuse unless the token holds ``scope``."""
        if scope not in self.scopes:
            raise Forbidden(
                f"integration {self.name!r} lacks the scope {scope!r}",
                code="missing_scope",
                scope=scope,
            )

    def allows_target(self, target: str) -> bool:
        """True if ``target`` (as written: ``#ops``, ``cap:deploy``…) is allowed."""
        return matches(self.targets, target.strip())

    def require_target(self, target: str) -> None:
        """Refuse unless the token may address ``target``."""
        if not self.allows_target(target):
            raise Forbidden(
                f"integration {self.name!r} may not address {target.strip()!r}",
                code="target_not_allowed",
                target=target.strip(),
            )

    def require_channel(self, channel: str) -> None:
        """Refuse unless the token may use channel ``channel`` (``#`` optional)."""
        name = channel.removeprefix("#")
        if not matches(self.channels, name):
            raise Forbidden(
                f"integration {self.name!r} may not use channel #{name}",
                code="channel_not_allowed",
                channel=name,
            )
