"""The ULMFiT fine-tuning schedule in the Trainer: per-step schedules (stlr, one-cycle),
discriminative learning rates by layer group, gradual unfreezing, and their exact resume."""

from __future__ import annotations

import math

import pytest
import torch
from train_helpers import MLP, TensorLoader, blobs, same_weights, weights

from rnnkit.errors import ConfigError, TrainingError
from rnnkit.train import Callback, LambdaCallback, Trainer
from rnnkit.train.finetune import (
    StepSchedule,
    model_layer_groups,
    one_cycle_factor,
    stacked_layer_groups,
    stlr_factor,
)
from rnnkit.train.optim import make_optimizer


class Tower(torch.nn.Module):
    """Three layer groups, bottom to top: fc1, fc2, head (dropout makes the seed matter)."""

    def __init__(self, features=4, hidden=8, classes=3):
        super().__init__()
        self.fc1 = torch.nn.Linear(features, hidden)
        self.fc2 = torch.nn.Linear(hidden, hidden)
        self.drop = torch.nn.Dropout(0.2)
        self.head = torch.nn.Linear(hidden, classes)

    def forward(self, x):
        return self.head(self.drop(torch.tanh(self.fc2(torch.tanh(self.fc1(x))))))

    def layer_groups(self):
        return [list(self.fc1.parameters()), list(self.fc2.parameters()),
                list(self.head.parameters())]


def _lrs_per_step(trainer: Trainer) -> tuple[list[list[float]], Callback]:
    """A callback recording every group's lr after each batch (the lr of the next step)."""
    seen: list[list[float]] = []

    def record(batch, logs):
        seen.append([g["lr"] for g in trainer.optimizer.param_groups])

    callback = LambdaCallback(on_batch_end=record)
    trainer.callbacks.append(callback)
    return seen, callback


def paper_stlr(t: int, total: int, eta_max: float, cut_frac=0.1, ratio=32) -> float:
    """Howard & Ruder 2018, eq. 3, written out as in the paper."""
    cut = math.floor(total * cut_frac)
    p = t / cut if t < cut else 1 - (t - cut) / (cut * (1 / cut_frac - 1))
    return eta_max * (1 + p * (ratio - 1)) / ratio


def test_stlr_steps_every_batch_as_the_papers_equation():
    x, y = blobs(n=100)
    trainer = Trainer(optimizer="sgd", lr=0.05, schedule="stlr", verbose=0)
    seen, _ = _lrs_per_step(trainer)
    history = trainer.fit(MLP(), TensorLoader(x, y, batch_size=10), epochs=4)  # 40 steps
    assert history["lr"][0] == pytest.approx(0.05 / 32)
    expected = [paper_stlr(t, 40, 0.05) for t in range(1, 41)]
    assert [s[0] for s in seen] == pytest.approx(expected, rel=1e-12)
    assert max(s[0] for s in seen) == pytest.approx(0.05)  # the peak, after 4 of 40 steps
    assert [round(stlr_factor(t, 1.0, whole_steps=False), 4) for t in (0, 0.1, 0.55, 1.0)] == [
        round(1 / 32, 4), 1.0, round((1 + 0.5 * 31) / 32, 4), round(1 / 32, 4)]


def test_stlr_falls_until_the_last_step_when_the_cut_is_not_whole():
    lrs = [stlr_factor(t, 18) for t in range(19)]  # cut = floor(1.8) = 1
    assert lrs[1] == 1.0 and lrs[18] == pytest.approx(1 / 32)
    assert all(a > b for a, b in zip(lrs[1:], lrs[2:], strict=False))  # no early floor


def test_one_cycle_matches_torchs_one_cycle_lr():
    model = torch.nn.Linear(2, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    ref = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=23,
                                              cycle_momentum=False)
    expected = [ref.get_last_lr()[0]]
    for _ in range(22):
        opt.step()
        ref.step()
        expected.append(ref.get_last_lr()[0])
    ours = [0.1 * one_cycle_factor(t, 23) for t in range(23)]
    assert ours == pytest.approx(expected, rel=1e-9)


def test_one_cycle_through_the_trainer_with_options():
    x, y = blobs(n=60)
    spec = {"name": "one-cycle", "pct_start": 0.5, "div_factor": 10}
    trainer = Trainer(optimizer="sgd", lr=0.2, schedule=spec, verbose=0)
    seen, _ = _lrs_per_step(trainer)
    trainer.fit(MLP(), TensorLoader(x, y, batch_size=10), epochs=2)  # 12 steps
    lrs = [0.02] + [s[0] for s in seen]
    peak = lrs.index(max(lrs))
    assert 4 <= peak <= 6 and max(lrs) == pytest.approx(0.2, rel=1e-3)
    assert lrs[-1] < 1e-5  # annealed to lr / 10 / 1e4 at the last step


