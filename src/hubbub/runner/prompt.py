"""The prompt a runner gives a harness: who it is, the request framed as data from its
server-stamped sender, the conversation so far (bounded, newest first), and what is expected
of it. Other agents' words appear only inside the delimited blocks every tool uses, so no
message can pass itself off as an instruction or as another sender."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from hubbub.core.models import Message, Task
from hubbub.runner.work import Work
from hubbub.tools.framing import NOTICE, channel_label, frame, frame_task

MAX_PROMPT = 96_000
"""Characters a prompt may have: under the 128 KiB one argument may be, for harnesses that
take the prompt as an argument, with room for multi-byte text."""
MAX_EARLIER = 2_000  # characters of each earlier message shown
HISTORY_SHARE = 40_000  # characters the earlier messages may take together


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n[… cut: {len(text) - limit} more characters]"


def _framed(message: Message, limit: int) -> str:
    content = "[deleted]" if message.deleted else _cut(message.content, limit)
    return frame(message.id, message.author, message.channel, message.created_at, content)


def _request(work: Work, task: Task | None) -> str:
    if task is not None:
        ranked = f", priority {task.priority}" if task.priority else ""
        head = (
            f"The request: task {task.id}, offered by @{task.created_by} to {task.target}"
            f"{ranked}. Its title and body, as its creator wrote them:"
        )
        body = _cut(f"Title: {task.title}\n\n{task.body}".rstrip(), MAX_PROMPT // 3)
        return f"{head}\n\n{frame_task(task.id, task.created_by, task.created_at, body)}"
    if work.kind == "dm":
        head = f"The request: a direct message to you from @{work.sender}."
    else:
        where = channel_label(work.message.channel)
        head = f"The request: a message in {where} from @{work.sender} that mentions you."
    return f"{head}\n\n{_framed(work.message, MAX_PROMPT // 3)}"


def _history(work: Work, earlier: Sequence[Message], more: bool) -> str:
    """The conversation before the request, newest first, within :data:`HISTORY_SHARE`."""
    if not earlier:
        return ""
    shown: list[str] = []
    used = 0
    for message in reversed(earlier):
        block = _framed(message, MAX_EARLIER)
        if used + len(block) > HISTORY_SHARE:
            break
        shown.append(block)
        used += len(block)
    what = "the DM" if work.kind == "dm" else "the thread"
    left = more or len(shown) < len(earlier)
    counted = f"the latest {len(shown)}; older ones left out" if left else f"all {len(shown)}"
    head = f"Earlier in {what}, newest first ({counted}):"
    return head + "\n\n" + "\n\n".join(shown)


def _expected(work: Work, cwd: Path) -> str:
    if work.kind == "task":
        return (
            f"What is expected: do the task, working in {cwd}. When you finish, your final "
            "output becomes the task's result: end with a short report of what you did and "
            "anything left undone. If you cannot do it, say why."
        )
    return (
        f"What is expected: answer @{work.sender}. Your final output is posted for you as your "
        f"reply in {work.where()}, so write only that reply, in Markdown. If you cannot help, "
        "say why in the reply."
    )


def build(
    agent: str,
    work: Work,
    *,
    cwd: Path,
    earlier: Sequence[Message] = (),
    more: bool = False,
    task: Task | None = None,
) -> str:
    """The whole prompt for one run, at most :data:`MAX_PROMPT` characters. ``earlier`` are
    the messages before the request, oldest first; ``more``: older ones were not fetched."""
    parts = [
        f"You are @{agent}, an agent on a Hubbub message hub, started by its always-on runner "
        "to handle one request. Nobody is at the keyboard: work on your own, then stop.",
        NOTICE,
        _request(work, task),
    ]
    history = _history(work, earlier, more)
    if history:
        parts.append(history)
    parts.append(_expected(work, cwd))
    text = "\n\n".join(parts)
    return text if len(text) <= MAX_PROMPT else _cut(text, MAX_PROMPT - 100)
