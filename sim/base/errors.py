"""The one error type for bad user input, printed as a single line, and the one reader
of the text files a user gives (scenario and sweep TOML, data CSV), whose failures are
that error."""

from __future__ import annotations

import errno
import os
import stat
import unicodedata
from pathlib import Path
from typing import Any

_UNPRINTABLE = frozenset({"Cc", "Cf", "Zl", "Zp"})
"""Unicode categories escaped on output: controls (ANSI escape sequences among them),
invisible format characters (bidirectional overrides) and line separators."""


def printable(text: str) -> str:
    """``text`` with control and format characters escaped (``\\x1b``, ``\\u202e``), so a
    label or key from a user's file cannot drive the terminal; other text (Chinese
    labels) is kept as it is."""
    return "".join(
        ch.encode("unicode_escape").decode("ascii")
        if unicodedata.category(ch) in _UNPRINTABLE
        else ch
        for ch in text
    )


def resolved(path: str | Path) -> Path:
    """Absolute path with symbolic links followed. Unlike ``Path.resolve`` on Python
    3.11, a symlink loop does not raise here: opening the path then reports it. Nor
    does a name with a NUL character (``extends = "a\\u0000.toml"``): it is made
    absolute only, and opening it reports it."""
    if "\x00" in os.fspath(path):
        return Path(os.path.abspath(path))
    return Path(os.path.realpath(path))


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _relative(file: str | Path) -> str:
    path = resolved(file)
    try:
        return str(path.relative_to(resolved(Path.cwd())))
    except ValueError:
        return str(file)


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
        return printable(f"{where}: {self.allowed}".replace("\n", " "))


MAX_TEXT_BYTES = 100_000_000
"""Largest scenario, sweep or data file read (the shipped ones are below 200 kB)."""


def read_user_text(path: Path, kind: str, missing: ScenarioError | None = None) -> str:
    """The text of a user's file of ``kind`` (e.g. "TOML", "CSV"): UTF-8, a leading
    byte-order mark dropped (as spreadsheet programs write one). A file that is absent
    (``missing`` if given), not a regular file, a symlink loop, unreadable, too large,
    binary or in another encoding raises :class:`ScenarioError`."""
    data = _read_bytes(path, kind, missing)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            path, None, None, f"not UTF-8 text (byte {exc.start}); save it as UTF-8 {kind}"
        ) from None
    if "\x00" in text:
        raise ScenarioError(path, None, None, f"contains NUL bytes: a binary file, not {kind}")
    return text


def _read_bytes(path: Path, kind: str, missing: ScenarioError | None) -> bytes:
    """The bytes of a regular file of at most :data:`MAX_TEXT_BYTES` (a device such as
    /dev/zero would never end)."""
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise ScenarioError(path, None, None, f"is a folder, not a {kind} file")
        if not stat.S_ISREG(info.st_mode):
            raise ScenarioError(path, None, None, f"is a device, pipe or socket, not a {kind} file")
        if info.st_size > MAX_TEXT_BYTES:
            size, limit = info.st_size / 1e6, MAX_TEXT_BYTES / 1e6
            raise ScenarioError(
                path, None, None, f"is {size:,.0f} MB; at most {limit:,.0f} MB are read"
            )
        return path.read_bytes()
    except FileNotFoundError:
        raise missing or ScenarioError(path, None, None, "file not found") from None
    except ValueError:  # the only ValueError of stat: a NUL character in the name
        raise ScenarioError(path, None, None, "the file name contains a NUL character") from None
    except OSError as exc:
        why = "is a symbolic link loop" if exc.errno == errno.ELOOP else "cannot be read"
        raise ScenarioError(path, None, None, f"{why} ({exc.strerror})") from None
