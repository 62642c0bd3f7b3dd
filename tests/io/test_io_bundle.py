"""Bundles: round trip of every field, each bad-bundle case, atomic overwrite, task registry."""

from __future__ import annotations

import json
import os
import shutil
import sys

import pytest
import torch
from matplotlib.figure import Figure

import rnnkit.io.bundle as bundle_module
from rnnkit.errors import BundleError
from rnnkit.io import (
    SCHEMA_VERSION,
    atomic_write,
    backup_path,
    check_state_dict,
    load_bundle_parts,
    load_registered,
    register_task,
    registered_tasks,
    save_bundle,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class FakeHistory:
    def to_csv(self):
        return "epoch,loss\n1,0.5\n2,0.25\n"


def state():
    gen = torch.Generator().manual_seed(0)
    return {
        "gru.weight_ih_l0": torch.randn(6, 2, generator=gen),
        "gru.bias_ih_l0": torch.randn(6, generator=gen, dtype=torch.float64),
        "embed.weight": torch.randn(5, 3, generator=gen),
        "steps": torch.tensor(7),
    }


def figure():
    fig = Figure(figsize=(3, 2))
    fig.subplots().plot([1, 2, 3], [3, 1, 2])
    return fig


def save_full(path, **overrides):
    kwargs = dict(
        config={
            "task": "text_classifier",
            "model": {"hidden": 6, "cell": "gru"},
            "labels": ["neg", "pos"],
        },
        state_dict=state(),
        extra_json={"vocab": {"<pad>": 0, "<unk>": 1, "héllo": 2}, "scaler.json": {"mean": 1.5}},
        history=FakeHistory(),
        metrics={"accuracy": 0.875, "loss": 0.3},
        plots={"curves": figure(), "raw": PNG_MAGIC + b"fake"},
    )
    kwargs.update(overrides)
    return save_bundle(path, **kwargs)


def test_round_trip_of_every_field(tmp_path):
    path = save_full(tmp_path / "m")
    names = sorted(p.name for p in path.iterdir())
    assert names == sorted(
        ["config.json", "weights.safetensors", "vocab.json", "scaler.json", "metrics.json",
         "history.csv", "curves.png", "raw.png"]
    )
    parts = load_bundle_parts(path, expect=state())
    assert parts.task == "text_classifier"
    assert parts.config["model"] == {"hidden": 6, "cell": "gru"}
    assert parts.config["labels"] == ["neg", "pos"]
    assert parts.config["schema_version"] == SCHEMA_VERSION
    assert parts.config["rnnkit_version"]
    for key, tensor in state().items():
        assert (
            torch.equal(parts.state_dict[key], tensor)
            and parts.state_dict[key].dtype == tensor.dtype
        )
    assert parts.json("vocab") == {"<pad>": 0, "<unk>": 1, "héllo": 2}
    assert parts.json("scaler.json") == {"mean": 1.5}
    assert parts.metrics == {"accuracy": 0.875, "loss": 0.3}
    assert parts.history_csv() == FakeHistory().to_csv()
    assert parts.file("curves.png").read_bytes().startswith(PNG_MAGIC)
    assert parts.file("raw.png").read_bytes() == PNG_MAGIC + b"fake"
    assert parts.has("vocab") and not parts.has("merges")
    with pytest.raises(BundleError, match="missing merges.json"):
        parts.json("merges")


def test_tied_weights_are_saved(tmp_path):
    w = torch.randn(4, 3)
    save_bundle(tmp_path / "m", {"task": "lm"}, {"embed.weight": w, "out.weight": w})
    parts = load_bundle_parts(tmp_path / "m")
    assert torch.equal(parts.state_dict["embed.weight"], parts.state_dict["out.weight"])


def test_history_object_from_trainer_is_accepted(tmp_path):
    from rnnkit.train import History

    h = History([{"epoch": 1, "loss": 0.5}])
    save_bundle(tmp_path / "m", {"task": "t"}, {"w": torch.ones(1)}, history=h)
    assert History.from_csv(load_bundle_parts(tmp_path / "m").history_csv()).records == h.records


def test_config_without_task_and_reserved_names(tmp_path):
    with pytest.raises(BundleError, match="task"):
        save_bundle(tmp_path / "m", {"model": {}}, {})
    with pytest.raises(BundleError, match="reserved"):
        save_bundle(tmp_path / "m", {"task": "t"}, {}, extra_json={"config": {}})
    with pytest.raises(BundleError, match="JSON"):
        save_bundle(tmp_path / "m", {"task": "t"}, {}, extra_json={"vocab": {1, 2}})
    assert not (tmp_path / "m").exists()


def _rewrite_config(path, **changes):
    config = json.loads((path / "config.json").read_text())
    config.update(changes)
    (path / "config.json").write_text(json.dumps(config))


def test_newer_schema_is_refused(tmp_path):
    path = save_full(tmp_path / "m")
    _rewrite_config(path, schema_version=SCHEMA_VERSION + 1, rnnkit_version="9.0")
    with pytest.raises(BundleError,
                       match=r"schema version 2 \(rnnkit 9.0\) is newer.*upgrade rnnkit"):
        load_bundle_parts(path)


@pytest.mark.parametrize("name", ["weights.safetensors", "vocab.json", "config.json"])
def test_missing_file(tmp_path, name):
    path = save_full(tmp_path / "m")
    (path / name).unlink()
    with pytest.raises(BundleError, match=f"missing {name}"):
        load_bundle_parts(path)


def test_missing_directory():
    with pytest.raises(BundleError, match="no such directory"):
        load_bundle_parts("/nonexistent/model")


def test_mismatched_tensors(tmp_path):
    path = save_full(tmp_path / "m")
    expect = state()
    expect["gru.weight_ih_l0"] = torch.zeros(9, 2)
    del expect["steps"]
    expect["head.weight"] = torch.zeros(2, 6)
    with pytest.raises(BundleError) as err:
        load_bundle_parts(path, expect=expect)
    message = str(err.value)
    assert "missing head.weight" in message
    assert "unexpected steps" in message
    assert "gru.weight_ih_l0 has shape (6, 2), expected (9, 2)" in message
    # shapes as tuples ok
    check_state_dict(state(), {k: tuple(v.shape) for k, v in state().items()})


def test_truncated_weights(tmp_path):
    path = save_full(tmp_path / "m")
    data = (path / "weights.safetensors").read_bytes()
    (path / "weights.safetensors").write_bytes(data[: len(data) // 2])
    before = sorted((p.name, p.stat().st_size) for p in path.iterdir())
    with pytest.raises(BundleError, match="weights.safetensors has .* bytes but .* were saved"):
        load_bundle_parts(path)
    assert sorted((p.name, p.stat().st_size) for p in path.iterdir()) == before  # nothing rewritten


def test_truncated_weights_without_manifest_still_caught(tmp_path):
    path = save_full(tmp_path / "m")
    config = json.loads((path / "config.json").read_text())
    del config["files"], config["config_sha256"]  # as a bundle from before both existed
    (path / "config.json").write_text(json.dumps(config))
    data = (path / "weights.safetensors").read_bytes()
    (path / "weights.safetensors").write_bytes(data[:-7])
    with pytest.raises(BundleError, match="unreadable"):
        load_bundle_parts(path)


def test_edited_file_is_caught_by_checksum(tmp_path):
    path = save_full(tmp_path / "m")
    text = (path / "vocab.json").read_text().replace('"<pad>": 0', '"<pad>": 9')
    (path / "vocab.json").write_text(text)
    with pytest.raises(BundleError, match="vocab.json is corrupt"):
        load_bundle_parts(path)


def test_truncated_config_json(tmp_path):
    path = save_full(tmp_path / "m")
    raw = (path / "config.json").read_bytes()
    (path / "config.json").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(BundleError, match="config.json is not valid JSON"):
        load_bundle_parts(path)


def test_overwrite_replaces_and_leaves_no_debris(tmp_path):
    save_full(tmp_path / "m", metrics={"accuracy": 0.1})
    save_full(tmp_path / "m", metrics={"accuracy": 0.2}, extra_json={"vocab": {}})
    assert load_bundle_parts(tmp_path / "m").metrics == {"accuracy": 0.2}
    assert not (tmp_path / "m" / "scaler.json").exists()  # old files do not linger
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


def test_failure_while_writing_keeps_old_bundle(tmp_path, monkeypatch):
    save_full(tmp_path / "m", metrics={"accuracy": 0.1})
    calls = {"n": 0}
    real_fsync = os.fsync

    def failing_fsync(fd):
        calls["n"] += 1
        if calls["n"] == 3:  # third file of the new bundle
            raise OSError("disk full")
        real_fsync(fd)

    monkeypatch.setattr(bundle_module.os, "fsync", failing_fsync)
    with pytest.raises(BundleError, match="disk full; the previous bundle is unchanged"):
        save_full(tmp_path / "m", metrics={"accuracy": 0.9})
    monkeypatch.undo()
    assert load_bundle_parts(tmp_path / "m").metrics == {"accuracy": 0.1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]  # temporary directory removed


def test_failure_while_rendering_keeps_old_bundle(tmp_path):
    save_full(tmp_path / "m", metrics={"accuracy": 0.1})

    class BrokenFigure:
        def savefig(self, *args, **kwargs):
            raise RuntimeError("renderer crashed")

    with pytest.raises(RuntimeError, match="renderer crashed"):
        save_full(tmp_path / "m", plots={"curves": BrokenFigure()})
    assert load_bundle_parts(tmp_path / "m").metrics == {"accuracy": 0.1}


def test_crash_between_the_two_renames_recovers_from_backup(tmp_path, monkeypatch):
    save_full(tmp_path / "m", metrics={"accuracy": 0.1})
    real_rename = os.rename

    def rename_then_crash(src, dst):
        if str(dst) == str(tmp_path / "m"):  # old bundle already moved to the backup name
            raise KeyboardInterrupt("killed")
        real_rename(src, dst)

    monkeypatch.setattr(bundle_module.os, "rename", rename_then_crash)
    with pytest.raises(KeyboardInterrupt):
        save_full(tmp_path / "m", metrics={"accuracy": 0.9})
    monkeypatch.undo()
    assert not (tmp_path / "m").exists() and backup_path(tmp_path / "m").is_dir()
    parts = load_bundle_parts(tmp_path / "m")  # falls back to the backup
    assert parts.metrics == {"accuracy": 0.1}
    assert parts.path == backup_path(tmp_path / "m")
    save_full(tmp_path / "m", metrics={"accuracy": 0.5})  # the next save cleans everything up
    assert load_bundle_parts(tmp_path / "m").metrics == {"accuracy": 0.5}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


def test_stale_backup_next_to_complete_bundle_is_replaced(tmp_path):
    save_full(tmp_path / "m", metrics={"accuracy": 0.1})
    shutil.copytree(tmp_path / "m", backup_path(tmp_path / "m"))
    save_full(tmp_path / "m", metrics={"accuracy": 0.3})
    assert load_bundle_parts(tmp_path / "m").metrics == {"accuracy": 0.3}
    assert not backup_path(tmp_path / "m").exists()


def test_registry_dispatches_on_task(tmp_path):
    seen = []

    def loader(parts):
        seen.append(parts.config["model"])
        return ("loaded", parts.task)

    register_task("unit_test_task", loader)
    assert "unit_test_task" in registered_tasks()
    save_full(tmp_path / "m", config={"task": "unit_test_task", "model": {"hidden": 3}})
    assert load_registered(tmp_path / "m") == ("loaded", "unit_test_task")
    assert seen == [{"hidden": 3}]
    save_full(tmp_path / "other", config={"task": "no_such_task"})
    with pytest.raises(BundleError, match="unknown task 'no_such_task'"):
        load_registered(tmp_path / "other")
    with pytest.raises(BundleError):
        register_task("", loader)


def test_rnnkit_load_registers_every_task_first(tmp_path):
    """rnnkit.io dispatches among registered loaders only (it never imports the task layer);
    rnnkit.load imports the task modules first, so their names are known."""
    import rnnkit
    from rnnkit.tasks import TASK_MODULES
    from rnnkit.tasks.defaults import TEXT_TASK

    save_full(tmp_path / "other", config={"task": "no_such_task"})
    with pytest.raises(BundleError, match=f"unknown task 'no_such_task' .*{TEXT_TASK}"):
        rnnkit.load(tmp_path / "other")
    assert all(name in sys.modules for name in TASK_MODULES)


def test_atomic_write_text_bytes_and_failure(tmp_path, monkeypatch):
    target = tmp_path / "f.txt"
    atomic_write(target, "first\n")
    atomic_write(target, b"second\n")
    assert target.read_bytes() == b"second\n"

    def broken_replace(src, dst):
        raise OSError("no space")

    import rnnkit.io.atomic as atomic_module

    monkeypatch.setattr(atomic_module.os, "replace", broken_replace)
    with pytest.raises(OSError, match="no space"):
        atomic_write(target, "third\n")
    monkeypatch.undo()
    assert target.read_text() == "second\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.txt"]
