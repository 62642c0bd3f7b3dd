"""rnnkit.scratch stands alone: importing it loads neither torch nor any other rnnkit subpackage."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import rnnkit.scratch

FORBIDDEN = (
    "torch",
    "rnnkit.nn",
    "rnnkit.train",
    "rnnkit.data",
    "rnnkit.tasks",
    "rnnkit.io",
    "rnnkit.viz",
    "rnnkit.serve",
    "rnnkit.cli",
)


def test_import_loads_no_torch_and_no_other_subpackage() -> None:
    code = (
        "import sys, json, rnnkit.scratch\n"
        "rnnkit.scratch.LSTM(2, 3)(__import__('numpy').zeros((1, 2, 2)))\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = json.loads(out.stdout)
    assert "rnnkit.scratch" in loaded
    bad = [m for m in loaded if any(m == f or m.startswith(f + ".") for f in FORBIDDEN)]
    assert bad == []


def test_sources_import_only_numpy_and_scratch() -> None:
    folder = Path(rnnkit.scratch.__file__).parent
    for path in folder.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert not name.startswith("torch"), f"{path.name} imports {name}"
                if name.startswith("rnnkit"):
                    assert name.startswith("rnnkit.scratch"), f"{path.name} imports {name}"
