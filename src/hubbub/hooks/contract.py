"""The hook contract as the relay sees it: events, harnesses, routes, limits and exit codes."""

from __future__ import annotations

EVENTS = ("session-start", "prompt", "stop", "session-end", "tool", "wake", "notify")
HARNESSES = ("claude", "codex", "gemini", "opencode", "cursor")
DEFAULT_HARNESS = "claude"

# The event whose JSON arrives as the last argument (Codex's ``notify``), not on stdin.
ARGUMENT_EVENT = "notify"
# The idle waiter: it long-polls and exits WAKE_EXIT with the news on stderr.
WAKE_EVENT = "wake"
# Where a harness's hook input names its session, in the order they are tried.
SESSION_FIELDS = ("session_id", "conversation_id", "thread-id", "thread_id", "sessionID")

HOOK_ROUTE = "/api/v1/hooks/{harness}/{event}"
WAIT_ROUTE = "/api/v1/hooks/{harness}/wait"

TEXT_CAP = 10_000  # characters a harness adds to the model's context whole
WAIT_MAX_SECONDS = 50  # the longest one wait request may block on the hub
DEFAULT_LIFE_SECONDS = 600  # Claude Code's default hook timeout
LIFE_MARGIN_SECONDS = 5  # the waiter ends this long before the harness would kill it
RUNNER_ENV = "HUBBUB_RUNNER"  # set by the always-on runner: every hook stands down

EXIT_OK = 0  # answered, nothing to say, the hub down, or standing down
EXIT_ERROR = 1  # bad input or a refusal: a non-blocking error in every harness
EXIT_WAKE = 2  # the waiter's news on stderr (Claude Code's asyncRewake wakes the session)
