"""`rnnkit translate` end to end in subprocesses: train (pairs file / parallel files), run, errors.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
from pathlib import Path

import pytest

from rnnkit.tasks.translation_toys import reversal_pairs
from warm_cli import run_rnnkit

FAST = ["--hidden-size", "32", "--embedding-dim", "16", "--epochs", "4", "--lr", "0.005",
        "--min-freq", "1", "--dropout", "0", "--batch-size", "32", "--seed", "0"]


def rnnkit(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "100"}
    return run_rnnkit(args, env=env, timeout=300)


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, Path, dict]:
    root = tmp_path_factory.mktemp("translate_cli")
    src, tgt = reversal_pairs(600, 3, 6, vocab=6, seed=0)
    pairs = root / "pairs.tsv"
    pairs.write_text(
        "".join(
            f"{s}\t{t}\tCC-BY attribution #{i}\n"
            for i, (s, t) in enumerate(zip(src, tgt, strict=True))
        ),
        encoding="utf-8",
    )
    out = root / "bundle"
    run = rnnkit("translate", "train", str(pairs), "--out", str(out), "--beam-size", "2", "--json",
                 *FAST)
    assert run.returncode == 0, run.stderr
    return root, out, json.loads(run.stdout.strip().splitlines()[-1])


def test_train_json_last_line_contract(trained) -> None:
    _, out, result = trained
    assert set(result) == {"test", "bundle", "seconds", "train_seconds", "test_seconds"}
    assert {"bleu", "loss"} <= set(result["test"]) and result["test"]["count"] == 60
    assert 0.0 <= result["test"]["bleu"] <= 100.0 and result["test"]["loss"] > 0
    assert result["test"]["signature"].startswith("nrefs:1|case:lc")
    assert Path(result["bundle"]) == out and (out / "attention.png").is_file()


def test_run_translates_and_plots_attention(trained) -> None:
    root, out, _ = trained
    png = root / "att.png"
    run = rnnkit("translate", "run", str(out), "a b c", "d e f", "--beam-size", "1",
                 "--plot-attention", str(png), "--json")
    assert run.returncode == 0, run.stderr
    records = [json.loads(line) for line in run.stdout.strip().splitlines()]
    assert [r["source"] for r in records] == ["a b c", "d e f"]
    assert records[0]["source_tokens"] == ["a", "b", "c"] and records[0]["translation"]
    assert len(records[0]["attention"]) == len(records[0]["target_tokens"]) + 1
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_parallel_gzip_files_with_test_files(tmp_path: Path) -> None:
    src, tgt = reversal_pairs(80, 3, 5, vocab=5, seed=2)
    files = {}
    for name, lines in (
        ("train.src.gz", src[:60]),
        ("train.tgt.gz", tgt[:60]),
        ("test.src", src[60:]),
        ("test.tgt", tgt[60:]),
    ):
        path = tmp_path / name
        data = ("\n".join(lines) + "\n").encode()
        path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
        files[name] = str(path)
    run = rnnkit("translate", "train", "--source-file", files["train.src.gz"], "--target-file",
                 files["train.tgt.gz"], "--test-source", files["test.src"], "--test-target",
                 files["test.tgt"], "--attention", "none", "--epochs", "1", "--hidden-size", "8",
                 "--embedding-dim", "4", "--out", str(tmp_path / "m"), "--json")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout.strip().splitlines()[-1])["test"]["count"] == 20


def test_user_errors_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from rnnkit.cli import main

    for argv, message in (
        (
            ["translate", "train", str(tmp_path / "missing.tsv"), "--out", str(tmp_path / "m")],
            "does not exist",
        ),
        (
            [
                "translate",
                "train",
                "--source-file",
                str(tmp_path / "a"),
                "--out",
                str(tmp_path / "m"),
            ],
            "both a source file and a target file",
        ),
    ):
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error:") and message in err and "\n" not in err
