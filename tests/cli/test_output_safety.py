"""`--out`, `--checkpoint-dir`, `--plot` never replace or delete the user's files (issue 19): every
refusal is one line, exit 2, before any data is read or any training starts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_support import FAST_TEXT, assert_one_line_error, fingerprint, rnnkit, write_reviews


def _user_dir(root: Path) -> Path:
    """A directory of the user's own files, nested, as `--out myproject` might name."""
    project = root / "myproject"
    (project / "notes").mkdir(parents=True)
    (project / "plan.txt").write_text("my plan\n", encoding="utf-8")
    (project / "notes" / "a.md").write_bytes(b"# notes\x00\xff")
    return project


def _fake_bundle(path: Path, task: str) -> Path:
    """A directory that passes for an rnnkit bundle of ``task`` (enough for the --out check)."""
    path.mkdir(parents=True)
    (path / "weights.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}      ")
    config = {"task": task, "schema_version": 1, "files": {"weights.safetensors": {}}}
    (path / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return path


TRAIN_COMMANDS = {
    "text": ["text", "train", "missing.csv"],
    "seq": ["seq", "train", "missing.ts"],
    "series": ["series", "train", "missing.csv"],
    "lm": ["lm", "train", "missing.txt"],
    "translate": ["translate", "train", "missing.tsv"],
}


@pytest.mark.parametrize("task", sorted(TRAIN_COMMANDS))
def test_every_train_command_refuses_a_user_directory_before_reading(
    tmp_path: Path, task: str
) -> None:
    project = _user_dir(tmp_path)
    before = fingerprint(tmp_path)
    run = rnnkit(*TRAIN_COMMANDS[task], "--out", project, cwd=tmp_path)
    # the data file does not exist either: naming --out shows the check comes first
    assert_one_line_error(run, "myproject", "not an rnnkit bundle")
    assert fingerprint(tmp_path) == before
    assert not (tmp_path / "myproject.backup").exists()


def test_out_naming_the_data_file_is_refused(tmp_path: Path) -> None:
    data = write_reviews(tmp_path / "mydata.csv", 30)
    before = fingerprint(tmp_path)
    run = rnnkit("text", "train", data, "--out", data, *FAST_TEXT)
    assert_one_line_error(run, "mydata.csv", "file")
    assert fingerprint(tmp_path) == before


def test_a_bundle_of_another_task_is_replaced_only_with_force(tmp_path: Path) -> None:
    text = tmp_path / "input.txt"
    text.write_text("to be or not to be, that is the question.\n" * 20, encoding="utf-8")
    bundle = _fake_bundle(tmp_path / "model", "text_classifier")
    before = fingerprint(bundle)
    fast = ["--epochs", "1", "--hidden-size", "8", "--num-layers", "1", "--bptt", "8",
            "--batch-size", "2", "--sample-length", "5"]
    refused = rnnkit("lm", "train", text, "--out", bundle, *fast)
    assert_one_line_error(refused, "text_classifier", "--force")
    assert fingerprint(bundle) == before
    forced = rnnkit("lm", "train", text, "--out", bundle, "--force", *fast)
    assert forced.returncode == 0, forced.stderr
    assert (
        json.loads((bundle / "config.json").read_text(encoding="utf-8"))["task"] == "language_model"
    )


def _checkpoint_case(root: Path, case: str) -> list[str | Path]:
    if case == "the default OUT.checkpoints is a file":
        (root / "m.checkpoints").write_text("mine\n", encoding="utf-8")
        return ["--resume"]
    if case == "a checkpoint rnnkit did not write":
        (root / "ck").mkdir()
        (root / "ck" / "checkpoint.safetensors").write_bytes(b"my own safetensors file")
        return ["--checkpoint-dir", root / "ck"]
    return ["--checkpoint-dir", root / "m" / "checkpoints"]  # inside the bundle


@pytest.mark.parametrize("case", ["the default OUT.checkpoints is a file",
                                  "a checkpoint rnnkit did not write", "inside the bundle"])
def test_checkpoint_dir_never_replaces_user_files(tmp_path: Path, case: str) -> None:
    data = write_reviews(tmp_path / "data.csv", 30)
    options = _checkpoint_case(tmp_path, case)
    before = fingerprint(tmp_path)
    run = rnnkit("text", "train", data, "--out", tmp_path / "m", *options, *FAST_TEXT)
    assert_one_line_error(run, "--checkpoint-dir")
    assert fingerprint(tmp_path) == before


def _picture_case(root: Path, case: str) -> list[str | Path]:
    bundle = root / "bundle"  # the --out check comes before the bundle is loaded
    bundle.mkdir()
    (root / "data.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    return {
        "memory --out file": ["memory", "--out", root / "data.csv", "--cells", "rnn",
                              "--lengths", "5", "--time-budget", "0.2", "--hidden-size", "4"],
        "inspect --out file": ["inspect", bundle, "a fine film", "--out", root / "data.csv"],
        "report --out csv": ["report", bundle, "--out", root / "data.csv"],
        "translate --plot-attention csv": ["translate", "run", bundle, "hallo",
                                           "--plot-attention", root / "data.csv"],
    }[case]


@pytest.mark.parametrize("case", ["memory --out file", "inspect --out file", "report --out csv",
                                  "translate --plot-attention csv"])
def test_picture_and_report_outputs_never_replace_user_files(tmp_path: Path, case: str) -> None:
    args = _picture_case(tmp_path, case)
    before = fingerprint(tmp_path)
    run = rnnkit(*args)
    option = "--plot-attention" if "attention" in case else "--out"
    assert_one_line_error(run, option)
    assert fingerprint(tmp_path) == before


def test_demo_refuses_a_user_directory_named_demo_bundle_before_training(tmp_path: Path) -> None:
    mine = _user_dir(tmp_path).rename(tmp_path / "demo-bundle")
    before = fingerprint(mine)
    run = rnnkit("demo", cwd=tmp_path)
    assert_one_line_error(run, "demo-bundle", "not an rnnkit bundle")
    assert "Epoch" not in run.stderr + run.stdout  # refused before training, not after
    assert fingerprint(mine) == before
