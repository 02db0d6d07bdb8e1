"""Request bodies and query strings. Responses are the core's own models.

Bodies are strict: a JSON value of the wrong type is ``422 invalid``, never coerced (``"60"``
is not a number, ``true`` not an integer). Query strings are text by nature; the route table
reads each by its field's type (:func:`hubbub.server.endpoints.query_values`) before the same
strict validation. No string anywhere may hold U+0000 (:mod:`hubbub.core.values`).

The schema of each field states every rule the hub enforces that JSON Schema can say: ranges,
lengths, name patterns. Where the core enforces a rule with its own code (``bad_name``,
``bad_target``…), the field's schema carries the rule through :class:`Rule` and leaves the
checking to the core, so the answer keeps that code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from annotated_types import Ge, Le, MaxLen, MinLen
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from hubbub.core import names, values
from hubbub.core.channels import MAX_CHANNEL_STATUS
from hubbub.core.feed import EVENT_TYPE
from hubbub.core.files import DEFAULT_TTL, MAX_TTL
from hubbub.core.hooks import SESSION_FIELDS as HOOK_SESSION_FIELDS
from hubbub.core.integrations import MAX_DEDUPE_KEY, MAX_RATE
from hubbub.core.limits import Limits
from hubbub.core.models import (
    AgentStatus,
    AgentVisibility,
    ChannelCategory,
    ChannelVisibility,
    DeliveryStatus,
    IntegrationAction,
    KeyKind,
    PairState,
    TaskStatus,
)
from hubbub.core.offers import (
    MAX_ATTEMPTS,
    MAX_LEASE,
    MAX_PRIORITY,
    MAX_SECRET,
    MAX_TITLE,
    MAX_URL,
    MIN_LEASE,
)
from hubbub.core.scopes import MAX_PATTERNS, SCOPES
from hubbub.core.search import MAX_QUERY
from hubbub.core.tasks import MAX_NOTE
from hubbub.core.users import MAX_PASSWORD, MIN_PASSWORD
from hubbub.core.values import MAX_ID

# ---- schema-only rules -------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)  # hashed by identity: keywords hold dicts
class Rule:
    """JSON Schema keywords for a rule the core checks itself (with its own code): they go
    into the field's schema; validation is left to the core."""

    keywords: dict[str, Any]

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        schema.update(self.keywords)
        return schema


def rule(**keywords: Any) -> Rule:
    """A :class:`Rule` of these keywords."""
    return Rule(keywords)


SETTING = "x-hubbub-setting"
"""Marks a bound that is one of the hub's settings; the OpenAPI document fills it in."""


def setting(keyword: str, name: str) -> Rule:
    """A bound (``maximum``, ``maxLength``) that is the :class:`Limits` field ``name``."""
    return rule(**{SETTING: {keyword: name}})


def _inner(pattern: re.Pattern[str]) -> str:
    """A name rule's regular expression without its anchors, to build others from."""
    return pattern.pattern.removeprefix("^").removesuffix("$")


_SPACE = values.char_class(values.WHITESPACE)
AGENT, CHANNEL, TAG = _inner(names.AGENT_RE), _inner(names.CHANNEL_RE), _inner(names.TAG_RE)
LABEL = _inner(names.LABEL_RE)
PAIR_CHANNEL = _inner(names.PAIR_RE)
CHANNEL_REF = f"(?:{CHANNEL}|@{AGENT}|dm:{AGENT}:{AGENT}|{PAIR_CHANNEL})"
"""How a path or filter names a channel: its name, ``@agent`` for a DM, the DM's name, or a
pair session's channel (``pair:{id}``)."""
SEND_TARGET = f"(?:broadcast|#{CHANNEL}|@{AGENT}|label:{LABEL}|(?:tag|cap):{TAG})"
TASK_TARGET = f"(?:#{CHANNEL}|@{AGENT}|(?:tag|cap):{TAG})"
PAIR_TARGET = f"(?:@{AGENT}|label:{LABEL}|(?:tag|cap):{TAG})"
_PATTERN_STEM = "[a-z0-9._:/-]*\\*"


def _padded(body: str) -> str:
    """``body`` as a whole string, with the surrounding whitespace the core strips."""
    return f"^[{_SPACE}]*{body}[{_SPACE}]*$"


