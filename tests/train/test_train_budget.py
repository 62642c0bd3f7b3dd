"""The time budget counts validation; Ctrl-C, resume and changed-option reports of the Trainer."""

from __future__ import annotations

import signal
import time

import pytest
import torch
from train_helpers import MLP, TensorLoader, blobs

from rnnkit.errors import ConfigError, TrainingError
from rnnkit.train import LambdaCallback, Trainer, TrainingInterrupted


def test_budget_keeps_room_for_the_validation_passes():
    """Cheap training, slow validation (0.25 s a pass): fit plus the caller's final pass end
    within the budget, instead of running the passes after it."""
    torch.manual_seed(0)
    x, y = blobs(n=256)
    train = TensorLoader(x, y, batch_size=8, delay=0.01)  # 32 batches: about 0.3 s an epoch
    valid = TensorLoader(x[:40], y[:40], batch_size=8, shuffle=False, delay=0.05)  # 5 batches
    Trainer(verbose=0).fit(MLP(), TensorLoader(x[:16], y[:16]), epochs=1)  # torch's warm-up
    trainer = Trainer(verbose=0)
    started = time.perf_counter()
    history = trainer.fit(MLP(), train, validation_data=valid, epochs=100, time_budget=1.5,
                          final_validation=True)
    trainer.evaluate(MLP(), valid)  # what the caller does after fit
    elapsed = time.perf_counter() - started
    assert history.stopped_reason == "time_budget"
    assert elapsed <= 1.5 + 0.3, elapsed
    assert elapsed >= 0.8  # the budget was used, not given up at once


def test_epochs_none_trains_until_the_budget_and_shows_no_epoch_count(capsys):
    x, y = blobs(n=64)
    history = Trainer(verbose=1).fit(MLP(), TensorLoader(x, y, delay=0.01), epochs=None,
                                     time_budget=0.3)
    assert history.stopped_reason == "time_budget" and len(history) >= 2
    err = capsys.readouterr().err
    assert "Epoch 1 - " in err and "Epoch 1/" not in err
    with pytest.raises(ConfigError, match="epochs"):
        Trainer(verbose=0).fit(MLP(), TensorLoader(x, y), epochs=None)


def _interrupt_at(epoch: int, batch: int) -> LambdaCallback:
    """Ctrl-C as the trainer sees it: KeyboardInterrupt after ``batch`` of ``epoch`` (0-based)."""
    state = {"epoch": 0}

    def begin(e, logs):
        state["epoch"] = e

    def end(b, logs):
        if state["epoch"] == epoch and b == batch:
            raise KeyboardInterrupt

    return LambdaCallback(on_epoch_begin=begin, on_batch_end=end)


def test_ctrl_c_names_the_epoch_and_the_last_checkpoint(tmp_path):
    x, y = blobs(n=64)
    trainer = Trainer(verbose=0, checkpoint_dir=tmp_path, callbacks=[_interrupt_at(1, 2)])
    with pytest.raises(TrainingInterrupted) as caught:
        trainer.fit(MLP(), TensorLoader(x, y), epochs=5)
    message = str(caught.value)
    assert caught.value.exit_status == 130 and "\n" not in message
    assert message.startswith("interrupted at epoch 2; the last checkpoint is ")
    assert str(tmp_path / "checkpoint.safetensors") in message and "--resume" in message
    assert "1 epoch(s) done" in message


def test_ctrl_c_right_after_a_checkpoint_is_written_names_it(tmp_path, monkeypatch):
    # the race a real Ctrl-C can hit: the file is in place, the trainer has not yet noted it
    import rnnkit.train.trainer as trainer_module

    real_save = trainer_module.save_checkpoint

    def save_then_ctrl_c(*args, **kwargs):
        real_save(*args, **kwargs)
        signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(trainer_module, "save_checkpoint", save_then_ctrl_c)
    x, y = blobs(n=64)
    with pytest.raises(TrainingInterrupted) as caught:
        Trainer(verbose=0, checkpoint_dir=tmp_path).fit(MLP(), TensorLoader(x, y), epochs=5)
    message = str(caught.value)
    assert message.startswith("interrupted at epoch 1; the last checkpoint is "), message
    assert "1 epoch(s) done" in message and (tmp_path / "checkpoint.safetensors").is_file()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handler restored


def test_ctrl_c_without_checkpoints_says_nothing_was_saved():
    x, y = blobs(n=64)
    trainer = Trainer(verbose=0, callbacks=[_interrupt_at(0, 1)])
    with pytest.raises(TrainingInterrupted, match=r"^interrupted at epoch 1; nothing was saved"):
        trainer.fit(MLP(), TensorLoader(x, y), epochs=5)


def test_resume_without_a_checkpoint_says_it_starts_fresh(tmp_path, capsys):
    x, y = blobs(n=32)
    Trainer(verbose=2, checkpoint_dir=tmp_path / "none", resume=True).fit(
        MLP(), TensorLoader(x, y), epochs=1
    )
    err = capsys.readouterr().err
    path = tmp_path / "none" / "checkpoint.safetensors"
    assert f"resume: no checkpoint at {path}; starting fresh" in err


def test_resume_with_another_model_size_names_the_option_on_one_line(tmp_path):
    x, y = blobs(n=32)
    Trainer(verbose=0, checkpoint_dir=tmp_path, fingerprint={"--hidden-size": 16}).fit(
        MLP(hidden=16), TensorLoader(x, y), epochs=1
    )
    resumed = Trainer(verbose=0, checkpoint_dir=tmp_path, resume=True,
                      fingerprint={"--hidden-size": 32})
    with pytest.raises(ConfigError) as caught:
        resumed.fit(MLP(hidden=32), TensorLoader(x, y), epochs=2)
    message = str(caught.value)
    assert "\n" not in message and "--hidden-size 16" in message and "--hidden-size 32" in message
    # without a fingerprint: still one line (not torch's list of size mismatches)
    with pytest.raises(TrainingError) as caught:
        Trainer(verbose=0, checkpoint_dir=tmp_path, resume=True).fit(
            MLP(hidden=32), TensorLoader(x, y), epochs=2
        )
    assert "\n" not in str(caught.value) and "another model" in str(caught.value)
