"""Trainer behaviour on small synthetic tasks with plain torch models."""

from __future__ import annotations

import math

import pytest
import torch
from train_helpers import (
    MLP,
    GRUClassifier,
    TensorLoader,
    blobs,
    same_weights,
    sequence_task,
    weights,
)

from rnnkit.errors import ConfigError, TrainingError
from rnnkit.train import (
    Callback,
    CSVLogger,
    EarlyStopping,
    History,
    LambdaCallback,
    ModelCheckpoint,
    Trainer,
)
from rnnkit.train.optim import OPTIMIZER_NAMES, make_optimizer, optimizer_is_fused


def seq_loaders(seed=0):
    x, lengths, y = sequence_task(n=256, seed=seed)
    train = TensorLoader(x[:192], y[:192], batch_size=32, extra={"lengths": lengths[:192]})
    val = TensorLoader(x[192:], y[192:], batch_size=64, shuffle=False,
                       extra={"lengths": lengths[192:]})
    return train, val


def test_gru_reaches_low_loss_on_sequence_task():
    torch.manual_seed(0)
    train, val = seq_loaders()
    model = GRUClassifier()
    trainer = Trainer(lr=0.02, metrics=("accuracy", "f1"), verbose=0)
    history = trainer.fit(model, train, validation_data=val, epochs=25)
    assert history.stopped_reason == "completed"
    assert len(history) == 25
    assert history["loss"][-1] < 0.25, history["loss"]
    assert history["val_accuracy"][-1] >= 0.85
    assert set(history.columns) >= {"epoch", "loss", "accuracy", "f1", "val_loss", "val_accuracy",
                                    "seconds", "lr"}
    # evaluate gives the validation numbers of the final weights
    ev = trainer.evaluate(model, val)
    assert ev["loss"] == pytest.approx(history["val_loss"][-1])
    # predict returns outputs in loader order, equal to calling the model directly
    preds = trainer.predict(model, val)
    model.eval()
    with torch.no_grad():
        direct = model(val.x, val.extra["lengths"])
    assert preds.shape == (64, 2)
    torch.testing.assert_close(preds, direct)


def test_epoch_loss_is_token_weighted_mean_for_padded_token_targets():
    # Two batches with different numbers of real tokens: epoch loss must be nats per real token.
    torch.manual_seed(0)
    emb = torch.nn.Embedding(5, 5)
    t1 = torch.tensor([[1, 2, -100, -100]])
    t2 = torch.tensor([[1, 2, 3, 4], [0, 1, 2, 3]])
    loader = [({"input": torch.tensor([[1, 2, 3, 4]])}, t1),
              ({"input": torch.tensor([[1, 2, 3, 4], [0, 1, 2, 3]])}, t2)]
    trainer = Trainer(metrics=("perplexity", "accuracy"), verbose=0)
    ev = trainer.evaluate(emb, loader)
    with torch.no_grad():
        logits = torch.cat([emb(torch.tensor([[1, 2, 3, 4]])),
                            emb(torch.tensor([[1, 2, 3, 4], [0, 1, 2, 3]]))])
        targets = torch.cat([t1, t2])
        nats = torch.nn.functional.cross_entropy(logits.reshape(-1, 5), targets.reshape(-1),
                                                 ignore_index=-100)
    assert ev["loss"] == pytest.approx(float(nats), rel=1e-6)
    assert ev["perplexity"] == pytest.approx(math.exp(float(nats)), rel=1e-5)


def test_early_stopping_restores_best_weights():
    torch.manual_seed(0)
    x, y = blobs(n=96, classes=2)
    train = TensorLoader(x, y, batch_size=32)
    # Validation labels are flipped: the better the model learns, the worse validation gets,
    # so the best validation loss is at epoch 1.
    val = TensorLoader(x, 1 - y, batch_size=96, shuffle=False)
    snapshots = []
    recorder = LambdaCallback(on_epoch_end=lambda epoch, logs: snapshots.append(weights(model)))
    model = MLP(classes=2, dropout=0.0)
    stopper = EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    history = Trainer(lr=0.05, callbacks=[recorder, stopper], verbose=0).fit(
        model, train, val, epochs=30
    )
    assert history.stopped_reason == "early_stopping"
    assert len(history) == 3
    best = history.best("val_loss")["epoch"]
    assert best == 1
    assert same_weights(weights(model), snapshots[best - 1])
    assert not same_weights(weights(model), snapshots[-1])


