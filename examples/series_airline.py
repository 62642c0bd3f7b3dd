"""Airline passengers with rnnkit's defaults: beat every simple baseline in a few seconds.

``Forecaster()`` with nothing set looks at the training part (the first 67%, 1949-1956) and
chooses: season 12 (autocorrelation peak, monthly dates), lookback 24 (two seasons), log (the
swings grow with the level), seasonal + first differencing (the network learns a correction to
the seasonal naive forecast with drift). Five LSTM(8) networks with a linear skip are trained
and averaged. The test part (1957-1960) is forecast one month ahead, as in the classic tutorial.

Run: ``.venv/bin/python examples/series_airline.py`` (writes airline_forecast.png)
"""

from __future__ import annotations

from rnnkit.data.series import load_airline_passengers
from rnnkit.tasks import Forecaster
from rnnkit.viz import save_figure

data = load_airline_passengers()
model = Forecaster().fit(data, test_size=0.33)
print("choices:", {k: model.resolved_[k] for k in ("season", "lookback", "log", "differencing")})
print(f"{'':24s} {'RMSE':>7s} {'MAE':>7s} {'MAPE%':>7s} {'MASE':>6s}")
rows = {"model": model.metrics_["test"], **model.metrics_["baselines"]}
for name, m in rows.items():
    print(f"{name:24s} {m['rmse']:7.2f} {m['mae']:7.2f} {m['mape']:7.2f} {m['mase']:6.3f}")
print(model.forecast(12).round(1).T.to_string())
save_figure(model.plot(), "airline_forecast.png")
