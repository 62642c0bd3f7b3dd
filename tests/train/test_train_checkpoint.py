"""Checkpoints: no-pickle state round trips, exact resume, and crash safety under SIGKILL."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from train_helpers import MLP, TensorLoader, blobs, same_weights, weights

from rnnkit.errors import TrainingError
from rnnkit.train import Callback, EarlyStopping, Trainer
from rnnkit.train.checkpoint import (
    CHECKPOINT_NAME,
    flatten_state,
    load_checkpoint,
    save_checkpoint,
    unflatten_state,
)
from rnnkit.train.optim import OPTIMIZER_NAMES, make_optimizer, make_schedule

CHILD = Path(__file__).with_name("kill_child.py")
REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", OPTIMIZER_NAMES)
def test_optimizer_state_round_trips_without_pickle(tmp_path, name):
    torch.manual_seed(0)
    model = MLP(dropout=0.0)
    opt = make_optimizer(name, model.parameters(), lr=0.01)
    sched = make_schedule("plateau", opt, epochs=3)
    x, y = blobs(n=16)
    for _ in range(2):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    sched.step(1.0)
    skeleton, tensors = flatten_state({"opt": opt.state_dict(), "sched": sched.state_dict()}, "s")
    save_checkpoint(tmp_path / "c.safetensors", {"state": skeleton}, tensors)
    meta, loaded = load_checkpoint(tmp_path / "c.safetensors")
    state = unflatten_state(meta["state"], loaded)

    clone = MLP(dropout=0.0)
    clone.load_state_dict(model.state_dict())
    opt2 = make_optimizer(name, clone.parameters(), lr=0.01)
    opt2.load_state_dict(state["opt"])
    sched2 = make_schedule("plateau", opt2, epochs=3)
    sched2.load_state_dict(state["sched"])
    assert sched2.state_dict() == sched.state_dict()
    for m, o in ((model, opt), (clone, opt2)):  # one more identical step on both
        o.zero_grad()
        torch.nn.functional.cross_entropy(m(x), y).backward()
        o.step()
    assert same_weights(weights(model), weights(clone))


def test_shared_tensors_are_stored_once_and_stay_tied():
    w = torch.randn(3, 3)
    skeleton, tensors = flatten_state({"a": w, "b": w, "c": w[0]}, "m")
    assert len(tensors) == 2
    restored = unflatten_state(skeleton, tensors)
    assert restored["a"] is restored["b"]
    assert torch.equal(restored["c"], w[0])


def test_unstorable_state_is_a_clear_error():
    with pytest.raises(TrainingError, match="without pickle"):
        flatten_state({"fn": object()}, "x")


def test_checkpoint_file_is_plain_safetensors_with_json_header(tmp_path):
    from safetensors import safe_open

    x, y = blobs(n=32)
    Trainer(verbose=0, checkpoint_dir=tmp_path).fit(MLP(), TensorLoader(x, y), epochs=2)
    with safe_open(str(tmp_path / CHECKPOINT_NAME), "pt") as fh:
        header = fh.metadata()
    assert header["format"] == "rnnkit-checkpoint"
    meta, tensors = load_checkpoint(tmp_path / CHECKPOINT_NAME)
    assert meta["epoch"] == 2 and meta["batch"] == 0
    assert [r["epoch"] for r in meta["history"]["records"]] == [1, 2]
    assert all(isinstance(t, torch.Tensor) for t in tensors.values())


def test_truncated_checkpoint_is_reported(tmp_path):
    x, y = blobs(n=32)
    Trainer(verbose=0, checkpoint_dir=tmp_path).fit(MLP(), TensorLoader(x, y), epochs=1)
    path = tmp_path / CHECKPOINT_NAME
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(TrainingError, match="unreadable"):
        Trainer(verbose=0, checkpoint_dir=tmp_path, resume=True).fit(
            MLP(), TensorLoader(x, y), epochs=2
        )


class Crash(Callback):
    """Raises at (epoch, batch) to simulate a crash in the middle of training."""

    def __init__(self, epoch, batch):
        self.at = (epoch, batch)
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_batch_end(self, batch, logs=None):
        if (self.epoch, batch) == self.at:
            raise KeyboardInterrupt


def _resume_run(tmp_path, crash_at, every):
    x, y = blobs(n=96, seed=1)
    val = TensorLoader(x[:32], y[:32], shuffle=False)

    def build():
        torch.manual_seed(5)
        return MLP(dropout=0.3)

    def trainer(callbacks, directory, resume=False):
        return Trainer(
            lr=0.01,
            metrics=("accuracy", "f1"),
            schedule={"name": "plateau", "patience": 0, "factor": 0.7},
            callbacks=[*callbacks, EarlyStopping(patience=100)],
            seed=3,
            verbose=0,
            checkpoint_dir=directory,
            checkpoint_every=every,
            resume=resume,
        )

    reference = build()
    ref_history = trainer([], tmp_path / "ref").fit(reference, TensorLoader(x, y, batch_size=10),
                                                    val, epochs=4)

    model = build()
    with pytest.raises(KeyboardInterrupt):
        trainer([Crash(*crash_at)], tmp_path / "run").fit(model, TensorLoader(x, y, batch_size=10),
                                                          val, epochs=4)
    resumed = build()  # a fresh process would rebuild the model from scratch
    history = trainer([], tmp_path / "run", resume=True).fit(
        resumed, TensorLoader(x, y, batch_size=10), val, epochs=4
    )
    assert same_weights(weights(resumed), weights(reference))
    assert history["loss"] == ref_history["loss"]
    assert history["val_f1"] == ref_history["val_f1"]
    assert history["lr"] == ref_history["lr"]


def test_resume_after_crash_between_epochs_is_exact(tmp_path):
    _resume_run(tmp_path, crash_at=(2, 3), every=None)  # resumes from the end of epoch 2


def test_resume_after_crash_mid_epoch_is_exact(tmp_path):
    _resume_run(tmp_path, crash_at=(1, 6), every=2)  # resumes from epoch 2, batch 6


def test_resume_of_finished_run_and_more_epochs(tmp_path):
    x, y = blobs(n=48)
    torch.manual_seed(0)
    a = MLP()
    Trainer(verbose=0, checkpoint_dir=tmp_path / "a").fit(a, TensorLoader(x, y), epochs=2)
    again = Trainer(verbose=0, checkpoint_dir=tmp_path / "a", resume=True).fit(
        MLP(), TensorLoader(x, y), epochs=2
    )
    assert len(again) == 2 and again.stopped_reason == "completed"
    longer = MLP()
    Trainer(verbose=0, checkpoint_dir=tmp_path / "a", resume=True).fit(
        longer, TensorLoader(x, y), epochs=3
    )
    torch.manual_seed(0)
    b = MLP()
    Trainer(verbose=0).fit(b, TensorLoader(x, y), epochs=3)
    assert same_weights(weights(longer), weights(b))


def test_resume_without_checkpoint_starts_fresh(tmp_path):
    x, y = blobs(n=32)
    history = Trainer(verbose=0, checkpoint_dir=tmp_path / "none", resume=True).fit(
        MLP(), TensorLoader(x, y), epochs=1
    )
    assert len(history) == 1


def test_a_checkpoint_dir_in_use_is_refused_and_left_as_it_was(tmp_path):
    from rnnkit.train.lifeline import LOCK_NAME, CheckpointLock

    x, y = blobs(n=32)
    directory = tmp_path / "ckpt"
    Trainer(verbose=0, checkpoint_dir=directory).fit(MLP(), TensorLoader(x, y), epochs=1)
    before = (directory / CHECKPOINT_NAME).read_bytes()
    assert sorted(p.name for p in directory.iterdir()) == [CHECKPOINT_NAME]  # lock released
    with CheckpointLock(directory), pytest.raises(TrainingError) as err:  # another run holds it
        Trainer(verbose=0, checkpoint_dir=directory, resume=True).fit(
            MLP(), TensorLoader(x, y), epochs=2)
    assert f"checkpoint directory {directory} is in use by another training run" in str(err.value)
    assert (directory / CHECKPOINT_NAME).read_bytes() == before
    assert not (directory / LOCK_NAME).exists()


def test_time_budget_checkpoint_resumes_exactly(tmp_path):
    x, y = blobs(n=96, seed=2)

    def build():
        torch.manual_seed(9)
        return MLP(dropout=0.3)

    ref = build()
    Trainer(seed=1, verbose=0).fit(ref, TensorLoader(x, y, batch_size=8), epochs=2)
    model = build()
    first = Trainer(seed=1, verbose=0, checkpoint_dir=tmp_path).fit(
        model, TensorLoader(x, y, batch_size=8, delay=0.02), epochs=2, time_budget=0.1
    )
    assert first.stopped_reason == "time_budget"
    resumed = build()
    history = Trainer(seed=1, verbose=0, checkpoint_dir=tmp_path, resume=True).fit(
        resumed, TensorLoader(x, y, batch_size=8), epochs=2
    )
    assert history.stopped_reason == "completed" and len(history) == 2
    assert same_weights(weights(resumed), weights(ref))


# ------------------------------------------------------------------------- real processes


def _child(args, **kwargs):
    env = dict(os.environ, PYTHONUNBUFFERED="1", OMP_NUM_THREADS="1")
    return subprocess.Popen(
        [sys.executable, str(CHILD), *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=env,
        **kwargs,
    )


def _read_until(proc, predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    for line in proc.stdout:
        if predicate(line.strip()):
            return line.strip()
        if time.monotonic() > deadline:
            break
    proc.kill()
    raise AssertionError(f"child ended or timed out first: {proc.stderr.read()}")


@pytest.fixture(scope="module")
def reference_weights(tmp_path_factory):
    """The uninterrupted run, in this process (one thread, like the children)."""
    import kill_child

    before = torch.get_num_threads()
    out = tmp_path_factory.mktemp("ref") / "ref.safetensors"
    kill_child.main([str(out.parent / "ckpt"), str(out), "--epochs", "4", "--delay", "0"])
    torch.set_num_threads(before)
    return out


@pytest.mark.parametrize(
    "every, kill_after",
    [(None, "epoch 1"), (3, "batch 2:4")],
    ids=["between-epochs", "mid-epoch"],
)
def test_sigkill_then_resume_gives_identical_weights(
    tmp_path, every, kill_after, reference_weights
):
    common = ["--epochs", "4"] + (["--every", str(every)] if every else [])
    victim = _child([tmp_path / "run", tmp_path / "run.safetensors", *common])
    _read_until(victim, lambda line: line == kill_after)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert victim.returncode == -signal.SIGKILL
    assert not (tmp_path / "run.safetensors").exists()
    meta, _ = load_checkpoint(tmp_path / "run" / CHECKPOINT_NAME)
    assert (meta["epoch"], meta["batch"]) < (4, 0)  # it really was interrupted
    resumed = _child([tmp_path / "run", tmp_path / "run.safetensors", "--resume", *common])
    out, err = resumed.communicate(timeout=60)
    assert resumed.returncode == 0, err
    assert out.strip().endswith("done")
    ref_w = load_file(str(reference_weights))
    run_w = load_file(str(tmp_path / "run.safetensors"))
    assert same_weights(ref_w, run_w)
    from safetensors import safe_open

    with (
        safe_open(str(reference_weights), "pt") as a,
        safe_open(str(tmp_path / "run.safetensors"), "pt") as b,
    ):
        assert a.metadata()["loss"] == b.metadata()["loss"]


def test_sigkill_during_checkpoint_writes_never_corrupts(tmp_path):
    """Kill a process that checkpoints 24 MB after every batch at random moments; always loadable.

    The child's fsync of regular files is slowed down (a slow disk), so most kills land between
    the creation of the temporary file and the rename - the dangerous window.
    """
    ckpt_dir = tmp_path / "ckpt"
    rng = random.Random(0)
    left_temps = 0
    last_epoch_batch = None
    for _ in range(3):
        proc = _child([ckpt_dir, tmp_path / "out.safetensors", "--every", "1", "--big", "6000000",
                       "--delay", "0", "--epochs", "50", "--slow-fsync", "0.15"])
        _read_until(proc,
                    lambda line: line.startswith("batch") and (ckpt_dir / CHECKPOINT_NAME).exists())
        time.sleep(rng.uniform(0.0, 0.4))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()
        left_temps += sum(1 for p in ckpt_dir.iterdir() if ".tmp-" in p.name)
        meta, tensors = load_checkpoint(ckpt_dir / CHECKPOINT_NAME)  # must never raise
        state = unflatten_state(meta["state"], tensors)
        assert state["model"]["ballast"].shape == (6_000_000,)
        assert torch.equal(state["model"]["ballast"][-3:],
                           torch.tensor([5999997.0, 5999998.0, 5999999.0]))
        model = MLP(dropout=0.3)
        model.load_state_dict({k: v for k, v in state["model"].items() if k != "ballast"})
        last_epoch_batch = (meta["epoch"], meta["batch"])
    assert last_epoch_batch is not None
    # Evidence that kills landed inside a write: the killed writers' temporary files were left
    # behind (and are cleaned up by the next save), yet the checkpoint always loaded.
    assert left_temps >= 1
