"""LanguageModel with ULMFiT's stage-2 schedule: ``schedule`` (stlr / one-cycle, per step) and
``layer_lr_decay`` (one rate per layer group), in Python and through ``rnnkit lm train``."""

from __future__ import annotations

import json
import os

import pytest
import torch

from rnnkit.errors import ConfigError
from rnnkit.tasks import LanguageModel, TextClassifier
from rnnkit.tasks import language_model as lm_module
from rnnkit.train import Callback, Trainer
from rnnkit.train.finetune import stlr_factor
from warm_cli import run_rnnkit

TEXT = "the cat sat on the mat\n"  # 23 characters: one window of 32 steps per epoch
TINY = dict(hidden_size=4, embedding_dim=4, num_layers=2, bptt=32, batch_size=1,
            valid_fraction=0, verbose=0, lr=0.032)


class _Recording(Trainer):
    """The Trainer the LanguageModel builds, keeping every group's lr after each step."""

    runs: list[_Recording] = []

    def __init__(self, *args, **kwargs):
        kwargs["callbacks"] = [*kwargs.get("callbacks", ()), _GroupRates()]
        super().__init__(*args, **kwargs)
        self.rates: list[list[float]] = []
        _Recording.runs.append(self)


class _GroupRates(Callback):
    def on_batch_end(self, batch, logs=None):
        assert self.trainer is not None and self.trainer.optimizer is not None
        self.trainer.rates.append([g["lr"] for g in self.trainer.optimizer.param_groups])


@pytest.fixture
def recording(monkeypatch):
    _Recording.runs = []
    monkeypatch.setattr(lm_module, "Trainer", _Recording)
    return _Recording.runs


@pytest.fixture(scope="module")
def tuned(tmp_path_factory):
    """A model fitted with stlr over 20 one-step epochs and layer_lr_decay=2, and its bundle."""
    lm = LanguageModel(**TINY, epochs=20, schedule="stlr", layer_lr_decay=2.0).fit(TEXT)
    path = tmp_path_factory.mktemp("lmtune") / "model"
    lm.save(path)
    return lm, path


def test_stlr_moves_the_rate_every_step_as_the_paper(tuned):
    lm, _ = tuned
    lrs = lm.history_["lr"]  # the top group's at the start of each epoch = after each step
    assert len(lrs) == 20
    assert lrs[0] == pytest.approx(0.032 / 32)                    # before the first step
    assert lrs[1] == pytest.approx(0.032 * stlr_factor(1, 20))    # after it: on the rise
    assert lrs[2] == pytest.approx(0.032)                         # the peak, at cut = 2
    assert lrs[11] == pytest.approx(0.032 * stlr_factor(11, 20)) and lrs[11] < lrs[2]


def test_the_schedule_replaces_the_time_decay_and_the_bundle_records_it(tuned):
    lm, path = tuned
    params = json.loads((path / "config.json").read_text(encoding="utf-8"))["params"]
    assert (params["schedule"], params["layer_lr_decay"], params["lr_decay"]) == ("stlr", 2.0,
                                                                                  None)
    assert LanguageModel.load(path).params["schedule"] == "stlr"
    assert lm.get_params()["lr_decay"] == "time"  # the option as given is left alone


@pytest.mark.parametrize("tie", [False, True])
def test_layer_groups_train_at_lr_over_decay_to_the_depth(recording, tie):
    LanguageModel(**TINY, epochs=2, lr_decay=None, layer_lr_decay=2.0, tie_weights=tie).fit(TEXT)
    rates = recording[0].rates[-1]
    depth = len(rates) - 1
    # embedding, 2 recurrent layers, output; tied: the shared weight is in the output's group
    assert len(rates) == (3 if tie else 4)
    assert rates == pytest.approx([0.032 / 2.0 ** (depth - i) for i in range(len(rates))])


def test_stlr_scales_every_group_alike_and_works_from_init(tuned, recording):
    base, _ = tuned
    LanguageModel(init=base, epochs=3, lr=0.01, schedule="stlr", layer_lr_decay=2.6, verbose=0,
                  valid_fraction=0).fit(TEXT)
    first = recording[0].rates[0]  # after the first of 3 steps: cut = 1, so the peak
    assert first == pytest.approx([0.01 / 2.6 ** (3 - i) for i in range(4)])
    last = recording[0].rates[-1]
    assert last == pytest.approx([r / 32 for r in first])


