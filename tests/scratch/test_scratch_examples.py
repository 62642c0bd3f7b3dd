"""Each scratch example runs and reaches its stated result."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sentiment_reaches_full_test_accuracy() -> None:
    # As a script (its own process: one BLAS thread, as the example sets), the full 1000 epochs.
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / "scratch_sentiment.py")],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        timeout=120,
    ).stdout
    lines = out.strip().splitlines()
    epoch_lines = [line for line in lines if line.startswith("epoch")]
    assert [line.split()[1] for line in epoch_lines] == [f"{e}/1000" for e in range(100, 1001, 100)]
    assert lines[-1].endswith("test accuracy 1.000"), lines[-1]
    first_loss = float(epoch_lines[0].split()[3])
    last_loss = float(epoch_lines[-1].split()[3])
    assert last_loss < 0.05 < first_loss


def test_sentiment_data_is_consistent() -> None:
    module = _load("scratch_sentiment")
    assert 55 <= len(module.TRAIN) <= 65 and len(module.TEST) == 20
    train_words = {w for phrase in module.TRAIN for w in phrase.split()}
    assert {w for phrase in module.TEST for w in phrase.split()} <= train_words
    assert not set(module.TRAIN) & set(module.TEST)
    assert any("not" in phrase for phrase in module.TEST)


def test_numpy_forward_matches_the_loop() -> None:
    result = _load("scratch_numpy_forward").main(timesteps=12, input_features=5, output_features=7)
    assert result["sequence"].shape == (12, 7)
    assert result["output"].shape == (2, 12, 7) and result["last"].shape == (2, 7)
    np.testing.assert_allclose(result["output"][0], result["sequence"], atol=1e-12)
    np.testing.assert_allclose(result["last"], result["output"][:, -1], atol=1e-15)
    assert np.all(result["padded_output"][1, 6:] == 0)
    np.testing.assert_allclose(result["padded_h"][0, 1], result["output"][1, 5], atol=1e-15)


def test_hello_predicts_next_characters(capsys) -> None:
    predicted = _load("scratch_hello").main()
    assert predicted == "ello"
    out = capsys.readouterr().out
    for pair in ["h -> e", "e -> l", "l -> l", "l -> o"]:
        assert pair in out


def test_dinner_follows_the_weather_rule() -> None:
    module = _load("scratch_dinner")
    menu = module.main()
    assert menu == ["apple pie", "burger", "chicken", "chicken", "chicken", "apple pie", "burger"]
    rng = np.random.default_rng(0)
    for _ in range(5):
        weather = tuple(rng.choice(module.WEATHER, size=10))
        first = str(rng.choice(module.DISHES))
        assert module.main(first, weather) == module.rule(first, list(weather))
