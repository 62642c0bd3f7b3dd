"""A bad value of a shared training option (``--lr nan``, ``--epochs 0``, ...) is refused while
the command line is read: one line naming the option, before any file is read or written, in the
same words on the five ``train`` commands, by the rule the estimators apply
(:data:`rnnkit.tasks.options.RULES`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import (
    assert_one_line_error,
    fingerprint,
    rnnkit,
    write_latin1_sequences,
    write_latin1_series,
    write_pairs,
    write_reviews,
)

from rnnkit.tasks.options import RULES


def _corpus(path: Path) -> Path:
    path.write_text("to be or not to be, that is the question\n" * 20, encoding="utf-8")
    return path


#: Each train command and a data file it would read (and say so: "read 40 ...") were the option
#: not refused first.
DATA = {
    "text": lambda root: [write_reviews(root / "reviews.csv", 40)],
    "seq": lambda root: [write_latin1_sequences(root / "seq.csv"), "--encoding", "latin-1"],
    "series": lambda root: [write_latin1_series(root / "s.csv"), "--encoding", "latin-1"],
    "lm": lambda root: [_corpus(root / "corpus.txt")],
    "translate": lambda root: [write_pairs(root / "pairs.tsv", 40)],
}

#: (option, bad value, what the one line says), every one on every command.
BAD = [
    ("--lr", "nan", "must be a finite number > 0, got nan"),
    ("--lr", "0", "must be a finite number > 0, got 0.0"),
    ("--lr", "-1", "must be a finite number > 0"),
    ("--lr", "inf", "must be a finite number > 0, got inf"),
    ("--batch-size", "0", "must be an integer in [1, 10000000], got 0"),
    ("--epochs", "0", "must be an integer in [1, 10000000], got 0"),
    ("--time-budget", "-5", "must be a finite number > 0, got -5.0"),
    ("--dropout", "1.5", "must be a finite number in [0, 0.99], got 1.5"),
    ("--hidden-size", "0", "must be an integer in [1, 1048576], got 0"),
    ("--num-layers", "65", "must be an integer in [1, 64], got 65"),
    ("--seed", "-1", "must be an integer in [0, "),
    ("--head", "deep", "'deep' is unknown; use linear or batchnorm"),  # text train only
]


@pytest.mark.parametrize("task", sorted(DATA))
@pytest.mark.parametrize(("option", "value", "says"), [BAD[0], BAD[5], BAD[7]])
def test_a_bad_option_value_is_refused_before_reading(
    tmp_path: Path, task: str, option: str, value: str, says: str
) -> None:
    data = DATA[task](tmp_path)
    out = tmp_path / "model"
    before = fingerprint(tmp_path)
    run = rnnkit(task, "train", *data, "--out", out, "--hidden-size", "4", option, value)
    line = assert_one_line_error(run, f"error: {option}: {says}")
    assert line.startswith(f"error: {option}: ")  # the same words on every command
    assert "read " not in run.stderr
    assert fingerprint(tmp_path) == before and not out.exists()


@pytest.mark.parametrize(("option", "value", "says"), BAD)
def test_every_bad_value_is_one_line(option: str, value: str, says: str, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    """Every bad value, on one command (the others share the declaration, tested above; in this
    process, as the message is all there is to see), with a named data file that does not
    exist: the option is what is wrong first."""
    from rnnkit.cli import main

    with pytest.raises(SystemExit) as done:
        main(["text", "train", str(tmp_path / "missing.csv"), "--out", str(tmp_path / "m"),
              option, value])
    assert done.value.code == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {option}: {says}"), lines


def test_the_cli_refuses_exactly_what_the_estimators_refuse() -> None:
    """The CLI checks by the estimators' rules: a value on either side of each bound."""
    from rnnkit.cli.common import within_rule
    from rnnkit.errors import ConfigError
    from rnnkit.tasks.options import check_options

    cases = {"lr": [1e-9, 0.0], "time_budget": [0.1, 0.0], "dropout": [0.99, 1.0],
             "epochs": [1, 0], "batch_size": [10**7, 10**7 + 1], "hidden_size": [1, 0],
             "num_layers": [64, 65], "seed": [0, -1]}
    for name, (good, bad) in cases.items():
        assert name in RULES
        assert within_rule(name)(good) == good
        check_options("TextClassifier", {name: good})
        with pytest.raises(ConfigError, match=f"^--{name.replace('_', '-')}: "):
            within_rule(name)(bad)
        with pytest.raises(ConfigError, match=f"TextClassifier: {name} "):
            check_options("TextClassifier", {name: bad})
