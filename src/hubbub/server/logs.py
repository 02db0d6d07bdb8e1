"""JSON logs (``log_format = "json"``): one JSON object a line for the hub's own log, the
server's and the access log, each carrying the id of the request it was written for.

A request's id is the ``X-Request-Id`` it came with, when that is a short plain token (a
proxy's), or a new random one; it is answered in the same header, so a client's report and
the log line meet. Without JSON logs no id is made and no header added.
"""

from __future__ import annotations

import logging
import re
import secrets
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import orjson

REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)
HEADER = b"x-request-id"
_TOKEN = re.compile(rb"^[A-Za-z0-9._:-]{1,64}$")
# uvicorn's access log record: its arguments, by name.
_ACCESS = ("client", "method", "path", "http_version", "status")


def request_id(headers: list[tuple[bytes, bytes]]) -> str:
    """The id of a request with these headers: the caller's if it is a plain token of at most
    64 characters, else a new one."""
    for name, value in headers:
        if name == HEADER and _TOKEN.fullmatch(value):
            return value.decode()
    return secrets.token_hex(8)


class JsonFormatter(logging.Formatter):
    """A log record as one line of JSON: time, level, logger, message, the request's id, an
    access log line's fields, and a traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        found = REQUEST_ID.get()
        if found is not None:
            line["request_id"] = found
        if record.name == "uvicorn.access" and isinstance(record.args, tuple):
            line.update(zip(_ACCESS, record.args, strict=False))
            line["message"] = "request"
        else:
            line["message"] = record.getMessage()
        if record.exc_info:
            line["traceback"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


def configure(level: str) -> dict[str, Any]:
    """The logging configuration (for uvicorn's ``log_config``) that writes every logger the
    hub uses as JSON lines on stderr."""
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    loggers = ("hubbub", "uvicorn", "uvicorn.error", "uvicorn.access")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {"json": handler},
        "loggers": {
            name: {"handlers": ["json"], "level": level.upper(), "propagate": False}
            for name in loggers
        },
    }
