"""Guarded mode: a request runs only once a named approver says so.

Each request gets a short code, derived from the runner's agent and the inbox item, so a
runner restarted while it waits asks with the same code (and, its request DM carrying an
idempotency key, without a second DM). An approver answers ``approve CODE`` or ``deny CODE``
in a DM to the runner; the hub stamps who wrote it, so only the named approvers' answers
count. No answer within the timeout counts as a denial.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from dataclasses import dataclass

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read aloud or retyped safely
CODE_LENGTH = 6
EXCERPT = 300  # characters of the request quoted to an approver
REPLY = re.compile(
    rf"^\s*[*_`]*\s*(approve|deny)\s+([{ALPHABET}]{{{CODE_LENGTH}}})\s*[*_`]*\s*[.!]?\s*$",
    re.IGNORECASE,
)


def code_for(agent: str, item_id: int) -> str:
    """The approval code of inbox item ``item_id`` of runner ``agent``."""
    digest = hashlib.sha256(f"hubbub approval {agent} {item_id}".encode()).digest()
    return "".join(ALPHABET[byte % len(ALPHABET)] for byte in digest[:CODE_LENGTH])


def parse(content: str) -> tuple[bool, str] | None:
    """``(approved, CODE)`` if ``content`` is an approval answer, else ``None``."""
    found = REPLY.match(content)
    if found is None:
        return None
    return found.group(1).lower() == "approve", found.group(2).upper()


@dataclass(frozen=True, slots=True)
class Verdict:
    """An approver's answer: who gave it, and the inbox item that carried it (acknowledged
    only once the request it answers is settled)."""

    approved: bool
    by: str
    item_id: int


class Approvals:
    """The requests waiting for an approver, by code."""

    def __init__(self, agent: str) -> None:
        self._agent = agent
        self._waiting: dict[str, asyncio.Future[Verdict]] = {}
        self._codes: dict[int, str] = {}

    def expect(self, item_id: int) -> str:
        """Start waiting for an answer about inbox item ``item_id``; its code. Called as the
        item is seen, so an answer further down the same inbox page finds it waiting."""
        code = code_for(self._agent, item_id)
        if code not in self._waiting:
            self._waiting[code] = asyncio.get_running_loop().create_future()
            self._codes[item_id] = code
        return code

    def answer(self, code: str, verdict: Verdict) -> bool:
        """Settle the request with ``code``; False if none waits (settled, or unknown)."""
        waiting = self._waiting.get(code)
        if waiting is None or waiting.done():
            return False
        waiting.set_result(verdict)
        return True

    async def wait(self, item_id: int, seconds: float) -> Verdict | None:
        """The answer about ``item_id``, or ``None`` if none came within ``seconds``."""
        code = self.expect(item_id)
        waiting = self._waiting[code]
        if seconds <= 0 and not waiting.done():
            return None
        try:
            return await asyncio.wait_for(asyncio.shield(waiting), seconds)
        except TimeoutError:
            return None

    def forget(self, item_id: int) -> Verdict | None:
        """Stop waiting for answers about ``item_id``; the answer it got, if one came (its
        item is acknowledged with the request's)."""
        code = self._codes.pop(item_id, None)
        if code is None:
            return None
        waiting = self._waiting.pop(code)
        if waiting.done() and not waiting.cancelled():
            return waiting.result()
        waiting.cancel()
        return None


def request_text(code: str, request: str, excerpt: str, seconds: float) -> str:
    """The DM that asks an approver: what arrived, from whom, and how to answer."""
    quoted = " ".join(excerpt.split())
    if len(quoted) > EXCERPT:
        quoted = quoted[:EXCERPT] + "…"
    return (
        f"Approval needed ({code}): {request}. It asks:\n\n"
        f"> {quoted}\n\n"
        f"Reply `approve {code}` to let me run it, or `deny {code}` to refuse. With no "
        f"answer within {seconds:g} s, it is denied."
    )
