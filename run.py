#!/usr/bin/env python3
"""Entry point: sets up its own virtual environment, then runs the command line.

    python3 run.py main          # the main job on the shipped Longgang data
    python3 run.py test          # the test suite
    python3 run.py --help        # every command

On first use (and whenever pyproject.toml or constraints.txt changes) this creates ``.venv`` beside
this file and installs the project into it with pip; then it re-runs itself with
that environment's Python. Only the standard library is used before that point.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".installed-from"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")


CONSTRAINTS = ROOT / "constraints.txt"
"""Exact versions of every installed package: the same bytes on every fresh clone."""


def _fingerprint() -> str:
    text = (ROOT / "pyproject.toml").read_bytes() + CONSTRAINTS.read_bytes()
    return hashlib.sha256(text).hexdigest()


def _in_project_venv() -> bool:
    return Path(sys.prefix).resolve() == VENV.resolve()


SYSTEM_PACKAGES = {
    "chromium": "/usr/bin/chromium",
    "fonts-noto-cjk": "/usr/share/fonts/opentype/noto",
}
"""Debian packages the report needs: a CJK font for Chinese text, and Chromium for the
report's browser test. Installed with apt-get when missing and this user may."""


def _system_packages() -> None:
    missing = [pkg for pkg, path in SYSTEM_PACKAGES.items() if not Path(path).exists()]
    if not missing:
        return
    apt = Path("/usr/bin/apt-get")
    if not apt.exists() or not hasattr(os, "geteuid") or os.geteuid() != 0:
        print(
            f"[setup] please install these system packages: {' '.join(missing)} "
            "(Chinese figures and the report's browser test need them)",
            flush=True,
        )
        return
    print(f"[setup] installing system packages: {' '.join(missing)}", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # another apt-get (a second checkout's set-up, unattended upgrades) may hold dpkg's
    # lock: wait for it rather than fail
    wait = ["-o", f"DPkg::Lock::Timeout={APT_LOCK_WAIT_S}"]
    for args in (["update", "-qq"], ["install", "-y", "-qq", "--no-install-recommends", *missing]):
        _setup_step([str(apt), *wait, *args], stdout=subprocess.DEVNULL, env=env)


APT_LOCK_WAIT_S = 600
"""Seconds apt-get waits for dpkg's lock held by another install before it gives up."""


def _setup_step(cmd: list[str], **kwargs: object) -> None:
    """Run one set-up command; if it fails, say which in one line and stop (no traceback)."""
    done = subprocess.run(cmd, check=False, **kwargs)  # type: ignore[call-overload]
    if done.returncode != 0:
        sys.exit(f"[setup] failed (exit {done.returncode}): {' '.join(cmd)}")


def _bootstrap() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 (this file must run on an older Python to say so)
        sys.exit(f"Python 3.11 or newer is needed; this is {sys.version.split()[0]}")
    if not PYTHON.exists():
        print(f"[setup] creating the virtual environment {VENV.name}/", flush=True)
        venv.EnvBuilder(with_pip=True, clear=False).create(VENV)
    if not STAMP.exists() or STAMP.read_text().strip() != _fingerprint():
        print(
            "[setup] installing the project and its dependencies (first run: a few minutes)",
            flush=True,
        )
        pip = [str(PYTHON), "-m", "pip", "--disable-pip-version-check", "-q"]
        _setup_step([*pip, "install", "-c", str(CONSTRAINTS), "-e", f"{ROOT}[dev]"])
        STAMP.write_text(_fingerprint() + "\n")
    if len(sys.argv) > 1 and sys.argv[1] in ("main", "test", "report"):
        _system_packages()
    os.execv(str(PYTHON), [str(PYTHON), str(Path(__file__).resolve()), *sys.argv[1:]])


if __name__ == "__main__":
    if not _in_project_venv() and os.environ.get("HRSIM_NO_VENV") != "1":
        _bootstrap()
    from sim.app.cli import main

    sys.exit(main())
