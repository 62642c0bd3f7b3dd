"""Issue 19: saving never destroys what is not a bundle, a failed save keeps the old bundle, a
bundle is untrusted input, and a bad option is one line before anything big is allocated."""

from __future__ import annotations

import errno
import hashlib
import json
import math
import os
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import rnnkit
import rnnkit.io.bundle as bundle_module
from rnnkit.errors import BundleError, ConfigError
from rnnkit.io import check_bundle_target, load_bundle_parts, save_bundle
from rnnkit.tasks import Forecaster, LanguageModel, SequenceClassifier, TextClassifier, Translator
from rnnkit.tasks.options import check_network_size, check_options, max_parameters, meta_network
from warm_cli import run_rnnkit

TEXTS = ["good film", "bad film", "not good", "not bad", "great plot", "awful plot"] * 6
LABELS = ["pos", "neg", "neg", "pos", "pos", "neg"] * 6
TINY = {"hidden_size": 4, "embedding_dim": 4, "epochs": 1, "verbose": 0}


def tree_digest(root: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file under ``root`` (the directory itself included)."""
    return {
        str(p.relative_to(root.parent)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*")) if p.is_file()
    }


def one_line(err: pytest.ExceptionInfo) -> str:
    message = str(err.value)
    assert "\n" not in message and message
    return message


@pytest.fixture(scope="module")
def text_bundle(tmp_path_factory) -> Path:
    """A tiny trained TextClassifier bundle; tests copy it before changing anything."""
    path = tmp_path_factory.mktemp("bundles") / "text"
    TextClassifier(**TINY).fit(TEXTS, LABELS).save(path, plots=False)
    return path


@pytest.fixture
def bundle_copy(text_bundle, tmp_path) -> Path:
    return Path(shutil.copytree(text_bundle, tmp_path / "model"))


# ------------------------------------------------------------------ 1. where a bundle may be saved


def _user_project(tmp_path: Path) -> Path:
    project = tmp_path / "myproject"
    (project / "src").mkdir(parents=True)
    (project / "notes.txt").write_text("my notes\n")
    (project / "src" / "main.py").write_text("print('hi')\n")
    # a config.json rnnkit did not write
    (project / "config.json").write_text('{"name": "my app"}\n')
    return project


def test_save_refuses_a_users_directory_and_keeps_it(text_bundle, tmp_path):
    clf = TextClassifier.load(text_bundle)
    project = _user_project(tmp_path)
    before = tree_digest(project)
    with pytest.raises(BundleError) as err:
        clf.save(project)
    assert "exists and is not an rnnkit bundle (it holds 3 files" in one_line(err)
    assert tree_digest(project) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["myproject"]  # no backup, no temp dir


def test_save_refuses_a_file_and_does_not_move_it(text_bundle, tmp_path):
    clf = TextClassifier.load(text_bundle)
    data = tmp_path / "mydata.csv"
    data.write_text("text,label\ngood,pos\n")
    with pytest.raises(BundleError) as err:
        clf.save(data)
    assert "mydata.csv: exists and is a file" in one_line(err)
    assert data.read_text() == "text,label\ngood,pos\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mydata.csv"]


def test_save_refuses_dot_dotdot_cwd_and_its_parents(tmp_path, monkeypatch):
    work = tmp_path / "a" / "work"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    for target in (".", "..", str(work), str(tmp_path), "/", "../work"):
        with pytest.raises(BundleError) as err:
            save_bundle(target, {"task": "t"}, {"w": torch.ones(1)})
        one_line(err)
    assert list(work.iterdir()) == []


def test_save_refuses_a_bundle_of_another_task_unless_forced(text_bundle, tmp_path):
    other = save_bundle(tmp_path / "air", {"task": "forecaster"}, {"w": torch.ones(1)})
    before = tree_digest(other)
    clf = TextClassifier.load(text_bundle)
    with pytest.raises(BundleError) as err:
        clf.save(other, plots=False)
    assert "holds a 'forecaster' bundle, not a 'text_classifier' one" in one_line(err)
    assert "--force" in str(err.value)
    assert tree_digest(other) == before
    clf.save(other, plots=False, force=True)
    assert load_bundle_parts(other).task == "text_classifier"


def test_save_replaces_an_empty_directory_and_a_bundle_of_the_same_task(tmp_path):
    (tmp_path / "empty").mkdir()
    save_bundle(tmp_path / "empty", {"task": "t"}, {"w": torch.ones(1)})
    save_bundle(tmp_path / "empty", {"task": "t"}, {"w": torch.zeros(1)}, metrics={"n": 2})
    assert load_bundle_parts(tmp_path / "empty").metrics == {"n": 2}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty"]


def test_save_refuses_a_bundle_holding_the_users_files(tmp_path):
    path = save_bundle(tmp_path / "m", {"task": "t"}, {"w": torch.ones(1)})
    (path / "my_notes.md").write_text("results of the run\n")
    before = tree_digest(path)
    with pytest.raises(BundleError) as err:
        save_bundle(path, {"task": "t"}, {"w": torch.zeros(1)})
    assert "also holds files rnnkit did not write (my_notes.md)" in one_line(err)
    assert tree_digest(path) == before


def test_save_refuses_a_stray_backup_that_is_not_a_bundle(tmp_path):
    stray = tmp_path / "m.backup"
    stray.mkdir()
    (stray / "keep.txt").write_text("mine")
    with pytest.raises(BundleError) as err:
        save_bundle(tmp_path / "m", {"task": "t"}, {"w": torch.ones(1)})
    assert "m.backup exists and is not an rnnkit bundle" in one_line(err)
    assert (stray / "keep.txt").read_text() == "mine"
    assert not (tmp_path / "m").exists()


def test_check_bundle_target_refuses_unwritable_places_and_writes_nothing(tmp_path):
    (tmp_path / "file.txt").write_text("x")
    for target in (tmp_path / "file.txt" / "model", Path("/proc/rnnkit-test-model")):
        with pytest.raises(BundleError) as err:
            check_bundle_target(target, "text_classifier")
        one_line(err)
    deep = tmp_path / "new" / "deeper" / "model"
    assert check_bundle_target(deep, "text_classifier") == deep.resolve()
    # no parent made, no probe left
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]


def test_check_bundle_target_accepts_what_save_replaces(text_bundle, tmp_path):
    assert check_bundle_target(text_bundle, "text_classifier") == text_bundle.resolve()
    with pytest.raises(BundleError, match="not a 'series_forecaster' one"):
        check_bundle_target(text_bundle, "series_forecaster")
    assert (
        check_bundle_target(text_bundle, "series_forecaster", force=True) == text_bundle.resolve()
    )


# ----------------------------------------------------------- 2. a failed write keeps the old bundle


def _disk_full_on(call: int):
    """A stand-in for ``bundle._write_synced`` that fails with ENOSPC on its ``call``-th file."""
    real = bundle_module._write_synced
    calls = {"n": 0}

    def write(file, payload):
        calls["n"] += 1
        if calls["n"] == call:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(file))
        real(file, payload)

    return write


@pytest.mark.parametrize("call", [1, 3])
def test_disk_full_while_saving_is_one_line_and_keeps_the_previous_bundle(
    bundle_copy, monkeypatch, call
):
    before = tree_digest(bundle_copy)
    clf = TextClassifier.load(bundle_copy)
    monkeypatch.setattr(bundle_module, "_write_synced", _disk_full_on(call))
    with pytest.raises(BundleError) as err:
        clf.save(bundle_copy, plots=False)
    message = one_line(err)
    assert "No space left on device; the previous bundle is unchanged" in message
    assert tree_digest(bundle_copy) == before
    assert sorted(p.name for p in bundle_copy.parent.iterdir()) == ["model"]  # temp dir removed


def test_disk_full_on_a_new_path_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(bundle_module, "_write_synced", _disk_full_on(2))
    with pytest.raises(BundleError, match="No space left on device; nothing was saved"):
        save_bundle(tmp_path / "m", {"task": "t"}, {"w": torch.ones(1)}, metrics={"a": 1})
    assert list(tmp_path.iterdir()) == []


def test_failed_final_rename_puts_the_previous_bundle_back(bundle_copy, monkeypatch):
    before = tree_digest(bundle_copy)
    real_rename = os.rename

    def rename(src, dst):
        if Path(dst) == bundle_copy.resolve() and ".tmp-" in Path(src).name:
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        real_rename(src, dst)

    monkeypatch.setattr(bundle_module.os, "rename", rename)
    with pytest.raises(BundleError, match="Input/output error; the previous bundle is unchanged"):
        save_bundle(bundle_copy, {"task": "text_classifier"}, {"w": torch.ones(1)})
    assert tree_digest(bundle_copy) == before
    assert sorted(p.name for p in bundle_copy.parent.iterdir()) == ["model"]


# ------------------------------------------------------------------ 3. bundles are untrusted input


def rewrite_config(path: Path, change, sign: bool = True) -> None:
    """Apply ``change(config)`` to config.json; ``sign`` recomputes its checksum, as a crafted
    bundle would (an edit without it is caught by the checksum alone)."""
    config = json.loads((path / "config.json").read_text())
    change(config)
    if sign:
        config["config_sha256"] = bundle_module._config_digest(config)
    (path / "config.json").write_text(json.dumps(config, allow_nan=True))


def _set_param(name, value):
    return lambda config: config["params"].__setitem__(name, value)


def _drop(key):
    return lambda config: config.pop(key)


TAMPERED = {
    "num_layers_1e6": (_set_param("num_layers", 1_000_000), "num_layers must be an integer"),
    "hidden_size_8000": (_set_param("hidden_size", 8000), "the weights do not match the config"),
    "hidden_size_1e9": (_set_param("hidden_size", 1e9), "hidden_size must be an integer"),
    "hidden_size_text": (_set_param("hidden_size", "8"), "hidden_size must be an integer"),
    "lr_nan": (_set_param("lr", math.nan), "lr must be a finite number"),
    "unknown_option": (_set_param("flux_capacitor", 3), "unknown option(s) flux_capacitor"),
    "no_params": (_drop("params"), "has no 'params' object"),
    "no_classes": (_drop("classes"), "has no 'classes' list"),
    "classes_text": (lambda c: c.__setitem__("classes", "posneg"), "has no 'classes' list"),
    "one_class": (
        lambda c: c.__setitem__("classes", ["pos", "pos"]),
        "two or more distinct labels",
    ),
    "files_list": (lambda c: c.__setitem__("files", []), "malformed 'files'"),
    "files_escape": (
        lambda c: c["files"].__setitem__("../../etc/passwd", {"bytes": 1, "sha256": "0"}),
        "malformed 'files' entry",
    ),
    "files_entry_text": (
        lambda c: c["files"].__setitem__("vectorizer.json", "ok"),
        "malformed 'files' entry",
    ),
    "params_list": (lambda c: c.__setitem__("params", [1, 2]), "has no 'params' object"),
}


@pytest.mark.parametrize("case", sorted(TAMPERED))
def test_tampered_config_is_one_line_and_fast(bundle_copy, case):
    change, expected = TAMPERED[case]
    rewrite_config(bundle_copy, change)
    for load in (TextClassifier.load, rnnkit.load):
        started = time.perf_counter()
        with pytest.raises(BundleError) as err:
            load(bundle_copy)
        assert time.perf_counter() - started < 5
        assert expected in one_line(err)


def test_edited_config_is_caught_by_its_checksum(bundle_copy):
    rewrite_config(bundle_copy, _set_param("hidden_size", 5), sign=False)
    with pytest.raises(BundleError, match="config.json was modified after saving"):
        TextClassifier.load(bundle_copy)


def test_bundle_without_config_checksum_still_loads_with_the_other_checks(bundle_copy):
    def unsign(config):
        config.pop("config_sha256")

    rewrite_config(bundle_copy, unsign, sign=False)  # as saved before the checksum existed
    assert TextClassifier.load(bundle_copy).predict(["good film"])[0] in {"pos", "neg"}
    rewrite_config(bundle_copy, _set_param("num_layers", 10**6), sign=False)
    with pytest.raises(BundleError, match="num_layers must be an integer"):
        TextClassifier.load(bundle_copy)


def test_deeply_nested_config_is_one_line(bundle_copy):
    text = (bundle_copy / "config.json").read_text()
    nested = "[" * 200_000 + "]" * 200_000
    (bundle_copy / "config.json").write_text(text.replace('"params": {',
                                                          f'"deep": {nested}, "params": {{', 1))
    with pytest.raises(BundleError) as err:
        rnnkit.load(bundle_copy)
    assert "config.json is not valid JSON (nested too deeply)" in one_line(err)


def test_nan_weights_are_refused_naming_the_tensor(bundle_copy):
    from safetensors.torch import load_file, save_file

    weights = bundle_copy / "weights.safetensors"
    tensors = load_file(str(weights))
    name = sorted(k for k in tensors if tensors[k].is_floating_point())[0]
    tensors[name][0] = float("nan")
    save_file(tensors, str(weights))
    data = weights.read_bytes()

    def refresh_manifest(config):
        config["files"]["weights.safetensors"] = {"bytes": len(data),
                                                  "sha256": hashlib.sha256(data).hexdigest()}

    rewrite_config(bundle_copy, refresh_manifest)
    with pytest.raises(BundleError) as err:
        TextClassifier.load(bundle_copy)
    assert f"tensor {name} holds NaN or infinite values" in one_line(err)


def _cli(*args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    return run_rnnkit(args, timeout=timeout, env={**os.environ, "MPLBACKEND": "Agg"})


@pytest.mark.parametrize("case", ["num_layers_1e6", "hidden_size_8000", "no_classes"])
def test_cli_predict_on_a_tampered_bundle_exits_2_with_one_line(bundle_copy, case):
    rewrite_config(bundle_copy, TAMPERED[case][0])
    before = tree_digest(bundle_copy)
    result = _cli("text", "predict", str(bundle_copy), "good film")
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in result.stderr
    assert TAMPERED[case][1] in lines[0]
    assert tree_digest(bundle_copy) == before


# -------------------------------------------------------- every estimator: round trip and tampering


def _fit_tiny(name: str):
    if name == "text":
        return TextClassifier(**TINY).fit(TEXTS, LABELS)
    if name == "sequence":
        rng = np.random.default_rng(0)
        X = rng.normal(size=(24, 5, 2)).astype(np.float32)
        y = ["a", "b"] * 12
        return SequenceClassifier(hidden_size=4, epochs=1, verbose=0).fit(X, y)
    if name == "forecast":
        y = np.sin(np.arange(60) / 3.0) + 2.0
        return Forecaster(hidden_size=4, ensemble=1, epochs=1, lookback=6, season=1).fit(
            y, test_size=0.2
        )
    if name == "lm":
        return LanguageModel(hidden_size=4, embedding_dim=4, num_layers=1, epochs=1, bptt=8,
                             batch_size=4, verbose=0).fit("abcabcabd " * 30)
    sources = ["a b", "b c", "c a", "a c"] * 6
    return Translator(hidden_size=4, embedding_dim=4, epochs=1, min_freq=1, verbose=0,
                      valid_fraction=0).fit(sources, [s.upper() for s in sources])


ESTIMATORS = ["text", "sequence", "forecast", "lm", "translate"]


@pytest.mark.parametrize("name", ESTIMATORS)
def test_every_estimator_round_trips_and_refuses_a_tampered_size(name, tmp_path):
    model = _fit_tiny(name)
    path = model.save(tmp_path / name)
    loaded = type(model).load(path)
    assert loaded.model_ is not None
    rewrite_config(path, _set_param("hidden_size", 4000))
    with pytest.raises(BundleError) as err:
        rnnkit.load(path)
    assert "the weights do not match the config" in one_line(err)
    rewrite_config(path, _set_param("num_layers", 10**6))
    with pytest.raises(BundleError, match="num_layers must be an integer"):
        type(model).load(path)


def test_forecaster_bundle_with_a_huge_resolved_lookback_is_refused(tmp_path):
    path = _fit_tiny("forecast").save(tmp_path / "f")
    rewrite_config(path, lambda c: c["resolved"].__setitem__("lookback", 10**12))
    with pytest.raises(BundleError) as err:
        Forecaster.load(path)
    assert "lookback must be an integer" in one_line(err)


# ----------------------------------------------------- 4. options are checked before any allocation


BAD_OPTIONS = [
    ({"lr": math.nan}, "lr must be a finite number > 0"),
    ({"lr": math.inf}, "lr must be a finite number > 0"),
    ({"lr": 0.0}, "lr must be a finite number > 0"),
    ({"lr": -1e-3}, "lr must be a finite number > 0"),
    ({"hidden_size": 1_000_000_000}, "hidden_size must be an integer in [1, 1048576]"),
    ({"num_layers": 1_000_000}, "num_layers must be an integer in [1, 64]"),
    ({"hidden_size": "8"}, "hidden_size must be an integer"),
    ({"hidden_size": True}, "hidden_size must be an integer"),
    ({"weight_decay": math.nan}, "weight_decay must be a finite number"),
    ({"dropout": 1.5}, "dropout must be a finite number in [0, 0.99]"),
    ({"batch_size": 0}, "batch_size must be an integer"),
    ({"time_budget": -5}, "time_budget must be a finite number > 0"),
]


def _fit_call(name: str, params: dict):
    """``fit`` of estimator ``name`` with ``params`` on data that would train if they were fine."""
    if name == "text":
        return lambda: TextClassifier(**{**TINY, **params}).fit(TEXTS, LABELS)
    if name == "sequence":
        X = np.zeros((12, 4, 2), dtype=np.float32)
        return lambda: SequenceClassifier(verbose=0, **params).fit(X, ["a", "b"] * 6)
    if name == "forecast":
        return lambda: Forecaster(**params).fit(np.arange(1.0, 61.0), test_size=0.2)
    if name == "lm":
        return lambda: LanguageModel(verbose=0, **params).fit("abc " * 50)
    return lambda: Translator(verbose=0, **params).fit(["a b"] * 10, ["A B"] * 10)


@pytest.mark.parametrize("name", ESTIMATORS)
@pytest.mark.parametrize(
    "params,expected",
    BAD_OPTIONS,
    ids=[next(iter(p)) + "=" + str(next(iter(p.values()))) for p, _ in BAD_OPTIONS],
)
def test_bad_numeric_option_is_one_line_config_error(name, params, expected):
    started = time.perf_counter()
    with pytest.raises(ConfigError) as err:
        _fit_call(name, params)()
    assert expected in one_line(err)
    assert time.perf_counter() - started < 5


@pytest.mark.parametrize("name", ESTIMATORS)
def test_network_too_large_for_the_machine_is_refused_before_allocation(name):
    started = time.perf_counter()
    with pytest.raises(ConfigError) as err:
        _fit_call(name, {"hidden_size": 1 << 20, "num_layers": 2})()
    message = one_line(err)
    assert "parameters, more than the" in message and "hidden_size=1048576" in message
    assert time.perf_counter() - started < 10


def test_parameter_count_is_measured_on_meta_without_memory():
    from rnnkit.tasks.classifier_model import RecurrentClassifier

    started = time.perf_counter()
    net = meta_network(lambda: RecurrentClassifier(2, vocab_size=100, embedding_dim=8,
                                                   hidden_size=50_000))
    assert time.perf_counter() - started < 2  # no initialiser ran, no compiler imported
    with pytest.raises(ConfigError, match="hidden_size=50000"):
        check_network_size("TextClassifier", net, {"hidden_size": 50_000}, limit=10**9)
    small = meta_network(lambda: RecurrentClassifier(2, vocab_size=10, embedding_dim=2,
                                                     hidden_size=3))
    real = RecurrentClassifier(2, vocab_size=10, embedding_dim=2, hidden_size=3)
    assert {k: v.shape for k, v in small.state_dict().items()} == {
        k: v.shape for k, v in real.state_dict().items()
    }
    assert 10**6 <= max_parameters() <= 2_000_000_000


def test_check_options_accepts_the_defaults_of_every_estimator():
    from rnnkit.tasks.forecast import FORECAST_DEFAULTS
    from rnnkit.tasks.language_model import LM_DEFAULTS
    from rnnkit.tasks.sequence import SEQ_DEFAULTS
    from rnnkit.tasks.text import TEXT_DEFAULTS
    from rnnkit.tasks.translation import TRANSLATE_DEFAULTS

    for estimator, defaults in [
        ("TextClassifier", TEXT_DEFAULTS),
        ("SequenceClassifier", SEQ_DEFAULTS),
        ("Forecaster", FORECAST_DEFAULTS),
        ("LanguageModel", LM_DEFAULTS),
        ("Translator", TRANSLATE_DEFAULTS),
    ]:
        check_options(estimator, defaults)
    check_options("LanguageModel", {"embedding_dim": None})
    check_options("Forecaster",
                  {"lr": np.float32(0.01), "hidden_size": np.int64(8), "epochs": "auto"})
