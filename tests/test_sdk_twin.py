"""The SDK's shape: the sync client is exactly what ``scripts/unasync.py`` makes of the async
one, both offer every operation, and the public names are pinned."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import hubbub.client
from hubbub.client import AsyncClient, Client
from hubbub.client import operations as ops

ROOT = Path(__file__).resolve().parent.parent
NOT_OPERATIONS = {"error_from", "stream_params", "is_own_profile", "with_profile"}


def public_methods(cls: type) -> set[str]:
    return {name for name, _ in inspect.getmembers(cls, inspect.isfunction) if name[0] != "_"}


def test_the_sync_client_is_generated_from_the_async_one() -> None:
    check = subprocess.run(
        [sys.executable, "scripts/unasync.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert check.returncode == 0, check.stderr


def test_both_clients_carry_every_operation() -> None:
    operations = {
        name
        for name, function in inspect.getmembers(ops, inspect.isfunction)
        if function.__module__ == ops.__name__ and name[0] != "_"
    } - NOT_OPERATIONS
    assert operations <= public_methods(AsyncClient)
    assert public_methods(Client) == public_methods(AsyncClient) - {"aclose"} | {"close"}


def test_the_guide_names_every_method() -> None:
    guide = (ROOT / "docs" / "sdk.md").read_text(encoding="utf-8")
    missing = {name for name in public_methods(AsyncClient) if f"`{name}(" not in guide}
    assert not missing - {"call", "aclose"}, f"docs/sdk.md does not name: {sorted(missing)}"


def test_the_public_api_is_pinned() -> None:
    assert hubbub.client.__all__ == ["AsyncClient", "Client", "ClientSettings"]
    for name in hubbub.client.__all__:
        assert getattr(hubbub.client, name).__module__.startswith("hubbub.client.")
