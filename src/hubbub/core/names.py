"""Naming rules for machines, agents and channels, and parsing of send targets."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from hubbub.core.errors import InvalidInput

MACHINE_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$")
AGENT_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}[a-z0-9]$")
CHANNEL_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,79}$")
TAG_RE = re.compile(r"^[a-z0-9][a-z0-9._:/-]{0,63}$")
# A label is a tag that may also hold spaces between its words ("test writer").
LABEL_RE = re.compile(r"^[a-z0-9](?:[a-z0-9 ._:/-]{0,62}[a-z0-9._:/-])?$")
# A message's kind: one lowercase word (note, question, decision…).
KIND_RE = re.compile(r"^[a-z][a-z0-9-]{0,31}$")

AUTO_CHANNELS = frozenset({"general", "global"})
AUTO_PREFIXES = ("project-", "tech-")
BROADCAST_CHANNEL = "global"


def check_machine(name: str) -> str:
    """Validate a machine name: 1-32 lowercase letters, digits and inner hyphens."""
    if not MACHINE_RE.fullmatch(name):
        raise InvalidInput(
            f"bad machine name {name!r}: use 1-32 lowercase letters, digits and hyphens",
            code="bad_name",
        )
    return name


def check_agent(name: str) -> str:
    """Validate an agent name: 2-64 lowercase letters, digits and hyphens."""
    if not AGENT_RE.fullmatch(name):
        raise InvalidInput(
            f"bad agent name {name!r}: use 2-64 lowercase letters, digits and hyphens, "
            "shaped {machine}-{project}",
            code="bad_name",
        )
    return name


def agent_belongs_to(agent: str, machine: str) -> bool:
    """True if ``agent`` is named ``{machine}-…`` and so may be driven by that machine's key."""
    return agent.startswith(machine + "-") and len(agent) > len(machine) + 1


def check_channel(name: str) -> str:
    """Validate a channel name: 1-80 lowercase letters, digits, hyphens and underscores."""
    if not CHANNEL_RE.fullmatch(name):
        raise InvalidInput(
            f"bad channel name {name!r}: use 1-80 lowercase letters, digits, '-' and '_'",
            code="bad_name",
        )
    return name


def check_label(value: str) -> str:
    """Validate an agent's label: a tag that may hold spaces between its words."""
    if not LABEL_RE.fullmatch(value):
        raise InvalidInput(
            f"bad label {value!r}: use 1-64 lowercase letters, digits, spaces and . _ : / -, "
            "starting with a letter or digit and not ending in a space",
            code="bad_name",
        )
    return value


def check_kind(kind: str | None) -> str | None:
    """Validate a message kind (``None``: none): a lowercase word of 1-32 letters, digits
    and hyphens, starting with a letter."""
    if kind is not None and not KIND_RE.fullmatch(kind):
        raise InvalidInput(
            f"bad kind {kind[:40]!r}: use a lowercase word of 1-32 letters, digits and "
            "hyphens, starting with a letter (note, question, decision…)",
            code="bad_kind",
        )
    return kind


def check_tag(value: str) -> str:
    """Validate a tag or capability value."""
    if not TAG_RE.fullmatch(value):
        raise InvalidInput(
            f"bad tag {value!r}: use 1-64 lowercase letters, digits and . _ : / -",
            code="bad_name",
        )
    return value


PROJECT_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
MAX_BRANCH = 200
_BRANCH_BANNED = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|//|/\.")


def check_project(value: str) -> str:
    """Validate a project name: 1-64 lowercase letters, digits and inner hyphens."""
    if not PROJECT_RE.fullmatch(value):
        raise InvalidInput(
            f"bad project {value!r}: use 1-64 lowercase letters, digits and hyphens, "
            "starting and ending with a letter or digit",
            code="bad_project",
        )
    return value


