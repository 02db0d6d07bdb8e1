"""Reading Server-Sent Events line by line into hub events."""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson

from hubbub.core.models import Event


@dataclass(slots=True)
class Frame:
    """One complete SSE event."""

    event: str = "message"
    id: str | None = None
    data: list[str] = field(default_factory=list)

    def text(self) -> str:
        return "\n".join(self.data)

    def parse(self) -> Event:
        """The hub event this frame carries."""
        return Event.model_validate_json(self.text())

    def cursor(self) -> int:
        """The cursor a ``resync`` frame says to resume from."""
        return int(orjson.loads(self.text())["cursor"])

    def detail(self) -> str:
        """The reason a ``closed`` frame gives."""
        return str(orjson.loads(self.text()).get("detail", "the stream was closed"))


class EventParser:
    """Feed lines; get a :class:`Frame` at each blank line that ends one."""

    def __init__(self) -> None:
        self._frame = Frame()

    def feed(self, line: str) -> Frame | None:
        if not line:
            frame, self._frame = self._frame, Frame()
            return frame if frame.data else None
        if line.startswith(":"):
            return None  # a heartbeat comment
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self._frame.data.append(value)
        elif name == "event":
            self._frame.event = value
        elif name == "id":
            self._frame.id = value
        return None
