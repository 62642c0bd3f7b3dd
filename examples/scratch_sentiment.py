"""Sentiment from scratch: a many-to-one vanilla RNN on tiny phrases (after Victor Zhou's tutorial).

Each word is a one-hot vector; the RNN reads a phrase word by word, and its last hidden state goes
through a dense layer and a softmax to say "positive" or "negative". Training is plain BPTT with
cross-entropy, gradients clipped to [-1, 1], SGD with learning rate 2e-2, weights initialised as
``randn / 1000``, hidden size 64, 1000 epochs. The hard part is negation: "not bad" is positive,
"not at all happy" is negative, so the network has to remember a "not" until the adjective comes.

The original updates after every phrase; here a batch of phrases is one vectorised step whose loss
is the *sum* over the phrases (``reduction="sum"``), which is the same as adding up their
per-phrase SGD steps -- and fast enough to run 1000 epochs in a couple of seconds.

Run: ``.venv/bin/python examples/scratch_sentiment.py``
"""

from __future__ import annotations

import os

# The matrices here are tiny: one BLAS thread is faster than two fighting over them.
# (Only effective when this file is run as a script, before NumPy is first imported.)
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from rnnkit.scratch import RNN, SGD, ManyToOne, Sequential  # noqa: E402

# label 1 = positive, 0 = negative
TRAIN = {
    "i am good": 1,
    "i am happy": 1,
    "this is good": 1,
    "this is great": 1,
    "you are happy": 1,
    "we are good": 1,
    "i am not bad": 1,
    "this is not bad": 1,
    "i am not sad": 1,
    "you are not sad": 1,
    "this was good earlier": 1,
    "i was happy earlier": 1,
    "we were happy earlier": 1,
    "i am very happy": 1,
    "this is very good": 1,
    "you are very good today": 1,
    "i am good right now": 1,
    "this is not awful": 1,
    "i am not at all sad": 1,
    "this is not at all bad": 1,
    "we are great today": 1,
    "this was great": 1,
    "you were good": 1,
    "i am really happy": 1,
    "this is really good": 1,
    "we are not sad now": 1,
    "i was not bad earlier": 1,
    "this was not awful earlier": 1,
    "you are not at all bad": 1,
    "i am happy today": 1,
    "i am bad": 0,
    "i am sad": 0,
    "this is bad": 0,
    "this is awful": 0,
    "you are sad": 0,
    "we are bad": 0,
    "i am not good": 0,
    "this is not good": 0,
    "i am not happy": 0,
    "you are not happy": 0,
    "this was bad earlier": 0,
    "i was sad earlier": 0,
    "we were sad earlier": 0,
    "i am very sad": 0,
    "this is very bad": 0,
    "you are very bad today": 0,
    "i am bad right now": 0,
    "this is not great": 0,
    "i am not at all happy": 0,
    "this is not at all good": 0,
    "we are awful today": 0,
    "this was awful": 0,
    "you were bad": 0,
    "i am really sad": 0,
    "this is really bad": 0,
    "we are not happy now": 0,
    "i was not good earlier": 0,
    "this was not great earlier": 0,
    "you are not at all good": 0,
    "i am sad today": 0,
}

# new combinations of training words only
TEST = {
    "we are happy": 1,
    "you are great": 1,
    "this was not bad": 1,
    "we were not sad": 1,
    "i was good": 1,
    "you are really happy": 1,
    "this is very great": 1,
    "we are not at all sad": 1,
    "i am great right now": 1,
    "this was not at all awful": 1,
    "we are sad": 0,
    "you are awful": 0,
    "this was not good": 0,
    "we were not happy": 0,
    "i was bad": 0,
    "you are really sad": 0,
    "this is very awful": 0,
    "we are not at all happy": 0,
    "i am awful right now": 0,
    "this was not at all great": 0,
}


def build_vocabulary(phrases) -> dict[str, int]:
    words = sorted({word for phrase in phrases for word in phrase.split()})
    return {word: index for index, word in enumerate(words)}


def one_hot_batch(phrases, vocab) -> tuple[np.ndarray, np.ndarray]:
    """(B, T, V) one-hot words, right-padded, and the (B,) lengths."""
    tokens = [phrase.split() for phrase in phrases]
    lengths = np.array([len(t) for t in tokens])
    x = np.zeros((len(tokens), lengths.max(), len(vocab)))
    for row, words in enumerate(tokens):
        x[row, np.arange(len(words)), [vocab[w] for w in words]] = 1.0
    return x, lengths


def build_model(vocab_size: int, hidden: int = 64, seed: int = 0) -> Sequential:
    rnn = RNN(vocab_size, hidden, dtype=np.float64)
    head = ManyToOne(hidden, 2, dtype=np.float64)
    model = Sequential([rnn, head])
    rng = np.random.default_rng(seed)
    weights = {
        name: (rng.standard_normal(p.shape) / 1000 if "weight" in name else np.zeros(p.shape))
        for name, p in model.parameters().items()
    }
    model.load_state_dict(weights)  # randn / 1000, zero biases (as in the tutorial)
    return model


def main(epochs: int = 1000, print_every: int = 100, batch_size: int = 10) -> dict[str, float]:
    vocab = build_vocabulary(TRAIN)
    x, lengths = one_hot_batch(list(TRAIN), vocab)
    y = np.array(list(TRAIN.values()))
    x_test, lengths_test = one_hot_batch(list(TEST), vocab)
    y_test = np.array(list(TEST.values()))
    print(f"{len(vocab)} unique words, {len(TRAIN)} training and {len(TEST)} test phrases")

    model = build_model(len(vocab))
    model.compile(loss="cross_entropy", optimizer=SGD(lr=2e-2), clip_value=1.0, reduction="sum")
    model.fit(
        x,
        y,
        lengths,
        epochs=epochs,
        batch_size=batch_size,
        print_every=print_every,
        validation_data=(x_test, y_test, lengths_test),
    )
    result = model.evaluate(x_test, y_test, lengths_test)
    print(f"test loss {result['loss']:.4f}  test accuracy {result['accuracy']:.3f}")
    return result


if __name__ == "__main__":
    main()
