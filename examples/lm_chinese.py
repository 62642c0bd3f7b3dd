"""Chinese text at character level: every ideograph and punctuation mark is one token.

Run: ``.venv/bin/python examples/lm_chinese.py``
"""

from __future__ import annotations

from rnnkit.tasks import LanguageModel

POEMS = (
    "床前明月光，疑是地上霜。\n举头望明月，低头思故乡。\n"
    "白日依山尽，黄河入海流。\n欲穷千里目，更上一层楼。\n"
    "春眠不觉晓，处处闻啼鸟。\n夜来风雨声，花落知多少。\n"
)


def main() -> str:
    lm = LanguageModel(hidden_size=64, num_layers=1, embedding_dim=32, bptt=24, batch_size=4,
                       epochs=60, lr=0.02, dropout=0.0, valid_fraction=0, verbose=0).fit(POEMS * 3)
    print("vocabulary:", len(lm.vectorizer_.vocabulary) - 2, "characters")
    text = lm.generate("举头", length=22, temperature=0.5, seed=0)
    print(text)
    return text


if __name__ == "__main__":
    main()
