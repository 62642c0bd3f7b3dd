"""The classic airline-passengers LSTM (Jason Brownlee, "Time Series Prediction with LSTM
Recurrent Networks in Python"), reproduced with rnnkit -- and put next to the baselines.

Recipe: MinMax scaling, look_back=1, LSTM(4), Dense(1), 100 epochs, batch 1, Adam, MSE, first
67% for training. The tutorial reports a test RMSE of about 47.5; repeating last month's value
(persistence) scores 48.7 on the same months: the network has learned to copy its input.

The tutorial fits the MinMax scaler on the whole series, test months included. rnnkit never does
that (scalers see the training part only), so the first run scales the series here, outside
rnnkit, exactly as the tutorial does; the second run is the same recipe with rnnkit's rule.

Run: ``.venv/bin/python examples/series_airline_tutorial.py`` (about 15 s)
"""

from __future__ import annotations

from rnnkit.data.series import SeriesData, load_airline_passengers
from rnnkit.tasks import Forecaster

RECIPE = dict(lookback=1, season=12, log=False, differencing="none", scaler="minmax", cell="lstm",
              hidden_size=4, ensemble=1, linear_skip=False, epochs=100, batch_size=1, lr=1e-3,
              weight_decay=0.0)

data = load_airline_passengers()
y = data.values[:, 0]
lo, span = y.min(), y.max() - y.min()

# 1. As published: scale with the minimum and maximum of all 144 months, then train on the scaled
# values.
scaled = SeriesData.from_arrays((y - lo) / span)
published = Forecaster(**{**RECIPE, "scaler": "none"}).fit(scaled, test_size=0.33)
print("as published (whole-series MinMax): "
      f"test RMSE {published.metrics_['test']['rmse'] * span:.2f}")

# 2. The same recipe, scaler fitted on the training part only.
clean = Forecaster(**RECIPE).fit(data, test_size=0.33)
print(f"training-part MinMax:               test RMSE {clean.metrics_['test']['rmse']:.2f}")
for name, m in clean.metrics_["baselines"].items():
    print(f"  {name:16s} test RMSE {m['rmse']:.2f}")
