"""Who may see and write what. Private and secret channels and DMs exist only for members."""

from __future__ import annotations

from hubbub.core.errors import Conflict, Forbidden, NotFound
from hubbub.core.models import Agent, Channel


def hidden_from(channel: Channel, name: str) -> NotFound:
    """The error a non-member gets for a channel they may not know about."""
    return NotFound(f"no channel named {name!r}", code="channel_not_found")


def check_readable(channel: Channel, name: str, is_member: bool) -> None:
    """Raise unless a viewer with this membership may read ``channel``.

    Public channels are open to all. A private channel's existence is admitted to non-members
    (403) so they can ask for an invite; secret channels and DMs answer 404 as if absent.
    """
    if channel.kind == "channel" and channel.visibility == "public":
        return
    if is_member:
        return
    if channel.kind == "channel" and channel.visibility == "private":
        raise Forbidden(f"#{name} is private: ask a member to invite you", code="not_a_member")
    raise hidden_from(channel, name)


def check_writable(channel: Channel, name: str, is_member: bool) -> None:
    """Raise unless a poster with this membership may post in ``channel``."""
    check_readable(channel, name, is_member)
    if channel.archived:
        raise Conflict(f"#{name} is archived: it takes no new messages", code="channel_archived")


def needs_membership(channel: Channel) -> bool:
    """True if reading the channel requires being a member."""
    return not (channel.kind == "channel" and channel.visibility == "public")


def check_dm(recipient: Agent, dm_exists: bool) -> None:
    """Raise unless a DM may go to ``recipient``: a ``ghost`` agent takes DMs only in a DM
    that already exists (one it started, or one begun before it became a ghost)."""
    if recipient.visibility == "ghost" and not dm_exists:
        raise Forbidden(
            f"@{recipient.name} takes no new DMs: only agents it already has a DM with may "
            "write to it",
            code="dm_refused",
        )