def test_early_stopping_needs_a_logged_monitor():
    x, y = blobs(n=32)
    with pytest.raises(ConfigError, match="val_loss"):
        Trainer(callbacks=[EarlyStopping()], verbose=0).fit(MLP(), TensorLoader(x, y), epochs=2)


def test_time_budget_stops_after_the_crossing_batch(capsys):
    torch.manual_seed(0)
    x, y = blobs(n=400)
    train = TensorLoader(x, y, batch_size=8, delay=0.02)  # 50 batches, >= 1 s per epoch
    seen = []
    counter = LambdaCallback(on_batch_end=lambda batch, logs: seen.append(batch))
    history = Trainer(callbacks=[counter], verbose=2).fit(MLP(), train, epochs=50, time_budget=0.15)
    assert history.stopped_reason == "time_budget"
    assert len(history) == 1
    assert 3 <= len(seen) < 50  # stopped inside the first epoch, right after the crossing batch
    err = capsys.readouterr().err
    assert "time budget of 0.15 s reached at epoch 1" in err


def test_same_seed_same_weights_different_seed_different():
    x, y = blobs(n=96)

    def run(seed):
        torch.manual_seed(123)  # same initial weights for every run
        model = MLP(dropout=0.3)
        Trainer(seed=seed, verbose=0).fit(model, TensorLoader(x, y, batch_size=16), epochs=3)
        return weights(model)

    first, second, other = run(7), run(7), run(8)
    assert same_weights(first, second)
    assert not same_weights(first, other)


class PoisonOn(Callback):
    """Records the weights after every batch so the test can compare them to the final ones."""

    def __init__(self):
        self.after = []

    def on_batch_end(self, batch, logs=None):
        self.after.append(weights(self.model))


def test_non_finite_loss_raises_and_keeps_last_good_weights():
    torch.manual_seed(0)
    x, y = blobs(n=64)
    x[40] = float("nan")  # unshuffled, batch size 16: this is batch 3 of every epoch
    loader = TensorLoader(x, y, batch_size=16, shuffle=False)
    recorder = PoisonOn()
    model = MLP(dropout=0.0)
    with pytest.raises(TrainingError, match=r"non-finite loss \(nan\) at epoch 1, batch 3"):
        Trainer(callbacks=[recorder], verbose=0).fit(model, loader, epochs=2)
    assert len(recorder.after) == 2
    assert same_weights(weights(model), recorder.after[-1])
    assert all(torch.isfinite(v).all() for v in model.state_dict().values())


def test_non_finite_gradient_is_not_applied():
    model = torch.nn.Linear(3, 1)
    before = weights(model)

    def sqrt_at_zero(output, target):  # finite value 0, gradient nan (inf * 0)
        return torch.sqrt((output * 0).sum())

    loader = [({"input": torch.ones(2, 3)}, torch.zeros(2))]
    with pytest.raises(TrainingError, match="non-finite gradient at epoch 1, batch 1"):
        Trainer(loss=sqrt_at_zero, metrics=(), verbose=0).fit(model, loader, epochs=1)
    assert same_weights(weights(model), before)


@pytest.mark.parametrize("name", OPTIMIZER_NAMES)
def test_each_optimizer_trains(name):
    torch.manual_seed(0)
    x, y = blobs(n=64)
    model = MLP(dropout=0.0)
    before = weights(model)
    lr = {"sgd": 0.2, "momentum": 0.1, "adagrad": 0.1}.get(name, 0.01)
    trainer = Trainer(optimizer=name, lr=lr, verbose=0)
    history = trainer.fit(model, TensorLoader(x, y), epochs=8)
    assert not same_weights(weights(model), before)
    assert history["loss"][-1] < history["loss"][0]
    if name in ("adam", "adamw", "sgd", "momentum", "adagrad"):
        assert optimizer_is_fused(trainer.optimizer), f"{name} should use the fused CPU kernel"
    else:
        assert trainer.optimizer.defaults.get("foreach") is True


