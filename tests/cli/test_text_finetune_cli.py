"""`rnnkit text train` with the ULMFiT fine-tuning options: --schedule, --layer-lr-decay,
--gradual-unfreezing (subprocesses: exit status, stdout contract, one-line errors)."""

from __future__ import annotations

import json

from cli_support import FAST_TEXT, assert_one_line_error, fingerprint, rnnkit, write_reviews


def test_fine_tuning_options_train_and_reach_the_bundle(tmp_path) -> None:
    data = write_reviews(tmp_path / "reviews.csv", 40)
    out = tmp_path / "model"
    run = rnnkit("text", "train", data, "--out", out, "--json", *FAST_TEXT, "--epochs", "2",
                 "--num-layers", "2", "--schedule", "stlr", "--layer-lr-decay", "2.6",
                 "--gradual-unfreezing")
    assert run.returncode == 0, run.stderr
    assert "accuracy" in json.loads(run.stdout.strip().splitlines()[-1])["test"]
    params = json.loads((out / "config.json").read_text(encoding="utf-8"))["params"]
    assert (params["schedule"], params["layer_lr_decay"], params["unfreeze"]) == (
        "stlr", 2.6, "gradual")


def test_bad_fine_tuning_values_are_one_line_errors_and_write_nothing(tmp_path) -> None:
    data = write_reviews(tmp_path / "reviews.csv", 20)
    before = fingerprint(tmp_path)
    for option, value, words in [
        ("--layer-lr-decay", "0", ("--layer-lr-decay", "in (0, 1000]")),
        ("--schedule", "triangle", ("triangle", "stlr, one-cycle")),
    ]:
        run = rnnkit("text", "train", data, "--out", tmp_path / "model", *FAST_TEXT,
                     option, value)
        assert_one_line_error(run, *words)
        assert run.stdout == ""
    assert fingerprint(tmp_path) == before
