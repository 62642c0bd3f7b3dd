"""History: columns, best epoch, CSV round trip."""

from __future__ import annotations

import pytest

from rnnkit.errors import ConfigError
from rnnkit.train import History


def make_history():
    h = History(stopped_reason="early_stopping")
    h.append({"epoch": 1, "loss": 0.9, "accuracy": 0.5, "val_loss": 1.0, "val_accuracy": 0.55,
              "seconds": 1.25, "lr": 0.001})
    h.append({"epoch": 2, "loss": 0.5, "accuracy": 0.8, "val_loss": 0.7, "val_accuracy": 0.75,
              "seconds": 1.5, "lr": 0.001})
    h.append({"epoch": 3, "loss": 0.3, "accuracy": 0.9, "val_loss": 0.8, "val_accuracy": 0.8,
              "seconds": 1.0, "lr": 0.0005})
    return h


def test_columns_and_best():
    h = make_history()
    assert h.columns == ["epoch", "loss", "accuracy", "val_loss", "val_accuracy", "seconds", "lr"]
    assert h["val_loss"] == [1.0, 0.7, 0.8]
    assert h.best("val_loss")["epoch"] == 2  # lower is better for losses
    assert h.best("val_accuracy")["epoch"] == 3  # higher is better for scores
    assert h.best("val_accuracy", mode="min")["epoch"] == 1
    assert h.history["lr"] == [0.001, 0.001, 0.0005]
    with pytest.raises(ConfigError, match="val_f1"):
        h.best("val_f1")
    with pytest.raises(KeyError):
        h["nope"]


def test_csv_round_trip_is_exact(tmp_path):
    h = make_history()
    h.append({"epoch": 4, "loss": 1 / 3, "accuracy": float("nan"), "seconds": 0.1, "lr": 1e-4})
    text = h.to_csv(tmp_path / "h.csv")
    assert text.splitlines()[0] == "epoch,loss,accuracy,val_loss,val_accuracy,seconds,lr"
    back = History.from_csv(tmp_path / "h.csv")
    assert back["loss"] == h["loss"]  # repr() floats round-trip bit for bit
    assert back["epoch"] == [1, 2, 3, 4]
    assert "val_loss" not in back.records[3]
    assert back["accuracy"][3] != back["accuracy"][3]  # nan survives
    assert History.from_csv(text).records[0] == h.records[0]


def test_dict_round_trip_keeps_stopped_reason():
    h = make_history()
    back = History.from_dict(h.to_dict())
    assert back.records == h.records and back.stopped_reason == "early_stopping"