def test_unknown_names_are_config_errors():
    with pytest.raises(ConfigError, match="optimizer"):
        make_optimizer("lion", torch.nn.Linear(1, 1).parameters())
    with pytest.raises(ConfigError, match="metrics"):
        Trainer(metrics=("bogus",))
    with pytest.raises(ConfigError, match="loss"):
        Trainer(loss="hinge")
    x, y = blobs(n=16)
    with pytest.raises(ConfigError, match="schedule"):
        Trainer(schedule="triangle", verbose=0).fit(MLP(), TensorLoader(x, y), epochs=1)


def test_step_schedule():
    x, y = blobs(n=32)
    trainer = Trainer(optimizer="sgd", lr=0.1,
                      schedule={"name": "step", "step_size": 2, "gamma": 0.5}, verbose=0)
    history = trainer.fit(MLP(), TensorLoader(x, y), epochs=5)
    assert history["lr"] == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025])


def test_cosine_schedule():
    x, y = blobs(n=32)
    history = Trainer(lr=0.1, schedule="cosine", verbose=0).fit(MLP(), TensorLoader(x, y), epochs=4)
    expected = [0.05 * (1 + math.cos(math.pi * e / 4)) for e in range(4)]
    assert history["lr"] == pytest.approx(expected)


def test_plateau_schedule_reduces_when_monitor_stalls():
    x, y = blobs(n=32)
    # lr so small that the loss cannot improve by the relative threshold: every epoch is a plateau
    trainer = Trainer(
        optimizer="sgd", lr=1e-9,
        schedule={"name": "plateau", "patience": 0, "factor": 0.5, "eps": 0.0, "monitor": "loss"},
        verbose=0
    )
    history = trainer.fit(MLP(dropout=0.0), TensorLoader(x, y, shuffle=False), epochs=4)
    assert history["lr"] == pytest.approx([1e-9, 1e-9, 5e-10, 2.5e-10])


@pytest.mark.parametrize("mode", ["norm", "value"])
def test_gradient_clipping(mode):
    model = torch.nn.Linear(1, 1, bias=False)
    torch.nn.init.zeros_(model.weight)
    loader = [({"input": torch.ones(4, 1)}, torch.full((4,), 100.0))]  # gradient -200
    kwargs = {"clip_norm": 0.5} if mode == "norm" else {"clip_value": 0.5}
    Trainer(loss="mse", optimizer="sgd", lr=1.0, metrics=(), verbose=0, **kwargs).fit(
        model, loader, epochs=1
    )
    assert float(model.weight.detach()) == pytest.approx(0.5)


def test_amp_bfloat16_runs():
    torch.manual_seed(0)
    x, y = blobs(n=64)
    history = Trainer(amp=True, lr=0.02, verbose=0).fit(MLP(dropout=0.0), TensorLoader(x, y),
                                                        epochs=6)
    assert history["loss"][-1] < history["loss"][0]


def test_callback_hooks_order_and_request_stop():
    x, y = blobs(n=32)
    events = []

    class Recorder(Callback):
        def on_train_begin(self, logs=None):
            events.append("train_begin")

        def on_epoch_begin(self, epoch, logs=None):
            events.append(f"epoch_begin {epoch}")

        def on_batch_end(self, batch, logs=None):
            events.append(f"batch {batch}")

        def on_epoch_end(self, epoch, logs=None):
            events.append(f"epoch_end {epoch}")
            if epoch == 1:
                self.request_stop("enough")

        def on_train_end(self, logs=None):
            events.append(f"train_end {logs['stopped_reason']}")

    history = Trainer(callbacks=[Recorder()], verbose=0).fit(
        MLP(), TensorLoader(x, y, batch_size=16), epochs=5
    )
    assert history.stopped_reason == "enough"
    assert events == [
        "train_begin",
        "epoch_begin 0", "batch 0", "batch 1", "epoch_end 0",
        "epoch_begin 1", "batch 0", "batch 1", "epoch_end 1",
        "train_end enough",
    ]  # fmt: skip


