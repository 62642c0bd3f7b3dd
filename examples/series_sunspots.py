"""Monthly sunspots (1749-1983): defaults vs persistence and seasonal naive.

The ~11-year cycle is found from the autocorrelation (a period of about 127 months); it is too
irregular for a seasonal forecast, so the defaults model the levels with a 30-month lookback.

Run: ``.venv/bin/python examples/series_sunspots.py [path/to/monthly-sunspots.csv]``
"""

from __future__ import annotations

import sys
from pathlib import Path

from rnnkit.data.series import read_series
from rnnkit.tasks import Forecaster

DEFAULT = Path(__file__).resolve().parents[2] / "shared/data/monthly_sunspots/monthly-sunspots.csv"
data = read_series(sys.argv[1] if len(sys.argv) > 1 else DEFAULT, target="Sunspots",
                   date_column="Month")
model = Forecaster().fit(data, test_size=0.33)
print("choices:", {k: model.resolved_[k] for k in ("season", "lookback", "log", "differencing")})
for name, m in {"model": model.metrics_["test"], **model.metrics_["baselines"]}.items():
    print(f"{name:16s} RMSE {m['rmse']:.3f}  MAE {m['mae']:.3f}  sMAPE {m['smape']:.2f}%  MASE "
          f"{m['mase']:.3f}")
