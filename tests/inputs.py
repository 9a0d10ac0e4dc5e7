"""Helpers of the tests of bad input: write an input of any kind, read the one line."""

from __future__ import annotations

from pathlib import Path

import pytest

FOLDER = None
"""Content that makes the path a folder instead of a file."""


def write_input(path: Path, content: str | bytes | None) -> None:
    """Write ``content`` at ``path``: text as UTF-8, bytes as they are, FOLDER a folder."""
    if content is FOLDER:
        path.mkdir()
    elif isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")


def one_line(capsys: pytest.CaptureFixture[str], code: int) -> str:
    """The single line a refused input prints (status 2, no traceback)."""
    err = capsys.readouterr().err
    assert code == 2, f"exit status 2 expected, got {code}: {err!r}"
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"one line expected, got: {err!r}"
    return lines[0]
