"""
=========================================================
Many series, one network: a global AR-Net with 80 % bands
=========================================================

Retailers, utilities and web platforms forecast hundreds of related series at
once. Fitting one model per series wastes what they have in common;
:class:`~regkit.forecasting.ARNetForecaster` given a DataFrame of many series
trains **one global network** on the windows of all of them: each series is
normalised by its own mean and standard deviation, the weights are shared, and
``id_embedding=True`` lets the network tell the series apart. Here six hourly
"sites" (:func:`~regkit.datasets.make_seasonal_panel`) share a daily cycle,
shifted by a few hours from site to site, and AR noise, at different levels and
scales. We forecast the next two days of all
of them with 80 % prediction intervals and backtest the global model against one
AutoReg per series and the seasonal naive forecast.
"""

# %%
# Six related hourly series
# -------------------------
import os

import matplotlib.pyplot as plt
import pandas as pd

from regkit.datasets import make_seasonal_panel
from regkit.forecasting import (
    ARNetForecaster,
    AutoRegForecaster,
    NaiveForecaster,
    backtest,
)
from regkit.plotting import ForecastComponentsDisplay, ForecastDisplay

# The test suite runs every gallery script with REGKIT_QUICK=1 (smaller budgets).
QUICK = os.environ.get("REGKIT_QUICK") == "1"
n_series, weeks = (3, 3) if QUICK else (6, 6)
y = make_seasonal_panel(n_series, weeks, weekly=False, random_state=0)
y.columns = [f"site {s + 1}" for s in range(n_series)]
horizon = 48
train, test = y.iloc[:-horizon], y.iloc[-horizon:]

# %%
# One network for all of them
# ---------------------------
# Two days of lags, the daily cycle as Fourier features (known in advance), and
# one-hot series indicators. The intervals are split-conformal: a second network,
# fitted without the last 20 % of the history, forecasts every origin of that
# part, and the quantiles of its errors, per step ahead and per series, are the
# interval widths.
budget = {"max_epochs": 5} if QUICK else {}
model = ARNetForecaster(
    n_lags=48, seasonality="daily", id_embedding=True, random_state=0, **budget
).fit(train)
print(model.predict(3).round(1))  # a DataFrame: one column per series

ncols = 2 if n_series > 3 else 1
fig, axes = plt.subplots(
    -(-n_series // ncols), ncols, figsize=(10, 2.2 * -(-n_series // ncols)),
    sharex=True, layout="constrained", squeeze=False,
)  # fmt: skip
for ax, name in zip(axes.ravel(), y.columns, strict=False):
    ForecastDisplay.from_forecaster(
        model, horizon, y_true=test[name], coverage=0.8, series=name, n_history=96, ax=ax
    )
    ax.set_title(name, fontsize=9)
    ax.get_legend().remove()
axes.ravel()[0].legend(fontsize=7, loc="upper left")

# %%
# What the network adds up
# ------------------------
# The linear network's one-step prediction is a sum over its inputs: a baseline,
# the auto-regression on the 48 lags, the daily Fourier terms and the series
# indicators, in the units of each series.
ForecastComponentsDisplay.from_forecaster(model, series="site 1", n_history=96)

# %%
# Backtest: the global network against one model per series
# ---------------------------------------------------------
# Rolling origins, one fit on the first window and ``update`` afterwards; scores
# per series and origin, averaged. MASE is scaled by the in-sample error of the
# daily seasonal naive forecast; ``coverage_80`` is the share of actual values
# inside the 80 % intervals.
candidates = {
    "global AR-Net": model,
    "AutoReg per series": AutoRegForecaster(n_lags=48),
    "seasonal naive": NaiveForecaster(seasonal_period=24),
}
columns = ["mae", "mase", "coverage_80", "width_80"]
table = {}
for name, candidate in candidates.items():
    scores = backtest(
        candidate,
        y,
        fh=24,
        n_windows=3 if QUICK else 10,
        step=13,
        refit=False,
        update_params=False,
        seasonal_period=24,
        coverage=0.8,
    )
    table[name] = scores[columns].mean()
print(pd.DataFrame(table).T.round(3))
plt.show()
