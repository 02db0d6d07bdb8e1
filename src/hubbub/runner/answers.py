"""Where a run's outcome goes: a reply where the request came from (the DM, or the mention's
thread), or the task's completion or failure. Each is cut to the message limit; the whole
output is then shared as a file in the same conversation, and the cut text says so.

Nothing is sent twice: a reply carries an idempotency key made from its inbox item, so a
repeat (after a restart) is the same message or is refused; a file of the same name and
content already shared is found and named again rather than shared anew."""

from __future__ import annotations

import hashlib
import io
import logging
from functools import partial
from typing import TYPE_CHECKING

from hubbub.core.errors import Conflict, HubbubError, TooLarge
from hubbub.core.models import File, Task
from hubbub.runner.harnesses import Answer
from hubbub.runner.retrying import persist
from hubbub.runner.work import Work

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from hubbub.client import AsyncClient

REPLY_LIMIT = 32 * 1024  # bytes of a reply: the hub's default; a lower limit shows as a 413
SMALLEST_REPLY = 1024
log = logging.getLogger("hubbub.runner")


def capped(text: str, limit: int, whole: File | None = None) -> str:
    """``text`` within ``limit`` UTF-8 bytes, with a note when it had to be cut (naming the
    file that holds all of it, if there is one)."""
    data = text.encode()
    if len(data) <= limit:
        return text
    where = f"; all of it is in file {whole.id}, `{whole.name}`" if whole is not None else ""
    note = "\n\n[Output cut to the message limit: the first {shown} of {total} bytes are shown"
    note += where + ".]"
    room = limit - len(note.format(shown=limit, total=len(data)).encode())
    shown = data[: max(0, room)].decode("utf-8", "ignore")
    return shown + note.format(shown=len(shown.encode()), total=len(data))


class Answers:
    """Posts outcomes for one runner's agent."""

    def __init__(self, client: AsyncClient, agent: str) -> None:
        self.client = client
        self.agent = agent

    async def reply(self, work: Work, text: str) -> None:
        """Post ``text`` where ``work`` came from, once."""
        message = work.message
        key = f"runner-reply-{work.item.id}"
        metadata = {"runner": {"item": work.item.id}}

        async def post(body: str) -> object:
            if work.kind == "dm":
                return await self.client.send(
                    f"@{work.sender}",
                    body,
                    metadata=metadata,
                    reply_to=message.id,
                    idempotency_key=key,
                )
            return await self.client.post(
                message.channel, body, metadata=metadata, reply_to=message.id, idempotency_key=key
            )

        where = f"@{work.sender}" if work.kind == "dm" else message.channel
        try:
            await self._deliver("reply", text, where, work.item.id, post)
            log.info("item %d: replied in %s", work.item.id, work.where())
        except Conflict as error:
            # message_removed: the earlier run's reply was posted, then cleared away with its
            # channel; it is answered all the same.
            if error.code not in ("idempotency_conflict", "message_removed"):
                raise
            log.info("item %d: answered already (by an earlier run)", work.item.id)

    async def finish(self, work: Work, task: Task, fence: int, answer: Answer) -> None:
        """Complete the task with the answer, or fail it with the reason."""
        end = self.client.complete_task if answer.ok else self.client.fail_task
        where = task.channel if task.target.startswith("#") and task.channel else None
        where = where or f"@{task.created_by}"
        await self._deliver(
            "finish a task",
            answer.text,
            where,
            work.item.id,
            lambda body: end(task.id, fence, text=body),
        )

    async def _deliver(
        self,
        what: str,
        text: str,
        where: str,
        item_id: int,
        send: Callable[[str], Awaitable[object]],
    ) -> None:
        """Send ``text`` cut to the limit, cutting further if the hub's limit is lower."""
        limit = REPLY_LIMIT
        whole: File | None = None
        while True:
            if whole is None and len(text.encode()) > limit:
                whole = await self._share(where, item_id, text)
            try:
                await persist(what, partial(send, capped(text, limit, whole)))
                return
            except TooLarge:
                if limit <= SMALLEST_REPLY:
                    raise
                limit //= 2

    async def _share(self, where: str, item_id: int, text: str) -> File | None:
        """The whole output as a file in ``where`` (one shared before with the same name and
        content, if there is one); ``None`` if the hub takes no file."""
        name = f"output-{item_id}.txt"
        data = text.encode()
        digest = hashlib.sha256(data).hexdigest()

        async def share() -> File:
            page = await self.client.files(channel=where, name=name, limit=20)
            for shared in page.files:
                if (shared.name, shared.uploader, shared.sha256) == (name, self.agent, digest):
                    return shared
            return await self.client.upload(
                where,
                io.BytesIO(data),
                name=name,
                message=f"The whole output for inbox item {item_id} ({len(data)} bytes): "
                "the answer is cut to the message limit.",
                content_type="text/plain; charset=utf-8",
            )

        try:
            return await persist("share the whole output", share)
        except HubbubError as error:
            log.warning("item %d: could not share the whole output (%s)", item_id, error)
            return None
