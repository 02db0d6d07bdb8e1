"""What an inbox item asks of a runner: a DM (or a routed send) to answer in the DM, a mention
to answer in the mention's thread, or a task offer to claim and do. Broadcasts ask nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from hubbub.core.models import InboxItem, Message
from hubbub.tools.framing import channel_label

WorkKind = Literal["dm", "mention", "task"]


@dataclass(frozen=True, slots=True)
class Work:
    """One inbox item the runner acts on."""

    item: InboxItem
    kind: WorkKind
    task_id: int | None = None

    @property
    def message(self) -> Message:
        return self.item.message

    @property
    def sender(self) -> str:
        """The server-stamped author of the item's message."""
        return self.item.message.author

    @property
    def thread_key(self) -> str:
        """The conversation the item belongs to: the DM, the mention's thread, the task."""
        if self.kind == "task":
            return f"task:{self.task_id}"
        if self.kind == "dm":
            return self.message.channel
        return f"{self.message.channel}/{self.message.thread_id or self.message.id}"

    def describe(self) -> str:
        """A short line for logs and the status note: ``DM from @lap-api (item 12)``."""
        if self.kind == "task":
            return f"task {self.task_id} from @{self.sender} (item {self.item.id})"
        if self.kind == "dm":
            return f"DM from @{self.sender} (item {self.item.id})"
        where = channel_label(self.message.channel)
        return f"mention by @{self.sender} in {where} (item {self.item.id})"

    def where(self) -> str:
        """Where the answer goes, in words."""
        if self.kind == "dm":
            return f"the DM with @{self.sender}"
        if self.kind == "mention":
            return (
                f"the thread of message {self.message.id} in {channel_label(self.message.channel)}"
            )
        return f"task {self.task_id}"


def work_of(item: InboxItem) -> Work | None:
    """What ``item`` asks for, or ``None`` when it asks nothing of a runner (a broadcast, an
    offer whose message names no task)."""
    if item.kind in ("dm", "send"):
        return Work(item, "dm")
    if item.kind == "mention":
        return Work(item, "mention")
    if item.kind == "task":
        task = item.message.metadata.get("task")
        task_id = task.get("id") if isinstance(task, dict) else None
        if isinstance(task_id, int) and not isinstance(task_id, bool):
            return Work(item, "task", task_id)
    return None
