"""The one error type for bad user input, printed as a single line."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _relative(file: str | Path) -> str:
    path = Path(file)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


class ScenarioError(Exception):
    """Bad input in a scenario, sweep or data file.

    ``str(error)`` is one line: ``file: key = value: what is allowed``. The
    command line prints exactly that and exits with status 2.
    """

    def __init__(self, file: str | Path | None, key: str | None, value: Any, allowed: str) -> None:
        self.file = _relative(file) if file is not None else "<scenario>"
        self.key = key
        self.value = value
        self.allowed = allowed
        super().__init__(self.line())

    def __reduce__(self) -> tuple[type[ScenarioError], tuple[Any, ...]]:
        """Pickle by the four parts (a worker process raises it to the parent)."""
        return (type(self), (self.file, self.key, self.value, self.allowed))

    def line(self) -> str:
        """The single line shown to the user."""
        where = self.file if not self.key else f"{self.file}: {self.key} = {_show(self.value)}"
        return f"{where}: {self.allowed}".replace("\n", " ")