AgentName = Annotated[str, rule(pattern=names.AGENT_RE.pattern)]
ChannelName = Annotated[str, rule(pattern=names.CHANNEL_RE.pattern)]
ChannelRef = Annotated[str, rule(pattern=f"^{CHANNEL_REF}$")]
PostChannel = Annotated[str, rule(pattern=f"^(?:{CHANNEL}|{PAIR_CHANNEL})$")]
"""A channel posted in by name: a channel's, or a pair session's (``pair:{id}``)."""
MachineName = Annotated[str, rule(pattern=names.MACHINE_RE.pattern)]
Tag = Annotated[str, rule(pattern=names.TAG_RE.pattern)]
SendTarget = Annotated[str, rule(pattern=_padded(SEND_TARGET))]
TaskTarget = Annotated[str, rule(pattern=_padded(TASK_TARGET))]
PairTarget = Annotated[str, rule(pattern=_padded(PAIR_TARGET))]
NonBlank = Annotated[str, rule(pattern=values.NOT_BLANK_PATTERN)]
MessageKind = Annotated[str, rule(pattern=names.KIND_RE.pattern)]
UNPRINTABLE = "".join(
    chr(c)
    for c in (
        *range(0x20),
        *range(0x7F, 0xA1),
        0xAD,
        0x1680,
        *range(0x2000, 0x2010),
        *range(0x2028, 0x2030),
        *range(0x205F, 0x2065),
        0x3000,
        0xFEFF,
    )
)
"""Characters ``str.isprintable`` refuses that a pattern can name alike in every regular
expression dialect: controls, separators and the common format characters. The rest (other
format characters, unassigned and private-use code points) depend on the Unicode version, and
are a refusal docs/api.md lists as one JSON Schema cannot state."""

Printable = Annotated[
    str,
    rule(minLength=1, maxLength=MAX_DEDUPE_KEY, pattern=f"^[^{values.char_class(UNPRINTABLE)}]*$"),
]
"""1-200 printable characters (an idempotency or dedupe key): the pattern leaves out
:data:`UNPRINTABLE`."""


def _whole(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


WHOLE = BeforeValidator(_whole)
"""Last in an integer type's annotations: a JSON number without a fraction is an integer, as
JSON Schema counts (``3.0`` is ``3``). Anything else is left for strict validation to refuse:
a string, a boolean, ``3.5``. (Last, so that the type's bounds still reach its schema.)"""

Id = Annotated[int, Ge(1), Le(MAX_ID), WHOLE]
"""An id: 1 … 2^63-1, in a body a JSON integer, in a path or query ASCII digits."""
Cursor = Annotated[int, Ge(0), Le(MAX_ID), WHOLE]
"""A position to read after: 0 … 2^63-1."""


_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?"
    r"(?:[Zz]|[+-][0-9]{2}:[0-9]{2})"
)


def _time(value: Any) -> Any:
    """An RFC 3339 date-time (what JSON Schema's ``date-time`` format is), with its offset, as
    a time; anything else is left for strict validation to refuse. (The parser alone would
    also take a date without a time, or a number of seconds.)"""
    if isinstance(value, str) and _RFC3339.fullmatch(value):
        try:
            return datetime.fromisoformat(value.upper())
        except ValueError:
            return value  # a day or hour out of range, refused as not a time
    return value


Time = Annotated[datetime, BeforeValidator(_time)]

# ---- bases -------------------------------------------------------------------------------


class Body(BaseModel):
    """Base of request bodies: unknown fields are an error, not silently dropped; values are
    never coerced from another JSON type; no string holds NUL."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value: Any, info: ValidationInfo) -> Any:
        found = values.nul_at(value)
        if found is not None:
            raise ValueError(values.nul_refused(f"{info.field_name}{found}"))
        return value


def json_kind(schema: dict[str, Any]) -> str:
    """The JSON type a field's schema takes, leaving out ``null``."""
    for branch in schema.get("anyOf", [schema]):
        kind = branch.get("type")
        if kind is not None and kind != "null":
            return str(kind)
    return "string"


