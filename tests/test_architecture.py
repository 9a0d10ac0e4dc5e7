"""The layers of ARCHITECTURE.md hold (import-linter), and no module keeps global random state."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_layers():
    lint = Path(sys.executable).parent / "lint-imports"
    proc = subprocess.run(
        [str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 broken" in proc.stdout, proc.stdout


def test_random_generators_are_made_only_in_rng_module():
    pattern = re.compile(
        r"np\.random\.(default_rng|seed|rand|randn|random|normal|poisson|"
        r"PCG64|SeedSequence|RandomState)\b|^\s*import random\b",
        re.M,
    )
    offenders = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "sim").rglob("*.py")
        if p.name != "rng.py" and pattern.search(p.read_text(encoding="utf-8"))
    ]
    assert offenders == [], f"random state made outside sim/base/rng.py: {offenders}"


def test_only_the_presentation_layer_imports_matplotlib():
    offenders = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "sim").rglob("*.py")
        if p.parent.name != "present"
        and re.search(r"^\s*(import|from) matplotlib", p.read_text(encoding="utf-8"), re.M)
    ]
    assert offenders == [], f"matplotlib imported outside sim/present: {offenders}"


def test_every_package_says_what_it_owns_and_is_in_architecture_md():
    architecture = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    for init in sorted((ROOT / "sim").glob("*/__init__.py")):
        package = init.parent.name
        if package.startswith("_"):
            continue
        tree = ast.parse(init.read_text(encoding="utf-8"))
        doc = ast.get_docstring(tree)
        assert doc and len(doc) > 80, f"sim/{package}/__init__.py: say what the package owns"
        assert f"sim/{package}/" in architecture, f"ARCHITECTURE.md: no room for sim/{package}/"
