"""Messages: posting, reading, threads, edits, deletes and sends to any target."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

import orjson

from hubbub.core import access, events, names, pairs
from hubbub.core.agents import reachable
from hubbub.core.channels import ChannelService
from hubbub.core.errors import Conflict, Forbidden, InvalidInput, NotFound, TooLarge
from hubbub.core.feed import FeedService
from hubbub.core.limits import Limits
from hubbub.core.mentions import parse_mentions
from hubbub.core.models import (
    Agent,
    Channel,
    InboxKind,
    Message,
    MessagePage,
    PostResult,
    Seen,
    SendResult,
    Thread,
)
from hubbub.core.store import AgentQuery, MessageEdit, NewChannel, NewMessage, Store

MAX_IDEMPOTENCY_KEY = 200


def _plain_json(value: dict[str, Any]) -> bytes:
    """``value`` as JSON, refusing what JSON cannot carry faithfully: NaN and infinities, and
    integers beyond ±2^53 (which JavaScript clients would silently round)."""
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            raise InvalidInput("metadata holds NaN or an infinity", code="bad_metadata")
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    try:
        return orjson.dumps(value, option=orjson.OPT_STRICT_INTEGER)
    except TypeError as error:
        raise InvalidInput(f"metadata is not plain JSON: {error}", code="bad_metadata") from None


def check_window(since: datetime | None, until: datetime | None) -> None:
    """Refuse a time window without a zone, or one that ends before it starts."""
    for name, moment in (("since", since), ("until", until)):
        if moment is not None and moment.utcoffset() is None:
            raise InvalidInput(
                f"'{name}' needs a time zone: an offset such as Z or +02:00", code="bad_time"
            )
    if since is not None and until is not None and since > until:
        raise InvalidInput("'since' is after 'until'", code="bad_range")


class MessageService:
    """Post and read messages; route sends to channels, agents and groups of agents."""

    def __init__(
        self, store: Store, limits: Limits, channels: ChannelService, feed: FeedService
    ) -> None:
        self._store = store
        self._limits = limits
        self._channels = channels
        self._feed = feed

    # checks

    def check(self, content: str, metadata: dict[str, Any] | None) -> None:
        """Raise unless ``content`` and ``metadata`` make a valid message body."""
        self._check_body(content, metadata)

    def _check_body(self, content: str, metadata: dict[str, Any] | None) -> None:
        if not content.strip():
            raise InvalidInput("message content is empty", code="empty_content")
        size = len(content.encode())
        if size > self._limits.max_content_bytes:
            raise TooLarge(
                f"content is {size} bytes; the limit is {self._limits.max_content_bytes}",
                code="content_too_large",
            )
        if metadata:
            meta_size = len(_plain_json(metadata))
            if meta_size > self._limits.max_metadata_bytes:
                raise TooLarge(
                    f"metadata is {meta_size} bytes; the limit is "
                    f"{self._limits.max_metadata_bytes}",
                    code="metadata_too_large",
                )

    @staticmethod
    def _check_key(key: str | None) -> None:
        if key is not None and not (0 < len(key) <= MAX_IDEMPOTENCY_KEY and key.isprintable()):
            raise InvalidInput(
                f"Idempotency-Key must be 1-{MAX_IDEMPOTENCY_KEY} printable characters",
                code="bad_idempotency_key",
            )

    @staticmethod
    def _check_replay(
        result: PostResult,
        channel: str,
        content: str,
        meta: dict[str, Any],
        reply_to: int | None,
        kind: str | None = None,
    ) -> None:
        old = result.message
        if result.replayed and (
            old.channel != channel
            or old.content != content
            or old.metadata != meta
            or old.reply_to != reply_to
            or old.kind != kind
        ):
            raise Conflict(
                f"Idempotency-Key was already used for message {old.id} with a different body",
                code="idempotency_conflict",
            )

    # mentions

    async def _mention_inbox(
        self, author: Agent, content: str, channel: Channel | None, skip: set[str]
    ) -> tuple[list[str], list[tuple[int, InboxKind]]]:
        """Real agents mentioned, and inbox entries for those who may read the channel."""
        candidates = [n for n in parse_mentions(content) if n != author.name]
        if not candidates:
            return [], []
        agents = {a.name: a for a in await self._store.agents_named(candidates)}
        mentioned = [n for n in candidates if n in agents]
        readers: set[str] | None = None
        if channel is not None and access.needs_membership(channel):
            readers = set(await self._store.member_names(channel.id))
        inbox: list[tuple[int, InboxKind]] = [
            (agents[n].id, "mention")
            for n in mentioned
            if n not in skip and (readers is None or n in readers)
        ]
        return mentioned, inbox

    # posting

    async def post(
        self,
        author: Agent,
        channel_name: str,
        content: str,
        *,
        metadata: dict[str, Any] | None = None,
        reply_to: int | None = None,
        idempotency_key: str | None = None,
        notify: Sequence[Agent] = (),
        notify_kind: InboxKind = "send",
        kind: str | None = None,
    ) -> PostResult:
        """Post in a channel; ``general``, ``global``, ``project-*``, ``tech-*`` appear on first
        post. Mentions of real agents who can read the channel land in their inboxes, as does
        an item of ``notify_kind`` for each agent in ``notify``. ``kind`` says what the
        message is (``question``, ``decision``…)."""
        meta = metadata or {}
        self._check_body(content, meta)
        self._check_key(idempotency_key)
        names.check_kind(kind)
        if channel_name.startswith("dm:"):
            raise InvalidInput("send DMs to '@agent', not to a dm: channel", code="bad_target")
        if not names.is_pair_name(channel_name):
            names.check_channel(channel_name)
        replay = await self._replay(
            author, idempotency_key, channel_name, content, meta, reply_to, kind
        )
        if replay is not None:
            return replay
        new = await self._in_channel(
            author, channel_name, content, meta, reply_to, idempotency_key, notify, notify_kind
        )
        if kind is not None:
            new = replace(new, kind=kind)
        result = await self._store.post(new)
        self._check_replay(result, channel_name, content, meta, reply_to, kind)
        return result

    async def _in_channel(
        self,
        author: Agent,
        channel_name: str,
        content: str,
        meta: dict[str, Any],
        reply_to: int | None,
        idempotency_key: str | None,
        notify: Sequence[Agent] = (),
        notify_kind: InboxKind = "send",
    ) -> NewMessage:
        """The post of ``content`` in a channel the author may write to (or one that
        appears on first post), with its mentions' and ``notify``'s inbox items."""
        channel = await self._channels.cached(channel_name)
        target: int | NewChannel
        if channel is None:
            if not names.is_auto_channel(channel_name):
                raise NotFound(
                    f"no channel named {channel_name!r}: create it first (only general, global, "
                    "project-* and tech-* appear on first post)",
                    code="channel_not_found",
                )
            await self._channels.check_create_rate(author)
            target = NewChannel(name=channel_name, created_by=author.id, members=(author.id,))
        else:
            member = access.needs_membership(channel) and await self._store.is_member(
                channel.id, author.id
            )
            if channel.kind == "pair" and member:  # the other agent hears of it as of a DM
                peer = await pairs.peer_to_notify(self._store, channel, author)
                notify, notify_kind = [peer], "dm"
            access.check_writable(channel, channel_name, member)
            target = channel.id
        thread_id = await self._thread_of(reply_to, channel_name)
        notified = {agent.name for agent in notify}
        mentions, inbox = await self._mention_inbox(author, content, channel, notified)
        inbox += [(agent.id, notify_kind) for agent in notify]
        return NewMessage(
            channel=target,
            channel_name=channel_name,
            author_id=author.id,
            author_name=author.name,
            content=content,
            metadata=meta,
            mentions=mentions,
            inbox=inbox,
            reply_to=reply_to,
            thread_id=thread_id,
            idempotency_key=idempotency_key,
        )

    async def compose(self, author: Agent, target: str, content: str | None) -> NewMessage:
        """The message that will carry something into ``#channel`` or an ``@agent``'s DM,
        checked as a post or a send would be, for a write that records it alongside (a
        shared file). ``content`` is ``None`` when that write supplies it."""
        if content is not None:
            self._check_body(content, None)
        parsed = names.parse_target(target)
        if parsed.kind == "channel":
            return await self._in_channel(author, parsed.value, content or "", {}, None, None)
        if parsed.kind != "agent":
            raise InvalidInput(
                f"{target!r} is not a #channel or an @agent: files go to one place",
                code="bad_target",
            )
        found = await self._store.agent(parsed.value)
        recipient = reachable(found, parsed.value, missing="unknown_target")
        if recipient.id == author.id:
            raise InvalidInput("you cannot DM yourself", code="bad_target")
        await self._check_dm(author, recipient)
        return await self._dm(author, recipient, content or "", {}, "dm", None, None)

    async def _replay(
        self,
        author: Agent,
        key: str | None,
        channel_name: str,
        content: str,
        meta: dict[str, Any],
        reply_to: int | None,
        kind: str | None = None,
    ) -> PostResult | None:
        """The first result of a retried request, even if the channel changed since."""
        if key is None:
            return None
        earlier = await self._store.message_by_key(author.id, key)
        if earlier is None:
            return None
        replay = PostResult(message=earlier, replayed=True)
        self._check_replay(replay, channel_name, content, meta, reply_to, kind)
        return replay

    async def _thread_of(self, reply_to: int | None, channel_name: str) -> int | None:
        if reply_to is None:
            return None
        parent = await self._store.message(reply_to)
        if parent is None or parent.channel != channel_name:
            raise InvalidInput(
                f"reply_to {reply_to} is not a message in this channel", code="bad_reply_to"
            )
        return parent.thread_id or parent.id

    async def send(
        self,
        author: Agent,
        target: str,
        content: str,
        *,
        metadata: dict[str, Any] | None = None,
        reply_to: int | None = None,
        idempotency_key: str | None = None,
        kind: str | None = None,
    ) -> SendResult:
        """Send to ``#channel``, ``@agent``, ``label:``/``tag:``/``cap:`` or ``broadcast``.

        Agents reached through a label, tag or capability each get a DM; a broadcast is one
        post in ``#global`` with an inbox entry for every routable agent. A target that reaches
        no one is an error.
        """
        parsed = names.parse_target(target)
        meta = metadata or {}
        names.check_kind(kind)
        if parsed.kind == "channel":
            posted = await self.post(
                author,
                parsed.value,
                content,
                metadata=meta,
                reply_to=reply_to,
                idempotency_key=idempotency_key,
                kind=kind,
            )
            return SendResult(
                target=str(parsed),
                recipients=[],
                messages=[posted.message],
                replayed=posted.replayed,
            )
        self._check_body(content, meta)
        self._check_key(idempotency_key)
        if parsed.kind == "agent":
            found = await self._store.agent(parsed.value)
            recipient = reachable(found, parsed.value, missing="unknown_target")
            if recipient.id == author.id:
                raise InvalidInput("you cannot DM yourself", code="bad_target")
            await self._check_dm(author, recipient)
            recipients = [recipient]
            item_kind: InboxKind = "dm"
        else:
            recipients = await self._routable(author, parsed.kind, parsed.value)
            item_kind = "broadcast" if parsed.kind == "broadcast" else "send"
        if parsed.kind == "broadcast":
            return await self._broadcast(
                author, recipients, content, meta, reply_to, idempotency_key, kind
            )
        news = [
            replace(
                await self._dm(author, r, content, meta, item_kind, reply_to, idempotency_key),
                kind=kind,
            )
            for r in recipients
        ]
        results = await self._store.post_many(news)
        for result, new in zip(results, news, strict=True):
            self._check_replay(result, new.channel_name, content, meta, reply_to, kind)
        return SendResult(
            target=str(parsed),
            recipients=[r.name for r in recipients],
            messages=[r.message for r in results],
            replayed=all(r.replayed for r in results),
        )

    async def _check_dm(self, author: Agent, recipient: Agent) -> None:
        """A ``ghost`` is reached by ``@name`` only in a DM that already exists."""
        if recipient.visibility == "ghost":
            dm = names.dm_channel_name(author.name, recipient.name)
            access.check_dm(recipient, await self._channels.cached(dm) is not None)

    async def _routable(self, author: Agent, kind: str, value: str) -> list[Agent]:
        query = AgentQuery(
            label=value if kind == "label" else None,
            tag=value if kind == "tag" else None,
            capability=value if kind == "cap" else None,
            include_unlisted=True,
            routable_only=True,
        )
        agents = [a for a in await self._store.list_agents(query) if a.id != author.id]
        if not agents:
            shown = "broadcast" if kind == "broadcast" else f"{kind}:{value}"
            raise NotFound(f"{shown} matches no agent", code="unknown_target")
        if len(agents) > self._limits.max_send_recipients:
            raise InvalidInput(
                f"{len(agents)} recipients; a send reaches at most "
                f"{self._limits.max_send_recipients}",
                code="too_many_recipients",
            )
        return agents

    async def _dm(
        self,
        author: Agent,
        recipient: Agent,
        content: str,
        meta: dict[str, Any],
        kind: InboxKind,
        reply_to: int | None,
        key: str | None,
    ) -> NewMessage:
        name = names.dm_channel_name(author.name, recipient.name)
        existing = await self._channels.cached(name)
        channel: int | NewChannel = (
            existing.id
            if existing is not None
            else NewChannel(
                name=name,
                kind="dm",
                visibility="secret",
                created_by=author.id,
                members=(author.id, recipient.id),
            )
        )
        mentions = [n for n in parse_mentions(content) if n == recipient.name]
        return NewMessage(
            channel=channel,
            channel_name=name,
            author_id=author.id,
            author_name=author.name,
            content=content,
            metadata=meta,
            mentions=mentions,
            inbox=[(recipient.id, kind)],
            reply_to=reply_to,
            thread_id=await self._thread_of(reply_to, name),
            idempotency_key=None if key is None else f"{key}/{recipient.name}",
            join_author=False,
        )

    async def _broadcast(
        self,
        author: Agent,
        recipients: list[Agent],
        content: str,
        meta: dict[str, Any],
        reply_to: int | None,
        key: str | None,
        kind: str | None = None,
    ) -> SendResult:
        posted = await self.post(
            author,
            names.BROADCAST_CHANNEL,
            content,
            metadata=meta,
            reply_to=reply_to,
            idempotency_key=key,
            notify=recipients,
            notify_kind="broadcast",
            kind=kind,
        )
        return SendResult(
            target="broadcast",
            recipients=[r.name for r in recipients],
            messages=[posted.message],
            replayed=posted.replayed,
        )

    # reading

    async def read(
        self,
        viewer: Agent,
        channel_name: str,
        *,
        after: int | None = None,
        before: int | None = None,
        limit: int = 50,
        wait: float = 0,
        kind: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> MessagePage:
        """A page of a channel: ``after`` pages forward, else the latest (or before ``before``).
        With ``after`` and ``wait`` seconds, an empty page waits for the next post. ``kind``
        keeps only messages of that kind (and waits for one). ``since`` and ``until`` keep
        only messages created in that window (aware times); ``since`` without ``after`` or
        ``before`` pages forward from that time."""
        names.check_kind(kind)
        if not 1 <= limit <= self._limits.max_page:
            raise InvalidInput(f"limit must be 1-{self._limits.max_page}")
        if after is not None and before is not None:
            raise InvalidInput("give 'after' or 'before', not both", code="bad_range")
        check_window(since, until)
        forward = after is not None or (since is not None and before is None)
        channel, _ = await self._channels.open(viewer, channel_name)

        async def fetch() -> MessagePage:
            rows = await self._store.messages(
                channel.id,
                after=after,
                before=before,
                limit=limit + 1,
                kind=kind,
                since=since,
                until=until,
            )
            has_more = len(rows) > limit
            if has_more:
                rows = rows[:limit] if forward else rows[1:]
            cursor = rows[-1].id if rows else (after or 0)
            return MessagePage(
                channel=channel.name, messages=rows, cursor=cursor, has_more=has_more
            )

        if after is None:
            if wait:
                raise InvalidInput("wait needs after: the id to wait past", code="bad_wait")
            return await fetch()
        return await self._feed.wait(
            wait,
            fetch,
            lambda page: bool(page.messages),
            lambda e: (
                e.type == events.MESSAGE_POSTED
                and e.channel_id == channel.id
                and (kind is None or events.message_kind(e) == kind)
            ),
        )

    async def get(self, viewer: Agent, message_id: int) -> Message:
        """One message the viewer may read."""
        message, _ = await self._readable(viewer, message_id)
        return message

    async def _readable(self, viewer: Agent, message_id: int) -> tuple[Message, Channel]:
        message = await self._store.message(message_id)
        if message is not None:
            channel = await self._store.channel(message.channel)
            if channel is not None:
                member = access.needs_membership(channel) and await self._store.is_member(
                    channel.id, viewer.id
                )
                if not access.needs_membership(channel) or member:
                    return message, channel
        raise NotFound(f"no message with id {message_id}", code="message_not_found")

    async def seen(self, viewer: Agent, message_id: int) -> Seen:
        """Which members have read past a message (by their read cursors); only one who may
        read its channel may ask."""
        message, channel = await self._readable(viewer, message_id)
        positions = await self._store.read_positions(channel.id)
        others = [(name, seq) for name, seq in positions if name != message.author]
        return Seen(
            message_id=message.id,
            channel=message.channel,
            seen_by=[name for name, seq in others if seq >= message.id],
            not_yet=[name for name, seq in others if seq < message.id],
        )

    async def thread(self, viewer: Agent, message_id: int, *, kind: str | None = None) -> Thread:
        """The whole thread a message belongs to (only the replies of ``kind``, if given)."""
        names.check_kind(kind)
        message, _ = await self._readable(viewer, message_id)
        root_id = message.thread_id or message.id
        rows = await self._store.thread(root_id)
        replies = [r for r in rows[1:] if kind is None or r.kind == kind]
        return Thread(root=rows[0], replies=replies)

    async def _own(self, author: Agent, message_id: int) -> tuple[Message, Channel]:
        message, channel = await self._readable(author, message_id)
        if message.author != author.name:
            raise Forbidden("only a message's author may change it", code="not_author")
        if message.deleted:
            raise Conflict(f"message {message_id} is deleted", code="message_deleted")
        if channel.archived:
            raise Conflict(f"#{channel.name} is archived", code="channel_archived")
        return message, channel

    async def edit(
        self,
        author: Agent,
        message_id: int,
        *,
        content: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Message:
        """Change one's own message; newly mentioned agents are notified."""
        if content is None and metadata is None:
            raise InvalidInput("give new content, metadata or both")
        old, channel = await self._own(author, message_id)
        self._check_body(content if content is not None else old.content, metadata)
        mentions: list[str] | None = None
        new_inbox: list[tuple[int, InboxKind]] = []
        if content is not None and channel.kind == "channel":
            mentions, new_inbox = await self._mention_inbox(
                author, content, channel, skip=set(old.mentions)
            )
        return await self._store.edit_message(
            MessageEdit(
                message_id=message_id,
                content=content,
                metadata=metadata,
                mentions=mentions,
                new_inbox=new_inbox,
            )
        )

    async def delete(self, author: Agent, message_id: int) -> Message:
        """Delete one's own message: its text is erased, its place in the channel stays."""
        await self._own(author, message_id)
        return await self._store.delete_message(message_id)
