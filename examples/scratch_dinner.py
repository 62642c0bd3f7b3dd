"""An RNN with hand-written weights: what will my roommate cook tonight?

(After Luis Serrano's "friendly introduction to RNNs".) My roommate cooks apple pie, burger or
chicken, always in that cycle. Each day's dish depends on yesterday's dish and on today's weather:

* sunny: he is out all day, so he cooks the same dish as yesterday;
* rainy: he stays in and cooks the next dish in the cycle (apple pie -> burger -> chicken -> ...).

That rule is a small matrix program, and the program is exactly one step of a ReLU RNN::

    h_t    = relu(W_hh h_{t-1} + W_ih weather_t + b)       (6 numbers)
    dish_t = W_out h_t                                     (3 numbers: a one-hot dish)

with the weights written by hand (dishes one-hot over [apple pie, burger, chicken], weather one-hot
over [sunny, rainy]):

* ``Food`` (6x3) = [I; P]: the top half repeats yesterday's dish, the bottom half (P, the cycle
  permutation) proposes the next dish;
* ``Weather`` = W_ih (6x2): sunny adds 1 to the top half ("same"), rainy to the bottom ("next");
* ``b`` = -1 and relu: only the entry that got 1 from the dish AND 1 from the weather survives
  (2 - 1 = 1; every other entry is 1 - 1 = 0 or 0 - 1 -> relu -> 0);
* ``Merge`` = W_out (3x6) = [I I] folds the two halves back into one dish;
* W_hh = Food @ Merge: merge yesterday's six numbers into a dish, then propose same/next.

No training: ``load_state_dict`` puts these matrices into a scratch ``RNN(nonlinearity="relu")``.

Run: ``.venv/bin/python examples/scratch_dinner.py``
"""

from __future__ import annotations

import numpy as np

from rnnkit.scratch import RNN, Dense

DISHES = ["apple pie", "burger", "chicken"]
WEATHER = ["sunny", "rainy"]


def hand_weights() -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    identity = np.eye(3)
    cycle = np.roll(identity, 1, axis=0)  # column d has its 1 in row d + 1 (mod 3): the next dish
    food = np.vstack([identity, cycle])  # (6, 3)
    merge = np.hstack([identity, identity])  # (3, 6)
    weather = np.array([[1, 0]] * 3 + [[0, 1]] * 3, dtype=float)  # (6, 2)
    rnn = {
        "weight_ih_l0": weather,
        "weight_hh_l0": food @ merge,
        "bias_ih_l0": -np.ones(6),
        "bias_hh_l0": np.zeros(6),
    }
    return rnn, {"weight": merge, "bias": np.zeros(3)}


def rule(first_dish: str, weather: list[str]) -> list[str]:
    """The rule in plain Python, to compare with the matrix program."""
    dishes, today = [], DISHES.index(first_dish)
    for day in weather:
        if day == "rainy":
            today = (today + 1) % 3
        dishes.append(DISHES[today])
    return dishes


def main(
    first_dish: str = "apple pie",
    weather: tuple[str, ...] = ("sunny", "rainy", "rainy", "sunny", "sunny", "rainy", "rainy"),
) -> list[str]:
    rnn_weights, out_weights = hand_weights()
    rnn = RNN(2, 6, nonlinearity="relu", dtype=np.float64)
    rnn.load_state_dict(rnn_weights)
    out = Dense(6, 3, dtype=np.float64)
    out.load_state_dict(out_weights)

    x = np.eye(2)[[WEATHER.index(w) for w in weather]][None]  # (1, days, 2)
    h0 = np.zeros((1, 1, 6))
    h0[0, 0, DISHES.index(first_dish)] = 1.0  # "yesterday" = first_dish
    states, _ = rnn(x, initial_state=h0)
    menu = [DISHES[i] for i in out(states)[0].argmax(axis=-1)]
    print(f"yesterday: {first_dish}")
    for day, (w, dish) in enumerate(zip(weather, menu, strict=True), start=1):
        print(f"day {day}: {w:5s} -> {dish}")
    assert menu == rule(first_dish, list(weather))
    return menu


if __name__ == "__main__":
    main()
