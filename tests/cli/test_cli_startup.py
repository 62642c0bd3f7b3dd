"""The command line starts without torch: ``--help`` and the user errors found before any data is
read (missing file, ``--out`` on a user's directory, overlapping files) cost no torch import.

Each check runs ``rnnkit.cli.main`` in a fresh interpreter and reports which heavy modules it
loaded.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_support import fingerprint, write_reviews

#: Runs ``rnnkit.cli.main(argv)``; prints its exit status and the heavy modules then imported.
PROBE = """
import json, sys
HEAVY = ("torch", "pandas", "matplotlib")
import rnnkit.cli
argv = json.loads(sys.argv[1])
status = 0
try:
    rnnkit.cli.main(argv)
except SystemExit as done:
    status = done.code
print(json.dumps({"status": status, "heavy": [m for m in HEAVY if m in sys.modules]}))
"""


def probe(*argv: str | Path, cwd: Path | None = None) -> tuple[dict[str, object], str, str]:
    """(the probe's report, its stdout before the report, its stderr) for ``rnnkit ARGV``."""
    run = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps([str(a) for a in argv])],
        capture_output=True, text=True, cwd=cwd, timeout=120, check=False,
    )
    assert run.returncode == 0, run.stderr
    *before, report = run.stdout.strip().splitlines()
    return json.loads(report), "\n".join(before), run.stderr


def test_import_and_help_load_no_torch() -> None:
    report, stdout, _ = probe("--help")
    assert report == {"status": 0, "heavy": []}
    assert "text" in stdout and "translate" in stdout


@pytest.mark.parametrize("command", [["text", "train"], ["translate", "train"]])
def test_train_help_loads_no_torch_and_shows_defaults(command: list[str]) -> None:
    report, stdout, _ = probe(*command, "--help")
    assert report == {"status": 0, "heavy": []}
    assert "[default: 64]" in stdout or "[default: 256]" in stdout


def _missing_file(tmp: Path) -> list[str | Path]:
    return ["text", "train", tmp / "missing.csv", "--out", tmp / "model"]


def _out_is_user_directory(tmp: Path) -> list[str | Path]:
    return ["text", "train", write_reviews(tmp / "train.csv", 20), "--out", tmp / "mine"]


def _overlapping_test_file(tmp: Path) -> list[str | Path]:
    train = write_reviews(tmp / "train.csv", 20)
    return ["text", "train", train, "--test", train, "--out", tmp / "model"]


def _translate_missing_file(tmp: Path) -> list[str | Path]:
    return ["translate", "train", tmp / "missing.tsv", "--out", tmp / "model"]


def _bad_learning_rate(tmp: Path) -> list[str | Path]:
    return ["series", "train", write_reviews(tmp / "train.csv", 20), "--out", tmp / "model",
            "--lr", "nan"]


def _lm_out_is_user_directory(tmp: Path) -> list[str | Path]:
    corpus = tmp / "corpus.txt"
    corpus.write_text("to be or not to be\n" * 20)
    return ["lm", "train", corpus, "--out", tmp / "mine"]


@pytest.mark.parametrize(
    ("make_argv", "words"),
    [
        (_missing_file, ["missing.csv", "does not exist"]),
        (_out_is_user_directory, ["mine", "not an rnnkit bundle"]),
        (_overlapping_test_file, ["train.csv", "overlap"]),
        (_translate_missing_file, ["missing.tsv", "does not exist"]),
        (_lm_out_is_user_directory, ["mine", "not an rnnkit bundle"]),
        (_bad_learning_rate, ["--lr", "nan"]),
    ],
)
def test_errors_before_reading_data_load_no_torch(
    tmp_path: Path, make_argv: Callable[[Path], list[str | Path]], words: list[str]
) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    argv = make_argv(tmp_path)
    before = fingerprint(tmp_path)
    report, _, stderr = probe(*argv)
    assert report == {"status": 2, "heavy": []}, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    assert all(word in lines[0] for word in words), lines[0]
    assert fingerprint(tmp_path) == before


def test_tasks_package_is_lazy_and_load_still_knows_every_task(tmp_path: Path) -> None:
    code = (
        "import sys, rnnkit, rnnkit.tasks, rnnkit.tasks.defaults, rnnkit.io\n"
        "print('torch' in sys.modules)\n"
        "from rnnkit.io import save_bundle\n"
        "save_bundle(sys.argv[1], {'task': 'no_such_task'}, {})\n"
        "try:\n"
        "    rnnkit.load(sys.argv[1])\n"
        "except rnnkit.BundleError as err:\n"
        "    print(err)\n"
    )
    run = subprocess.run([sys.executable, "-c", code, str(tmp_path / "b")], capture_output=True,
                         text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    torch_loaded, message = run.stdout.strip().splitlines()
    assert torch_loaded == "False"
    for task in ["forecaster", "language_model", "sequence_classifier", "text_classifier",
                 "translation"]:
        assert task in message, message
