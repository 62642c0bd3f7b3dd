"""Transfer from a word-level language model to a text classifier, and LM fine-tuning (init=).

One tiny word-level LM (hidden 8, ~50 sentences, 1 epoch) is trained once per module; the tests
check the mechanics (vocabulary, weights, options, reports, refusals, bundles), never accuracy.
"""

from __future__ import annotations

import json
import os
import pickle
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

from rnnkit.data.vocabulary import OOV_ID
from rnnkit.errors import BundleError, ConfigError
from rnnkit.io.bundle import CONFIG_DIGEST_KEY, _config_digest
from rnnkit.tasks import LanguageModel, SequenceClassifier, TextClassifier
from rnnkit.tasks.classifier_model import RecurrentClassifier
from warm_cli import run_rnnkit

GOOD = ["the film was good", "a good cast and a fine plot", "good acting , fine story"]
BAD = ["the film was bad", "a dull cast and a weak plot", "bad acting , dull story"]
TEXTS = (GOOD + BAD) * 8
LABELS = ([1] * 3 + [0] * 3) * 8
TINY_LM = {"level": "word", "hidden_size": 8, "num_layers": 1, "embedding_dim": 8, "bptt": 8,
           "batch_size": 4, "epochs": 1, "valid_fraction": 0, "verbose": 0}


