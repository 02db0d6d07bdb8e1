"""Docs that cannot rot: the generated pages match the code, and every error code is listed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hubbub import docgen
from hubbub.core.errors import ERROR_CLASSES, HubbubError

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SOURCE = ROOT / "src" / "hubbub"
CODE_LITERAL = re.compile(r'\bcode="([a-z][a-z0-9_]*)"')
DOCUMENTED_CODE = re.compile(r"`([a-z][a-z0-9_]*)`")


def codes_in_source() -> set[str]:
    """Every ``code="…"`` literal in the package's source."""
    found: set[str] = set()
    for path in SOURCE.rglob("*.py"):
        found.update(CODE_LITERAL.findall(path.read_text(encoding="utf-8")))
    return found


@pytest.mark.parametrize("page", sorted(docgen.PAGES))
def test_generated_page_is_current(page: str) -> None:
    path = DOCS / page
    assert path.exists(), f"docs/{page} is missing: run `make docs`"
    expected = docgen.PAGES[page]()
    assert path.read_text(encoding="utf-8") == expected, f"docs/{page} is stale: run `make docs`"


def test_cli_page_reaches_subcommands() -> None:
    paths = list(docgen.command_paths())
    assert [] in paths
    assert ["serve"] in paths
    assert ["keys", "create"] in paths
    for path in paths:
        assert " ".join(["Usage: hubbub", *path]) in docgen.help_text(path)


def test_every_error_code_is_documented() -> None:
    used = codes_in_source()
    assert "channel_not_found" in used, 'the scan for code="…" literals found nothing'
    classes: list[type[HubbubError]] = [HubbubError, *ERROR_CLASSES]
    used |= {cls.default_code for cls in classes}
    documented = set(DOCUMENTED_CODE.findall((DOCS / "errors.md").read_text(encoding="utf-8")))
    missing = sorted(used - documented)
    assert not missing, f"docs/errors.md does not list: {', '.join(missing)}"