def test_a_time_budget_drives_the_schedule_when_epochs_are_open():
    opt = torch.optim.SGD(torch.nn.Linear(1, 1).parameters(), lr=3.2)
    sched = StepSchedule("stlr", opt, total_steps=None, time_budget=10.0)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1)
    sched.step(elapsed=1.0)  # 10% of the budget: the peak
    assert opt.param_groups[0]["lr"] == pytest.approx(3.2)
    sched.step(elapsed=5.5)
    assert opt.param_groups[0]["lr"] == pytest.approx(3.2 * (1 + 0.5 * 31) / 32)
    sched.step(elapsed=2.0)  # never back: a resumed run's clock starts again
    assert opt.param_groups[0]["lr"] == pytest.approx(3.2 * (1 + 0.5 * 31) / 32)
    # with epochs too, whichever is further along
    opt2 = torch.optim.SGD(torch.nn.Linear(1, 1).parameters(), lr=3.2)
    both = StepSchedule("stlr", opt2, total_steps=100, time_budget=10.0)
    both.step(elapsed=9.0)
    assert both.position == pytest.approx(90.0)


def test_stlr_under_a_time_budget_in_the_trainer():
    x, y = blobs(n=64)
    history = Trainer(lr=0.01, schedule="stlr", verbose=0).fit(
        MLP(), TensorLoader(x, y, batch_size=8, delay=0.005), epochs=None, time_budget=0.6
    )
    assert history.stopped_reason == "time_budget" and len(history) >= 2
    assert history["lr"][0] == pytest.approx(0.01 / 32)
    assert max(history["lr"][1:]) > 0.01 / 32


def test_discriminative_rates_per_layer_group_scale_together():
    x, y = blobs(n=40)
    trainer = Trainer(optimizer="sgd", lr=0.1, schedule="stlr", layer_lr_decay=2.6, verbose=0)
    seen, _ = _lrs_per_step(trainer)
    history = trainer.fit(Tower(), TensorLoader(x, y, batch_size=10), epochs=3)
    groups = trainer.optimizer.param_groups
    assert len(groups) == 3
    for lrs in seen:
        assert lrs[1] / lrs[2] == pytest.approx(1 / 2.6) and lrs[0] / lrs[2] == pytest.approx(
            1 / 2.6**2)
    assert history["lr"][0] == pytest.approx(0.1 / 32)  # the top group's
    # a per-epoch schedule scales the groups alike too
    cosine = Trainer(optimizer="sgd", lr=0.1, schedule="cosine", layer_lr_decay=2.0, verbose=0)
    cosine.fit(Tower(), TensorLoader(x, y, batch_size=10), epochs=2)
    lrs = [g["lr"] for g in cosine.optimizer.param_groups]
    assert lrs == pytest.approx([lrs[2] / 4, lrs[2] / 2, lrs[2]]) and lrs[2] < 0.1


def test_one_group_per_layer_leaves_training_bit_identical():
    x, y = blobs(n=48)

    def run(**options):
        torch.manual_seed(3)
        model = Tower()
        Trainer(lr=0.01, weight_decay=0.01, seed=1, verbose=0, **options).fit(
            model, TensorLoader(x, y, batch_size=12), epochs=2)
        return weights(model)

    assert same_weights(run(), run(layer_lr_decay=1.0))


@pytest.mark.parametrize("optimizer", ["adamw", "momentum"])
def test_gradual_unfreezing_trains_exactly_the_unfrozen_groups(optimizer):
    """After epoch k exactly the top k groups changed; the others are bit-identical (no weight
    decay, momentum or Adam moment creeps into them), and their gradients are never computed."""
    x, y = blobs(n=40)
    torch.manual_seed(0)
    start = weights(Tower())
    names = [["fc1.weight", "fc1.bias"], ["fc2.weight", "fc2.bias"],
             ["head.weight", "head.bias"]]
    for k in (1, 2, 3):
        model = Tower()
        model.load_state_dict(start)
        trainer = Trainer(optimizer=optimizer, lr=0.05, weight_decay=0.1, unfreeze="gradual",
                          verbose=0)
        grads_seen: list[list[bool]] = []

        def record(batch, logs, model=model, grads_seen=grads_seen):
            grads_seen.append([all(p.grad is not None for p in g) for g in model.layer_groups()])

        trainer.callbacks.append(LambdaCallback(on_batch_end=record))
        trainer.fit(model, TensorLoader(x, y, batch_size=10), epochs=k)
        after = weights(model)
        for index, group in enumerate(names):
            trained = index >= 3 - k
            for name in group:
                assert torch.equal(after[name], start[name]) is not trained, (k, name)
        assert grads_seen[0] == [False, False, True]  # epoch 1: only the top group
        assert grads_seen[-1] == [i >= 3 - k for i in range(3)]
        assert all(p.requires_grad for p in model.parameters())  # given back after fit


def test_frozen_parameters_keep_no_optimizer_state():
    x, y = blobs(n=20)
    model = Tower()
    trainer = Trainer(optimizer="adam", unfreeze="gradual", verbose=0)
    trainer.fit(model, TensorLoader(x, y, batch_size=10), epochs=1)
    state = trainer.optimizer.state
    assert all(p not in state for p in model.fc1.parameters())
    assert all(p in state for p in model.head.parameters())


