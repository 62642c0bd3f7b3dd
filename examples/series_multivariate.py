"""Multivariate input: an extra feature column that carries the signal (past covariate).

y[t] = 3 x[t-1] + noise, with x white noise: y's own past says nothing about its next value,
but yesterday's x says almost everything. The model sees both over its lookback window.

Run: ``.venv/bin/python examples/series_multivariate.py``
"""

from __future__ import annotations

import numpy as np

from rnnkit.data.series import SeriesData
from rnnkit.tasks import Forecaster

rng = np.random.default_rng(0)
x = rng.standard_normal(600)
y = np.zeros(600)
y[1:] = 3.0 * x[:-1] + 0.1 * rng.standard_normal(599)
data = SeriesData.from_arrays(y, features=x, target_names=["y"], feature_names=["x"])

with_x = Forecaster().fit(data, test_size=0.33)
target_only = Forecaster().fit(y, test_size=0.33)
print(f"with the feature column: test RMSE {with_x.metrics_['test']['rmse']:.3f}")
print(f"target only:             test RMSE {target_only.metrics_['test']['rmse']:.3f}")
print("persistence: "
      f"            test RMSE {with_x.metrics_['baselines']['persistence']['rmse']:.3f}")
print("next value:", with_x.forecast(1).round(3).to_dict("records"))
