"""Channels: creation, discovery, membership and archiving."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import get_args

from hubbub.core import access, names
from hubbub.core.cache import TtlCache
from hubbub.core.errors import Conflict, Forbidden, InvalidInput, NotFound, RateLimited
from hubbub.core.limits import Limits
from hubbub.core.models import Agent, Channel, ChannelVisibility
from hubbub.core.store import NewChannel, Store

VISIBILITIES: tuple[str, ...] = get_args(ChannelVisibility)


class ChannelService:
    """Everything about channels except their messages."""

    def __init__(self, store: Store, limits: Limits, *, cache_seconds: float = 5.0) -> None:
        self._store = store
        self._limits = limits
        self._cache: TtlCache[str, Channel] = TtlCache(cache_seconds)

    async def cached(self, name: str) -> Channel | None:
        """A channel by exact name, remembered for ``cache_seconds``. For hot paths whose
        writes re-check what matters (a post is refused by the store if the channel has
        meanwhile been archived); archiving through this process forgets it at once."""
        hit = self._cache.entry(name)
        if hit is not None:
            return hit[0]
        channel = await self._store.channel(name)
        if channel is not None:
            self._cache.put(name, channel)
        return channel

    async def open(self, viewer: Agent, name: str) -> tuple[Channel, bool]:
        """A channel the viewer may read, and whether the viewer is a member."""
        channel = await self._find(viewer, name)
        member = await self._store.is_member(channel.id, viewer.id)
        access.check_readable(channel, name, member)
        return channel, member

    async def _find(self, viewer: Agent, name: str) -> Channel:
        """A channel by name; ``@agent`` names the viewer's DM with that agent."""
        if name.startswith("@"):
            peer = names.check_agent(name[1:])
            channel = await self._store.channel(names.dm_channel_name(viewer.name, peer))
            if channel is None:
                raise NotFound(f"no DMs with @{peer} yet", code="channel_not_found")
            return channel
        if name.startswith("dm:"):
            if not names.is_dm_name(name):
                raise NotFound(f"no channel named {name!r}", code="channel_not_found")
        else:
            names.check_channel(name)
        channel = await self._store.channel(name)
        if channel is None:
            raise NotFound(f"no channel named {name!r}", code="channel_not_found")
        return channel

    async def get(self, viewer: Agent, name: str) -> Channel:
        """One channel with its member list."""
        channel, member = await self.open(viewer, name)
        members = await self._store.member_names(channel.id, include_ghosts=False)
        if member and viewer.name not in members:  # a ghost still sees itself
            members = sorted([*members, viewer.name])
        return channel.model_copy(update={"members": members})

    async def list(self, viewer: Agent | None, *, include_archived: bool = False) -> list[Channel]:
        """Public channels and those the viewer belongs to (``None``: every channel)."""
        return await self._store.list_channels(
            None if viewer is None else viewer.id, include_archived
        )

    async def check_create_rate(self, creator: Agent) -> None:
        """Raise if ``creator`` has created too many channels in the last hour."""
        limit = self._limits.channel_creates_per_hour
        since = datetime.now(UTC) - timedelta(hours=1)
        if await self._store.channels_created_since(creator.id, since) >= limit:
            raise RateLimited(f"at most {limit} new channels per agent per hour", retry_after=60.0)

    async def create(
        self,
        creator: Agent,
        name: str,
        *,
        visibility: str = "public",
        topic: str | None = None,
    ) -> Channel:
        """Create a channel with its creator as first member."""
        names.check_channel(name)
        if visibility not in VISIBILITIES:
            raise InvalidInput(f"bad visibility {visibility!r}: one of {', '.join(VISIBILITIES)}")
        self.check_topic(topic)
        await self.check_create_rate(creator)
        spec = NewChannel(
            name=name,
            visibility=visibility,  # type: ignore[arg-type]
            topic=topic,
            created_by=creator.id,
            members=(creator.id,),
        )
        return await self._store.create_channel(spec)

    def check_topic(self, topic: str | None) -> None:
        """Raise if a topic is too long."""
        if topic is not None and len(topic) > self._limits.max_topic_chars:
            raise InvalidInput(f"topic is over {self._limits.max_topic_chars} characters")

    async def join(self, agent: Agent, name: str) -> Channel:
        """Join a public channel (private and secret ones take an invite)."""
        channel, member = await self.open(agent, name)
        if channel.kind == "dm":
            raise InvalidInput("DMs take no new members", code="bad_target")
        if not member:
            if channel.archived:
                raise Conflict(f"#{name} is archived", code="channel_archived")
            await self._store.add_member(channel.id, agent.id)
        return await self.get(agent, name)

    async def leave(self, agent: Agent, name: str) -> Channel:
        """Leave a channel; leaving one you are not in changes nothing."""
        channel, member = await self.open(agent, name)
        if channel.kind == "dm":
            raise InvalidInput("you cannot leave a DM", code="bad_target")
        if member:
            await self._store.remove_member(channel.id, agent.id)
        return channel

    async def invite(self, inviter: Agent, name: str, invitee_name: str) -> Channel:
        """Add another agent to a channel the inviter belongs to."""
        channel, member = await self.open(inviter, name)
        if channel.kind == "dm":
            raise InvalidInput("DMs take no new members", code="bad_target")
        if not member:
            raise Forbidden(f"join #{name} before inviting others", code="not_a_member")
        if channel.archived:
            raise Conflict(f"#{name} is archived", code="channel_archived")
        invitee = await self._store.agent(names.check_agent(invitee_name))
        if invitee is None:
            raise NotFound(f"no agent named {invitee_name!r}", code="agent_not_found")
        await self._store.add_member(channel.id, invitee.id)
        return await self.get(inviter, name)

    async def archive(self, agent: Agent, name: str, *, as_admin: bool = False) -> Channel:
        """Archive a channel: readable forever, writable never. Its creator may, or an admin;
        channels that appear on first post (``general``, ``project-*`` …) only an admin."""
        channel = await self._find(agent, name) if as_admin else (await self.open(agent, name))[0]
        if channel.kind == "dm":
            raise InvalidInput("DMs cannot be archived", code="bad_target")
        if not as_admin and (names.is_auto_channel(name) or channel.created_by != agent.name):
            owner = (
                "an admin"
                if names.is_auto_channel(name)
                else (f"its creator ({channel.created_by or 'unknown'}) or an admin")
            )
            raise Forbidden(f"only {owner} may archive #{name}", code="not_creator")
        if channel.archived:
            return channel
        self._cache.forget(channel.name)
        return await self._store.archive_channel(channel.id)