@pytest.fixture(scope="module")
def bundles(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("transfer")
    LanguageModel(**TINY_LM).fit(TEXTS).save(root / "lm", plots=False)
    char = {**TINY_LM, "level": "char", "bptt": 4}
    LanguageModel(**char).fit("good bad film " * 5).save(root / "char_lm", plots=False)
    rng = np.random.default_rng(0)
    seqs = [rng.normal(size=(5, 2)).astype(np.float32) for _ in range(12)]
    SequenceClassifier(hidden_size=4, epochs=1, verbose=0, validation_split=None).fit(
        seqs, [0, 1] * 6).save(root / "seq", plots=False)
    with (root / "train.tsv").open("w", encoding="utf-8") as f:
        f.write("text\tlabel\n")
        for text, label in zip(TEXTS + ["a zany splendid film"] * 2, LABELS + [1, 1],
                               strict=True):
            f.write(f"{text}\t{label}\n")
    return {"root": root, "lm": root / "lm", "char_lm": root / "char_lm", "seq": root / "seq",
            "train": root / "train.tsv"}


def _classifier(lm: Path, **options) -> TextClassifier:
    return TextClassifier(pretrained=str(lm), epochs=1, verbose=0, validation_split=None,
                          **options)


def test_vocabulary_and_tokenisation_come_from_the_lm_unknown_words_are_oov(bundles) -> None:
    lm = LanguageModel.load(bundles["lm"])
    texts = [*TEXTS, "a zany film", "zany zany Splendid"]
    clf = _classifier(bundles["lm"]).fit(texts, [*LABELS, 1, 0])
    assert clf.vectorizer_.vocabulary == lm.vectorizer_.vocabulary
    ids = clf.vectorizer_.transform(["zany good Splendid"])[0]  # no lower-casing: as the LM read
    assert ids.tolist() == [OOV_ID, lm.vectorizer_.vocab.id_of("good"), OOV_ID]
    report = clf.metrics_["pretrained"]
    tokens = sum(len(t.split()) for t in texts)
    assert (report["oov_words"], report["oov_tokens"], report["tokens"]) == (2, 4, tokens)
    assert report["oov_share"] == pytest.approx(4 / tokens)
    assert report["oov_examples"] == ["zany", "Splendid"] and report["source"] == str(
        bundles["lm"])


def test_encoder_weights_equal_the_lms_after_construction(bundles) -> None:
    lm = LanguageModel.load(bundles["lm"])
    clf = _classifier(bundles["lm"])
    clf._resolve_options()  # what fit does first; then the network, before any training step
    clf._set_classes([0, 1])
    clf._fit_pipeline(TEXTS)
    net = clf._checked_network()
    clf._initialize_network(net)
    assert clf.params["pooling"] == "concat" and clf.params["bidirectional"] is False
    assert (clf.params["cell"], clf.params["hidden_size"], clf.params["embedding_dim"]) == (
        "lstm", 8, 8)
    lm_encoder = lm.model_.rnn.state_dict()
    assert net.encoder.state_dict().keys() == lm_encoder.keys()
    for name, weight in net.encoder.state_dict().items():
        assert torch.equal(weight, lm_encoder[name]), name
    assert torch.equal(net.embedding.weight[1:], lm.model_.embedding.weight[1:])
    assert float(net.embedding.weight[0].detach().abs().sum()) == 0.0  # padding
    assert net.norm.num_features == 3 * 8  # concat pooling: last, max, mean


def test_conflicting_options_and_unusable_models_are_refused(bundles) -> None:
    with pytest.raises(ConfigError, match="hidden_size=32 conflicts"):
        _classifier(bundles["lm"], hidden_size=32).fit(TEXTS, LABELS)
    with pytest.raises(ConfigError, match="ngrams=2 cannot apply"):
        _classifier(bundles["lm"], ngrams=2).fit(TEXTS, LABELS)
    with pytest.raises(ConfigError, match="char-level language model"):
        _classifier(bundles["char_lm"]).fit(TEXTS, LABELS)
    with pytest.raises(BundleError, match="'sequence_classifier' model, not a language model"):
        _classifier(bundles["seq"]).fit(TEXTS, LABELS)
    # equal explicit values and unrelated options are fine
    clf = _classifier(bundles["lm"], hidden_size=8, pooling="max", window=4).fit(TEXTS, LABELS)
    assert clf.params["pooling"] == "max" and clf.params["window"] == 4


def test_without_pretrained_auto_pooling_is_max_and_saved_resolved(bundles, tmp_path) -> None:
    clf = TextClassifier(epochs=1, verbose=0, hidden_size=4, embedding_dim=4,
                         validation_split=None).fit(TEXTS, LABELS)
    assert clf.get_params()["pooling"] == "auto" and clf.params["pooling"] == "max"
    clf.save(tmp_path / "b", plots=False)
    config = json.loads((tmp_path / "b" / "config.json").read_text(encoding="utf-8"))
    assert config["params"]["pooling"] == "max" and config["params"]["pretrained"] is None


def test_batchnorm_head_trains_on_a_one_row_batch_and_sits_in_the_top_group() -> None:
    net = RecurrentClassifier(2, vocab_size=20, embedding_dim=4, hidden_size=4,
                              bidirectional=False, pooling="concat", head="batchnorm").train()
    assert [type(m).__name__ for m in net.head] == [
        "Linear", "ReLU", "OneRowBatchNorm", "Dropout", "Linear"]
    assert net.norm.num_features == 12 and net.head[0].out_features == 50
    logits = net(torch.randint(2, 20, (1, 5)), torch.tensor([5]))  # torch's BatchNorm1d raises
    logits.sum().backward()
    assert logits.shape == (1, 2) and net.head[0].weight.grad is not None
    assert torch.equal(net.norm.running_mean, torch.zeros(12))  # one row: running statistics
    net(torch.randint(2, 20, (4, 5)), torch.tensor([5, 5, 4, 3]))
    assert not torch.equal(net.norm.running_mean, torch.zeros(12))
    top = {id(p) for p in net.layer_groups()[-1]}
    assert {id(p) for p in [*net.norm.parameters(), *net.head.parameters()]} <= top
    with pytest.raises(ConfigError, match="head: expected one of linear, batchnorm"):
        RecurrentClassifier(2, vocab_size=20, head="deep")


def test_head_auto_is_batchnorm_with_pretrained_and_an_old_bundle_keeps_its_linear_head(
    bundles, tmp_path
) -> None:
    clf = _classifier(bundles["lm"], head="linear").fit(TEXTS, LABELS)
    assert clf.model_.norm is None and clf.params["head"] == "linear"
    assert _classifier(bundles["lm"]).fit(TEXTS, LABELS).params["head"] == "batchnorm"
    clf.save(tmp_path / "old", plots=False)
    config_path = tmp_path / "old" / "config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    del config["params"]["head"]  # a bundle written before the option existed
    config[CONFIG_DIGEST_KEY] = _config_digest(config)  # as such a bundle was signed
    config_path.write_text(json.dumps(config), encoding="utf-8")
    old = TextClassifier.load(tmp_path / "old")
    assert old.model_.norm is None and old.params["head"] == "linear"
    np.testing.assert_allclose(old.predict_proba(TEXTS[:6]), clf.predict_proba(TEXTS[:6]))
    assert old.explain("the film was good").tokens == ["the", "film", "was", "good"]


def test_windowed_classifier_reads_long_documents_whole(bundles) -> None:
    long_text = " ".join(["good"] * 1500 + ["bad"] * 500)  # 2,000 tokens
    clf = _classifier(bundles["lm"], window=64, max_length=100).fit(
        [*TEXTS, long_text], [*LABELS, 0])
    loader = clf._loader([long_text], None, False, 1)
    (inputs, _), = list(loader)
    assert int(inputs["lengths"][0]) == 2000  # max_length does not cut a windowed read
    whole = _classifier(bundles["lm"], max_length=100)
    whole._resolve_options()
    assert whole._max_length() == 100


def test_lm_init_keeps_the_vocabulary_network_and_weights(bundles, tmp_path) -> None:
    first = LanguageModel.load(bundles["lm"])
    target = ["a zany film", "the zany cast was good"] * 10
    tuned = LanguageModel(init=str(bundles["lm"]), epochs=1, verbose=0, valid_fraction=0,
                          lr=1e-12, lr_decay=None)
    tuned.fit(target)
    assert tuned.vectorizer_.vocabulary == first.vectorizer_.vocabulary
    assert (tuned.params["level"], tuned.params["hidden_size"]) == ("word", 8)
    counts = Counter(" ".join(target).split())
    report = tuned.metrics_["init"]
    assert report["oov_words"] == 1 and report["oov_tokens"] == counts["zany"]
    for name, weight in tuned.model_.state_dict().items():  # lr ~ 0: the LM's weights
        torch.testing.assert_close(weight, first.model_.state_dict()[name])
    with pytest.raises(ConfigError, match="hidden_size=16 conflicts"):
        LanguageModel(init=str(bundles["lm"]), hidden_size=16, verbose=0).fit(target)
    tuned.save(tmp_path / "tuned", plots=False)
    assert LanguageModel.load(tmp_path / "tuned").params["init"] == str(bundles["lm"])


# ---------------------------------------------------------------------------- the command line
def rnnkit(*args: str):
    env = {**os.environ, "COLUMNS": "100", "OMP_NUM_THREADS": "1"}
    return run_rnnkit(args, env=env, timeout=300)


@pytest.fixture(scope="module")
def cli_bundle(bundles) -> tuple[Path, dict]:
    out = bundles["root"] / "clf"
    run = rnnkit("text", "train", str(bundles["train"]), "--pretrained", str(bundles["lm"]),
                 "--window", "4", "--epochs", "1", "--out", str(out), "--json")
    assert run.returncode == 0, run.stderr
    assert "2 of " in run.stderr and "read as [UNK] (e.g. zany, splendid)" in run.stderr
    return out, json.loads(run.stdout.strip().splitlines()[-1])


def test_cli_pretrained_training_reports_oov_and_writes_an_ordinary_bundle(
    cli_bundle, bundles, monkeypatch
) -> None:
    out, result = cli_bundle
    # the training part (20% is held out for the test): one or both rows of "a zany splendid film"
    assert result["pretrained"]["oov_words"] == 2 and result["pretrained"]["oov_tokens"] in (2, 4)
    config = json.loads((out / "config.json").read_text(encoding="utf-8"))
    assert config["task"] == "text_classifier"
    assert (config["params"]["pooling"], config["params"]["window"]) == ("concat", 4)
    assert config["params"]["head"] == "batchnorm"  # ULMFiT's head, the default with pretrained

    def no_unpickling(*args, **kwargs):
        raise AssertionError("a bundle must load without pickle")

    with monkeypatch.context() as patch:
        patch.setattr(pickle, "load", no_unpickling)
        patch.setattr(pickle, "loads", no_unpickling)
        patch.setattr(torch, "load", no_unpickling)
        clf = TextClassifier.load(out)
    assert clf.metrics_["pretrained"]["oov_words"] == 2 and clf.model_.window == 4
    assert set(clf.predict(["the film was good", "a zany film"])) <= {0, 1}


def test_cli_predict_and_report_work_on_the_fine_tuned_bundle(cli_bundle, tmp_path) -> None:
    out, _ = cli_bundle
    run = rnnkit("text", "predict", str(out), "the film was good", "--json")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout.splitlines()[0])["label"] in (0, 1)
    page = tmp_path / "r.html"
    run = rnnkit("report", str(out), "--out", str(page), "--example", "a good film")
    assert run.returncode == 0, run.stderr
    assert page.stat().st_size > 1000