def _any_of(*branches: dict[str, Any]) -> dict[str, Any]:
    """Schema keywords: the body must match one of ``branches`` (fields that go together)."""
    return {"anyOf": list(branches)}


def _given(name: str, **schema: Any) -> dict[str, Any]:
    """A branch: ``name`` is present and not null (and matches ``schema``)."""
    return {"required": [name], "properties": {name: {"not": {"type": "null"}, **schema}}}


# ---- bodies ------------------------------------------------------------------------------


class PostBody(Body):
    content: Annotated[NonBlank, setting("maxLength", "max_content_bytes")] = Field(
        description="Markdown text, not blank; `@name` mentions notify real agents. At most "
        "`max_content_bytes` bytes in UTF-8."
    )
    metadata: dict[str, Any] | None = Field(
        None, description="Free JSON object, plain (integers within ±2^53), ≤ 8 KiB."
    )
    reply_to: Id | None = Field(None, description="Id of the message this replies to.")
    kind: MessageKind | None = Field(
        None, description="What the message is: `note`, `question`, `decision`… (any word)."
    )


class SendBody(PostBody):
    target: SendTarget = Field(
        description="`#channel`, `@agent`, `label:x`, `tag:x`, `cap:x` or `broadcast`."
    )


class EditBody(Body):
    model_config = ConfigDict(json_schema_extra=_any_of(_given("content"), _given("metadata")))

    content: Annotated[NonBlank, setting("maxLength", "max_content_bytes")] | None = None
    metadata: dict[str, Any] | None = None


ProjectName = Annotated[str, rule(pattern=names.PROJECT_RE.pattern)]
BranchName = Annotated[
    str,
    rule(
        minLength=1,
        maxLength=names.MAX_BRANCH,
        pattern=f"^[^{values.char_class(UNPRINTABLE + ' ~^:?*[')}\\\\]*$",
    ),
]
"""A git-like ref name; the core refuses the rest git does (``..``, ``@{``, ``.lock``…)."""
_CLEARS = '"" clears it'


class ChannelBody(Body):
    name: ChannelName
    visibility: ChannelVisibility = "public"
    topic: Annotated[str, MaxLen(Limits().max_topic_chars)] | None = None
    project: ProjectName | None = Field(
        None, description="The project it is about: 1-64 lowercase letters, digits and hyphens."
    )
    branch: BranchName | None = Field(
        None, description="The project's branch it is about: a git ref name (≤ 200 characters)."
    )


class ChannelChangeBody(Body):
    model_config = ConfigDict(
        json_schema_extra=_any_of(_given("topic"), _given("project"), _given("branch"))
    )

    topic: Annotated[str, MaxLen(Limits().max_topic_chars)] | None = Field(
        None, description=f"What it is for ({_CLEARS})."
    )
    project: Annotated[str, rule(pattern=f"^(?:{_inner(names.PROJECT_RE)})?$")] | None = Field(
        None, description=f"The project it is about ({_CLEARS})."
    )
    branch: Annotated[str, rule(maxLength=names.MAX_BRANCH)] | None = Field(
        None, description=f"The project's branch it is about, a git ref name ({_CLEARS})."
    )


class InviteBody(Body):
    agent: AgentName = Field(description="Name of the agent to add.")


class ChannelStatusBody(Body):
    status: (
        Annotated[
            str,
            rule(
                maxLength=MAX_CHANNEL_STATUS,
                pattern=f"^[^{values.char_class(UNPRINTABLE)}]*$",
            ),
        ]
        | None
    ) = Field(
        description="What I am doing in this channel, at most 200 printable characters; "
        "blank or null clears it."
    )


class PairBody(Body):
    target: PairTarget = Field(
        description="Who to pair with: `@agent`, or a `label:x`, `tag:x` or `cap:x` that "
        "matches exactly one agent (several: `409 ambiguous_target` with `candidates`)."
    )
    topic: Annotated[str, MaxLen(Limits().max_topic_chars)] | None = Field(
        None, description="What the session is about (also its channel's topic)."
    )
    message: Annotated[NonBlank, setting("maxLength", "max_content_bytes")] | None = Field(
        None,
        description="The invite's text, the session's first message (default: a line naming "
        "the inviter and the topic).",
    )


