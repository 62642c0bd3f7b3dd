"""`rnnkit seq` end to end in subprocesses: train, predict, evaluate, --json, user errors."""

from __future__ import annotations

import gzip
import json
import os
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

from warm_cli import run_rnnkit

FAST = ["--epochs", "6", "--hidden-size", "8", "--batch-size", "16", "--seed", "0"]


def rnnkit(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "100"}
    return run_rnnkit(args, env=env, timeout=300)


def last_json(run: subprocess.CompletedProcess[str]) -> dict:
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout.strip().splitlines()[-1])


def level_data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Padded (n, 8, 2) sequences whose class is the sign of feature 0; lengths 3..8."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(3, 9, size=n)
    y = np.arange(n) % 2
    x = rng.normal(size=(n, 8, 2)).astype(np.float32) * 0.3
    x[:, :, 0] += np.where(y == 1, 1.0, -1.0)[:, None]
    x[np.arange(8)[None, :] >= lengths[:, None]] = 0.0
    return x, y, lengths


def write_ts(
    path: Path, x: np.ndarray, y: np.ndarray, lengths: np.ndarray, gap: bool = False
) -> Path:
    lines = ["@problemName level", "@dimensions 2", "@classLabel true 0 1", "@data"]
    for seq, label, n in zip(x, y, lengths, strict=True):
        dims = [",".join(f"{v:.5f}" for v in seq[:n, d]) for d in range(2)]
        lines.append(":".join(dims) + f":{label}")
    if gap:
        lines[-1] = "?," + lines[-1]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, Path, dict]:
    root = tmp_path_factory.mktemp("seqcli")
    x, y, lengths = level_data(80, seed=0)
    np.savez(root / "train.npz", x=x, y=y, lengths=lengths)
    write_ts(root / "test.ts", *level_data(30, seed=1))
    out = root / "bundle"
    run = rnnkit("seq", "train", str(root / "train.npz"), "--test", str(root / "test.ts"),
                 "--out", str(out), "--json", *FAST)
    return root, out, last_json(run)


def test_train_json_last_line_contract(trained) -> None:
    _, out, result = trained
    assert set(result) >= {"test", "bundle", "seconds"}
    assert set(result["test"]) >= {"accuracy", "macro_f1"} and result["test"]["count"] == 30
    assert result["test"]["accuracy"] >= 0.8  # the sign of feature 0 is easy
    assert Path(result["bundle"]) == out and (out / "scaler.json").is_file()


def test_predict_and_evaluate_in_other_formats(trained) -> None:
    root, out, _ = trained
    x, y, lengths = level_data(6, seed=2)
    rows = [",".join(f"{v:.4f}" for v in seq[:n].reshape(-1)) + f",{label}"
            for seq, label, n in zip(x, y, lengths, strict=True)]
    (root / "eval.csv").write_text("\n".join(rows) + "\n")
    plain = rnnkit("seq", "predict", str(out), str(root / "eval.csv"), "--label-column", "-1")
    assert plain.returncode == 0, plain.stderr
    lines = plain.stdout.strip().splitlines()
    assert len(lines) == 6 and all(line.split("\t")[1] in {"0", "1"} for line in lines)
    js = rnnkit("seq", "predict", str(out), str(root / "test.ts"), "--json")
    records = [json.loads(line) for line in js.stdout.strip().splitlines()]
    assert len(records) == 30 and set(records[0]["probabilities"]) == {"0", "1"}
    result = last_json(rnnkit("seq", "evaluate", str(out), str(root / "eval.csv"), "--json"))
    assert result["count"] == 6 and 0.0 <= result["accuracy"] <= 1.0


def test_idx_train_with_holdout_split(tmp_path) -> None:
    rng = np.random.default_rng(0)
    y = np.arange(40) % 2
    images = rng.integers(0, 60, size=(40, 6, 5))
    images[y == 1, 2:4] += 150  # a bright band in the middle rows for class 1
    for name, array in (("toy-images-idx3-ubyte.gz", images), ("toy-labels-idx1-ubyte.gz", y)):
        head = bytes([0, 0, 8, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
        (tmp_path / name).write_bytes(gzip.compress(head + array.astype(np.uint8).tobytes()))
    run = rnnkit("seq", "train", str(tmp_path / "toy-images-idx3-ubyte.gz"), "--image-steps",
                 "pixels", "--out", str(tmp_path / "b"), "--json", *FAST)
    result = last_json(run)
    assert result["test"]["count"] == 8 and "held out 8" in run.stderr
    assert json.loads((tmp_path / "b" / "config.json").read_text())["network"]["input_size"] == 1


def _error(run: subprocess.CompletedProcess[str], fragment: str) -> None:
    assert run.returncode == 2, (run.returncode, run.stderr)
    assert fragment in run.stderr, run.stderr
    assert "Traceback" not in run.stderr
    assert len([line for line in run.stderr.splitlines() if line.startswith("error:")]) == 1


def test_user_errors_exit_2_with_one_line(trained, tmp_path) -> None:
    root, out, _ = trained
    gappy = write_ts(tmp_path / "gappy.ts", *level_data(12, seed=3), gap=True)
    _error(rnnkit("seq", "train", str(gappy), "--out", str(tmp_path / "x"), *FAST),
           "--missing interpolate")
    _error(rnnkit("seq", "train", str(tmp_path / "nope.npz"), "--out", str(tmp_path / "x")),
           "does not exist")
    _error(
        rnnkit(
            "seq", "train", str(root / "train.npz"), "--input-format", "xls",
            "--out", str(tmp_path / "x"),
        ),
        "format='xls' is unknown",
    )
    wide = tmp_path / "wide.npz"
    np.savez(wide, x=np.zeros((4, 5, 3)), y=np.array([0, 1, 0, 1]))
    _error(rnnkit("seq", "evaluate", str(out), str(wide)), "trained on 2")
    _error(rnnkit("seq", "predict", str(tmp_path / "nobundle"), str(wide)), "nobundle")
    assert not (tmp_path / "x").exists()
