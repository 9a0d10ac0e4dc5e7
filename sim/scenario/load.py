"""Read scenario files: TOML, ``extends`` inheritance, validation once, one-line errors."""

from __future__ import annotations

import copy
import json
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from sim.base.errors import ScenarioError, read_user_text, resolved
from sim.scenario.draw import check_drawn
from sim.scenario.model import Scenario
from sim.scenario.types import DRAWN_CONTEXT, UNION_TAGS

TABLE_KEYS = ("data",)
"""Sections whose string values name tables; paths in them are relative to their file."""


MAX_NESTING = 16
"""Deepest nesting of arrays and tables in a scenario or sweep file; the scenario
models nest at most five levels (``demand.x.y = {2030 = {dist = ...}}``), and a deeper
file would otherwise exhaust the stack of the parser or of the merge."""


def read_toml(path: Path, missing: ScenarioError | None = None) -> dict[str, Any]:
    """The mapping of a TOML file, read by :func:`sim.base.errors.read_user_text` (``missing``
    is raised for an absent file), nested at most :data:`MAX_NESTING` levels."""
    text = read_user_text(path, "TOML", missing)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(path, None, None, f"not valid TOML: {exc}") from None
    except RecursionError:
        raise ScenarioError(path, None, None, _too_deep()) from None
    except ValueError as exc:  # an integer of more than 4,300 digits (int's own limit)
        raise ScenarioError(path, None, None, f"not valid TOML: {_digits(exc)}") from None
    _check_nesting(path, raw)
    return raw


def _digits(exc: ValueError) -> str:
    """Why tomllib raised ValueError, said without Python's advice on its int limit."""
    return "a number too long to read (more than 4,300 digits)" if "4300" in str(exc) else str(exc)


def _too_deep() -> str:
    return f"arrays or tables nested too deeply: at most {MAX_NESTING} levels"


def _check_nesting(path: Path, raw: dict[str, Any]) -> None:
    """Raise naming the first key whose value nests deeper than :data:`MAX_NESTING`
    (walked with a stack, not recursion, for the same reason)."""
    stack: list[tuple[str, Any, int]] = [(key, value, 1) for key, value in raw.items()]
    while stack:
        key, value, depth = stack.pop()
        if depth > MAX_NESTING:
            head = ".".join(key.split("[")[0].split(".")[:2])  # the section and key
            raise ScenarioError(path, head, f"<{depth} levels deep>", _too_deep())
        if isinstance(value, dict):
            stack += [(f"{key}.{k}", v, depth + 1) for k, v in value.items()]
        elif isinstance(value, list):
            stack += [(f"{key}[{i}]", v, depth + 1) for i, v in enumerate(value)]


def _read_layer(path: Path, child: Path | None) -> dict[str, Any]:
    """One file of an ``extends`` chain; ``child`` is the file that extends it."""
    missing = None
    if child is not None:
        missing = ScenarioError(child, "extends", str(path), "extends a file that does not exist")
    return read_toml(path, missing)


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
                table[key] = str(resolved(file.parent / value))


def read_layers(path: Path) -> tuple[dict[str, Any], dict[str, Path]]:
    """Raw merged mapping of a scenario file and the files it extends, and for each
    dotted key the file that set it (for error messages)."""
    chain: list[tuple[Path, dict[str, Any]]] = []
    seen: list[Path] = []
    current: Path | None = resolved(path)
    child: Path | None = None
    while current is not None:
        if current in seen:
            cycle = " -> ".join(p.name for p in [*seen, current])
            raise ScenarioError(
                child or path, "extends", current.name, f"inheritance cycle: {cycle}"
            )
        seen.append(current)
        raw = _read_layer(current, child)
        _resolve_tables(raw, current)
        chain.append((current, raw))
        parent = raw.pop("extends", None)
        if parent is None:
            break
        if not isinstance(parent, str) or not parent.endswith(".toml"):
            raise ScenarioError(
                current, "extends", parent, "must be the path of another .toml file"
            )
        child, current = current, resolved(current.parent / parent)
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
        raise translate(exc, raw, origin, resolved(file)) from None


def load_dict(raw: dict[str, Any], *, file: str = "<dict>") -> Scenario:
    """Validate a scenario given as a mapping (e.g. a sweep point)."""
    try:
        return Scenario.model_validate(raw)
    except ValidationError as exc:
        raise translate(exc, raw, {}, Path(file)) from None


def load_drawn(text: str, *, file: str = "<drawn scenario>") -> Scenario:
    """The frozen drawn scenario saved as JSON (``Scenario.model_dump_json`` of
    :func:`sim.scenario.draw`'s result), validated again: every key and range, but not
    the checks of central values, which judge a scenario as written and not its draws
    (:func:`sim.scenario.types.checks_central_values`). Raises :class:`ScenarioError` for
    text that is no such scenario, TypeError if it holds a distribution."""
    try:
        raw = json.loads(text)
        if not isinstance(raw, dict):
            raise ValueError("not a JSON object")
    except ValueError as exc:
        raise ScenarioError(file, None, None, f"not a drawn scenario in JSON: {exc}") from None
    try:
        scenario = Scenario.model_validate(raw, context=DRAWN_CONTEXT)
    except ValidationError as exc:
        raise translate(exc, raw, {}, Path(file)) from None
    check_drawn(scenario)
    return scenario
