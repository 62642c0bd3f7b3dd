"""Packaging: the public names exist and the command line maps user errors to exit status 2."""

from __future__ import annotations

import subprocess
import sys

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
