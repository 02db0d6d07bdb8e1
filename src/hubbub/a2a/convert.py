"""Hub messages and tasks as A2A messages, parts, artifacts and tasks, and back.

Everything here is data in, data out: no request, no database. Hub ids become A2A ids as
their decimal text (a task's id is the id of the message that started it; its contextId the
id of its thread's root). Agents' text stays data: an A2A message carries its hub author in
its metadata, as the hub stamped it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from a2a.types import (
    Artifact,
    Message,
    Part,
    Role,
    Task,
    TaskArtifactUpdateEvent,
    TaskState,
    TaskStatus,
    TaskStatusUpdateEvent,
)
from google.protobuf import json_format, struct_pb2

from hubbub.core import models
from hubbub.core.a2a_tasks import A2AState, A2ATaskView

STATES: dict[str, TaskState] = {
    "submitted": TaskState.TASK_STATE_SUBMITTED,
    "working": TaskState.TASK_STATE_WORKING,
    "completed": TaskState.TASK_STATE_COMPLETED,
    "failed": TaskState.TASK_STATE_FAILED,
    "canceled": TaskState.TASK_STATE_CANCELED,
}
HUB_STATES: dict[int, str] = {number: name for name, number in STATES.items()}
JSON = "application/json"
TEXT = "text/plain"

Event = Task | Message | TaskStatusUpdateEvent | TaskArtifactUpdateEvent


class Unsupported(ValueError):
    """A part the hub cannot carry (raw bytes)."""


# A2A to hub


def text_of(parts: list[Part]) -> str:
    """The text a hub message carries for ``parts``: text parts as they are, links to URL
    parts, one paragraph each (data parts travel in the metadata: :func:`data_of`)."""
    found: list[str] = []
    for part in parts:
        kind = part.WhichOneof("content")
        if kind == "text":
            found.append(part.text)
        elif kind == "url":
            found.append(f"[{part.filename or part.url}]({part.url})")
        elif kind == "raw":
            raise Unsupported(
                "a raw (bytes) part cannot be posted: share the file and send its URL"
            )
    return "\n\n".join(found)


def data_of(parts: list[Part]) -> list[Any]:
    """The JSON values of the data parts."""
    return [
        json_format.MessageToDict(part.data)
        for part in parts
        if part.WhichOneof("content") == "data"
    ]


def plain(struct: struct_pb2.Struct) -> dict[str, Any]:
    """A protobuf Struct as a plain dict."""
    found: dict[str, Any] = json_format.MessageToDict(struct)
    return found


# hub to A2A


def struct(value: dict[str, Any]) -> struct_pb2.Struct:
    """A plain dict as a protobuf Struct."""
    found = struct_pb2.Struct()
    found.update(value)
    return found


def data_part(value: Any) -> Part:
    """A JSON value as a data part."""
    return Part(data=json_format.ParseDict(value, struct_pb2.Value()), media_type=JSON)


def message(
    hub: models.Message, *, caller: str, context_id: str, task_id: str | None = None
) -> Message:
    """A hub message as an A2A message: the caller's are the user's, the rest the agent's;
    its hub metadata, if any, as a data part."""
    parts = [Part(text=hub.content, media_type=TEXT)] if hub.content else []
    shown = {k: v for k, v in hub.metadata.items() if k != "a2a"}
    if shown:
        parts.append(data_part(shown))
    if not parts:
        parts.append(Part(text="", media_type=TEXT))
    return Message(
        message_id=str(hub.id),
        context_id=context_id,
        task_id=task_id or "",
        role=Role.ROLE_USER if hub.author == caller else Role.ROLE_AGENT,
        parts=parts,
        metadata=struct({"author": hub.author, "createdAt": _iso(hub.created_at)}),
    )


def artifacts(view: A2ATaskView) -> list[Artifact]:
    """What the task produced: a hub task's result (its text and its JSON), or the agent's
    reply to a message."""
    task = view.task
    if task is not None:
        parts: list[Part] = []
        if task.result_text:
            parts.append(Part(text=task.result_text, media_type=TEXT))
        if task.result is not None:
            parts.append(data_part(task.result))
        if not parts or task.status not in ("done", "failed"):
            return []
        return [Artifact(artifact_id=f"task-{task.id}-result", name="result", parts=parts)]
    if view.reply is None:
        return []
    reply = message(view.reply, caller=view.caller, context_id=str(view.record.context_id))
    return [Artifact(artifact_id=f"reply-{view.reply.id}", name="reply", parts=reply.parts)]


def status(
    view: A2ATaskView, state: A2AState | None = None, note: Message | None = None
) -> TaskStatus:
    """The task's status: its state, with the agent's latest message (or ``note``)."""
    shown = note if note is not None else _latest(view)
    found = TaskStatus(state=STATES[state or view.state])
    found.timestamp.FromDatetime(view.updated_at)
    if shown is not None:
        found.message.CopyFrom(shown)
    return found


def task(view: A2ATaskView, history_length: int | None = None) -> Task:
    """The A2A task for a view, with the last ``history_length`` messages (all if ``None``)."""
    ids = _ids(view)
    history = [
        message(m, caller=view.caller, context_id=ids[1], task_id=ids[0]) for m in view.messages
    ]
    if history_length is not None:
        history = history[len(history) - history_length :] if history_length > 0 else []
    meta: dict[str, Any] = {"agent": view.agent}
    if view.task is not None:
        meta["hubTask"] = view.task.id
        if view.task.progress is not None:
            meta["progress"] = view.task.progress
    return Task(
        id=ids[0],
        context_id=ids[1],
        status=status(view),
        artifacts=artifacts(view),
        history=history,
        metadata=struct(meta),
    )


def updates(before: A2ATaskView | None, after: A2ATaskView) -> list[Event]:
    """The stream events that take a client from ``before`` (nothing yet: the whole task) to
    ``after``: new artifacts, then a status update for each new message of the agent (and for
    a hub task's new progress), the last one with the new state."""
    if before is None:
        return [task(after)]
    ids = _ids(after)
    found: list[Event] = []
    known = {a.artifact_id for a in artifacts(before)}
    for artifact in artifacts(after):
        if artifact.artifact_id not in known:
            found.append(
                TaskArtifactUpdateEvent(
                    task_id=ids[0], context_id=ids[1], artifact=artifact, last_chunk=True
                )
            )
    seen = max(m.id for m in before.messages)
    notes = [
        message(m, caller=after.caller, context_id=ids[1], task_id=ids[0])
        for m in after.messages
        if m.id > seen and m.author != after.caller
    ]
    progress = _progress(before, after)
    if progress is not None:
        notes.append(progress)
    middle: A2AState = before.state if after.final else after.state
    for index, note in enumerate(notes):
        last = index == len(notes) - 1
        found.append(
            TaskStatusUpdateEvent(
                task_id=ids[0],
                context_id=ids[1],
                status=status(after, after.state if last else middle, note),
            )
        )
    if not notes and (after.state != before.state or not found):
        found.append(TaskStatusUpdateEvent(task_id=ids[0], context_id=ids[1], status=status(after)))
    return found


def _progress(before: A2ATaskView, after: A2ATaskView) -> Message | None:
    """A hub task's new progress report, as a message of the agent."""
    old, new = before.task, after.task
    if new is None or (new.progress_note is None and new.progress is None):
        return None
    if old is not None and (old.progress, old.progress_note) == (new.progress, new.progress_note):
        return None
    shown = " — ".join(
        text
        for text in (
            None if new.progress is None else f"{new.progress}%",
            new.progress_note,
        )
        if text
    )
    ids = _ids(after)
    stamp = int(new.updated_at.timestamp() * 1_000_000)
    return Message(
        message_id=f"task-{new.id}-progress-{stamp}",
        context_id=ids[1],
        task_id=ids[0],
        role=Role.ROLE_AGENT,
        parts=[Part(text=f"progress: {shown}", media_type=TEXT)],
        metadata=struct({"author": new.holder or after.agent, "progress": new.progress}),
    )


def _latest(view: A2ATaskView) -> Message | None:
    ids = _ids(view)
    for hub in reversed(view.messages):
        if hub.author != view.caller:
            return message(hub, caller=view.caller, context_id=ids[1], task_id=ids[0])
    return None


def _ids(view: A2ATaskView) -> tuple[str, str]:
    return str(view.record.id), str(view.record.context_id)


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")
