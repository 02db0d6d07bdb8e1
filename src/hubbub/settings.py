"""The hub's settings: one typed object, every field described. Each field is read from the
environment as ``HUBBUB_<NAME>`` (a few also have a ``hubbub serve`` flag); ``docs/settings.md``
is generated from this class and a test keeps the two in step."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from hubbub.core.limits import Limits
from hubbub.core.outbound import OutboundPolicy, parse_networks
from hubbub.paths import default_database

if TYPE_CHECKING:
    from hubbub.core.sessions import SessionPolicy
    from hubbub.core.webhooks import WebhookPolicy

ENV_PREFIX = "HUBBUB_"


class Settings(BaseModel):
    """Everything ``hubbub serve`` can be told. Values given here win over the environment."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _from_environment(cls, data: Any) -> Any:
        """Fill fields not given from ``HUBBUB_<NAME>`` (validated like any other input)."""
        if not isinstance(data, dict):
            return data
        found = {
            name: os.environ[ENV_PREFIX + name.upper()]
            for name in cls.model_fields
            if name not in data and ENV_PREFIX + name.upper() in os.environ
        }
        return {**found, **data}

    host: str = Field("127.0.0.1", description="Interface to listen on.")
    port: int = Field(7878, ge=0, le=65535, description="TCP port (0 picks a free one).")
    db: str = Field(
        default_factory=default_database,
        description="Database: a SQLite file path (default under $XDG_DATA_HOME/hubbub), or a "
        "PostgreSQL URL, `postgresql://user:password@host:5432/dbname` (libpq's form: "
        "`?sslmode=require`, `?host=/run/postgresql` for a socket directory…), which several "
        "hub processes may share.",
    )
    synchronous: Literal["NORMAL", "FULL"] = Field(
        "FULL",
        description="SQLite durability: FULL fsyncs every commit (group commit keeps it "
        "cheap); NORMAL may lose the last commits on power loss, never on a crash.",
    )
    readers: int = Field(4, ge=1, le=64, description="SQLite reader threads.")
    lock_timeout_seconds: float = Field(
        10.0,
        gt=0,
        le=600,
        description="SQLite: longest a write waits for a lock held by another process (the "
        "`sqlite3` shell, a second hub on the same file) before it is refused `503 db_locked`.",
    )
    postgres_pool_min: int = Field(
        1, ge=0, le=1000, description="PostgreSQL: reader connections each process keeps open."
    )
    postgres_pool_max: int = Field(
        10,
        ge=1,
        le=1000,
        description="PostgreSQL: most reader connections per process (each process also holds "
        "one for writes and one listening for events).",
    )
    postgres_statement_timeout_seconds: float = Field(
        30.0,
        gt=0,
        description="PostgreSQL: longest a statement may run (including waiting for the "
        "write lock) before it is cancelled and the request answered `503 db_timeout`.",
    )
    migrate: bool = Field(
        True,
        description="On start, apply the schema migrations the database lacks. With false "
        "(`hubbub serve --no-migrate`), a database behind this version is refused "
        "(`schema_too_old`): run `hubbub migrate` first, once, as a deployment step.",
    )
    provision: bool = Field(
        True,
        description="On start, create the admin key and this machine's key if missing and "
        "write them to the client config file.",
    )
    machine: str | None = Field(
        None, description="This machine's name for its local key (default: the hostname)."
    )
    max_content_bytes: int = Field(32 * 1024, ge=1, description="Largest message content.")
    max_metadata_bytes: int = Field(8 * 1024, ge=2, description="Largest message metadata JSON.")
    max_body_bytes: int = Field(
        256 * 1024, ge=1024, description="Largest JSON request body, in bytes."
    )
    max_file_bytes: int = Field(
        10 * 1024 * 1024,
        ge=1,
        le=1024 * 1024 * 1024,
        description="Largest file one upload may share, in bytes (10 MiB); a larger one is "
        "refused `413 file_too_large` before the rest of it is read, and nothing is stored.",
    )
    file_quota_bytes: int = Field(
        1024 * 1024 * 1024,
        ge=0,
        description="Bytes of files the agents of one machine may hold, counting each upload "
        "whether or not the hub already stored its content; an upload past it is refused "
        "`413 quota_exceeded`. Deleted files stop counting. 0 turns the quota off.",
    )
    file_retention_days: float = Field(
        0.0,
        ge=0,
        description="Files shared longer ago than this are deleted (their messages stay) and "
        "their bytes freed; 0 keeps them until someone deletes them.",
    )
    max_header_bytes: int = Field(
        64 * 1024,
        ge=1024,
        le=1024 * 1024,
        description="Largest request head (the URL and every header field), in bytes; a "
        "larger one is answered `431 headers_too_large` and the connection closed.",
    )
    max_headers: int = Field(
        100,
        ge=8,
        le=1000,
        description="Most header fields a request may send; more are answered "
        "`431 headers_too_large` and the connection closed.",
    )
    pair_invite_seconds: float = Field(
        300.0,
        ge=1,
        le=7 * 24 * 3600.0,
        description="How long a pair session invite waits for an answer; after it the invite "
        "counts as ended (`expired`) and both agents may pair again.",
    )
    header_timeout_seconds: float = Field(
        10.0,
        gt=0,
        le=300,
        description="Longest a request head may take to arrive, counted from the connection "
        "opening or the previous response ending; a connection still short of a whole head "
        "then is closed.",
    )
    channel_creates_per_hour: int = Field(
        30, ge=1, description="New channels one agent may create per hour."
    )
    rate_limit: float = Field(
        200.0, ge=0, description="Requests a second per machine key (0 turns limiting off)."
    )
    rate_burst: float = Field(400.0, ge=1, description="Requests a key may burst above the rate.")
    credential_cache_seconds: float = Field(
        5.0, ge=0, description="How long a verified key or agent is trusted without a lookup."
    )
    max_wait_seconds: float = Field(
        50.0, gt=0, le=300, description="Longest a read or inbox peek may wait (`wait=`)."
    )
    read_events_max_members: int = Field(
        10,
        ge=0,
        le=10_000,
        description="In a channel of at most this many members, moving a read cursor sends "
        "each author whose messages it passed one `message.read` event; 0 sends none.",
    )
    stream_backlog: int = Field(
        10_000,
        ge=100,
        description="Events an event stream may fall behind before it is told "
        "to resume from its cursor.",
    )
    stream_ping_seconds: float = Field(
        15.0, gt=0, description="Heartbeat interval on event streams."
    )
    presence_ttl_seconds: float = Field(
        120.0, gt=0, description="An agent with no request or heartbeat for this long goes offline."
    )
    prune_after_seconds: float = Field(
        7 * 24 * 3600.0,
        gt=0,
        description="An agent silent for this long drops out of agent "
        "listings (its messages stay).",
    )
    max_agents_per_machine: int = Field(
        200,
        ge=0,
        description="Most agents one machine key may register (deleted ones not counted), so "
        "a key cannot mint names without end to dodge per-agent limits; 0: no cap.",
    )
    message_retention_days: float = Field(
        0.0,
        ge=0,
        description="Messages older than this many days are removed for good — with their "
        "search rows, inbox items, files and the events that carry them — in small batches "
        "each minute; 0 keeps them forever. An admin may give a channel its own "
        "(`PUT /api/v1/admin/channels/{name}/retention`).",
    )
    task_retention_days: float = Field(
        0.0,
        ge=0,
        description="Tasks done, failed or cancelled more than this many days ago are removed, "
        "with their events and webhook deliveries; 0 keeps them forever.",
    )
    event_retention_days: float = Field(
        30.0,
        ge=0,
        description="Events older than this are dropped from the event log "
        "(messages stay); 0 keeps them forever. A stream resuming from before the oldest kept "
        "event gets a `stream.gap` event first.",
    )
    webhook_timeout_seconds: float = Field(
        10.0,
        gt=0,
        le=120,
        description="How long one webhook attempt may take (a request to a remote A2A agent: "
        "this, at least 30 s).",
    )
    webhook_max_attempts: int = Field(
        16,
        ge=1,
        description="Attempts before a webhook delivery is given up as dead (and an item for "
        "a remote A2A agent as failed).",
    )
    webhook_max_age_seconds: float = Field(
        24 * 3600.0,
        gt=0,
        description="A webhook delivery not through after this long is given up as dead.",
    )
    webhook_backoff_seconds: float = Field(
        1.0,
        gt=0,
        description="Wait before the first webhook retry; it doubles with each failed "
        "attempt (with jitter), up to `webhook_backoff_max_seconds`.",
    )
    webhook_backoff_max_seconds: float = Field(
        900.0, gt=0, description="Longest wait between two webhook attempts."
    )
    outbound_allow: str | None = Field(
        None,
        description="Comma-separated networks (`127.0.0.0/8, 10.20.0.0/16, fd00::/8`) that "
        "webhooks and task callbacks may reach although they are not public. By default the "
        "hub sends only to public addresses: never to loopback, private, link-local, "
        "carrier-grade NAT, multicast or other special ones. Cloud metadata addresses stay "
        "refused unless listed alone (`169.254.169.254/32`).",
    )
    tool_wait_seconds: float = Field(
        30.0,
        ge=1,
        le=50,
        description="Longest the `hubbub_wait` agent tool blocks on `/mcp` before it returns "
        "(clients cut long tool calls off). `hubbub mcp` reads the same variable.",
    )
    a2a_enabled: bool = Field(
        False,
        description="Serve the A2A (Agent2Agent) protocol: an Agent Card for each visible agent "
        "at `/a2a/{agent}/.well-known/agent-card.json` and its JSON-RPC and HTTP+JSON "
        "endpoints under `/a2a/{agent}`. Needs the `hubbub[a2a]` extra.",
    )
    a2a_wait_seconds: float = Field(
        30.0,
        ge=0,
        le=300,
        description="Longest a blocking A2A `SendMessage` waits for the agent's answer (or "
        "its task's end) before it returns the task as it is.",
    )
    a2a_public_url: str | None = Field(
        None,
        description="The hub's address as A2A clients reach it (`https://hub.example.com`), "
        "written into Agent Cards; by default each card names the address it was fetched "
        "from.",
    )
    mcp_allowed_origins: str | None = Field(
        None,
        description="Comma-separated origins (`https://app.example.com`) allowed to call "
        "`/mcp` from a browser, beyond loopback ones; requests without an `Origin` always pass.",
    )
    session_hours: float = Field(
        24.0 * 7,
        gt=0,
        le=24.0 * 366,
        description="How long a dashboard sign-in lasts; the person signs in again after it.",
    )
    login_attempts_per_minute: float = Field(
        10.0,
        gt=0,
        description="Dashboard password sign-in attempts allowed per user name and per client "
        "address, each, a minute (bursts up to as many); more are refused `429 "
        "too_many_logins`. Counted per hub process.",
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info", description="Log verbosity."
    )
    access_log: bool = Field(False, description="Log every HTTP request.")
    log_format: Literal["text", "json"] = Field(
        "text",
        description="`json`: every log line (the hub's, the server's, the access log) is one "
        "JSON object with the id of the request it was written for; each request's id (its "
        "`X-Request-Id` if it sent a plain one, else a new one) is answered in `X-Request-Id`.",
    )

    @field_validator("outbound_allow")
    @classmethod
    def _networks(cls, value: str | None) -> str | None:
        """Refuse a list with an entry that is not a network, saying which."""
        parse_networks(value)
        return value

    @field_validator("a2a_public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        """An absolute http(s) address, kept without a trailing slash."""
        if value is None:
            return None
        if not value.startswith(("http://", "https://")) or " " in value:
            raise ValueError("use an absolute http:// or https:// address")
        return value.rstrip("/")

    def outbound_policy(self) -> OutboundPolicy:
        """Where webhooks and task callbacks may go: public addresses and ``outbound_allow``."""
        return OutboundPolicy(parse_networks(self.outbound_allow))

    def allowed_origins(self) -> frozenset[str]:
        """The origins of ``mcp_allowed_origins``, without trailing slashes."""
        listed = (self.mcp_allowed_origins or "").split(",")
        return frozenset(origin.strip().rstrip("/") for origin in listed if origin.strip())

    def limits(self) -> Limits:
        """The core's limits from these settings."""
        return Limits(
            max_content_bytes=self.max_content_bytes,
            max_metadata_bytes=self.max_metadata_bytes,
            channel_creates_per_hour=self.channel_creates_per_hour,
            max_wait_seconds=self.max_wait_seconds,
            read_events_max_members=self.read_events_max_members,
            presence_ttl_seconds=self.presence_ttl_seconds,
            prune_after_seconds=self.prune_after_seconds,
            max_agents_per_machine=self.max_agents_per_machine,
            event_retention_days=self.event_retention_days,
            message_retention_days=self.message_retention_days,
            task_retention_days=self.task_retention_days,
            max_file_bytes=self.max_file_bytes,
            file_quota_bytes=self.file_quota_bytes,
            file_retention_days=self.file_retention_days,
            pair_invite_seconds=self.pair_invite_seconds,
        )

    def session_policy(self) -> SessionPolicy:
        """Dashboard sessions' lifetime and the sign-in rate limit from these settings."""
        from hubbub.core.sessions import SessionPolicy

        return SessionPolicy(
            session_hours=self.session_hours,
            login_attempts_per_minute=self.login_attempts_per_minute,
        )

    def webhook_policy(self) -> WebhookPolicy:
        """The webhook sender's timeouts and retries from these settings (delivered and dead
        deliveries are kept as long as events)."""
        from hubbub.core.webhooks import WebhookPolicy

        return WebhookPolicy(
            timeout_seconds=self.webhook_timeout_seconds,
            max_attempts=self.webhook_max_attempts,
            max_age_seconds=self.webhook_max_age_seconds,
            backoff_seconds=self.webhook_backoff_seconds,
            backoff_max_seconds=max(self.webhook_backoff_max_seconds, self.webhook_backoff_seconds),
            retention_days=self.event_retention_days,
        )
