"""What setup adds to a structured file, as data: a value under a key, or an item in a list.

Adding and taking out work on parsed documents (JSON objects, TOML tables) and never touch
anything else: a key the user set to something else is kept, and so is an item of ours the
user edited since.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hubbub.core.errors import InvalidInput

Document = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Entry:
    """``value`` under ``key`` of the table at ``path``, or, with ``key`` None, one item of the
    list at ``path``. An ``anchor`` (a format marker such as ``"version": 1``) is taken out only
    when nothing else is left beside it."""

    path: tuple[str, ...]
    key: str | None
    value: Any
    anchor: bool = False

    def describe(self) -> str:
        """A short name for messages: ``mcpServers.hubbub`` or ``hooks.Stop[+]``."""
        where = ".".join(self.path)
        if self.key is None:
            return f"{where}[+]"
        return f"{where}.{self.key}" if where else self.key

    def to_json(self) -> dict[str, Any]:
        """The entry as recorded."""
        return {
            "path": list(self.path),
            "key": self.key,
            "value": self.value,
            "anchor": self.anchor,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Entry:
        """An entry from its record."""
        return cls(tuple(data["path"]), data["key"], data["value"], bool(data.get("anchor")))


@dataclass(slots=True)
class Outcome:
    """What an add or take-out did: the entries changed and the ones left alone, with why."""

    changed: list[Entry] = field(default_factory=list)
    kept: list[tuple[Entry, str]] = field(default_factory=list)


def _container(document: Document, entry: Entry, *, create: bool) -> Any:
    """The table (or list) ``entry`` lives in; None when it does not exist and may not be made."""
    node: Any = document
    names = entry.path if entry.key is not None else entry.path[:-1]
    for depth, name in enumerate(names):
        if not isinstance(node, dict):
            raise _shape(entry, entry.path[:depth])
        if name not in node:
            if not create:
                return None
            _put_first(node, name, {})
        node = node[name]
    if not isinstance(node, dict):
        raise _shape(entry, names)
    if entry.key is not None:
        return node
    last = entry.path[-1]
    if last not in node:
        if not create:
            return None
        _put_first(node, last, [])
    if not isinstance(node[last], list):
        raise _shape(entry, entry.path)
    return node[last]


def _shape(entry: Entry, where: tuple[str, ...]) -> InvalidInput:
    kind = "a list" if entry.key is None and where == entry.path else "a table"
    return InvalidInput(
        f"{'.'.join(where) or 'the top level'} is not {kind} as expected",
        code="setup_unknown_shape",
    )


def add(document: Document, entries: list[Entry], previous: list[Entry]) -> Outcome:
    """Add each entry that is missing. An entry setup wrote before (in ``previous``) and the
    user left alone is brought up to date; anything else already there is kept."""
    outcome = Outcome()
    for entry in reversed(entries):  # each new key goes first: reversed, they end in order
        container = _container(document, entry, create=True)
        before = next((p for p in previous if same_place(p, entry)), None)
        if entry.key is not None:
            if entry.key not in container:
                _put_first(container, entry.key, entry.value)
                outcome.changed.append(entry)
            elif container[entry.key] == entry.value:
                continue
            elif entry.anchor:
                raise InvalidInput(
                    f"{entry.describe()} is {container[entry.key]!r}; setup knows only "
                    f"{entry.value!r}",
                    code="setup_unknown_shape",
                )
            elif before is not None and container[entry.key] == before.value:
                container[entry.key] = entry.value
                outcome.changed.append(entry)
            else:
                outcome.kept.append((entry, "already set to something else; left as it is"))
        elif entry.value in container:
            continue
        elif before is not None and before.value in container:
            container[container.index(before.value)] = entry.value
            outcome.changed.append(entry)
        else:
            container.append(entry.value)
            outcome.changed.append(entry)
    outcome.changed.reverse()
    outcome.kept.reverse()
    return outcome


def _put_first(table: dict[str, Any], key: str, value: Any) -> None:
    """Insert ``key`` first: the lines before it stay as they were, so the change is an
    insertion alone and undoing it copies none of the user's lines."""
    rest = list(table.items())
    table.clear()
    table[key] = value
    table.update(rest)


def same_place(one: Entry, other: Entry) -> bool:
    """Whether two entries are the same setting (an older and a newer value of it)."""
    if one.path != other.path or one.key != other.key:
        return False
    if one.key is not None:
        return True
    return bool(_signature(one.value) == _signature(other.value))


def _signature(item: Any) -> Any:
    """What identifies a list item of ours across versions: its command, or itself."""
    if isinstance(item, dict):
        for name in ("command", "url"):
            if isinstance(item.get(name), str):
                return item[name].split(" --")[0]
        hooks = item.get("hooks")
        if isinstance(hooks, list) and hooks:
            return _signature(hooks[0])
    return item


def remove(document: Document, entries: list[Entry]) -> Outcome:
    """Take out each entry that is still exactly as setup wrote it, then any table or list it
    leaves empty; anchors go last, and only when nothing but anchors is left beside them."""
    outcome = Outcome()
    for entry in sorted(entries, key=lambda e: e.anchor):
        container = _container(document, entry, create=False)
        if container is None:
            continue
        if entry.key is not None:
            if entry.key not in container:
                continue
            if container[entry.key] != entry.value:
                outcome.kept.append((entry, "changed since setup wrote it; left as it is"))
                continue
            if entry.anchor and any(k != entry.key for k in container):
                continue
            del container[entry.key]
        elif entry.value in container:
            container.remove(entry.value)
        else:
            if any(_signature(i) == _signature(entry.value) for i in container):
                outcome.kept.append((entry, "changed since setup wrote it; left as it is"))
            continue
        outcome.changed.append(entry)
        _prune(document, entry.path)
    return outcome


def _prune(document: Document, path: tuple[str, ...]) -> None:
    """Drop the empty tables and lists along ``path``, deepest first."""
    for depth in range(len(path), 0, -1):
        node: Any = document
        for name in path[: depth - 1]:
            node = node.get(name) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            return
        value = node.get(path[depth - 1])
        if isinstance(value, dict | list) and not value:
            del node[path[depth - 1]]
        else:
            return


def present(document: Document, entry: Entry) -> bool:
    """Whether ``entry`` is in the document exactly as setup writes it."""
    try:
        container = _container(document, entry, create=False)
    except InvalidInput:
        return False
    if container is None:
        return False
    if entry.key is not None:
        return bool(container.get(entry.key) == entry.value)
    return bool(entry.value in container)
