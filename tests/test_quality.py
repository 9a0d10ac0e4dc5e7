"""The engineering standards hold: ruff (lint, format, complexity) and mypy are clean on
the code, and no function of sim/ is longer than a screen."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=False)


def test_ruff_lint_and_format():
    lint = _run(str(BIN / "ruff"), "check", ".")
    assert lint.returncode == 0, lint.stdout[-3000:]
    fmt = _run(str(BIN / "ruff"), "format", "--check", ".")
    assert fmt.returncode == 0, fmt.stdout[-3000:]


@pytest.mark.slow
def test_mypy_on_sim():
    proc = _run(str(BIN / "mypy"))
    assert proc.returncode == 0, proc.stdout[-3000:]


MAX_FUNCTION_LINES = 60
"""A function of sim/ reads on one screen: at most this many lines, def to last line."""
MAX_KERNEL_LINES = 70
"""A numba kernel may be a little longer: it is one compiled pass over arrays, and parts
of it would each pass over them again."""


def _is_kernel(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any("numba" in ast.unparse(d) for d in node.decorator_list)


def test_no_function_in_sim_is_longer_than_a_screen():
    too_long = []
    for path in sorted((ROOT / "sim").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1
                limit = MAX_KERNEL_LINES if _is_kernel(node) else MAX_FUNCTION_LINES
                if lines > limit:
                    too_long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} {lines}")
    assert too_long == [], "split these into named steps"
