"""Shared by the CLI tests: run `python -m rnnkit` in a subprocess, tiny data, file fingerprints."""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import subprocess
from pathlib import Path

from warm_cli import run_rnnkit

#: Options that make a text classifier train in a second or two.
FAST_TEXT = ["--epochs", "1", "--hidden-size", "8", "--max-tokens", "200", "--seed", "0"]


def rnnkit(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``python -m rnnkit ARGS`` and capture its output (never raises on a non-zero status)."""
    env = {**os.environ, "COLUMNS": "100", "MPLBACKEND": "Agg"}
    return run_rnnkit(args, env=env, cwd=cwd, timeout=300)


def assert_one_line_error(run: subprocess.CompletedProcess[str], *words: str) -> str:
    """Exit status 2, stderr exactly one ``error: ...`` line (no traceback) naming ``words``."""
    assert run.returncode == 2, (run.returncode, run.stderr)
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("error: ") and "Traceback" not in run.stderr, run.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


def fingerprint(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root`` (or of ``root`` itself), by relative path."""
    if root.is_file():
        return {root.name: hashlib.sha256(root.read_bytes()).hexdigest()}
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        if p.is_file()
        else "dir"
        for p in sorted(root.rglob("*"))
    }


def review_rows(n: int, start: int = 0) -> list[str]:
    """``n`` labelled CSV rows (``text,label``), alternating pos/neg, numbered from ``start``."""
    rows = []
    for i in range(start, start + n):
        good = i % 2 == 0
        text = "a truly great and fun film" if good else "a dull and boring mess"
        rows.append(f"{text} number {i},{'pos' if good else 'neg'}")
    return rows


def write_reviews(path: Path, n: int, start: int = 0, encoding: str = "utf-8") -> Path:
    """A CSV with a header and ``n`` reviews (gzip when the name ends in .gz)."""
    data = ("\n".join(["text,label", *review_rows(n, start)]) + "\n").encode(encoding)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return path


def write_ts(path: Path, n: int, seed: int = 0) -> Path:
    """A sktime ``.ts`` file of ``n`` two-dimensional sequences of classes 1 and 2 (class 2 rises).
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    lines = ["@problemName tiny", "@timeStamps false", "@univariate false", "@classLabel true 1 2",
             "@data"]
    for i in range(n):
        label = 1 + i % 2
        steps = 5 + i % 3
        dims = [(label - 1.5) * np.arange(steps) + rng.normal(0, 0.1, steps) for _ in range(2)]
        lines.append(":".join(",".join(f"{v:.3f}" for v in d) for d in dims) + f":{label}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_pairs(path: Path, n: int, start: int = 0) -> Path:
    """``n`` tab-separated pairs: a number in words -> its digits (a tiny translation task)."""
    words = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    rows = []
    for i in range(start, start + n):
        a, b = divmod(i % 100, 10)
        rows.append(f"{words[a]} {words[b]}\t{a} {b}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def write_latin1_sequences(path: Path, n: int = 24) -> Path:
    """A latin-1 CSV of ``n`` 4-step sequences, accented header and labels (chaud/tiède)."""
    rows = ["t1,t2,t3,t4,étiquette"]
    for i in range(n):
        label = "chaud" if i % 2 else "tiède"
        rows.append(",".join(f"{(i % 2) * k + 0.01 * i:.2f}" for k in range(4)) + f",{label}")
    path.write_bytes(("\n".join(rows) + "\n").encode("latin-1"))
    return path


def write_latin1_series(path: Path, months: int = 36) -> Path:
    """A latin-1 monthly series whose value column is ``Température``."""
    rows = ["mois,Température"]
    rows += [f"{2020 + m // 12}-{m % 12 + 1:02d}-01,{10 + 5 * math.sin(m):.2f}"
             for m in range(months)]
    path.write_bytes(("\n".join(rows) + "\n").encode("latin-1"))
    return path
