"""The pictures ``rnnkit inspect`` draws for a saved bundle and one input.

- text classifier: hidden-state/gate heat maps of the encoder for the input text (one figure per
  direction layer, tokens on the time axis), per-token saliency as HTML and as a bar chart;
- sequence classifier: the same heat maps for one numeric sequence (a ``.npy`` array (T, F) or a
  CSV/whitespace text file with one row per step);
- forecaster: the heat maps of the first ensemble member's encoder on the last lookback window of
  a history file (one value per line, or one row of C targets per line), exactly the window that
  ``predict`` feeds it (captured with a forward pre-hook, so scaling and differencing match);
- translation: the attention map of each input text (``attention_1.png``, ...; source tokens
  across, generated tokens down).

Other tasks raise :class:`ConfigError` (their models are not one rnnkit.nn encoder over the input).

Example (given a saved text-classifier bundle ``model_dir``)::

    files = inspect_bundle("model_dir", "a great film", "inside/")
    # [inside/states_l0.png, inside/states_l0_reverse.png, inside/saliency.html, ...]
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure

from rnnkit.data.readers import read_text
from rnnkit.errors import ConfigError, DataError
from rnnkit.inspect.record import Recording, record_layer
from rnnkit.inspect.saliency import Explanation, explanations_page
from rnnkit.viz.figures import save_figure
from rnnkit.viz.inside import plot_saliency_bars, plot_state_heatmaps

SUPPORTED = ("text_classifier", "sequence_classifier", "forecaster", "translation")
MAX_TEXTS = 8


def load_model(path: str | Path) -> Any:
    """``rnnkit.load(path)``: the task object saved in the bundle."""
    import rnnkit

    return rnnkit.load(str(path))


def read_texts(value: str, encoding: str = "utf-8") -> list[str]:
    """INPUT for a text model: a file of texts (one per line, in ``encoding``) when such a file
    exists, else the text.
    """
    candidate = Path(value)
    try:
        is_file = len(value) < 4096 and candidate.is_file()
    except OSError:
        is_file = False
    if is_file:
        lines = [ln.strip() for ln in read_text(candidate, encoding).splitlines()]
        texts = [ln for ln in lines if ln][:MAX_TEXTS]
        if not texts:
            raise DataError(f"INPUT: {value} has no non-empty lines")
        return texts
    if not value.strip():
        raise DataError("INPUT: empty text; give a sentence or a file with one text per line")
    return [value]


def read_sequence(value: str, features: int, encoding: str = "utf-8") -> np.ndarray:
    """INPUT for a sequence model: a ``.npy`` (T, F) or a text/CSV file (in ``encoding``), one row
    per time step."""
    path = Path(value)
    if not path.is_file():
        raise DataError(f"INPUT: {value} is not a file; give a .npy or CSV file with one row per "
                        "step")
    try:
        if path.suffix == ".npy":
            arr = np.load(path, allow_pickle=False)
        else:
            text = read_text(path, encoding).replace(",", " ").replace(";", " ")
            arr = np.array([[float(v) for v in line.split()] for line in text.splitlines()
                            if line.strip()])
    except ValueError as err:
        raise DataError(f"INPUT: could not read numbers from {value} ({err})") from None
    arr = np.asarray(arr, dtype=np.float32)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[1] != features or arr.shape[0] == 0:
        raise DataError(
            f"INPUT: expected a (T, {features}) sequence for this model, got shape {arr.shape}"
        )
    return arr


def record_text(clf: Any, text: str) -> tuple[list[str], Recording]:
    """Tokens and the encoder recording of ``clf`` (TextClassifier) on one ``text``."""
    from rnnkit.inspect.saliency import _token_view

    model = clf._require_fitted()
    tokens, ids = _token_view(clf, text)
    if len(ids) == 0:
        raise DataError("INPUT: the text has no tokens after standardization")
    model.eval()
    with torch.no_grad():
        emb = model.embedding(torch.from_numpy(ids).unsqueeze(0))
    return tokens, record_layer(model.encoder, emb)


def record_sequence(clf: Any, seq: np.ndarray) -> Recording:
    """The encoder recording of ``clf`` (SequenceClassifier) on one (T, F) sequence."""
    model = clf._require_fitted()
    model.eval()
    scaled = np.asarray(clf.scaler_.transform([seq])[0])
    x = torch.from_numpy(scaled).to(next(model.parameters()).dtype).unsqueeze(0)
    return record_layer(model.encoder, x)


def capture_encoder_input(encoder: torch.nn.Module, run: Any) -> torch.Tensor:
    """Call ``run()`` and return the first input tensor ``encoder`` received during it."""
    seen: list[torch.Tensor] = []

    def hook(_module: torch.nn.Module, args: tuple[Any, ...]) -> None:
        if not seen:
            seen.append(args[0].detach())

    handle = encoder.register_forward_pre_hook(hook)
    try:
        run()
    finally:
        handle.remove()
    if not seen:
        raise ConfigError("the model did not run its encoder on this input")
    return seen[0]


def record_forecaster(model: Any, history: np.ndarray) -> Recording:
    """The recording of the first member's encoder on the window ``predict(history)`` uses."""
    net = model._require_fitted()
    encoder = net.members[0].encoder
    values = history[:, 0] if history.shape[1] == 1 else history
    x = capture_encoder_input(encoder, lambda: model.predict(values))
    return record_layer(encoder, x[:1])