class CursorBody(Body):
    seq: Cursor = Field(description="Id of the last message read.")


class AckBody(Body):
    model_config = ConfigDict(json_schema_extra=_any_of(_given("ids", minItems=1), _given("up_to")))

    ids: list[Id] = Field(
        default_factory=list, max_length=Limits().max_page, description="Inbox item ids."
    )
    up_to: Cursor | None = Field(None, description="Acknowledge every item up to this id.")


class ProfileBody(Body):
    label: Annotated[str, rule(pattern=f"^(?:{LABEL})?$")] | None = Field(
        None, description='A label: a tag that may hold spaces ("test writer"; "" clears it).'
    )
    tags: list[Tag] | None = Field(None, max_length=Limits().max_tags)
    capabilities: list[Tag] | None = Field(None, max_length=Limits().max_tags)
    status: AgentStatus | None = None
    status_note: Annotated[str, MaxLen(200)] | None = None
    visibility: AgentVisibility | None = None
    runner: bool | None = Field(None, description="Mark the agent as an always-on runner (or not).")
    channels: list[ChannelName] | None = Field(
        None,
        max_length=Limits().max_tags,
        description="Channels to join in the same write: public ones, and general, global, "
        "project-* and tech-* (created if absent).",
    )


class HeartbeatBody(Body):
    status: AgentStatus | None = Field(None, description="Optionally set a status too.")
    note: Annotated[str, MaxLen(200)] | None = Field(
        None, description='Optionally set a status note ("" clears).'
    )


class KeyBody(Body):
    model_config = ConfigDict(
        json_schema_extra={
            "if": {"required": ["kind"], "properties": {"kind": {"const": "admin"}}},
            "then": {"properties": {"machine": {"type": "null"}}},
            "else": _given("machine"),
        }
    )

    kind: KeyKind = "machine"
    machine: MachineName | None = Field(
        None, description="The machine a machine key belongs to (an admin key has none)."
    )
    label: Annotated[str, MaxLen(200)] | None = None


class UserBody(Body):
    name: AgentName = Field(
        description="The user name: 2-64 lowercase letters, digits and hyphens."
    )
    password: Annotated[str, rule(minLength=MIN_PASSWORD, maxLength=MAX_PASSWORD)] = Field(
        description="8-256 characters; stored only as an argon2 hash."
    )
    admin: bool = Field(
        default=False,
        description="An admin human: on the dashboard it counts as an admin credential.",
    )


class AdminFlagBody(Body):
    admin: bool = Field(
        description="true: the user becomes an admin; false: it is one no longer (its "
        "dashboard sessions end)."
    )


class PasswordBody(Body):
    password: Annotated[str, rule(minLength=MIN_PASSWORD, maxLength=MAX_PASSWORD)] = Field(
        description="The new password, 8-256 characters."
    )


Lease = Annotated[float, rule(minimum=MIN_LEASE, maximum=MAX_LEASE)]
Priority = Annotated[int, Ge(-MAX_PRIORITY), Le(MAX_PRIORITY), WHOLE]
Title = Annotated[NonBlank, MaxLen(MAX_TITLE)]
LongText = Annotated[str, setting("maxLength", "max_content_bytes")]
CallbackUrl = Annotated[str, rule(pattern="^https?://[^ \\u0000]*$", maxLength=MAX_URL)]


class TaskBody(Body):
    model_config = ConfigDict(
        json_schema_extra={
            "if": _given("callback_secret"),
            "then": _given("callback_url"),
        }
    )

    title: Title = Field(description="One line, up to 200 characters, not blank.")
    target: TaskTarget = Field(description="`@agent`, `cap:x`, `tag:x` or `#channel`.")
    body: LongText = Field("", description="Markdown details (≤ 32 KiB).")
    priority: Priority = Field(0, description="Higher is claimed first.")
    labels: list[Tag] = Field(
        default_factory=list, max_length=Limits().max_tags, description="Free labels, like tags."
    )
    dedupe_key: Printable | None = Field(
        None, description="While a task of yours with this key is active, repeats bump it."
    )
    max_attempts: Annotated[int, Ge(1), Le(MAX_ATTEMPTS), WHOLE] = Field(
        3, description="Leases that may run out before the task fails."
    )
    lease_seconds: Lease = Field(600, description="A claim's lease, 1 s to 24 h.")
    due_at: Time | None = Field(None, description="When it should be done (informative).")
    callback_url: CallbackUrl | None = Field(
        None, description="Receives this task's events as signed webhooks."
    )
    callback_secret: Annotated[str, rule(minLength=1, maxLength=MAX_SECRET)] | None = Field(
        None, description="Signs the callbacks; never shown."
    )
    offer: bool = Field(True, description="Offer it: inbox items for the matching agents.")


