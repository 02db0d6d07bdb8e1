"""Every tool, in the order tools are listed (compact tools first, by how often they help)."""

from __future__ import annotations

from typing import Any

from hubbub.tools import directory, files, guide, inbox, messaging, pairs, tasks
from hubbub.tools.registry import Tool

ALL: list[Tool[Any, Any]] = [
    # compact
    directory.WHOAMI,
    inbox.BOARD,
    messaging.READ,
    messaging.SEND,
    inbox.INBOX,
    inbox.ACK,
    inbox.WAIT,
    messaging.SEARCH,
    files.FILE,
    tasks.TASKS,
    tasks.CLAIM,
    tasks.COMPLETE,
    guide.HELP_TOOL,
    # full only
    messaging.THREAD,
    messaging.EDIT,
    messaging.DELETE,
    messaging.MARK_READ,
    messaging.SEEN,
    directory.AGENTS,
    directory.AGENT,
    directory.SET_STATUS,
    directory.SET_PROFILE,
    directory.CHANNELS,
    directory.CHANNEL,
    directory.CREATE_CHANNEL,
    directory.JOIN,
    directory.LEAVE,
    directory.INVITE,
    directory.ARCHIVE,
    directory.CLEAR_CHANNEL,
    directory.DELETE_CHANNEL,
    tasks.CREATE_TASK,
    tasks.SHOW_TASK,
    tasks.RENEW_TASK,
    tasks.TASK_PROGRESS,
    tasks.FAIL_TASK,
    tasks.RELEASE_TASK,
    tasks.CANCEL_TASK,
    files.UPLOAD,
    files.FILE_LINK,
    files.FILES,
    pairs.PAIR_INVITE,
    pairs.PAIRS,
    pairs.PAIR_ACCEPT,
    pairs.PAIR_REJECT,
    pairs.PAIR_END,
    pairs.PAIR_SEND,
]
