"""Packaging: the public names exist and the command line maps user errors to exit status 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import rnnkit


def test_error_hierarchy_roots_at_rnnkit_error() -> None:
    for name in ["ShapeError", "ConfigError", "DataError", "BundleError", "TrainingError"]:
        assert issubclass(getattr(rnnkit, name), rnnkit.RnnkitError)


def test_cli_help_runs() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "rnnkit", "--help"], capture_output=True, text=True, check=False
    )
    assert out.returncode == 0
    assert "demo" in out.stdout


def test_layering_contracts_hold() -> None:
    """The import-linter contracts in .importlinter (layers, scratch alone, nothing imports the
    faces, nn below data/train), run here too so that `make test` and CI enforce them; lazy
    imports inside functions count."""
    root = Path(__file__).resolve().parents[1]
    run = subprocess.run(
        [sys.executable, "-c", "from importlinter.cli import lint_imports_command as c; c()",
         str(root / ".importlinter"), "--no-cache"],
        capture_output=True, text=True, check=False, cwd=root,
    )
    assert run.returncode == 0, (
        "an import breaks the layering (see docs/architecture.md):\n"
        + run.stdout[-3000:]
        + run.stderr[-2000:]
    )


def _canonical(name: str) -> str:
    import re

    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_dependency_is_pinned_in_constraints() -> None:
    """pyproject.toml keeps lower bounds; constraints.txt (used by `make install`) pins each
    runtime and dev dependency to the exact version the tests passed with."""
    import re

    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    root = Path(__file__).resolve().parents[1]
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    named = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        named += extra
    wanted = {_canonical(re.split(r"[\s\[<>=!~;]", spec, maxsplit=1)[0]) for spec in named}
    pins = {}
    for line in (root / "constraints.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, sep, version = line.partition("==")
            assert sep and version.strip(), (
                f"constraints.txt: {line!r} is not an exact pin (name==version)"
            )
            pins[_canonical(name)] = version.strip()
    missing = sorted(wanted - set(pins))
    assert not missing, f"constraints.txt has no pin for {missing}; refresh it (see its header)"
    assert "+" not in pins["torch"], "pin torch without a local label (==2.13.0 matches 2.13.0+cpu)"


def test_architecture_page_draws_the_contracted_layers() -> None:
    """docs/architecture.md's diagram of the arrows is the layers contract of .importlinter."""
    import configparser
    import re

    root = Path(__file__).resolve().parents[1]
    config = configparser.ConfigParser()
    config.read(root / ".importlinter", encoding="utf-8")
    contracted = [
        line.replace(" ", "")
        for line in config["importlinter:contract:layers"]["layers"].split("\n")
        if line.strip()
    ]
    page = (root / "docs" / "architecture.md").read_text(encoding="utf-8")
    diagram = re.search(r"## The arrows.*?```text\n(.*?)```", page, re.S)
    assert diagram is not None, "docs/architecture.md: no ```text diagram under '## The arrows'"
    drawn = [re.split(r"\s{2,}", line.strip())[0].replace(" ", "")
             for line in diagram.group(1).splitlines() if line.strip()]
    assert drawn == contracted, (
        f"docs/architecture.md draws {drawn}, .importlinter says {contracted}"
    )