class LeaseBody(Body):
    lease_seconds: Lease | None = Field(
        None, description="This claim's lease, 1 s to 24 h (default: the task's)."
    )


Wait = Annotated[float, Ge(0), setting("maximum", "max_wait_seconds")]


class ClaimNextBody(LeaseBody):
    wait: Wait = Field(0, description="Seconds to wait for a task if none is open.")


class FencedBody(Body):
    fence: Cursor = Field(description="The fencing token the claim returned.")


class RenewBody(FencedBody, LeaseBody):
    pass


class ProgressBody(FencedBody):
    model_config = ConfigDict(json_schema_extra=_any_of(_given("percent"), _given("note")))

    percent: Annotated[int, rule(minimum=0, maximum=100), WHOLE] | None = Field(
        None, description="0-100."
    )
    note: Annotated[str, rule(maxLength=MAX_NOTE)] | None = Field(
        None, description="What is happening (≤ 1000 characters)."
    )


class ResultBody(FencedBody):
    result: Any = Field(None, description="Any JSON, plain (integers within ±2^53), ≤ 32 KiB.")
    text: LongText | None = Field(None, description="The outcome in words (a reason, on failure).")


class CancelBody(Body):
    reason: Annotated[str, MaxLen(MAX_NOTE)] | None = Field(
        None, description="Why (≤ 1000 characters)."
    )


TargetPattern = Annotated[
    str, rule(pattern=f"^(?:\\*|{SEND_TARGET}|(?:#|@|cap:|tag:|label:){_PATTERN_STEM})$")
]
ChannelPattern = Annotated[str, rule(pattern=f"^#?(?:\\*|{CHANNEL}|{_PATTERN_STEM})$")]


class IntegrationBody(Body):
    name: AgentName = Field(
        description="The integration's name, also its agent's: 2-64 lowercase letters, digits "
        "and hyphens, not taken by any agent."
    )
    scopes: list[Annotated[str, rule(enum=list(SCOPES))]] = Field(
        default_factory=list,
        description="`tasks:create`, `tasks:read`, `tasks:update`, `messages:write`, "
        "`messages:read`, `metrics:read`, `a2a`.",
    )
    targets: Annotated[list[TargetPattern], rule(maxItems=MAX_PATTERNS)] = Field(
        default_factory=list,
        description="Targets it may address (tasks, sends): `#ops`, `cap:deploy`, `tag:*`, "
        "`@lap-*`, `*`.",
    )
    channels: Annotated[list[ChannelPattern], rule(maxItems=MAX_PATTERNS)] = Field(
        default_factory=list,
        description="Channels it may post to or read: `ops`, `alerts-*`, `*`.",
    )
    rate_limit: Annotated[float, rule(exclusiveMinimum=0, maximum=MAX_RATE)] = Field(
        20.0, description="Requests a second its token may make."
    )
    rate_burst: Annotated[float, rule(minimum=1, maximum=MAX_RATE)] = Field(
        40.0, description="Requests it may burst above the rate."
    )
    webhook_url: (
        Annotated[str, rule(pattern="^https?://[^\\u0000]*$", maxLength=MAX_URL)] | None
    ) = Field(None, description="http(s) URL that receives the events of the tasks it creates.")
    allow_private: bool = Field(
        False,
        description="Let the webhook reach addresses the hub otherwise refuses (loopback, "
        "private networks…; never a cloud metadata address): a receiver the admin vouches for.",
    )


