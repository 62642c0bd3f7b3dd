"""The "hello" walkthrough with ``LanguageModel``: learn one word, then generate it greedily.

The text "hello" gives four (input, next character) pairs: h->e, e->l, l->l, l->o. The two "l"
inputs need different answers, so the network must remember what came before it -- the smallest
example of why a recurrent network has a hidden state. (``examples/scratch_hello.py`` does the same
in NumPy with hand-written backpropagation.)

Run: ``.venv/bin/python examples/lm_hello.py``
"""

from __future__ import annotations

from rnnkit.tasks import LanguageModel


def main() -> str:
    lm = LanguageModel(
        hidden_size=16, num_layers=1, embedding_dim=None,  # one-hot input: 4 characters
        epochs=150, lr=0.05, valid_fraction=0, verbose=0,  # no text to spare for validation
    ).fit("hello")
    print("vocabulary:", lm.vectorizer_.vocabulary[2:])  # ids 0 and 1 are padding and [UNK]
    text = lm.generate("h", length=4, temperature=0)  # greedy: the most likely character each step
    print("greedy from 'h':", text)
    print("loss on 'hello':", round(lm.score("hello")["loss"], 4), "nats per character")
    return text


if __name__ == "__main__":
    main()
