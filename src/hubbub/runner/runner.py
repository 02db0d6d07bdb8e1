"""The always-on runner: an agent that wakes a harness for each DM, mention and task offer in
its inbox, posts the answer back and acknowledges the item.

It talks to the hub like any agent, through the SDK. The inbox is its only record of what is
left to do: an item is acknowledged once it is settled (answered, done, refused), never
before, so a runner killed at any moment and started again finds every unsettled item still
there. It does not answer twice: a reply carries an idempotency key made from the item and
the item's thread is checked for an earlier reply before a harness starts; a task is claimed
before it is worked on, and its completion carries the claim's fence.

It wakes on the hub's event stream, not by polling. The stream is opened at a cursor beyond
the log, so the hub starts it with a ``stream.gap`` naming the newest event: from then on no
inbox item can be missed, and the inbox is read once to find what arrived before. The SDK's
iterator reconnects and resumes by itself across hub restarts and network cuts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tempfile
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, get_args

from hubbub.core.errors import Conflict, HubbubError, NotFound, RateLimited, Unavailable
from hubbub.core.models import InboxItem, InboxKind, Message, MessagePage, Task, Thread
from hubbub.core.values import MAX_ID
from hubbub.runner import approvals, prompt, runs
from hubbub.runner.answers import Answers
from hubbub.runner.harnesses import Answer, Harness
from hubbub.runner.limits import Limits, allowed
from hubbub.runner.options import RunnerOptions
from hubbub.runner.retrying import CAP as RETRY_CAP
from hubbub.runner.retrying import delay, persist
from hubbub.runner.status import Presence
from hubbub.runner.work import Work, work_of

if TYPE_CHECKING:
    from hubbub.client import AsyncClient

A = TypeVar("A")
B = TypeVar("B")
log = logging.getLogger("hubbub.runner")

PAGE = 100  # inbox items read at a time
RECENT = 10_000  # settled item ids remembered, so an inbox read begun earlier skips them
KINDS: tuple[InboxKind, ...] = get_args(InboxKind)
MARK_SECONDS = 30.0  # how long whether an author is a runner is remembered
MAX_FAILURES = 3  # unexpected failures on one item before this process stops retrying it


@dataclass(frozen=True, slots=True)
class Conversation:
    """What was read about a DM or mention: its thread, and for a DM the messages before it."""

    thread: Thread
    page: MessagePage | None


class Runner:
    """One agent's runner: wakes on its event stream, works through its inbox."""

    def __init__(self, options: RunnerOptions, harness: Harness, client: AsyncClient) -> None:
        self.options = options
        self.harness = harness
        self.client = client
        self.limits = Limits(options.sender_limit, options.thread_limit, options.hop_limit)
        self.approvals = approvals.Approvals(options.agent)
        self.presence = Presence(client)
        self.answers = Answers(client, options.agent)
        self.slots = asyncio.Semaphore(options.concurrency)
        self.wake = asyncio.Event()
        self.scanned = 0  # the highest inbox item id seen by this process
        self.inflight: dict[int, asyncio.Task[None]] = {}
        self.held: set[int] = set()  # approval answers, acknowledged with their request
        self.recent: set[int] = set()  # items settled by this process
        self.lanes: dict[str, asyncio.Task[None]] = {}  # the last item started, per sender
        self.failures: dict[int, int] = {}
        self.holding: dict[int, int] = {}  # task id: fence, while a run works on it
        self.marks: dict[str, tuple[float, bool]] = {}
        self.listening = False
        self.env = {
            **os.environ,
            "HUBBUB_RUNNER": "1",  # every hubbub hook in the harness stands down
            "HUBBUB_AGENT": options.agent,  # its hubbub tools act as this agent
        }

    # the loop

    async def run(self) -> None:
        """Run until cancelled; raises only for what retrying cannot mend (a revoked key)."""
        await persist("register", lambda: self.client.update_me(runner=True))
        for name in self.options.approvers:
            try:
                await persist("look up an approver", partial(self.client.agent, name))
            except NotFound:
                raise NotFound(
                    f"approver {name!r} is not an agent of this hub", code="agent_not_found"
                ) from None
        self.presence.start()
        follow = asyncio.create_task(self._follow())
        try:
            while True:
                woken = asyncio.create_task(self.wake.wait())
                await asyncio.wait({woken, follow}, return_when=asyncio.FIRST_COMPLETED)
                if follow.done():
                    woken.cancel()
                    follow.result()
                    return
                self.wake.clear()
                await self._scan()
        finally:
            follow.cancel()
            await self._stop()

    async def _follow(self) -> None:
        """Start on each inbox item as its event arrives; from the moment the stream is live
        (and after each gap), have the inbox read for what arrived before."""
        events = self.client.events(after=MAX_ID, types=["inbox.item"])
        try:
            async for event in events:
                if event.type == "inbox.item":
                    self._arrived(event.data)
                    continue
                if not self.listening:
                    self.listening = True
                    log.info("listening as @%s (%s, %s mode)", *self._banner())
                # A gap may mean a database started afresh: read the whole inbox again (what
                # this process is on, or settled, is skipped).
                self.scanned = 0
                self.wake.set()
        finally:
            await events.aclose()

    def _known(self, item_id: int) -> bool:
        """True if this process is on ``item_id`` or has settled it."""
        return item_id in self.inflight or item_id in self.held or item_id in self.recent

    def _arrived(self, data: dict[str, Any]) -> None:
        """Start on an item from its event, without reading the inbox first: the fastest way
        from a DM to its harness. What cannot be started so is left to a scan."""
        item_id, kind, message_id = data.get("item_id"), data.get("kind"), data.get("message_id")
        if not (isinstance(item_id, int) and isinstance(message_id, int) and kind in KINDS):
            self.wake.set()
            return
        if self._known(item_id):
            return
        if self.options.mode == "guarded":
            self.approvals.expect(item_id)  # before any later item can answer it
        sender = str(data.get("from") or "")
        self._start(
            item_id,
            _lane(kind, sender),
            lambda before: self._fetch(item_id, kind, message_id, sender, before),
        )

    def _start(
        self,
        item_id: int,
        lane: str | None,
        handling: Callable[[asyncio.Task[None] | None], Coroutine[Any, Any, None]],
    ) -> None:
        """Start handling an item, after the item before it in its lane (a sender's DMs and
        mentions are answered in the order they came; tasks each have their own)."""
        before = self.lanes.get(lane) if lane is not None else None
        task = asyncio.create_task(handling(before))
        self.inflight[item_id] = task
        if lane is not None:
            self.lanes[lane] = task

            def leave(done: asyncio.Task[None]) -> None:
                if self.lanes.get(lane) is done:
                    del self.lanes[lane]

            task.add_done_callback(leave)

    async def _fetch(
        self,
        item_id: int,
        kind: InboxKind,
        message_id: int,
        sender: str,
        before: asyncio.Task[None] | None,
    ) -> None:
        """Read what an arrived item needs (for a DM or mention, its conversation at once),
        then handle it."""
        prefetched: Conversation | None = None
        try:
            if kind == "task":
                message = await self.client.message(message_id)
            else:
                wanted = self._wanted()
                dm = kind in ("dm", "send") and wanted > 0
                thread, page = await _both(
                    self.client.thread(message_id),
                    self.client.read(f"@{sender}", before=message_id, limit=wanted)
                    if dm
                    else _nothing(),
                )
                message = next(m for m in [thread.root, *thread.replies] if m.id == message_id)
                prefetched = Conversation(thread, page)
        except (HubbubError, StopIteration) as error:
            log.info("item %d: read from the inbox instead (%s)", item_id, error)
            self.inflight.pop(item_id, None)
            self._again(1.0, item_id)
            return
        item = InboxItem(id=item_id, kind=kind, message=message, created_at=message.created_at)
        if self.options.mode == "guarded" and self._approval_answer(item):
            self.approvals.forget(item_id)  # the answer's own expectation
            if item_id in self.held:
                self.inflight.pop(item_id, None)
            return
        await self._handle(item, before, prefetched)

    def _banner(self) -> tuple[str, str, str]:
        return self.options.agent, self.options.exec, self.options.mode

    async def _scan(self) -> None:
        """Read the inbox after the last item seen and start on each new item."""
        try:
            while True:
                page = await self.client.inbox(after=self.scanned, limit=PAGE)
                for item in page.items:
                    self.scanned = max(self.scanned, item.id)
                    if not self._known(item.id):
                        self._dispatch(item)
                if len(page.items) < PAGE:
                    break
        except (Unavailable, RateLimited) as error:
            log.warning("cannot read the inbox (%s); trying again", error)
            self._again(delay(error, 1))
            return

    def _again(self, seconds: float, after: int | None = None) -> None:
        """Scan again in ``seconds``, from before item ``after`` if given."""
        if after is not None:
            self.scanned = min(self.scanned, after - 1)
        asyncio.get_running_loop().call_later(seconds, self.wake.set)

    def _dispatch(self, item: InboxItem) -> None:
        if self.options.mode == "guarded" and self._approval_answer(item):
            return
        if self.options.mode == "guarded":
            self.approvals.expect(item.id)
        lane = _lane(item.kind, item.message.author)
        self._start(item.id, lane, lambda before: self._handle(item, before))

    def _approval_answer(self, item: InboxItem) -> bool:
        """Take ``item`` as an approver's answer, if it is one; True if it was."""
        if item.kind != "dm" or item.message.author not in self.options.approvers:
            return False
        answer = approvals.parse(item.message.content)
        if answer is None:
            return False
        approved, code = answer
        verdict = approvals.Verdict(approved, item.message.author, item.id)
        if self.approvals.answer(code, verdict):
            self.held.add(item.id)
            word = "approved" if approved else "denied"
            log.info("item %d: @%s %s request %s", item.id, item.message.author, word, code)
        else:
            log.info("item %d: no request waits for code %s; acknowledged", item.id, code)
            self.inflight[item.id] = asyncio.create_task(self._settle([item.id]))
        return True

    # one item

    async def _handle(
        self,
        item: InboxItem,
        before: asyncio.Task[None] | None,
        prefetched: Conversation | None = None,
    ) -> None:
        if before is not None:
            await asyncio.wait({before})  # its outcome is its own
        settled = False
        try:
            work = work_of(item)
            if work is None:
                log.info("item %d: a %s asks nothing of a runner; acknowledged", item.id, item.kind)
            else:
                await self._process(work, prefetched)
            settled = True
        except (Unavailable, RateLimited) as error:
            log.warning("item %d: the hub is unavailable (%s); will try again", item.id, error)
            self._retry(item, delay(error, self.failures.get(item.id, 0)))
        except HubbubError as error:
            log.error(
                "item %d: refused by the hub (%s: %s); acknowledged", item.id, error.code, error
            )
            settled = True
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("item %d: failed", item.id)
            self._retry(item, RETRY_CAP)
        finally:
            verdict = self.approvals.forget(item.id)
            if verdict is not None:
                self.held.discard(verdict.item_id)
        if settled:
            done = [item.id] + ([verdict.item_id] if verdict is not None else [])
            await self._settle(done)
            self.failures.pop(item.id, None)
            return
        self.inflight.pop(item.id, None)
        if verdict is not None:
            self._again(0, verdict.item_id)  # read the answer again, with the item

    def _retry(self, item: InboxItem, seconds: float) -> None:
        tries = self.failures[item.id] = self.failures.get(item.id, 0) + 1
        if tries > MAX_FAILURES and seconds >= RETRY_CAP:
            log.error("item %d: gave up after %d failures; it stays in the inbox", item.id, tries)
            return
        self._again(seconds, item.id)

    async def _settle(self, ids: list[int]) -> None:
        """Acknowledge settled items, however long the hub takes to come back."""
        try:
            await persist("acknowledge", lambda: self.client.ack(ids))
            self.recent.update(ids)
            if len(self.recent) > RECENT:
                self.recent = set(sorted(self.recent)[-RECENT // 2 :])
        finally:
            for item_id in ids:
                self.inflight.pop(item_id, None)

    async def _process(self, work: Work, prefetched: Conversation | None) -> None:
        item = work.item
        if not allowed(work.sender, self.options.allow):
            log.info("item %d: @%s is not on the allow-list; not run", item.id, work.sender)
            return
        task: Task | None = None
        earlier: list[Message] = []
        more = False
        if work.kind == "task":
            assert work.task_id is not None
            task = await self.client.task(work.task_id)
            if not self._open_to_me(task):
                held = f" by @{task.holder}" if task.status == "claimed" else ""
                log.info("item %d: task %d is %s%s; skipped", item.id, task.id, task.status, held)
                return
        else:
            earlier, more, answered = await self._conversation(work, prefetched)
            if answered:
                log.info("item %d: answered already", item.id)
                return
            authors = [m.author for m in [*earlier, work.message]]
            if self.limits.hops_exceeded(authors, await self._runners(authors)):
                log.info(
                    "item %d: the last %d messages in %s were all written by runners; "
                    "not answered (hop limit)",
                    item.id,
                    self.limits.hop_limit,
                    work.where(),
                )
                return
        refusal = self.limits.refusal(work.sender, work.thread_key)
        if refusal is not None:
            log.info("item %d: not run: %s", item.id, refusal)
            if work.kind != "task" and self.limits.tell(work.sender, work.thread_key):
                await self.answers.reply(work, f"Not run: {refusal}. Ask again later.")
            return
        if self.options.mode == "guarded" and work.sender not in self.options.approvers:
            verdict = await self._approval(work, task)
            if verdict is None or not verdict.approved:
                why = (
                    f"@{verdict.by} denied it"
                    if verdict is not None
                    else f"no approver answered within {self.options.approval_timeout:g} s"
                )
                log.info("item %d: not run: %s", item.id, why)
                if work.kind != "task":
                    await self.answers.reply(work, f"Not run: {why}.")
                return
        self.limits.count(work.sender, work.thread_key)
        async with self.slots:
            if task is not None:
                await self._do_task(work, task)
            else:
                await self._answer(work, earlier, more)

    def _open_to_me(self, task: Task) -> bool:
        mine = task.status == "claimed" and task.holder == self.options.agent
        return (task.status == "open" or mine) and task.id not in self.holding

    def _wanted(self) -> int:
        """How many earlier messages a conversation read fetches."""
        return max(self.options.history, self.limits.hop_limit)

    async def _conversation(
        self, work: Work, prefetched: Conversation | None
    ) -> tuple[list[Message], bool, bool]:
        """The messages before the request (oldest first, bounded), whether older ones were
        left out, and whether this runner has answered the request already."""
        message = work.message
        wanted = self._wanted()
        if prefetched is None:
            # Both reads at once: this is on the way from a DM to its harness's start.
            thread, page = await _both(
                self.client.thread(message.id),
                self._earlier(work, wanted) if work.kind == "dm" else _nothing(),
            )
        else:
            thread, page = prefetched.thread, prefetched.page
        answered = any(
            reply.author == self.options.agent
            and reply.reply_to == message.id
            and _runner_item(reply) == work.item.id
            for reply in thread.replies
        )
        if not wanted:
            earlier, more = [], False
        elif page is not None:
            earlier, more = list(page.messages), page.has_more
        else:
            before = [m for m in [thread.root, *thread.replies] if m.id < message.id]
            earlier, more = before[-wanted:] if wanted else [], len(before) > wanted
        return earlier, more, answered

    async def _earlier(self, work: Work, wanted: int) -> MessagePage | None:
        """The DM's messages before the request, if any are wanted."""
        if not wanted:
            return None
        return await self.client.read(f"@{work.sender}", before=work.message.id, limit=wanted)

    async def _runners(self, authors: list[str]) -> set[str]:
        """Which of ``authors`` the hub has marked as runners."""
        marked: set[str] = set()
        now = time.monotonic()
        for name in set(authors):
            if name == self.options.agent:
                marked.add(name)
                continue
            cached = self.marks.get(name)
            if cached is None or cached[0] < now:
                try:
                    runner = (await self.client.agent(name)).runner
                except NotFound:
                    runner = False
                cached = self.marks[name] = (now + MARK_SECONDS, runner)
            if cached[1]:
                marked.add(name)
        return marked

    async def _approval(self, work: Work, task: Task | None) -> approvals.Verdict | None:
        """Ask every approver; the first answer, or ``None`` once the time is up."""
        code = self.approvals.expect(work.item.id)
        excerpt = task.title if task is not None else work.message.content
        timeout = self.options.approval_timeout
        text = approvals.request_text(code, work.describe(), excerpt, timeout)
        metadata = {"runner": {"approval": code, "item": work.item.id}}
        asked_at: datetime | None = None
        for approver in self.options.approvers:
            ask = partial(
                self.client.send,
                f"@{approver}",
                text,
                metadata=metadata,
                idempotency_key=f"runner-approval-{work.item.id}",
            )
            sent = await persist("ask an approver", ask)
            at = sent.messages[0].created_at
            asked_at = at if asked_at is None else min(asked_at, at)
        # Counted from when the hub first took the request, so a restart does not extend it.
        waited = (datetime.now(UTC) - asked_at).total_seconds() if asked_at else 0.0
        remaining = self.options.approval_timeout - max(0.0, waited)
        log.info("item %d: waiting for approval %s (up to %.0f s)", work.item.id, code, remaining)
        return await self.approvals.wait(work.item.id, remaining)

    # runs

    async def _answer(self, work: Work, earlier: list[Message], more: bool) -> None:
        text = prompt.build(
            self.options.agent, work, cwd=self.options.cwd, earlier=earlier, more=more
        )
        answer = await self._execute(work, text)
        reply = answer.text if answer.ok else f"The run failed: {answer.text}"
        await self.answers.reply(work, reply)

    async def _do_task(self, work: Work, task: Task) -> None:
        claimed = await self._claim(work, task)
        if claimed is None:
            return
        fence = claimed.fence
        self.holding[claimed.id] = fence
        try:
            await persist(
                "report progress",
                lambda: self.client.task_progress(
                    claimed.id, fence, percent=0, note=f"started: {self.harness.name}"
                ),
            )
            text = prompt.build(self.options.agent, work, cwd=self.options.cwd, task=claimed)
            answer = await self._while_held(claimed.id, fence, self._execute(work, text))
            if answer is None:
                log.warning("task %d: its lease was lost while it ran; stopped", claimed.id)
                return
            await self.answers.finish(work, claimed, fence, answer)
            word = "done" if answer.ok else "failed"
            log.info("item %d: task %d %s", work.item.id, claimed.id, word)
        except Conflict as lost:
            log.warning("task %d: no longer ours (%s); left as it is", claimed.id, lost.code)
        except asyncio.CancelledError:
            with contextlib.suppress(HubbubError, TimeoutError):  # given back for others
                await asyncio.wait_for(self.client.release_task(claimed.id, fence), 5)
            raise
        finally:
            self.holding.pop(claimed.id, None)

    async def _claim(self, work: Work, task: Task) -> Task | None:
        """Claim ``task``, or take back a claim an earlier run of this runner left (under a
        new fence, so nothing that run may still send counts); ``None`` if it is not ours
        to take."""
        for attempt in range(5):
            if attempt:
                task = await persist("read a task", partial(self.client.task, task.id))
            if not self._open_to_me(task):
                log.info("item %d: task %d is %s; skipped", work.item.id, task.id, task.status)
                return None
            if task.status == "claimed":
                with contextlib.suppress(Conflict):
                    release = partial(self.client.release_task, task.id, task.fence)
                    await persist("release a task", release)
            try:
                claimed = await self.client.claim_task(task.id, lease_seconds=self.options.lease)
                log.info(
                    "item %d: claimed task %d (fence %d)", work.item.id, task.id, claimed.fence
                )
                return claimed
            except Conflict:
                continue  # someone else's now, or a claim of ours whose answer was lost
            except (Unavailable, RateLimited) as error:
                await asyncio.sleep(delay(error, attempt))
        return None

    async def _while_held(
        self, task_id: int, fence: int, running: Awaitable[Answer]
    ) -> Answer | None:
        """``running``'s answer, renewing the task's lease meanwhile; ``None`` (and the run
        stopped) if the lease is lost."""
        run = asyncio.ensure_future(running)
        renew = asyncio.create_task(self._renew(task_id, fence))
        try:
            await asyncio.wait({run, renew}, return_when=asyncio.FIRST_COMPLETED)
            if run.done():
                return run.result()
            run.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await run
            return None
        finally:
            renew.cancel()
            if not run.done():
                run.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await run

    async def _renew(self, task_id: int, fence: int) -> None:
        """Renew the lease every third of it; return when it is lost."""
        lease = self.options.lease
        while True:
            await asyncio.sleep(lease / 3)
            try:
                await self.client.renew_task(task_id, fence, lease_seconds=lease)
            except Conflict:
                return
            except (Unavailable, RateLimited) as error:
                log.warning("task %d: could not renew its lease (%s)", task_id, error)

    async def _execute(self, work: Work, text: str) -> Answer:
        """Run the harness on ``text``; its answer, or why there is none."""
        item = work.item.id
        self.presence.begin(item, work.describe())
        try:
            with tempfile.TemporaryDirectory(prefix="hubbub-run-") as scratch:
                folder = Path(scratch)
                invocation = self.harness.invocation(
                    text, self.options.cwd, self.options.mode, folder
                )

                def started(pid: int) -> None:
                    log.info("item %d: %s started (pid %d)", item, work.describe(), pid)

                try:
                    finished = await runs.run(
                        invocation,
                        cwd=self.options.cwd,
                        env=self.env,
                        seconds=self.options.timeout,
                        started=started,
                    )
                except OSError as error:
                    return Answer(False, f"could not start {invocation.argv[0]}: {error}")
                if finished.timed_out:
                    log.warning(
                        "item %d: no answer within %g s; stopped", item, self.options.timeout
                    )
                    return Answer(
                        False, f"it took longer than {self.options.timeout:g} s and was stopped"
                    )
                answer = self.harness.answer(
                    finished.exit_code, finished.stdout, finished.stderr, folder
                )
                log.info(
                    "item %d: %s after %.1f s (exit code %s)",
                    item,
                    "answered" if answer.ok else "failed",
                    finished.seconds,
                    finished.exit_code,
                )
                return answer
        finally:
            self.presence.end(item)

    async def _stop(self) -> None:
        """End every run under way (their items stay in the inbox), then report idle."""
        running = list(self.inflight.values())
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        await self.presence.stop()


def _lane(kind: str, sender: str) -> str | None:
    """The lane an item waits its turn in: its sender's, for a DM or mention."""
    return f"@{sender}" if kind in ("dm", "send", "mention") and sender else None


async def _nothing() -> None:
    return None


async def _both(first: Awaitable[A], second: Awaitable[B]) -> tuple[A, B]:
    """Two calls at once; the first failure is raised once both have ended."""
    one, two = await asyncio.gather(first, second, return_exceptions=True)
    for outcome in (one, two):
        if isinstance(outcome, BaseException):
            raise outcome
    return one, two  # type: ignore[return-value]


def _runner_item(message: Message) -> int | None:
    mark = message.metadata.get("runner")
    item = mark.get("item") if isinstance(mark, dict) else None
    return item if isinstance(item, int) else None