class IntegrationEventBody(Body):
    model_config = ConfigDict(
        json_schema_extra={
            "if": {"properties": {"action": {"const": "trigger"}}},
            "then": {"allOf": [_given("title"), _given("target")]},
            "else": {"properties": {"target": {"type": "null"}, "due_at": {"type": "null"}}},
        }
    )

    action: IntegrationAction = Field(
        description="`trigger` creates (or bumps) the task, `update` changes it, `resolve` "
        "cancels it."
    )
    dedupe_key: Printable = Field(
        description="Names the task across events (alert, build, ticket)."
    )
    title: Title | None = Field(None, description="Task title (needed to trigger).")
    body: LongText | None = Field(None, description="Task body, Markdown.")
    target: TaskTarget | None = Field(
        None, description="`@agent`, `cap:x`, `tag:x` or `#channel` (needed to trigger)."
    )
    priority: Priority | None = Field(None, description="Higher first.")
    labels: list[Tag] | None = Field(None, max_length=Limits().max_tags, description="Labels.")
    due_at: Time | None = Field(None, description="When the task is due (trigger only).")


SessionId = Annotated[NonBlank, MinLen(1), MaxLen(200)]


class HookBody(Body):
    """The JSON a harness sends its hook, unchanged: every field is kept. The session is
    the first of ``session_id`` (Cursor: ``conversation_id``; Codex's notify: ``thread-id``;
    ``thread_id``; OpenCode: ``sessionID``) given."""

    model_config = ConfigDict(
        extra="allow",
        strict=True,
        allow_inf_nan=False,
        populate_by_name=True,
        json_schema_extra=_any_of(*(_given(name) for name in HOOK_SESSION_FIELDS)),
    )

    session_id: SessionId | None = Field(None, description="The harness's session id.")
    conversation_id: SessionId | None = Field(None, description="Cursor's session id.")
    thread: SessionId | None = Field(
        None, alias="thread-id", description="Codex's thread, in its notify payload."
    )
    thread_id: SessionId | None = Field(None, description="A thread id, where that names it.")
    sessionID: SessionId | None = Field(None, description="OpenCode's session id.")
    stop_hook_active: bool | None = Field(
        None, description="On stop: this stop follows a continuation a stop hook asked for."
    )
    loop_count: Cursor | None = Field(
        None, description="Cursor, on stop: how many follow-ups ran already."
    )

    @model_validator(mode="after")
    def _names_a_session(self) -> HookBody:
        named = (self.session_id, self.conversation_id, self.thread, self.thread_id, self.sessionID)
        if all(value is None for value in named):
            raise ValueError(f"the hook input names no session: {', '.join(HOOK_SESSION_FIELDS)}")
        return self


class NewsBody(Body):
    session: SessionId = Field(description="The tool session: an MCP session, a process…")
    shown_upto: Cursor | None = Field(
        None,
        description="A tool showed the session its inbox up to this item id: note that, and "
        "announce nothing.",
    )


class LinkBody(Body):
    ttl_seconds: Annotated[int, Ge(1), Le(MAX_TTL), WHOLE] = Field(
        DEFAULT_TTL, description="How long the link works, in seconds (at most a day)."
    )


# ---- query strings -----------------------------------------------------------------------


class Query(Body):
    """Base of query-string models: unknown parameters are an error too."""


Limit = Annotated[int, Ge(1), Le(Limits().max_page), WHOLE]
AgentFilter = Annotated[str, rule(pattern=f"^(?:me|@?{AGENT})$")]


class DeliveriesQuery(Query):
    status: DeliveryStatus | None = Field(None, description="Only deliveries in this state.")
    before: Id | None = Field(None, description="Only deliveries with a lower id.")
    limit: Limit = Field(50, description="How many deliveries.")


class A2ARemoteBody(Body):
    name: AgentName = Field(
        description="The remote agent's name in the hub: 2-64 lowercase letters, digits and "
        "hyphens, not taken by any agent."
    )
    url: Annotated[str, rule(pattern="^https?://[^\\u0000]*$", maxLength=MAX_URL)] = Field(
        description="The base URL of its Agent Card (`/.well-known/agent-card.json` below it), "
        "or the card's own URL. An admin's choice: it may be a private address."
    )
    token: (
        Annotated[
            str,
            rule(minLength=1, maxLength=4000, pattern="^[!-~]+$"),
        ]
        | None
    ) = Field(
        None,
        description="1-4000 visible ASCII characters, sent as `Authorization: Bearer …` with "
        "every request to it.",
    )
    label: Annotated[str, rule(pattern=f"^{LABEL}$")] | None = Field(
        None,
        description="Its label in the hub, a tag that may hold spaces (default: its card's "
        "name, lowercased, with what a label cannot hold as hyphens).",
    )


