"""The character-level RNN that learns "hello" (Karpathy's example, many-to-many).

Vocabulary h, e, l, o; each character is a one-hot vector. The input is "hell" and the target is
"ello": at every position the network predicts the next character, h->e, e->l, l->l, l->o. The two
"l" inputs need different answers, so the network must use its hidden state (what came before) --
the smallest demonstration of why a recurrent network has one.

Run: ``.venv/bin/python examples/scratch_hello.py``
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # tiny matrices: one BLAS thread is faster

import numpy as np  # noqa: E402

from rnnkit.scratch import RNN, Adam, ManyToMany, Sequential  # noqa: E402

CHARS = ["h", "e", "l", "o"]


def encode(text: str) -> np.ndarray:
    """'hell' -> (1, 4, 4) one-hot."""
    return np.eye(len(CHARS))[[CHARS.index(c) for c in text]][None]


def main(epochs: int = 100, hidden: int = 8, seed: int = 0) -> str:
    x = encode("hell")
    y = np.array([[CHARS.index(c) for c in "ello"]])  # (1, 4) next-character targets
    model = Sequential(
        [
            RNN(len(CHARS), hidden, dtype=np.float64, rng=seed),
            ManyToMany(hidden, len(CHARS), dtype=np.float64, rng=seed + 1),
        ]
    )
    model.compile(loss="cross_entropy", optimizer=Adam(lr=0.05))
    model.fit(x, y, epochs=epochs, batch_size=1, print_every=max(epochs // 5, 1))
    predicted = "".join(CHARS[i] for i in model.predict(x).argmax(axis=-1)[0])
    for source, target in zip("hell", predicted, strict=True):
        print(f"{source} -> {target}")
    print(f"input 'hell' -> predicted '{predicted}'")
    return predicted


if __name__ == "__main__":
    main()
