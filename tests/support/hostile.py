"""Hostile input, made per field from a request model, so a test covers every field of its class.

A test of one example ("a NUL in the title") proves little about the next field someone adds; these
helpers walk a pydantic model's JSON schema and list every string field (free text, codes, ids,
dates), so a class test is parametrised over all of them and grows with the model.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

__all__ = [
    "CLASS_SCRIPTS",
    "LONE_SURROGATE",
    "NUL",
    "StringField",
    "non_ascii_variants",
    "raw_json",
    "string_fields",
    "with_value",
]

NUL = "\x00"
#: What a JSON body can carry (`"\ud800"`) but no UTF-8 encoder can write.
LONE_SURROGATE = "\ud800"

_FULLWIDTH = {c: chr(ord(c) - 0x21 + 0xFF01) for c in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"}
_DIGITS = {
    "arabic-indic": "٠١٢٣٤٥٦٧٨٩",
    "devanagari": "०१२३४५६७८९",
}
#: The scripts class tests use for every code field (fullwidth changes letters too); all three for TINs.
CLASS_SCRIPTS = ("fullwidth", "arabic-indic")


@dataclass(frozen=True)
class StringField:
    """A string leaf of a request body: its dotted path (as a 422 names it) and whether it is a code.

    A code has a pattern or a format (TIN, HS code, currency, decimal strings, dates): ASCII only.
    """

    path: str
    code: bool


def _resolve(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = defs[node["$ref"].rsplit("/", 1)[-1]]
    return node


def _leaves(node: dict[str, Any], defs: dict[str, Any], path: str) -> list[StringField]:
    node = _resolve(node, defs)
    if "enum" in node or "const" in node:
        return []
    options = node.get("anyOf") or node.get("oneOf")
    if options:
        found: dict[str, StringField] = {}
        for option in options:
            for leaf in _leaves(option, defs, path):
                found[leaf.path] = StringField(leaf.path, leaf.code or found.get(leaf.path, leaf).code)
        return list(found.values())
    kind = node.get("type")
    if kind == "string":
        return [StringField(path, code="pattern" in node or node.get("format") in {"date", "date-time"})]
    if kind == "object" and "properties" in node:
        out: list[StringField] = []
        for name, child in node["properties"].items():
            out += _leaves(child, defs, f"{path}.{name}" if path else name)
        return out
    if kind == "array" and isinstance(node.get("items"), dict):
        return _leaves(node["items"], defs, f"{path}.0")
    return []


def string_fields(model: type[BaseModel]) -> list[StringField]:
    """Every string leaf of `model`'s request body (nested models and list items included)."""
    schema = model.model_json_schema()
    return _leaves(schema, schema.get("$defs", {}), "")


def with_value(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of `body` with the leaf at dotted `path` set (a list index as a number)."""
    out = copy.deepcopy(body)
    parts = path.split(".")
    node: Any = out
    for i, part in enumerate(parts[:-1]):
        key: Any = int(part) if part.isascii() and part.isdigit() else part
        if isinstance(node, dict) and key not in node:
            node[key] = [] if parts[i + 1].isdigit() else {}
        if isinstance(node, list) and key >= len(node):
            node.append({})
        node = node[key]
    last: Any = int(parts[-1]) if parts[-1].isascii() and parts[-1].isdigit() else parts[-1]
    if isinstance(node, list):
        if last < len(node):
            node[last] = value
        else:
            node.append(value)
    else:
        node[last] = value
    return out


def value_at(body: dict[str, Any], path: str) -> Any:
    node: Any = body
    for part in path.split("."):
        node = node[int(part)] if isinstance(node, list) else node.get(part) if isinstance(node, dict) else None
        if node is None:
            return None
    return node


def non_ascii_variants(value: str) -> dict[str, str]:
    """`value` with its ASCII digits (and, fullwidth, letters) written in other scripts: each looks like a
    valid code to a reader and to `\\d`, `str.isdigit`, `int()` and `Decimal()`, but is not ASCII."""
    variants = {"fullwidth": "".join(_FULLWIDTH.get(c, c) for c in value)}
    for script, digits in _DIGITS.items():
        variants[script] = "".join(digits[int(c)] if c.isascii() and c.isdigit() else c for c in value)
    return {name: v for name, v in variants.items() if v != value}


def raw_json(body: Any) -> bytes:
    """`body` as JSON bytes that may carry a lone surrogate (as a `\\ud800` escape, as a client can)."""
    return json.dumps(body, ensure_ascii=True).encode()