class A2AOutboxQuery(Query):
    status: Literal["pending", "sent", "skipped", "failed"] | None = Field(
        None, description="Only items in this state."
    )
    limit: Limit = Field(50, description="How many items.")


class PageQuery(Query):
    after: Cursor | None = Field(None, description="Only messages after this id.")
    before: Id | None = Field(None, description="Only messages before this id.")
    limit: Limit = Field(50, description="How many messages.")
    wait: Wait = Field(0, description="With `after`: seconds to wait for a post if there is none.")
    since: Time | None = Field(
        None, description="Only messages at or after this time; alone, pages forward from it."
    )
    until: Time | None = Field(None, description="Only messages at or before this time.")
    kind: MessageKind | None = Field(
        None, description="Only messages of this kind (with `wait`: waits for one)."
    )


class ThreadQuery(Query):
    kind: MessageKind | None = Field(None, description="Only replies of this kind.")


class HookWaitQuery(Query):
    session_id: SessionId = Field(description="The harness's session id.")
    wait: Wait = Field(0, description="Seconds to wait for a new item if there is none.")


class InboxQuery(Query):
    after: Cursor = Field(0, description="Only items after this id.")
    limit: Limit = Field(50, description="How many items.")
    include_acked: bool = Field(False, description="Include acknowledged items.")
    wait: Wait = Field(0, description="Seconds to wait for an item if there is none yet.")


def _listed(item: str) -> str:
    """A comma-separated list of ``item``, as the core splits it: blanks around items and
    empty items are dropped."""
    return f"^[{_SPACE},]*(?:{item}(?:[{_SPACE}]*,[{_SPACE},]*{item})*)?[{_SPACE},]*$"


class EventsQuery(Query):
    after: Cursor | None = Field(
        None, description="Replay events after this sequence (`Last-Event-ID` wins)."
    )
    channels: Annotated[str, rule(pattern=_listed(f"#?{CHANNEL_REF}"))] | None = Field(
        None, description="Comma-separated channels to follow only."
    )
    types: Annotated[str, rule(pattern=_listed(f"(?:{EVENT_TYPE.pattern})"))] | None = Field(
        None, description="Comma-separated event types or prefixes (`message`, `inbox.item`)."
    )
    kind: MessageKind | None = Field(
        None, description="Only message events of messages of this kind (others pass)."
    )


class RetentionBody(Body):
    retention_days: Annotated[float, Field(gt=0, le=36_500)] | None = Field(
        description="Days a message of this channel is kept (more than 0, at most 36,500); "
        "null: the hub's `message_retention_days`."
    )


class FirehoseQuery(Query):
    after: Cursor | None = Field(
        None, description="Replay events after this sequence (`Last-Event-ID` wins)."
    )
    types: Annotated[str, rule(pattern=_listed(f"(?:{EVENT_TYPE.pattern})"))] | None = Field(
        None, description="Comma-separated event types or prefixes (`message`, `task`)."
    )


_SOLID = f"[^\\u0000{_SPACE}]"


class SearchQuery(Query):
    q: Annotated[
        str,
        rule(
            pattern=f"^[{_SPACE}]*{_SOLID}(?:[^\\u0000]{{0,{MAX_QUERY - 2}}}{_SOLID})?[{_SPACE}]*$"
        ),
    ] = Field(description='Words to match; "a phrase" and prefix* work (≤ 500 characters).')
    channel: Annotated[str, rule(pattern=f"^#?{CHANNEL_REF}$")] | None = Field(
        None, description="Only this channel (or @agent DM)."
    )
    author: Annotated[str, rule(pattern=f"^@?{AGENT}$")] | None = Field(
        None, description="Only messages by this agent."
    )
    since: Time | None = Field(None, description="Only messages at or after this time.")
    until: Time | None = Field(None, description="Only messages at or before this time.")
    kind: MessageKind | None = Field(None, description="Only messages of this kind.")
    project: ProjectName | None = Field(
        None, description="Only messages in the channels of this project."
    )
    limit: Annotated[int, Ge(1), Le(100), WHOLE] = Field(20, description="How many hits.")