def state_figures(
    rec: Recording, tokens: list[str], title: str, xlabel: str = "time step (token)"
) -> dict[str, Figure]:
    """One heat-map figure per direction layer: ``{"states_l0": Figure, ...}``."""
    figures = {}
    for key, arrays in rec.states.items():
        panels = {name: values[0] for name, values in arrays.items()}
        figures[f"states_{key}"] = plot_state_heatmaps(
            panels, tokens, title=f"{title} -- {rec.cell_type.upper()} {key}", xlabel=xlabel
        )
    return figures


def _save_quiet(fig: Figure, path: Path) -> Path:
    with warnings.catch_warnings():  # one CJK-font warning is enough; not one per glyph
        warnings.filterwarnings("ignore", message="Glyph .* missing")
        return save_figure(fig, path)


def inspect_bundle(
    bundle: str | Path, value: str, out: str | Path, encoding: str = "utf-8"
) -> list[Path]:
    """Write the pictures for ``bundle`` and INPUT ``value`` into directory ``out``; returns paths.
    An INPUT file is read as ``encoding`` text (e.g. ``"latin-1"``; not a ``.npy``).

    On an error nothing is left behind: the files written so far are removed, and ``out`` too
    when this call created it.
    """
    model = load_model(bundle)
    task = getattr(model, "task", None)
    if task not in SUPPORTED:
        raise ConfigError(
            f"BUNDLE: inspect supports {', '.join(SUPPORTED)} bundles, this one is {task!r}"
        )
    out = Path(out)
    created = [p for p in (out, *out.parents) if not p.exists()]
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    try:
        _draw(model, task, value, out, written, encoding)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        for folder in created:  # deepest first
            try:
                folder.rmdir()
            except OSError:
                break
        raise
    return written


def _draw(
    model: Any, task: str, value: str, out: Path, written: list[Path], encoding: str
) -> None:
    """The pictures of :func:`inspect_bundle`, appended to ``written`` as they are saved."""
    if task == "text_classifier":
        texts = read_texts(value, encoding)
        tokens, rec = record_text(model, texts[0])
        label = model.predict([texts[0]])[0]
        for name, fig in state_figures(rec, tokens, f"prediction {label}").items():
            written.append(out / f"{name}.png")
            _save_quiet(fig, written[-1])
        explanations: list[Explanation] = [model.explain(t) for t in texts]
        page = explanations_page(explanations, "Which words drove the prediction")
        written.append(out / "saliency.html")
        (out / "saliency.html").write_text(page, encoding="utf-8")
        first = explanations[0]
        fig = plot_saliency_bars(first.tokens, first.scores,
                                 f"saliency for {first.label} (p={first.probability:.2f})")
        written.append(out / "saliency.png")
        _save_quiet(fig, written[-1])
    elif task == "forecaster":
        targets = len(model.resolved_.get("target_names", [0]))
        history = read_sequence(value, targets, encoding)
        rec = record_forecaster(model, history)
        steps = [str(t - len(rec.output[0])) for t in range(len(rec.output[0]))]
        figures = state_figures(rec, steps, "forecaster input window",
                                xlabel="time step (relative to the forecast origin)")
        for name, fig in figures.items():
            written.append(out / f"{name}.png")
            _save_quiet(fig, written[-1])
    elif task == "translation":
        from rnnkit.viz.attention import plot_attention

        if model.params["attention"] == "none":
            raise ConfigError("BUNDLE: this translation model has no attention (attention='none'); "
                              "there is no map to draw")
        texts = read_texts(value, encoding)
        for i, t in enumerate(model.translate_with_attention(texts, beam_size=1)):
            fig = plot_attention(t.weights, t.source_tokens, t.target_tokens,
                                 title=f"{t.source} -> {t.text}")
            written.append(out / f"attention_{i + 1}.png")
            _save_quiet(fig, written[-1])
    else:
        seq = read_sequence(value, model.feature_size, encoding)
        rec = record_sequence(model, seq)
        label = model.predict([seq])[0]
        steps = [str(t) for t in range(seq.shape[0])]
        figures = state_figures(rec, steps, f"prediction {label}", xlabel="time step")
        for name, fig in figures.items():
            written.append(out / f"{name}.png")
            _save_quiet(fig, written[-1])
