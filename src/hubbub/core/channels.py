"""Channels: creation, discovery, membership and archiving."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import get_args

from hubbub.core import access, names
from hubbub.core.cache import TtlCache
from hubbub.core.errors import Conflict, Forbidden, InvalidInput, NotFound, RateLimited
from hubbub.core.limits import Limits
from hubbub.core.models import (
    Agent,
    Channel,
    ChannelCategory,
    ChannelKind,
    ChannelRemoval,
    ChannelVisibility,
    Member,
    Project,
)
from hubbub.core.store import ChannelChanges, ChannelFilter, MessageSelection, NewChannel, Store

VISIBILITIES: tuple[str, ...] = get_args(ChannelVisibility)
CHANNEL_KINDS: tuple[str, ...] = tuple(dict.fromkeys((*get_args(ChannelKind), "pair")))
CATEGORIES: tuple[str, ...] = get_args(ChannelCategory)
PURGE_BATCH = 200  # messages removed per write
MAX_CHANNEL_STATUS = 200


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
        if name.startswith(("dm:", "pair:")):
            if not (names.is_dm_name(name) or names.is_pair_name(name)):
                raise NotFound(f"no channel named {name!r}", code="channel_not_found")
        else:
            names.check_channel(name)
        channel = await self._store.channel(name)
        if channel is None:
            raise NotFound(f"no channel named {name!r}", code="channel_not_found")
        return channel

    async def get(self, viewer: Agent, name: str) -> Channel:
        """One channel with its members, by name and with their status (a ghost member
        still sees itself)."""
        channel, member = await self.open(viewer, name)
        roster = await self._store.channel_roster(channel.id, viewer.id if member else None)
        members = [m.name for m in roster]
        return channel.model_copy(update={"members": members, "roster": roster})

    async def set_status(self, agent: Agent, name: str, status: str | None) -> Member:
        """Set what the agent is doing in one channel it belongs to (blank or ``None``
        clears it), beside its global status."""
        if status is not None:
            if len(status) > MAX_CHANNEL_STATUS:
                raise InvalidInput(
                    f"channel status is over {MAX_CHANNEL_STATUS} characters",
                    code="status_too_long",
                )
            if not status.isprintable():
                raise InvalidInput(
                    "channel status holds control or other unprintable characters",
                    code="bad_status",
                )
        text = (status or "").strip() or None
        channel, _ = await self.open(agent, name)
        if channel.archived:
            raise Conflict(f"#{channel.name} is archived", code="channel_archived")
        found = await self._store.set_channel_status(channel.id, agent.id, text)
        if found is None:
            raise Forbidden(f"join #{channel.name} to set a status in it", code="not_a_member")
        return found

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

    async def joinable(self, agent: Agent, wanted: Sequence[str]) -> tuple[int | NewChannel, ...]:
        """Of ``wanted`` (names, ``#`` optional), the channels ``agent`` is not in yet, for one
        write to join them all: public ones, and ``general``, ``global``, ``project-*`` and
        ``tech-*`` (to create if absent). Any other name is refused, so none is joined."""
        found: list[int | NewChannel] = []
        for name in dict.fromkeys(n.strip().removeprefix("#") for n in wanted):
            names.check_channel(name)
            channel = await self._store.channel(name)
            if channel is None:
                if not names.is_auto_channel(name):
                    raise NotFound(
                        f"no channel named {name!r} to join: create it first (only general, "
                        "global, project-* and tech-* appear when first used)",
                        code="channel_not_found",
                    )
                if not any(isinstance(f, NewChannel) for f in found):
                    await self.check_create_rate(agent)
                found.append(NewChannel(name=name, created_by=agent.id, members=(agent.id,)))
                continue
            member = await self._store.is_member(channel.id, agent.id)
            if member:
                continue
            access.check_readable(channel, name, member)
            if channel.archived:
                raise Conflict(f"#{name} is archived", code="channel_archived")
            found.append(channel.id)
        return tuple(found)

    async def create(
        self,
        creator: Agent,
        name: str,
        *,
        visibility: str = "public",
        topic: str | None = None,
        project: str | None = None,
        branch: str | None = None,
    ) -> Channel:
        """Create a channel with its creator as first member, about a ``project`` and
        ``branch`` if given."""
        names.check_channel(name)
        if visibility not in VISIBILITIES:
            raise InvalidInput(f"bad visibility {visibility!r}: one of {', '.join(VISIBILITIES)}")
        self.check_room(topic, project, branch, clearing=False)
        await self.check_create_rate(creator)
        spec = NewChannel(
            name=name,
            visibility=visibility,  # type: ignore[arg-type]
            topic=topic,
            created_by=creator.id,
            members=(creator.id,),
            project=project,
            branch=branch,
        )
        return await self._store.create_channel(spec)

    def check_topic(self, topic: str | None) -> None:
        """Raise if a topic is too long."""
        if topic is not None and len(topic) > self._limits.max_topic_chars:
            raise InvalidInput(f"topic is over {self._limits.max_topic_chars} characters")

    async def join(self, agent: Agent, name: str) -> Channel:
        """Join a public channel (private and secret ones take an invite)."""
        channel, member = await self.open(agent, name)
        if channel.kind != "channel":
            raise InvalidInput("DMs and pairs take no new members", code="bad_target")
        if not member:
            if channel.archived:
                raise Conflict(f"#{name} is archived", code="channel_archived")
            await self._store.add_member(channel.id, agent.id)
        return await self.get(agent, name)

    async def leave(self, agent: Agent, name: str) -> Channel:
        """Leave a channel; leaving one you are not in changes nothing."""
        channel, member = await self.open(agent, name)
        if channel.kind != "channel":
            raise InvalidInput("you cannot leave a DM or a pair", code="bad_target")
        if member:
            await self._store.remove_member(channel.id, agent.id)
        return channel

    async def invite(self, inviter: Agent, name: str, invitee_name: str) -> Channel:
        """Add another agent to a channel the inviter belongs to."""
        channel, member = await self.open(inviter, name)
        if channel.kind != "channel":
            raise InvalidInput("DMs and pairs take no new members", code="bad_target")
        if not member:
            raise Forbidden(f"join #{name} before inviting others", code="not_a_member")
        if channel.archived:
            raise Conflict(f"#{name} is archived", code="channel_archived")
        found = await self._store.agent(names.check_agent(invitee_name))
        if found is None or found.deleted:
            raise NotFound(f"no agent named {invitee_name!r}", code="agent_not_found")
        if found.deactivated:
            raise Forbidden(f"agent {invitee_name!r} is deactivated", code="agent_deactivated")
        await self._store.add_member(channel.id, found.id)
        return await self.get(inviter, name)

    async def archive(self, agent: Agent, name: str, *, as_admin: bool = False) -> Channel:
        """Archive a channel: readable forever, writable never. Its creator may, or an admin;
        channels that appear on first post (``general``, ``project-*`` …) only an admin."""
        channel = await self._owned(agent, name, as_admin, "archive")
        if channel.archived:
            return channel
        self._cache.forget(channel.name)
        return await self._store.archive_channel(channel.id)

    async def _owned(self, agent: Agent, name: str, as_admin: bool, verb: str) -> Channel:
        """A channel ``agent`` may ``verb``: its creator may, or an admin; channels that
        appear on first post (``general``, ``project-*`` …) only an admin."""
        channel = await self._find(agent, name) if as_admin else (await self.open(agent, name))[0]
        if channel.kind != "channel":
            raise InvalidInput(
                f"DMs and pairs cannot be {verb}d (a pair ends when hung up)",
                code="bad_target",
            )
        if not as_admin and (names.is_auto_channel(name) or channel.created_by != agent.name):
            owner = (
                "an admin"
                if names.is_auto_channel(name)
                else (f"its creator ({channel.created_by or 'unknown'}) or an admin")
            )
            raise Forbidden(f"only {owner} may {verb} #{name}", code="not_creator")
        return channel

    async def update(
        self,
        agent: Agent,
        name: str,
        *,
        topic: str | None = None,
        project: str | None = None,
        branch: str | None = None,
        as_admin: bool = False,
    ) -> Channel:
        """Change a channel's topic, project or branch (``None`` keeps one, ``""`` clears it):
        its creator may, or an admin."""
        changes = ChannelChanges(topic=topic, project=project, branch=branch)
        if changes == ChannelChanges():
            raise InvalidInput("give a topic, project or branch to change")
        self.check_room(topic, project, branch, clearing=True)
        channel = await self._owned(agent, name, as_admin, "change")
        if channel.archived:
            raise Conflict(f"#{channel.name} is archived", code="channel_archived")
        self._cache.forget(channel.name)
        return await self._store.update_channel(channel.id, changes, agent.name)

    def check_room(
        self, topic: str | None, project: str | None, branch: str | None, *, clearing: bool
    ) -> None:
        """Raise unless the topic, project and branch are valid (``""`` clears, when
        ``clearing``)."""
        self.check_topic(topic)
        if project is not None and not (clearing and project == ""):
            names.check_project(project)
        if branch is not None and not (clearing and branch == ""):
            names.check_branch(branch)

    async def filtered(
        self,
        viewer: Agent | None,
        *,
        include_archived: bool = False,
        project: str | None = None,
        kind: str | None = None,
        category: str | None = None,
    ) -> builtins.list[Channel]:
        """The channels the viewer may see (``None``: every one), of one ``kind`` (channels
        unless given: ``dm``, ``pair``), ``project`` and name ``category``."""
        if project is not None:
            names.check_project(project)
        if kind is not None and kind not in CHANNEL_KINDS:
            raise InvalidInput(
                f"bad kind {kind!r}: one of {', '.join(CHANNEL_KINDS)}", code="bad_filter"
            )
        if category is not None and category not in CATEGORIES:
            raise InvalidInput(
                f"bad category {category!r}: one of {', '.join(CATEGORIES)}", code="bad_filter"
            )
        found = await self._store.filter_channels(
            ChannelFilter(
                viewer_id=None if viewer is None else viewer.id,
                include_archived=include_archived,
                kind=kind,
                project=project,
            )
        )
        return [c for c in found if category is None or c.category == category]

    async def projects(
        self, viewer: Agent | None, *, include_archived: bool = False
    ) -> builtins.list[Project]:
        """Each project named by channels the viewer may see, with what it may see of it."""
        return await self._store.projects(None if viewer is None else viewer.id, include_archived)

    async def clear(self, agent: Agent, name: str, *, as_admin: bool = False) -> ChannelRemoval:
        """Remove every message of a channel, and all that holds their text; the channel
        stays. Its creator may, or an admin. Messages posted meanwhile stay."""
        channel = await self._owned(agent, name, as_admin, "clear")
        selection = MessageSelection(channel_id=channel.id, up_to=channel.last_message_id)
        removed = await self._purge(selection) if channel.last_message_id else 0
        await self._store.channel_cleared(channel.id, removed, agent.name)
        return ChannelRemoval(channel=channel.name, action="cleared", messages=removed)

    async def delete(self, agent: Agent, name: str, *, as_admin: bool = False) -> ChannelRemoval:
        """Delete an archived channel and everything in it. Its creator may, or an admin."""
        channel = await self._owned(agent, name, as_admin, "delete")
        if not channel.archived:
            raise Conflict(
                f"archive #{channel.name} before deleting it", code="channel_not_archived"
            )
        removed = await self._purge(MessageSelection(channel_id=channel.id))
        self._cache.forget(channel.name)
        await self._store.delete_channel(channel.id, agent.name)
        return ChannelRemoval(channel=channel.name, action="deleted", messages=removed)

    async def _purge(self, selection: MessageSelection) -> int:
        """Remove the selected messages a bounded batch a write, then free the file
        contents let go; how many messages went."""
        from hubbub.core.files import FREE_CHUNKS, STALE_SECONDS  # files builds on channels

        removed = 0
        while batch := await self._store.purge_messages(selection, PURGE_BATCH):
            removed += batch
        stale = datetime.now(UTC) - timedelta(seconds=STALE_SECONDS)
        while await self._store.free_blobs(stale, FREE_CHUNKS):
            pass
        return removed