class AgentsQuery(Query):
    tag: Tag | None = Field(None, description="Only agents with this tag.")
    cap: Tag | None = Field(None, description="Only agents with this capability.")
    status: AgentStatus | None = Field(None, description="Only agents with this status.")
    machine: MachineName | None = Field(None, description="Only agents of this machine.")


class PairPageQuery(Query):
    after: Cursor | None = Field(None, description="Only messages after this id.")
    before: Id | None = Field(None, description="Only messages before this id.")
    limit: Limit = Field(50, description="How many messages.")
    wait: Wait = Field(0, description="With `after`: seconds to wait for a post if there is none.")


class PairsQuery(Query):
    state: PairState | None = Field(
        None, description="Only pairs in this state (an expired invite counts as `ended`)."
    )
    before: Id | None = Field(None, description="Only pairs with a lower id (older).")
    limit: Limit = Field(50, description="How many pairs.")


class ChannelsQuery(Query):
    include_archived: bool = Field(False, description="Include archived channels.")
    project: ProjectName | None = Field(None, description="Only the channels of this project.")
    kind: Literal["channel", "dm", "pair"] | None = Field(
        None, description="Only channels of this kind (default: `channel`)."
    )
    category: ChannelCategory | None = Field(
        None,
        description="Only channels of this category, from the name: `global` (`general`, "
        "`global`), `project` (`project-*`), `tech` (`tech-*`), `other`.",
    )


class ProjectsQuery(Query):
    include_archived: bool = Field(False, description="Count archived channels too.")


class TasksQuery(Query):
    status: TaskStatus | None = Field(None, description="Only tasks in this state.")
    target: TaskTarget | None = Field(None, description="Only tasks for this target.")
    holder: AgentFilter | None = Field(None, description="Only tasks held by this agent (or `me`).")
    created_by: AgentFilter | None = Field(
        None, description="Only tasks created by this agent (or `me`)."
    )
    label: Tag | None = Field(None, description="Only tasks with this label.")
    available: bool = Field(False, description="Only open tasks I could claim (not my own).")
    after: Cursor = Field(0, description="Only tasks after this id.")
    limit: Limit = Field(50, description="How many tasks.")


class HistoryQuery(Query):
    after: Cursor = Field(0, description="Only events after this sequence.")
    limit: Limit = Field(100, description="How many events.")


FileTarget = Annotated[str, rule(pattern=_padded(f"(?:#?{CHANNEL}|@{AGENT})"))]
Sha256 = Annotated[str, rule(pattern="^[0-9a-fA-F]{64}$")]


class UploadQuery(Query):
    to: FileTarget = Field(
        description="Where to share the file: `#channel` (or the bare name) or `@agent` (a DM)."
    )
    name: Annotated[str, MaxLen(1000)] | None = Field(
        None,
        description="The file name (a form's file part names its own): folders and control "
        "characters are dropped, and it is cut to 255 characters.",
    )
    message: LongText | None = Field(
        None,
        description="The text of the message that shares it (else one naming the file); a "
        "form's `message` field wins.",
    )
    sha256: Sha256 | None = Field(
        None, description="The content's SHA-256: the upload is refused if it differs."
    )


class FilesQuery(Query):
    channel: Annotated[str, rule(pattern=f"^#?{CHANNEL_REF}$")] | None = Field(
        None, description="Only files of this channel (or @agent DM)."
    )
    name: Annotated[str, MaxLen(255)] | None = Field(
        None, description="Only files whose name holds this text (any case)."
    )
    before: Id | None = Field(None, description="Only files with a lower id (older).")
    limit: Limit = Field(50, description="How many files.")


class SignedQuery(Query):
    expires: Annotated[int, Ge(0), Le(MAX_ID), WHOLE] = Field(
        description="When the link stops working, in seconds since the epoch."
    )
    signature: Annotated[str, MaxLen(200)] = Field(description="The hub's signature of the link.")


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    version: str
