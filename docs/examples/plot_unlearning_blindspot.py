"""
================================================
A deletion request to a deep model: Blindspot
================================================

A neural regressor has been trained on survey answers; a group of respondents
asks to be removed. Retraining without them is the exact answer, but for a deep
model it costs a full training run. Blindspot unlearning (Tarun et al., ICML
2023) approximates it in a few epochs: a *blindspot* network, trained briefly on
the remaining rows only, shows what a model that never saw the group would
predict, and the fitted model is fine-tuned to agree with it on the group while
it keeps fitting everyone else. Here: fit, unlearn, report, plot -- then the same
request on a forecaster, for a window of time.
"""

# %%
# The model and the deletion request
# ----------------------------------
# The Fair affairs survey (6366 respondents, 8 features). The request is a cohort,
# the setting of the paper: the respondents with the highest target (the top 15 %).
import os

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from regkit.datasets import load_fair
from regkit.forecasting import ARNetForecaster
from regkit.plotting import UnlearningDisplay
from regkit.regression import NeuralRegressor
from regkit.unlearning import (
    BlindspotUnlearner,
    FineTuneUnlearner,
    GaussianUnlearner,
    RetrainUnlearner,
    run_unlearners,
    unlearn_time_window,
    unlearning_report,
)

# The test suite runs every gallery script with REGKIT_QUICK=1 (smaller budgets).
QUICK = os.environ.get("REGKIT_QUICK") == "1"

X, y = load_fair(return_X_y=True)
if QUICK:
    X, y = X.iloc[:1500], y.iloc[:1500]
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
forget = (y_train > np.quantile(y_train, 0.85)).to_numpy()
X_forget, y_forget = X_train[forget], y_train[forget]
X_retain, y_retain = X_train[~forget], y_train[~forget]
print(f"{forget.sum()} of {len(X_train)} respondents ask to be forgotten")

network = NeuralRegressor(
    (64, 64),
    max_epochs=15 if QUICK else 60,
    learning_rate=3e-3,
    n_iter_no_change=None,  # a fixed budget: retraining costs what training cost
    random_state=0,
)
model = make_pipeline(StandardScaler(), network).fit(X_train, y_train)

# %%
# Unlearning
# ----------
# Every unlearner returns a new pipeline (the fitted scaler kept, the network
# unlearned) and leaves ``model`` as it is. Retraining is the reference; the
# approximate methods are fine-tuning on the retained rows, Gaussian fine-tuning
# (the forgotten targets replaced by noise) and Blindspot, all with the reference
# code's defaults.
unlearners = {
    "retrain": RetrainUnlearner(),
    "fine-tune": FineTuneUnlearner(random_state=0),
    "gaussian": GaussianUnlearner(random_state=0),
    "blindspot": BlindspotUnlearner(random_state=0),
}
models, seconds = run_unlearners(model, unlearners, X_forget, y_forget, X_retain, y_retain)

# %%
# The report
# ----------
# Every column is read against the retrained model's value: the error on the
# forgotten rows should rise to the retrained model's (a model that never saw a
# row still predicts it reasonably), the Wasserstein distance of their
# predictions to the retrained model's should be small, the membership score
# (the share of forgotten rows an attack on the per-row loss calls members) and
# the anamnesis index (how fast the forgotten rows are relearnt, relative to the
# retrained model) should match its. The original model's membership score is
# the one to move away from.
report = unlearning_report(
    models,
    X_forget,
    y_forget,
    X_retain,
    y_retain,
    X_test,
    y_test,
    seconds=seconds,
    mia_samples=300 if QUICK else 2000,
    ain_max_epochs=2 if QUICK else 10,
)
columns = ["seconds", "forget_mae", "retain_mae", "test_mae", "forget_wasserstein", "mia_score"]
print(report[[*columns, "ain"]].round(3).to_string())

# %%
# Plot: the cost and the result of each method
# --------------------------------------------
# Left and middle: the error on the forgotten rows and its distance to the
# retrained model against the seconds each method took (the retrained model:
# star and dashed line). Right: the distribution of the predictions on the
# forgotten rows; Blindspot moves them from the original's to the retrained
# model's.
fig, (ax_error, ax_distance, ax_hist) = plt.subplots(1, 3, figsize=(14, 4))
UnlearningDisplay.from_report(report, metric="forget_mae", ax=ax_error)
UnlearningDisplay.from_report(report, metric="forget_wasserstein", ax=ax_distance)
ax_error.set_title("error on the forgotten rows")
ax_distance.set_title("distance to the retrained model")
bins = np.linspace(*np.quantile(models["original"].predict(X_forget), [0, 1]), 30)
for name in ("original", "retrain", "blindspot"):
    predicted = models[name].predict(X_forget)
    ax_hist.hist(predicted, bins=np.union1d(bins, predicted.max()), histtype="step", label=name)
ax_hist.set(xlabel="prediction on a forgotten row", ylabel="rows")
ax_hist.legend()
fig.tight_layout()
plt.show()

# %%
# A window of time in a forecaster
# --------------------------------
# A forecaster's network learns from windows of its history (``n_lags`` values,
# then the next one). Forgetting a time range means forgetting every window that
# touches it: :func:`~regkit.unlearning.unlearn_time_window` hands those windows
# to any unlearner as the forget rows and the others as the retain rows, and
# rebuilds the forecaster around the new network (same history and per-series
# normalisation; its prediction intervals are dropped, since the calibration
# model saw the range). Here a daily series holds 30 days of readings that must
# be deleted, a regime the series never shows again.
rng = np.random.default_rng(0)
days = pd.date_range("2020-01-01", periods=400, freq="D")
readings = np.sin(2 * np.pi * np.arange(400) / 7) + 0.2 * rng.standard_normal(400)
readings[200:230] = 2.0 * readings[199:229] + 1.5  # the window to delete
series = pd.Series(readings, index=days)
forecaster = ARNetForecaster(
    n_lags=14, ar_layers=(32,), max_epochs=10 if QUICK else 40, random_state=0
).fit(series)
start, end = days[200], days[229]
_, _, touches = forecaster.lag_rows(start, end)
print(f"{touches.sum()} of {len(touches)} training windows touch {start.date()} .. {end.date()}")
forecasts = {"original": forecaster.predict(21)}
for name in ("retrain", "blindspot"):
    unlearned = unlearn_time_window(unlearners[name], forecaster, start, end)
    forecasts[name] = unlearned.predict(21)
for name in ("original", "blindspot"):
    gap = np.abs(forecasts[name] - forecasts["retrain"]).mean()
    print(f"mean gap of the {name} forecast to the retrained forecaster's: {gap:.3f}")

fig, ax = plt.subplots(figsize=(10, 3.5))
ax.plot(series, color="grey", linewidth=0.8, label="history")
ax.axvspan(start, end, color="red", alpha=0.15, label="deleted window")
for name, forecast in forecasts.items():
    ax.plot(forecast, label=f"forecast: {name}")
ax.legend(loc="upper left", ncols=3)
ax.set_title("21-day forecasts before and after forgetting the window")
fig.tight_layout()
plt.show()