class Crash(Callback):
    def __init__(self, epoch, batch):
        self.at, self.epoch = (epoch, batch), 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_batch_end(self, batch, logs=None):
        if (self.epoch, batch) == self.at:
            raise KeyboardInterrupt


@pytest.mark.parametrize("crash_at, every", [((1, 3), 2), ((2, 0), None)],
                         ids=["mid-epoch", "between-epochs"])
def test_resume_with_the_whole_schedule_is_exact(tmp_path, crash_at, every):
    """A fresh model and Trainer resume from the checkpoint file alone (as after a SIGKILL: see
    test_train_checkpoint.py for the real processes) and end bit-identical to the run never
    interrupted: the schedule's position, the groups' rates and the unfrozen groups included."""
    x, y = blobs(n=60, seed=1)

    def run(directory, callbacks=(), resume=False):
        torch.manual_seed(5)
        model = Tower()
        trainer = Trainer(lr=0.02, schedule="stlr", layer_lr_decay=2.6, unfreeze="gradual",
                          seed=3, verbose=0, checkpoint_dir=directory, checkpoint_every=every,
                          resume=resume, callbacks=list(callbacks))
        return model, trainer.fit(model, TensorLoader(x, y, batch_size=8), epochs=4)

    reference, ref_history = run(tmp_path / "ref")
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path / "run", [Crash(*crash_at)])
    resumed, history = run(tmp_path / "run", resume=True)
    assert same_weights(weights(resumed), weights(reference))
    assert history["lr"] == ref_history["lr"] and history["loss"] == ref_history["loss"]


def test_bad_options_are_one_line_config_errors():
    for options, words in [
        ({"layer_lr_decay": 0}, "layer_lr_decay"),
        ({"layer_lr_decay": float("nan")}, "layer_lr_decay"),
        ({"unfreeze": "all"}, "unfreeze"),
        ({"schedule": {"name": "stlr", "cut_frac": 1.5}}, "cut_frac"),
        ({"schedule": {"name": "stlr", "ratio": 0.5}}, "ratio"),
        ({"schedule": {"name": "one-cycle", "warmup": 3}}, "unknown option"),
        ({"schedule": "triangle"}, "stlr, one-cycle"),
    ]:
        with pytest.raises(ConfigError) as err:
            Trainer(verbose=0, **options)
        assert words in str(err.value) and "\n" not in str(err.value)
    x, y = blobs(n=16)
    with pytest.raises(ConfigError, match="no layer_groups"):
        Trainer(layer_lr_decay=2.6, verbose=0).fit(MLP(), TensorLoader(x, y), epochs=1)


def test_resuming_with_other_fine_tuning_options_is_refused_on_one_line(tmp_path):
    x, y = blobs(n=16)
    Trainer(layer_lr_decay=2.6, verbose=0, checkpoint_dir=tmp_path).fit(
        Tower(), TensorLoader(x, y), epochs=1)
    with pytest.raises(ConfigError) as err:
        Trainer(verbose=0, checkpoint_dir=tmp_path, resume=True).fit(
            Tower(), TensorLoader(x, y), epochs=2)
    assert "layer_lr_decay 2.6" in str(err.value) and "\n" not in str(err.value)


def test_layer_groups_cover_each_parameter_once_with_the_rest_on_top():
    class Partial(Tower):
        def layer_groups(self):  # fc2 left out, fc1 twice
            return [list(self.fc1.parameters()), list(self.fc1.parameters()),
                    list(self.head.parameters())]

    model = Partial()
    groups = model_layer_groups(model, "unfreeze")
    assert [len(g) for g in groups] == [2, 4]
    assert {id(p) for g in groups for p in g} == {id(p) for p in model.parameters()}
    gru = torch.nn.GRU(3, 4, num_layers=3)
    assert [len(g) for g in stacked_layer_groups(gru)] == [4, 4, 4]
    assert [len(g) for g in stacked_layer_groups(torch.nn.Linear(2, 2))] == [2]
    with pytest.raises(ConfigError, match="no trainable"):
        make_optimizer("adam", [{"params": [torch.nn.Parameter(torch.zeros(1),
                                                                requires_grad=False)]}])


def test_gradual_unfreezing_is_refused_in_a_process_group(monkeypatch):
    from rnnkit.train import distributed

    monkeypatch.setattr(distributed, "context", lambda: object())
    monkeypatch.setattr(distributed, "shard_loader", lambda data, ctx: data)
    monkeypatch.setattr(distributed, "all_reduce_max", lambda values: values)
    x, y = blobs(n=16)
    with pytest.raises(ConfigError, match="several workers"):
        Trainer(unfreeze="gradual", verbose=0).fit(Tower(), TensorLoader(x, y), epochs=1)


def test_training_errors_stay_training_errors():
    # a non-finite loss under the new machinery still stops with the usual one line
    x, y = blobs(n=16)
    x[0, 0] = float("nan")
    with pytest.raises(TrainingError, match="non-finite"):
        Trainer(layer_lr_decay=2.6, schedule="stlr", verbose=0).fit(
            Tower(), TensorLoader(x, y, shuffle=False), epochs=1)
