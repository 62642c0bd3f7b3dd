"""Why a vanilla RNN forgets: the gradient dL/dh_t reaching each step, RNN vs LSTM vs GRU.

Writes three plots to OUT (default ``inside_out/``):

- ``gradient_flow_init.png``: freshly initialized cells (orthogonal recurrent weights, Keras init);
- ``gradient_flow_exploding.png``: a vanilla RNN whose recurrent weights are scaled by 1.5 and 3;
- ``gradient_flow_trained.png``: each cell after BUDGET seconds of training on the adding problem
  with T=50 -- a cell that solved it keeps the signal alive back to the first marker.

It also checks the autograd numbers against the NumPy engine's hand-written BPTT.

    OMP_NUM_THREADS=1 python examples/inside_gradient_flow.py [OUT] [BUDGET]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

from rnnkit.inspect.gradients import compare_gradient_flow, example_input, gradient_flow, readout
from rnnkit.inspect.memory import train_memory_task
from rnnkit.viz.figures import save_figure
from rnnkit.viz.inside import plot_gradient_flow

out = Path(sys.argv[1] if len(sys.argv) > 1 else "inside_out")
budget = float(sys.argv[2]) if len(sys.argv) > 2 else 15.0
T = 100

at_init = compare_gradient_flow(("rnn", "lstm", "gru"), length=T, hidden_size=64)
numpy_engine = compare_gradient_flow(("rnn", "lstm", "gru"), length=T, hidden_size=64,
                                     engine="scratch")
for cell, norms in at_init.items():
    gap = np.max(np.abs(norms - numpy_engine[cell]) / norms)
    print(f"init {cell:4s} ||dL/dh_1|| / ||dL/dh_T|| = {norms[0] / norms[-1]:.2e}   "
          f"(NumPy engine agrees to {gap:.1e})")
save_figure(plot_gradient_flow(at_init, "At initialization: ||dL/dh_t||, loss on h_T"),
            out / "gradient_flow_init.png")

exploding = {
    f"rnn, W_hh x {s}": compare_gradient_flow(("rnn",), length=T, hidden_size=64,
                                              recurrent_scale=s)["rnn"]
    for s in (1.0, 1.5, 3.0)
}
for name, norms in exploding.items():
    print(f"{name:16s} ||dL/dh_1|| / ||dL/dh_T|| = {norms[0] / norms[-1]:.2e}")
save_figure(plot_gradient_flow(exploding, "Large recurrent weights: exploding gradients"),
            out / "gradient_flow_exploding.png")

trained = {}
T = 50
x = example_input(T).float()
v = readout(64, dtype=torch.float32)
for cell in ("rnn", "lstm", "gru"):
    result = train_memory_task("adding", cell, T, time_budget=budget)
    layer = result.model.encoder.eval()
    trained[f"{cell} (test MSE {result.score:.3f})"] = norms = gradient_flow(layer, x, v)
    print(f"trained {cell:4s} MSE {result.score:.4f} after {result.steps} steps; "
          f"||dL/dh_1|| / ||dL/dh_T|| = {norms[0] / norms[-1]:.2e}")
save_figure(plot_gradient_flow(trained, f"After {budget:g} s on the adding problem (T={T})"),
            out / "gradient_flow_trained.png")
print(f"plots in {out}/")
