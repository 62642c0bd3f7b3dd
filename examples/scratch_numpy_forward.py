"""A simple RNN's forward pass in NumPy, then the same with rnnkit.scratch over a batch.

Part 1 is the classic listing from Chollet's *Deep Learning with Python*: one sequence of shape
(timesteps, input_features), a state that starts at zero, and at every step
``output_t = tanh(W @ input_t + U @ state_t + b)``; the outputs are stacked into
(timesteps, output_features).

Part 2 loads the same W, U, b into ``rnnkit.scratch.RNN`` (PyTorch layout: ``weight_ih = W``,
``weight_hh = U``, ``bias_ih = b``, ``bias_hh = 0``) and runs a whole batch (B, T, F) at once:

* ``return_sequences=True`` (Keras' name) is the full output (B, T, H);
* ``return_sequences=False`` is only the last step (B, H) -- the final state ``h[-1]``, or
  ``last_step(output, lengths)`` when the sequences have different lengths.

Run: ``.venv/bin/python examples/scratch_numpy_forward.py``
"""

from __future__ import annotations

import numpy as np

from rnnkit.scratch import RNN, last_step


def chollet_forward(inputs: np.ndarray, W: np.ndarray, U: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(timesteps, input_features) -> (timesteps, output_features), one step at a time."""
    state_t = np.zeros((W.shape[0],))
    successive_outputs = []
    for input_t in inputs:
        output_t = np.tanh(np.dot(W, input_t) + np.dot(U, state_t) + b)
        successive_outputs.append(output_t)
        state_t = output_t
    return np.stack(successive_outputs, axis=0)


def main(timesteps: int = 100, input_features: int = 32, output_features: int = 64) -> dict:
    rng = np.random.default_rng(0)
    inputs = rng.random((timesteps, input_features))
    # Chollet draws the weights from random(); scaled down here so tanh does not saturate.
    W = rng.random((output_features, input_features)) * 0.1
    U = rng.random((output_features, output_features)) * 0.01
    b = rng.random((output_features,)) * 0.1

    sequence = chollet_forward(inputs, W, U, b)
    print(f"part 1: one sequence {inputs.shape} -> outputs {sequence.shape}")

    rnn = RNN(input_features, output_features, dtype=np.float64)
    rnn.load_state_dict(
        {
            "weight_ih_l0": W,
            "weight_hh_l0": U,
            "bias_ih_l0": b,
            "bias_hh_l0": np.zeros(output_features),
        }
    )
    batch = np.stack([inputs, rng.random((timesteps, input_features))])  # (2, T, F)
    output, h = rnn(batch)  # return_sequences=True: every step
    last = h[-1]  # return_sequences=False: the last step only
    print(
        f"part 2: batch {batch.shape} -> return_sequences=True {output.shape}, "
        f"return_sequences=False {last.shape}"
    )
    same = np.allclose(output[0], sequence) and np.allclose(last, output[:, -1])
    print(f"scratch RNN equals the loop: {same}")

    lengths = np.array([timesteps, timesteps // 2])  # the second sequence is half padding
    padded_output, padded_h = rnn(batch, lengths)
    print(
        f"with lengths {lengths.tolist()}: "
        f"last real outputs {last_step(padded_output, lengths).shape}, padded steps are zero: "
        f"{bool(np.all(padded_output[1, timesteps // 2 :] == 0))}"
    )
    return {
        "sequence": sequence,
        "output": output,
        "last": last,
        "padded_output": padded_output,
        "padded_h": padded_h,
        "lengths": lengths,
    }


if __name__ == "__main__":
    main()
