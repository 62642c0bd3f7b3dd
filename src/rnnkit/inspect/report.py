"""``rnnkit report``: one self-contained HTML page about a saved model bundle.

The page holds the configuration, the metrics (with the baselines when ``metrics.json`` has them),
every PNG of the bundle (training curves, confusion matrix, forecast plot) embedded as base64,
and -- for a text classifier given example texts -- saliency-highlighted examples and the hidden
state/gate heat maps of the first one. No external URL appears anywhere: the file can be mailed.

Example (given a saved bundle ``model_dir``)::

    path = write_report("model_dir", "report.html", examples=["a great film"])
"""

from __future__ import annotations

import base64
import html
import json
import warnings
from pathlib import Path
from typing import Any

from rnnkit.errors import BundleError
from rnnkit.inspect.saliency import HTML_STYLE
from rnnkit.viz.figures import figure_png

EXTRA_STYLE = (
    "table{border-collapse:collapse;margin:0.5em 0}td,th{border:1px solid #ccc;padding:2px 8px;"
    "text-align:left;font-size:90%}img{max-width:100%;border:1px solid #eee;margin:0.5em 0}"
    "h2{border-bottom:1px solid #ddd}"
)


def _flatten(obj: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Scalar leaves of nested dicts as ``("a.b", value)``; long lists are left out."""
    rows: list[tuple[str, Any]] = []
    if isinstance(obj, dict):
        for key, value in obj.items():
            rows += _flatten(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(obj, list):
        if len(obj) <= 6 and all(not isinstance(v, (list, dict)) for v in obj):
            rows.append((prefix, ", ".join(str(v) for v in obj)))
    else:
        rows.append((prefix, obj))
    return rows


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _table(rows: list[tuple[str, Any]]) -> str:
    body = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(_fmt(v))}</td></tr>" for k, v in rows
    )
    return f"<table>{body}</table>"


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _notices(metrics: dict[str, Any]) -> str:
    """Things about the data the reader should know first (dates missing from the series)."""
    gaps = metrics.get("missing_dates")
    if not isinstance(gaps, dict) or not gaps.get("count"):
        return ""
    count = int(gaps["count"])
    shown = ", ".join(map(str, gaps.get("first", [])))
    more = ", ..." if count > len(gaps.get("first", [])) else ""
    return (f'<p class="notice">Note: {count} date{"s" if count != 1 else ""} missing from the '
            f"series ({html.escape(shown)}{more}); the values around each gap were read as "
            "consecutive steps.</p>")


def _metric_sections(metrics: dict[str, Any]) -> str:
    """Notices, headline numbers (test/validation), then baselines, then everything else."""
    parts = [_notices(metrics)]
    headline = [
        (name, metrics[name])
        for name in ("test", "validation")
        if isinstance(metrics.get(name), dict)
    ]
    for name, report in headline:
        keep = [(k, v) for k, v in _flatten(report) if not k.startswith("per_class")]
        parts.append(f"<h3>{html.escape(name)}</h3>{_table(keep)}")
    for key in ("baselines", "baseline"):
        if isinstance(metrics.get(key), dict):
            parts.append(f"<h3>baselines</h3>{_table(_flatten(metrics[key]))}")
    shown = ("test", "validation", "baselines", "baseline", "missing_dates")
    rest = {k: v for k, v in metrics.items() if k not in shown}
    if rest:
        parts.append(f"<h3>other</h3>{_table(_flatten(rest))}")
    return "".join(parts) or "<p>No metrics.json in this bundle.</p>"


def build_report(bundle: str | Path, examples: list[str] | None = None) -> str:
    """The HTML text of the report for ``bundle`` (see the module docstring)."""
    from rnnkit.io import load_bundle_parts

    path = Path(bundle)
    if not path.is_dir():
        raise BundleError(f"BUNDLE: {bundle} is not a model bundle directory; check the path")
    parts = load_bundle_parts(path)
    config = parts.config
    task = config.get("task", "?")
    title = f"rnnkit report: {task} ({path.name})"
    sections = [f"<h1>{html.escape(title)}</h1>"]
    shown = {k: v for k, v in config.items() if k != "files"}  # file sizes/hashes: noise here
    sections.append("<h2>Configuration</h2>" + _table(_flatten(shown)))
    sections.append("<h2>Metrics</h2>" + _metric_sections(parts.metrics or {}))
    pngs = sorted(parts.path.glob("*.png"))
    if pngs:
        sections.append("<h2>Plots</h2>" + "".join(
            f"<h3>{html.escape(p.stem.replace('_', ' '))}</h3>{_img(p.read_bytes(), p.stem)}"
            for p in pngs
        ))
    if examples:
        sections.append(_examples_section(path, task, examples))
    body = "\n".join(sections)
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{HTML_STYLE}{EXTRA_STYLE}</style></head>"
        f"<body>\n{body}\n</body></html>\n"
    )


def _examples_section(path: Path, task: str, examples: list[str]) -> str:
    from rnnkit.inspect.views import load_model, record_text, state_figures

    if task != "text_classifier":
        return "<h2>Examples</h2><p>Saliency examples are available for text classifiers.</p>"
    model = load_model(path)
    blocks = [model.explain(text).to_html() for text in examples]
    tokens, rec = record_text(model, examples[0])
    label = model.predict([examples[0]])[0]
    images = []
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Glyph .* missing")
        for name, fig in state_figures(rec, tokens, f"prediction {label}").items():
            images.append(_img(figure_png(fig), name))
    return (
        "<h2>Examples with saliency</h2>" + "".join(blocks)
        + "<h2>Inside the encoder (first example)</h2>" + "".join(images)
    )


def write_report(bundle: str | Path, out: str | Path, examples: list[str] | None = None) -> Path:
    """Write :func:`build_report` to ``out`` (an .html file; parent directories are created)."""
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(build_report(bundle, examples), encoding="utf-8")
    return target


def metrics_json(bundle: str | Path) -> dict[str, Any]:
    """The bundle's metrics.json as a dict ({} when absent)."""
    file = Path(bundle) / "metrics.json"
    return json.loads(file.read_text(encoding="utf-8")) if file.exists() else {}
