"""Layer rules and the public API: ``core`` imports no framework, driver or adapter, and
``hubbub`` exports exactly what it promises."""

from __future__ import annotations

import ast
import importlib.metadata
import subprocess
import sys
from pathlib import Path

import pytest

import hubbub
import hubbub.core
import hubbub.server

CORE = Path(hubbub.core.__file__).parent
FORBIDDEN = (
    "fastapi",
    "starlette",
    "uvicorn",
    "sqlite3",
    "httpx",
    "typer",
    "rich",
    "mcp",
    "sqlalchemy",
    "asyncpg",
    "psycopg",
    "hubbub.server",
    "hubbub.store",
    "hubbub.cli",
)


def module_name(path: Path) -> str:
    """``hubbub.core.x`` for ``.../hubbub/core/x.py`` (packages name their ``__init__``)."""
    parts = path.relative_to(CORE.parent.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(source: str, module: str, is_package: bool = False) -> set[str]:
    """Every module ``source`` imports, statically or through ``importlib``/``__import__``
    with a literal name; relative imports are resolved against ``module``."""
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first = node.args[0]
            if name in ("import_module", "__import__") and isinstance(first, ast.Constant):
                found.add(str(first.value))
    return found


def forbidden(names: set[str]) -> set[str]:
    return {n for n in names if any(n == f or n.startswith(f + ".") for f in FORBIDDEN)}


def core_modules() -> list[Path]:
    return sorted(CORE.rglob("*.py"))


def test_core_has_modules_to_check() -> None:
    names = {module_name(p) for p in core_modules()}
    assert {"hubbub.core", "hubbub.core.messages", "hubbub.core.store"} <= names
    assert len(names) >= 10


@pytest.mark.parametrize("path", core_modules(), ids=module_name)
def test_core_imports_no_framework_driver_or_adapter(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    found = imports_of(source, module_name(path), path.name == "__init__.py")
    assert not forbidden(found), f"{module_name(path)} imports {sorted(forbidden(found))}"


@pytest.mark.parametrize(
    ("source", "culprit"),
    [
        ("import sqlite3", "sqlite3"),
        ("import fastapi.routing as r", "fastapi.routing"),
        ("from starlette.responses import Response", "starlette.responses"),
        ("from hubbub import server", "hubbub.server"),
        ("from hubbub.store.sqlite import SqliteStore", "hubbub.store.sqlite"),
        ("from ..cli import app", "hubbub.cli"),
        ("from .. import store", "hubbub.store"),
        ("import importlib\nimportlib.import_module('httpx')", "httpx"),
        ("def f():\n    import rich.console", "rich.console"),
        ("import richer\nfrom hubbub.core import names\nfrom . import errors", None),
        ("from hubbub.servers import x\nimport typeright", None),
    ],
)
def test_the_boundary_check_catches_what_it_should(source: str, culprit: str | None) -> None:
    found = forbidden(imports_of(source, "hubbub.core.example"))
    if culprit is None:
        assert not found
    else:
        assert culprit in found


def test_importing_all_of_core_loads_no_forbidden_module() -> None:
    script = (
        "import pkgutil, sys, importlib, hubbub.core\n"
        "for m in pkgutil.walk_packages(hubbub.core.__path__, 'hubbub.core.'):\n"
        "    importlib.import_module(m.name)\n"
        "print('\\n'.join(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=30
    )
    loaded = set(done.stdout.split())
    assert "hubbub.core.messages" in loaded
    assert not forbidden(loaded)


def test_hubbub_exports_exactly_its_public_api() -> None:
    assert hubbub.__all__ == [
        "AsyncClient",
        "BadRequest",
        "Client",
        "Conflict",
        "Forbidden",
        "HubbubError",
        "InvalidInput",
        "NotFound",
        "RateLimited",
        "TooLarge",
        "Unauthorized",
        "Unavailable",
        "__version__",
    ]
    for name in hubbub.__all__:
        assert hasattr(hubbub, name), name


def test_the_exported_errors_are_one_tree() -> None:
    clients = {"AsyncClient", "Client"}
    for name in hubbub.__all__:
        value = getattr(hubbub, name)
        if isinstance(value, type) and name not in clients:
            assert issubclass(value, hubbub.HubbubError)


def test_the_server_package_exports_the_app_factory() -> None:
    assert hubbub.server.__all__ == ["create_app"]


def test_the_version_matches_the_installed_distribution() -> None:
    assert hubbub.__version__ == importlib.metadata.version("hubbub")
