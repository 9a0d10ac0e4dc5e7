"""Read scenario files: TOML, ``extends`` inheritance, validation once, one-line errors."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from sim.errors import ScenarioError
from sim.scenario.model import Scenario
from sim.scenario.types import UNION_TAGS

TABLE_KEYS = ("data",)
"""Sections whose string values name tables; paths in them are relative to their file."""


def _read_toml(path: Path, key_in_child: str | None, child: Path | None) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        if child is None:
            raise ScenarioError(path, None, None, "file not found") from None
        raise ScenarioError(
            child, key_in_child, str(path), "extends a file that does not exist"
        ) from None
    except IsADirectoryError:
        raise ScenarioError(path, None, None, "is a directory, not a TOML file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(path, None, None, f"not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ScenarioError(path, None, None, "not UTF-8 text") from None


def _merge(
    base: dict[str, Any], top: dict[str, Any], origin: dict[str, Path], file: Path, prefix: str = ""
) -> dict[str, Any]:
    """Deep merge ``top`` over ``base``; tables merge key by key, anything else replaces.
    Year tables (keys that are years) replace whole, so a child's path is not mixed
    with its parent's."""
    out = dict(base)
    for key, value in top.items():
        dotted = f"{prefix}{key}"
        is_year_table = isinstance(value, dict) and value and all(k.isdigit() for k in value)
        if isinstance(value, dict) and isinstance(out.get(key), dict) and not is_year_table:
            out[key] = _merge(out[key], value, origin, file, dotted + ".")
        else:
            out[key] = copy.deepcopy(value)
            origin[dotted] = file
    return out


def _resolve_tables(raw: dict[str, Any], file: Path) -> None:
    for section in TABLE_KEYS:
        table = raw.get(section)
        if not isinstance(table, dict):
            continue
        for key, value in table.items():
            if isinstance(value, str) and value.endswith(".csv"):
                table[key] = str((file.parent / value).resolve())


def read_layers(path: Path) -> tuple[dict[str, Any], dict[str, Path]]:
    """Raw merged mapping of a scenario file and the files it extends, and for each
    dotted key the file that set it (for error messages)."""
    chain: list[tuple[Path, dict[str, Any]]] = []
    seen: list[Path] = []
    current: Path | None = path.resolve()
    child: Path | None = None
    while current is not None:
        if current in seen:
            cycle = " -> ".join(p.name for p in [*seen, current])
            raise ScenarioError(
                child or path, "extends", current.name, f"inheritance cycle: {cycle}"
            )
        seen.append(current)
        raw = _read_toml(current, "extends", child)
        _resolve_tables(raw, current)
        chain.append((current, raw))
        parent = raw.pop("extends", None)
        if parent is None:
            break
        if not isinstance(parent, str) or not parent.endswith(".toml"):
            raise ScenarioError(
                current, "extends", parent, "must be the path of another .toml file"
            )
        child, current = current, (current.parent / parent).resolve()
    merged: dict[str, Any] = {}
    origin: dict[str, Path] = {}
    for file, raw in reversed(chain):
        merged = _merge(merged, raw, origin, file)
    return merged, origin


def _lookup(raw: dict[str, Any], parts: list[str]) -> tuple[bool, Any]:
    node: Any = raw
    for part in parts:
        if isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return False, None
    return True, node


def _owner(origin: dict[str, Path], parts: list[str], default: Path) -> Path:
    for n in range(len(parts), 0, -1):
        key = ".".join(parts[:n])
        if key in origin:
            return origin[key]
    return default


def translate(
    exc: ValidationError, raw: dict[str, Any], origin: dict[str, Path], default_file: Path
) -> ScenarioError:
    """Turn pydantic's first error into the one-line ScenarioError."""
    err = exc.errors(include_url=False)[0]
    parts = [str(p) for p in err["loc"] if str(p) not in UNION_TAGS]
    ctx = err.get("ctx") or {}
    if err["type"] == "cross_field":
        parts = [*parts, *str(ctx["key"]).split(".")]
    found, value = _lookup(raw, parts)
    file = _owner(origin, parts, default_file)
    key = ".".join(parts) or None
    if err["type"] == "extra_forbidden":
        parent_parts = parts[:-1]
        allowed = _allowed_keys(parent_parts)
        return ScenarioError(file, key, value, f"unknown key; allowed here: {allowed}")
    if err["type"] == "missing":
        return ScenarioError(file, key, None, "is required but missing")
    message = str(err["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    if not found and "value" in ctx:
        value = ctx["value"]
    return ScenarioError(file, key, value if found or "value" in ctx else err.get("input"), message)


def _allowed_keys(parts: list[str]) -> str:
    from pydantic import BaseModel

    model: type[BaseModel] = Scenario
    for part in parts:
        field = model.model_fields.get(part)
        ann = getattr(field, "annotation", None)
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            model = ann
        else:
            return "(a distribution table: dist, mean, sd, low, mode, high)"
    return ", ".join(sorted(model.model_fields))


def load(path: str | Path, **overrides: Any) -> Scenario:
    """Load, merge and validate a scenario file. Raises :class:`ScenarioError`."""
    file = Path(path)
    raw, origin = read_layers(file)
    if overrides:
        raw = _merge(raw, overrides, origin, file)
    if "name" not in raw:
        raw["name"] = file.stem.lower().replace(" ", "_")
    try:
        return Scenario.model_validate(raw)
    except ValidationError as exc:
        raise translate(exc, raw, origin, file.resolve()) from None


def load_dict(raw: dict[str, Any], *, file: str = "<dict>") -> Scenario:
    """Validate a scenario given as a mapping (e.g. a sweep point)."""
    try:
        return Scenario.model_validate(raw)
    except ValidationError as exc:
        raise translate(exc, raw, {}, Path(file)) from None