def test_stlr_under_a_time_budget_with_open_epochs():
    lm = LanguageModel(**TINY, schedule="stlr", time_budget=0.3).fit(TEXT)
    assert lm.history_.stopped_reason == "time_budget"
    assert lm.history_["lr"][0] == pytest.approx(0.032 / 32)
    assert max(lm.history_["lr"]) > 0.032 / 2  # it rose with the clock


class _Crash(Callback):
    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 2:
            raise KeyboardInterrupt


def test_resume_continues_the_step_schedule_exactly(tmp_path, monkeypatch):
    """Interrupted before epoch 3 of 4, the run resumes from the checkpoint (2 steps left) and
    ends where the run never interrupted does: the schedule's position and rates included."""
    options = dict(**TINY, epochs=4, schedule="one-cycle", layer_lr_decay=2.6)
    reference = LanguageModel(**options).fit(TEXT, checkpoint_dir=tmp_path / "ref")

    def crashing(*args, **kwargs):
        return Trainer(*args, **{**kwargs, "callbacks": [*kwargs["callbacks"], _Crash()]})

    monkeypatch.setattr(lm_module, "Trainer", crashing)
    with pytest.raises(KeyboardInterrupt):
        LanguageModel(**options).fit(TEXT, checkpoint_dir=tmp_path / "run")
    _Recording.runs = []
    monkeypatch.setattr(lm_module, "Trainer", _Recording)
    resumed = LanguageModel(**options).fit(TEXT, checkpoint_dir=tmp_path / "run", resume=True)
    assert len(_Recording.runs[0].rates) == 2  # the steps of epochs 3 and 4 only
    assert resumed.history_["lr"] == reference.history_["lr"]
    for a, b in zip(resumed.model_.parameters(), reference.model_.parameters(), strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize("option, value", [
    ("schedule", "triangle"), ("schedule", {"name": "stlr", "ratio": 0.5}),
    ("layer_lr_decay", 0), ("layer_lr_decay", float("nan")),
])
def test_bad_values_are_refused_in_one_line_as_by_the_text_classifier(option, value):
    with pytest.raises(ConfigError) as lm_error:
        LanguageModel(**TINY, **{option: value}).fit(TEXT)
    with pytest.raises(ConfigError) as clf_error:
        TextClassifier(**{option: value}).fit(["a b", "c d"], [0, 1])
    message = str(lm_error.value)
    assert "\n" not in message and option in message
    assert message == str(clf_error.value).replace("TextClassifier", "LanguageModel")


def _cli(*args):
    env = {**os.environ, "COLUMNS": "100", "OMP_NUM_THREADS": "1"}  # as test_lm_cli.py: one
    return run_rnnkit(("lm", "train", *map(str, args)), env=env, timeout=300)  # warm process


FAST = ["--hidden-size", "8", "--num-layers", "2", "--embedding-dim", "8", "--bptt", "16",
        "--batch-size", "2", "--epochs", "2", "--sample-length", "5"]


def test_cli_trains_with_the_schedule_and_keeps_the_json_contract(tmp_path):
    (tmp_path / "a.txt").write_text(TEXT * 8, encoding="utf-8")
    out = tmp_path / "model"
    run = _cli(tmp_path / "a.txt", "--out", out, "--json", *FAST, "--schedule", "stlr",
               "--layer-lr-decay", "2.6")
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert set(result) == {"valid", "sample", "bundle", "seconds", "train_seconds"}
    params = json.loads((out / "config.json").read_text(encoding="utf-8"))["params"]
    assert (params["schedule"], params["layer_lr_decay"], params["lr_decay"]) == ("stlr", 2.6,
                                                                                  None)


@pytest.mark.parametrize("option, value, words", [
    ("--layer-lr-decay", "0", ("--layer-lr-decay", "in (0, 1000]")),
    ("--schedule", "triangle", ("triangle", "stlr, one-cycle")),
])
def test_cli_refuses_bad_values_in_one_line_and_writes_nothing(tmp_path, option, value, words):
    (tmp_path / "a.txt").write_text(TEXT * 8, encoding="utf-8")
    run = _cli(tmp_path / "a.txt", "--out", tmp_path / "model", *FAST, option, value)
    assert run.returncode == 2 and run.stdout == ""
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in run.stderr
    assert all(w in lines[0] for w in words)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]
