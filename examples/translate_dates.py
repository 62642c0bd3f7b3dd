"""Date normalization with attention: "Tuesday, March 5, 2021" -> "2021-03-05", and its attention
map.

The classic attention toy: six human date formats go in character by character, the ISO date
comes out character by character. The attention map shows each output digit looking at the
source characters it comes from (the year digits at the end, the day, the month name).

Run: ``.venv/bin/python examples/translate_dates.py [attention.png]``  (about 30 s on a laptop CPU)
"""

from __future__ import annotations

import sys

from rnnkit.tasks import Translator
from rnnkit.tasks.translation_toys import date_pairs
from rnnkit.viz import save_figure
from rnnkit.viz.attention import plot_attention


def main(png: str = "date_attention.png") -> float:
    sources, targets = date_pairs(6000, seed=0)
    model = Translator(
        attention="bahdanau", source_level="char", hidden_size=64, embedding_dim=32,
        epochs=8, lr=3e-3, dropout=0.0, min_freq=1, verbose=0,
    ).fit(sources, targets)
    test_sources, test_targets = date_pairs(500, seed=1)
    report = model.score(test_sources, test_targets, beam_size=1)
    print(f"exact match on 500 new dates: {report['exact_match']:.3f}")
    for text in ["Tuesday, March 5, 2021", "5 March 2021", "05/03/2021", "Dec 24 1999"]:
        print(f"{text!r:28} -> {model.translate([text], beam_size=3)[0]}")
    t = model.translate_with_attention(["Tuesday, March 5, 2021"], beam_size=1)[0]
    save_figure(plot_attention(t.weights, t.source_tokens, t.target_tokens, title=t.source), png)
    print("attention map written to", png)
    return float(report["exact_match"])


if __name__ == "__main__":
    main(*sys.argv[1:2])
