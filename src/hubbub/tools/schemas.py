"""Portable JSON Schemas from pydantic models: the subset every tool format accepts.

One schema serves MCP, OpenAI, Anthropic and Gemini, so it uses only ``type``,
``properties``, ``required``, ``enum``, ``description``, ``items``,
``additionalProperties: false``, ``default`` and ``minimum``/``maximum``. References are
inlined, ``X | None`` becomes ``X`` (and the field is not required: a result never carries
``null``, it leaves the field out), titles and formats are dropped. A model that needs more
(a union of two types, a free-form mapping) raises :class:`SchemaError` when its schema is
built, which the tests do for every tool.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

Mode = Literal["input", "output"]

# Annotations and constraints pydantic emits that the subset has no room for; pydantic still
# enforces the constraints when it validates the arguments.
DROPPED = frozenset(
    {"title", "format", "examples", "minLength", "maxLength", "pattern", "minItems", "maxItems"}
)
KEPT = frozenset({"description", "default", "minimum", "maximum"})


class SchemaError(TypeError):
    """A model cannot be expressed in the portable subset."""


def portable(model: type[BaseModel], mode: Mode = "input") -> dict[str, Any]:
    """The model's JSON Schema in the portable subset. Input schemas require what the model
    requires; output schemas require every field that is never ``None``."""
    raw = model.model_json_schema(mode="validation" if mode == "input" else "serialization")
    defs = raw.pop("$defs", {})
    # The tool's description says what the arguments are for; the docstring would repeat it.
    raw.pop("description", None)
    return _node(raw, defs, mode, model.__name__)


def _node(node: dict[str, Any], defs: dict[str, Any], mode: Mode, where: str) -> dict[str, Any]:
    node = _resolve(node, defs, where)
    node, _ = _unwrap_nullable(node, defs, where)
    kind = node.get("type")
    out: dict[str, Any] = {}
    if "const" in node:
        out["enum"] = [node["const"]]
    if "enum" in node:
        out["enum"] = list(node["enum"])
        if kind is None:
            kind = _enum_type(node["enum"], where)
    if isinstance(kind, list):
        raise SchemaError(f"{where}: a field of several types {kind} is not portable")
    if kind is not None:
        out["type"] = kind
    for key, value in node.items():
        if key in KEPT:
            # A default is "not given" when null, and means nothing in a result; a result's
            # fields are explained by the tool's description and text, not in every schema
            # (which would cost the model's context for each message shape it repeats).
            if value is not None and not (mode == "output" and key in {"default", "description"}):
                out[key] = value
        elif key in DROPPED or key in {"type", "enum", "const", "properties", "required"}:
            continue
        elif key == "items":
            out["items"] = _node(value, defs, mode, f"{where}[]")
        elif key == "additionalProperties":
            if value is not False:
                raise SchemaError(f"{where}: a free-form mapping is not portable")
        else:
            raise SchemaError(f"{where}: the keyword {key!r} is not portable")
    if kind == "object":
        out.update(_object(node, defs, mode, where))
    elif kind is None:
        raise SchemaError(f"{where}: a field without a type is not portable")
    return out


def _object(node: dict[str, Any], defs: dict[str, Any], mode: Mode, where: str) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    required: list[str] = []
    declared = set(node.get("required", []))
    for name, child in node.get("properties", {}).items():
        _, nullable = _unwrap_nullable(_resolve(child, defs, where), defs, where)
        properties[name] = _node(child, defs, mode, f"{where}.{name}")
        if mode == "input" and name in declared and not nullable:
            required.append(name)
        if mode == "output" and not nullable:
            required.append(name)
    shape: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        shape["required"] = required
    if mode == "input":
        # Arguments are closed (strict modes need it); results are the hub's own output.
        shape["additionalProperties"] = False
    return shape


def _resolve(node: dict[str, Any], defs: dict[str, Any], where: str) -> dict[str, Any]:
    """Inline a ``$ref`` (keeping the referring node's description and default)."""
    ref = node.get("$ref")
    if ref is None:
        return node
    target = defs.get(ref.rsplit("/", 1)[-1])
    if target is None:
        raise SchemaError(f"{where}: unresolvable reference {ref}")
    extra = {k: v for k, v in node.items() if k != "$ref"}
    # A nested model's docstring is for readers of the code; only the field's own
    # description is worth a model's tokens.
    inlined = {k: v for k, v in _resolve(target, defs, where).items() if k != "description"}
    return {**inlined, **extra}


def _unwrap_nullable(
    node: dict[str, Any], defs: dict[str, Any], where: str
) -> tuple[dict[str, Any], bool]:
    """``anyOf: [X, null]`` becomes ``X`` and reports that the field was nullable."""
    for key in ("anyOf", "oneOf", "allOf"):
        if key not in node:
            continue
        options = [option for option in node[key] if option.get("type") != "null"]
        nullable = len(options) < len(node[key])
        if len(options) != 1 or (key == "allOf" and nullable):
            raise SchemaError(f"{where}: a union ({key}) is not portable")
        extra = {k: v for k, v in node.items() if k != key}
        merged = {**_resolve(options[0], defs, where), **extra}
        return merged, nullable
    return node, False


def _enum_type(values: list[Any], where: str) -> str:
    kinds = {type(value) for value in values}
    if kinds == {str}:
        return "string"
    if kinds == {int}:
        return "integer"
    raise SchemaError(f"{where}: an enum of mixed or unsupported values is not portable")