@pytest.mark.parametrize(("which", "words"), [("char_lm", "char-level language model"),
                                              ("seq", "'sequence_classifier' model")])
def test_cli_refuses_a_char_lm_or_another_tasks_bundle_in_one_line(bundles, tmp_path, which,
                                                                   words) -> None:
    out = tmp_path / "never"
    run = rnnkit("text", "train", str(bundles["train"]), "--pretrained", str(bundles[which]),
                 "--out", str(out))
    assert run.returncode == 2 and words in run.stderr, run.stderr
    assert run.stderr.count("\n") == 1 and "Traceback" not in run.stderr
    assert not out.exists()


def test_cli_lm_init_keeps_the_vocabulary_and_reports_new_words(bundles, tmp_path) -> None:
    target = tmp_path / "target.txt"
    target.write_text("a zany film\nthe zany cast was good\n" * 10, encoding="utf-8")
    out = tmp_path / "tuned"
    run = rnnkit("lm", "train", str(target), "--init", str(bundles["lm"]), "--epochs", "1",
                 "--valid-fraction", "0", "--sample-length", "3", "--out", str(out), "--json")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout.strip().splitlines()[-1])["init"]["oov_words"] == 1
    vocab = json.loads((out / "vectorizer.json").read_text(encoding="utf-8"))
    first = json.loads((bundles["lm"] / "vectorizer.json").read_text(encoding="utf-8"))
    assert vocab["vocabulary"] == first["vocabulary"]
    refused = rnnkit("lm", "train", str(target), "--init", str(bundles["lm"]), "--hidden-size",
                     "8", "--out", str(tmp_path / "no"))
    assert refused.returncode == 2 and "--hidden-size: with --init" in refused.stderr
    assert not (tmp_path / "no").exists()