def check_branch(value: str) -> str:
    """Validate a branch: a git-like ref name of 1-200 characters, without spaces, control
    characters, ``~ ^ : ? * [ \\``, ``..``, ``@{`` or ``//``, not starting with ``-``, ``.``
    or ``/``, and not ending with ``/``, ``.`` or ``.lock``."""
    if (
        not 0 < len(value) <= MAX_BRANCH
        or _BRANCH_BANNED.search(value)
        or value.startswith(("-", ".", "/"))
        or value.endswith(("/", ".", ".lock"))
        or not value.isprintable()
    ):
        raise InvalidInput(
            f"bad branch {value!r}: use a git ref name of 1-{MAX_BRANCH} characters, without "
            "spaces, control characters, ~ ^ : ? * [ \\, '..' or '@{'",
            code="bad_branch",
        )
    return value


def channel_category(name: str) -> Literal["global", "project", "tech", "other"]:
    """What a channel is by its name: ``global`` (the hub-wide ``general`` and ``global``),
    ``project`` (``project-*``), ``tech`` (``tech-*``) or ``other``."""
    if name in AUTO_CHANNELS:
        return "global"
    if name.startswith("project-") and len(name) > len("project-"):
        return "project"
    if name.startswith("tech-") and len(name) > len("tech-"):
        return "tech"
    return "other"


def is_auto_channel(name: str) -> bool:
    """Channels created on first post: ``general``, ``global``, ``project-*``, ``tech-*``."""
    if name in AUTO_CHANNELS:
        return True
    return any(name.startswith(p) and len(name) > len(p) for p in AUTO_PREFIXES)


def dm_channel_name(a: str, b: str) -> str:
    """The internal name of the DM channel between two agents (order-independent)."""
    first, second = sorted((a, b))
    return f"dm:{first}:{second}"


def is_dm_name(name: str) -> bool:
    """True for a well-formed DM channel name ``dm:{agent}:{agent}``."""
    parts = name.split(":")
    return (
        len(parts) == 3
        and parts[0] == "dm"
        and all(AGENT_RE.fullmatch(p) for p in parts[1:])
        and parts[1] < parts[2]
    )


def dm_peer(dm_name: str, me: str) -> str:
    """The other party of a DM channel, as ``@name``."""
    _, first, second = dm_name.split(":", 2)
    return "@" + (second if first == me else first)


PAIR_RE = re.compile(r"^pair:[1-9][0-9]{0,18}$")


def pair_channel_name(pair_id: int) -> str:
    """The name of a pair session's channel: one channel per session, ``pair:{id}``."""
    return f"pair:{pair_id}"


def is_pair_name(name: str) -> bool:
    """True for a well-formed pair channel name ``pair:{id}``."""
    return PAIR_RE.fullmatch(name) is not None


TargetKind = Literal["channel", "agent", "label", "tag", "cap", "broadcast"]


@dataclass(frozen=True, slots=True)
class Target:
    """A parsed send target."""

    kind: TargetKind
    value: str

    def __str__(self) -> str:
        return {
            "channel": f"#{self.value}",
            "agent": f"@{self.value}",
            "broadcast": "broadcast",
        }.get(self.kind, f"{self.kind}:{self.value}")


def parse_target(raw: str) -> Target:
    """Parse ``#channel``, ``@agent``, ``label:x``, ``tag:x``, ``cap:x`` or ``broadcast``."""
    text = raw.strip()
    if text == "broadcast":
        return Target("broadcast", "")
    if text.startswith("#"):
        return Target("channel", check_channel(text[1:]))
    if text.startswith("@"):
        return Target("agent", check_agent(text[1:]))
    if text.startswith("label:"):
        return Target("label", check_label(text[len("label:") :]))
    for kind in ("tag", "cap"):
        prefix = kind + ":"
        if text.startswith(prefix):
            return Target(kind, check_tag(text[len(prefix) :]))
    raise InvalidInput(
        f"bad target {raw!r}: use #channel, @agent, label:…, tag:…, cap:… or broadcast",
        code="bad_target",
    )
