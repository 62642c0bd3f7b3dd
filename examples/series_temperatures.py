"""Melbourne daily minimum temperatures (1981-1990): defaults vs persistence and seasonal naive.

Daily dates, a yearly season (snapped to 365 from the autocorrelation peak), a noisy series: the
defaults keep the levels (no log, no differencing), use a 30-day lookback, and beat persistence
and the seasonal naive forecast (last year's temperature) one day ahead.

Run: ``.venv/bin/python examples/series_temperatures.py [path/to/daily-min-temperatures.csv]``
"""

from __future__ import annotations

import sys
from pathlib import Path

from rnnkit.data.series import read_series
from rnnkit.tasks import Forecaster

DEFAULT = (
    Path(__file__).resolve().parents[2]
    / "shared/data/daily_min_temperatures_melbourne/daily-min-temperatures.csv"
)
data = read_series(sys.argv[1] if len(sys.argv) > 1 else DEFAULT, target="Temp", date_column="Date")
model = Forecaster().fit(data, test_size=0.33)
print("choices:", {k: model.resolved_[k] for k in ("season", "lookback", "log", "differencing")})
for name, m in {"model": model.metrics_["test"], **model.metrics_["baselines"]}.items():
    print(f"{name:16s} RMSE {m['rmse']:.3f}  MAE {m['mae']:.3f}  sMAPE {m['smape']:.2f}%  MASE "
          f"{m['mase']:.3f}")
