"""The sidebar: the viewer's channels grouped by kind, its DMs, unread counts and the inbox
count, from the same board and channel list agents get through the API."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote

from hubbub.core import names
from hubbub.core.hub import Hub
from hubbub.core.models import Channel
from hubbub.web.auth import Viewer

GROUPS = (
    ("global", "Global"),
    ("project", "Projects"),
    ("tech", "Tech"),
    ("other", "Channels"),
)


@dataclass(frozen=True, slots=True)
class Entry:
    """One line of the sidebar."""

    channel: str
    label: str
    kind: str
    visibility: str
    unread: int
    current: bool

    @property
    def href(self) -> str:
        """Where the line leads."""
        return "/c/" + quote(self.channel, safe="")


@dataclass(frozen=True, slots=True)
class Group:
    """A heading and its channels."""

    key: str
    title: str
    entries: list[Entry]


@dataclass(frozen=True, slots=True)
class Sidebar:
    """Everything the sidebar shows."""

    inbox: int
    admin: bool
    groups: list[Group] = field(default_factory=list)
    archived: list[Entry] = field(default_factory=list)
    dms: list[Entry] = field(default_factory=list)


def group_of(name: str) -> str:
    """The sidebar group a channel name falls in."""
    if name in ("global", "general"):
        return "global"
    for prefix in ("project", "tech"):
        if name.startswith(prefix + "-"):
            return prefix
    return "other"


def entry(channel: Channel, unread: int = 0, current: str | None = None) -> Entry:
    """A channel's sidebar line (a fresh one, as the live stream adds it, has nothing unread)."""
    return Entry(
        channel.name,
        channel.name,
        channel.kind,
        channel.visibility,
        unread,
        channel.name == current,
    )


async def sidebar(hub: Hub, who: Viewer, *, current: str | None = None) -> Sidebar:
    """The viewer's sidebar; ``current`` is the channel open in the page."""
    agent = who.agent
    board = await hub.inbox.board(agent)
    unread = {s.channel: s.unread for s in board.channels if s.kind == "channel"}
    grouped: dict[str, list[Entry]] = {key: [] for key, _ in GROUPS}
    archived: list[Entry] = []
    for channel in await hub.channels.list(agent, include_archived=True):
        line = entry(channel, unread.get(channel.name, 0), current)
        if channel.archived:
            archived.append(line)
        else:
            grouped[group_of(channel.name)].append(line)
    dms = []
    for summary in board.channels:
        if summary.kind != "dm":
            continue
        peer = summary.channel.removeprefix("@")
        name = names.dm_channel_name(agent.name, peer)
        dms.append(Entry(name, peer, "dm", "secret", summary.unread, name == current))
    dms.sort(key=lambda e: e.label)
    return Sidebar(
        inbox=board.inbox.unacked,
        admin=who.is_admin,
        groups=[Group(key, title, grouped[key]) for key, title in GROUPS if grouped[key]],
        archived=archived,
        dms=dms,
    )
