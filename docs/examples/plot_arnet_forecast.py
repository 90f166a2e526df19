"""
======================================================
Forecasting CO2 with AR-Net, against AutoReg and naive
======================================================

:class:`~regkit.forecasting.ARNetForecaster` fits a sparse auto-regressive network
on the last ``n_lags`` values of a series. Here we forecast the Mauna Loa CO2
record two years ahead, look at the lags it uses, and backtest it on rolling
origins against statsmodels' ``AutoReg`` (least squares on the same lags) and the
seasonal naive forecast.
"""

# %%
# Data and models
# ---------------
import os

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import pandas as pd

from regkit.datasets import load_co2
from regkit.forecasting import (
    ARNetForecaster,
    AutoRegForecaster,
    NaiveForecaster,
    backtest,
)
from regkit.plotting import ARCoefficientsDisplay, ForecastDisplay

# The test suite runs every gallery script with REGKIT_QUICK=1 (smaller budgets).
QUICK = os.environ.get("REGKIT_QUICK") == "1"

y = load_co2()  # monthly, 1958-2001
if QUICK:
    y = y.iloc[-240:]
horizon = 24
train, test = y.iloc[:-horizon], y.iloc[-horizon:]

# Three years of lags. Monthly CO2 is short and trending (a near unit root):
# its lags are nearly collinear, which is why the linear AR-Net starts from the
# least-squares fit rather than from random weights. Its lags are not sparse,
# so the sparsity regulariser stays off (``sparsity=None``); on this series it
# made the 24-month forecast worse.
arnet = ARNetForecaster(n_lags=36, max_epochs=20 if QUICK else "auto", random_state=0)
models = {
    "AR-Net": arnet,
    "AutoReg": AutoRegForecaster(n_lags=36),
    "seasonal naive": NaiveForecaster(seasonal_period=12),
}

# %%
# Two years ahead
# ---------------
# The forecast is a Series with the next 24 month starts as its index.
fig, ax = plt.subplots(figsize=(9, 4), layout="constrained")
for model in models.values():
    model.fit(train)
ForecastDisplay.from_forecaster(arnet, horizon, y_true=test, coverage=0.8, n_history=72, ax=ax)
ax.plot(test.index, models["AutoReg"].predict(horizon), color="C2", label="AutoReg")
ax.legend()
ax.set(title="Mauna Loa CO2 (ppm)")

# %%
# The coefficients
# ----------------
# The linear AR-Net's weights are AR coefficients (``coef_[k-1]`` for lag ``k``),
# comparable with least squares' estimates.
fig, (ax_arnet, ax_ar) = plt.subplots(2, 1, figsize=(9, 6), sharex=True, layout="constrained")
ARCoefficientsDisplay.from_estimator(arnet, ax=ax_arnet)
ARCoefficientsDisplay.from_estimator(models["AutoReg"], ax=ax_ar)

# %%
# Rolling-origin backtest
# -----------------------
# Each model is fitted once on the first window and then only ``update``-d with the
# new observations (``refit=False``), as a deployed forecaster would be; MASE is
# scaled by the in-sample seasonal naive error (below 1: better than it), and the
# 80 % intervals are scored by the share of actual values they hold.
scores = {
    name: backtest(
        model,
        y,
        fh=12,
        n_windows=3 if QUICK else 8,
        refit=False,
        seasonal_period=12,
        coverage=0.8,
    )
    for name, model in models.items()
}
columns = ["mae", "rmse", "mase", "smape", "coverage_80", "width_80"]
summary = pd.DataFrame({name: frame[columns].mean() for name, frame in scores.items()}).T
print(summary.round(3))

fig, ax = plt.subplots(figsize=(7, 3.5), layout="constrained")
for name, frame in scores.items():
    ax.plot(frame["cutoff"], frame["mase"], marker="o", label=name)
ax.axhline(1.0, color="0.6", linestyle=":")
ax.set(xlabel="forecast origin", ylabel="MASE (12 months ahead)", title="Backtest")
# Concise date labels that do not overlap.
locator = mdates.AutoDateLocator(minticks=3, maxticks=6)
ax.xaxis.set_major_locator(locator)
ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
ax.legend()
plt.show()