def test_export_of_a_windowed_classifier_reads_any_length_whole(cli_bundle, tmp_path) -> None:
    from rnnkit.io.export import export_bundle

    clf = TextClassifier.load(cli_bundle[0])
    assert clf.model_.window == 4
    paths = export_bundle(clf, tmp_path / "m.pt", "torchscript")
    assert clf.model_.window == 4  # restored
    graph = torch.jit.load(str(paths["model"]))
    text = " ".join(["the film was good and a fine plot"] * 6)  # 42 tokens: longer than the trace
    ids = torch.from_numpy(clf.vectorizer_.transform([text])[0])[None, :]
    expected = clf.predict_proba([text])
    with torch.no_grad():
        got = graph(ids, torch.tensor([ids.shape[1]])).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    spec = json.loads(paths["preprocess"].read_text(encoding="utf-8"))
    assert spec["max_length"] is None


def test_a_standardizing_lm_hands_its_cleaning_to_the_classifier_and_bundles(tmp_path) -> None:
    """standardize="lower_and_split_punctuation": "Good!" and "good" share a word, "!" is one;
    the classifier built on the model, and both reloaded bundles, clean texts the same way."""
    options = {**TINY_LM, "standardize": "lower_and_split_punctuation"}
    lm = LanguageModel(**options).fit(["The film was GOOD!", "The film was bad."] * 6)
    vocabulary = set(lm.vectorizer_.vocabulary)
    assert {"good", "bad", "!", ".", "film"} <= vocabulary
    assert not {"GOOD!", "good!", "bad.", "The"} & vocabulary
    lm.save(tmp_path / "lm", plots=False)
    reloaded = LanguageModel.load(tmp_path / "lm")
    assert reloaded.params["standardize"] == "lower_and_split_punctuation"
    assert np.array_equal(reloaded._encode("FILM!"), lm._encode("film !"))
    clf = _classifier(tmp_path / "lm").fit(["A GOOD film!", "a bad film."] * 4, [1, 0] * 4)
    assert clf.metrics_["pretrained"]["oov_words"] == 1  # "a": the LM never saw it
    clf.save(tmp_path / "clf", plots=False)
    again = TextClassifier.load(tmp_path / "clf")
    assert again.vectorizer_.tokenize("Bad FILM.") == ["bad", "film", "."]
    with pytest.raises(ConfigError, match="document_separator='<doc>' does not survive"):
        LanguageModel(**options, document_separator="<doc>").fit(["a b"] * 3)
    with pytest.raises(ConfigError, match="standardize='shout' is unknown"):
        LanguageModel(**{**TINY_LM, "standardize": "shout"}).fit("a b c")


