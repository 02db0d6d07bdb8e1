"""Every harness setup knows, by name."""

from __future__ import annotations

from hubbub.setup import claude, codex, cursor, gemini, opencode
from hubbub.setup.harness import Harness

HARNESSES: dict[str, Harness] = {
    module.HARNESS.name: module.HARNESS for module in (claude, codex, gemini, opencode, cursor)
}