def test_model_checkpoint_and_csv_logger(tmp_path):
    from safetensors.torch import load_file

    torch.manual_seed(0)
    x, y = blobs(n=64)
    model = MLP(dropout=0.0)
    best_file = tmp_path / "best.safetensors"
    callbacks = [
        ModelCheckpoint(best_file, save_best_only=True, monitor="val_accuracy"),
        ModelCheckpoint(tmp_path / "every" / "e{epoch:02d}.safetensors"),
        CSVLogger(tmp_path / "log.csv"),
    ]
    val = TensorLoader(x, y, shuffle=False, batch_size=64)
    history = Trainer(lr=0.02, callbacks=callbacks, verbose=0).fit(
        model, TensorLoader(x, y), val, epochs=3
    )
    assert sorted(p.name for p in (tmp_path / "every").iterdir()) == [
        "e01.safetensors",
        "e02.safetensors",
        "e03.safetensors",
    ]
    last = load_file(str(tmp_path / "every" / "e03.safetensors"))
    assert same_weights(last, weights(model))
    assert set(load_file(str(best_file))) == set(model.state_dict())
    logged = History.from_csv(tmp_path / "log.csv")
    assert logged["loss"] == history["loss"]
    assert logged["epoch"] == [1, 2, 3]


def test_plain_log_lines_when_not_a_terminal(capsys):
    x, y = blobs(n=32)
    Trainer(verbose=1, metrics=("accuracy",)).fit(MLP(), TensorLoader(x, y), TensorLoader(x, y),
                                                  epochs=2)
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("Epoch")]
    assert len(lines) == 2
    assert (
        "samples/s" in lines[0]
        and "loss:" in lines[0]
        and "val_accuracy:" in lines[0]
        and "lr:" in lines[0]
    )
    Trainer(verbose=0).fit(MLP(), TensorLoader(x, y), epochs=1)
    assert capsys.readouterr().err == ""


def test_progress_bar_on_a_terminal():
    import io

    from rnnkit.train.progress import Progress

    class FakeTTY(io.StringIO):
        def isatty(self):
            return True

    stream = FakeTTY()
    progress = Progress(verbose=1, epochs=3, stream=stream)
    assert progress.use_bar
    progress.epoch_begin(0, num_batches=4)
    for done in range(1, 5):
        progress.batch_end(done, lambda: {"loss": 0.5, "samples_per_second": 1000.0})
    progress.epoch_end({"epoch": 1, "loss": 0.5, "seconds": 0.2, "lr": 0.001,
                        "samples_per_second": 1000.0})
    assert "Epoch 1/3" in stream.getvalue()
    assert not Progress(verbose=2, epochs=3, stream=stream).use_bar


def test_empty_loader_is_a_training_error():
    with pytest.raises(TrainingError, match="no batches"):
        Trainer(verbose=0).fit(MLP(), [], epochs=1)


def test_predict_pads_variable_length_token_outputs():
    emb = torch.nn.Embedding(4, 3)
    loader = [{"input": torch.zeros(2, 5, dtype=torch.long)},
              {"input": torch.zeros(1, 3, dtype=torch.long)}]
    out = Trainer(verbose=0).predict(emb, loader)
    assert out.shape == (3, 5, 3)
    assert torch.equal(out[2, 3:], torch.zeros(2, 3))


def test_default_metrics_follow_the_loss():
    x = torch.randn(16, 3)
    reg = [({"input": x}, x.sum(1))]
    history = Trainer(loss="mse", verbose=0).fit(torch.nn.Linear(3, 1), reg, epochs=1)
    assert "rmse" in history and "accuracy" not in history
    cls = [({"input": x}, (x.sum(1) > 0).float())]
    history = Trainer(loss="bce", verbose=0).fit(torch.nn.Linear(3, 1), cls, epochs=1)
    assert "accuracy" in history


def test_request_stop_immediately_from_a_batch():
    x, y = blobs(n=64)
    seen = []

    class StopAtBatch(Callback):
        def on_batch_end(self, batch, logs=None):
            seen.append(batch)
            if batch == 1:
                self.request_stop("user", immediately=True)

    history = Trainer(callbacks=[StopAtBatch()], verbose=0).fit(
        MLP(), TensorLoader(x, y, batch_size=8), epochs=3
    )
    assert seen == [0, 1]
    assert history.stopped_reason == "user" and len(history) == 1