def test_cli_lm_standardize_is_kept_by_init_and_a_new_value_refused(bundles, tmp_path) -> None:
    corpus = tmp_path / "reviews.tsv"
    corpus.write_text("text\nA GOOD film!\nA bad film.\n" * 6, encoding="utf-8")
    out = tmp_path / "lm"
    run = rnnkit("lm", "train", str(corpus), "--text-column", "text", "--level", "word",
                 "--standardize", "lower_and_split_punctuation", "--hidden-size", "8",
                 "--num-layers", "1", "--embedding-dim", "8", "--bptt", "4", "--epochs", "1",
                 "--valid-fraction", "0", "--sample-length", "3", "--out", str(out))
    assert run.returncode == 0, run.stderr
    vectorizer = json.loads((out / "vectorizer.json").read_text(encoding="utf-8"))
    assert vectorizer["config"]["standardize"] == "lower_and_split_punctuation"
    words = LanguageModel.load(out).vectorizer_.vocabulary
    assert "!" in words and "good" in words and "GOOD!" not in words
    refused = rnnkit("lm", "train", str(corpus), "--text-column", "text", "--init", str(out),
                     "--standardize", "lower", "--out", str(tmp_path / "no"))
    assert refused.returncode == 2 and "--standardize: with --init" in refused.stderr
    assert refused.stderr.count("\n") == 1 and not (tmp_path / "no").exists()
    unknown = rnnkit("lm", "train", str(tmp_path / "missing.txt"), "--standardize", "shout",
                     "--out", str(tmp_path / "no"))  # refused before the (missing) file is read
    assert unknown.returncode == 2 and unknown.stderr.count("\n") == 1
    assert "--standardize: 'shout' is unknown" in unknown.stderr
    assert "Traceback" not in unknown.stderr
    assert not (tmp_path / "no").exists()
