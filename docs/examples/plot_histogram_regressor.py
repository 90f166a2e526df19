"""
==========================================================
Prediction intervals from a histogram-loss regressor
==========================================================

:class:`~regkit.regression.HistogramRegressor` trains a network to predict a
histogram over target bins (here with HL-Gauss targets) instead of a single number.
Its mean is the point prediction; the histogram itself is a predictive distribution,
so prediction intervals come for free, without a second model.

We fit it on a heteroscedastic problem, where the noise grows from left to right,
and look at the 90% intervals and at the predicted distribution for two inputs.
"""

# %%
# A heteroscedastic problem
# -------------------------
# ``y = sin(x) + noise`` with a noise standard deviation from 0.1 at ``x = -3`` to
# 0.9 at ``x = 3``.
import os

import matplotlib.pyplot as plt
import numpy as np
from scipy import stats

from regkit.plotting import PredictedDistributionDisplay
from regkit.regression import HistogramRegressor

# The test suite runs every gallery script with REGKIT_QUICK=1 (smaller budgets).
QUICK = os.environ.get("REGKIT_QUICK") == "1"


def noise_sd(x):
    return 0.1 + 0.8 * (x + 3) / 6


rng = np.random.default_rng(0)
n = 2000 if QUICK else 6000
x = rng.uniform(-3, 3, size=n)
y = np.sin(x) + noise_sd(x) * rng.standard_normal(n)
X = x.reshape(-1, 1)
X_train, X_test, y_train, y_test = X[: n // 2], X[n // 2 :], y[: n // 2], y[n // 2 :]

# %%
# Fit
# ---
# Inputs are already on a unit scale, so no scaler is needed. Early stopping keeps
# the weights of the epoch with the best validation cross-entropy; its validation
# rows, which the network never trained on, also calibrate ``predict_interval``
# (split-conformal prediction; without early stopping, ``fit`` holds out
# ``calibration_fraction`` of the rows for it).
model = HistogramRegressor(
    hidden_layer_sizes=(64, 64),
    max_epochs=40 if QUICK else 200,
    learning_rate=3e-3,
    early_stopping=True,
    random_state=0,
).fit(X_train, y_train)


def held_out_coverage(interval):
    lower, upper = interval.T
    return np.mean((y_test >= lower) & (y_test <= upper))


covered = held_out_coverage(model.predict_interval(X_test, coverage=0.9))
own = held_out_coverage(model.predict_quantiles(X_test, [0.05, 0.95]))
blurred = held_out_coverage(model.predict_quantiles(X_test, [0.05, 0.95], deblur=False))
print(f"held-out coverage of the calibrated 90% intervals: {covered:.3f}")
print(f"of the network's own 5%-95% quantiles: {own:.3f}, blurred histogram's: {blurred:.3f}")

# %%
# Predicted intervals
# -------------------
# The band widens with the noise; the dashed lines are the true 5% and 95%
# quantiles. HL-Gauss trains the network on targets blurred by a Gaussian of
# standard deviation ``sigma_``, so the predicted histogram is the conditional
# distribution blurred by it; ``predict_interval`` removes that blur and then
# calibrates (the thin lines show the 5% and 95% quantiles of the blurred
# histogram, ``predict_quantiles(..., deblur=False)``). The blur matters where the
# noise is small next to ``sigma_``, on the left.
grid = np.linspace(-3, 3, 200).reshape(-1, 1)
band = model.predict_interval(grid, coverage=0.9)
blurred_band = model.predict_quantiles(grid, [0.05, 0.95], deblur=False)
fig, ax_band = plt.subplots(figsize=(7, 4.5))
ax_band.scatter(x[:800], y[:800], s=4, color="grey", alpha=0.4, label="data")
ax_band.plot(grid, model.predict(grid), color="C0", label="predicted mean")
ax_band.fill_between(grid[:, 0], band[:, 0], band[:, 1], color="C0", alpha=0.25, label="90%")
ax_band.plot(grid, blurred_band[:, 0], color="C1", linewidth=0.8, label="90%, blurred")
ax_band.plot(grid, blurred_band[:, 1], color="C1", linewidth=0.8)
z = stats.norm.ppf(0.95)
for sign in (-1, 1):
    truth = np.sin(grid[:, 0]) + sign * z * noise_sd(grid[:, 0])
    ax_band.plot(grid, truth, "k--", linewidth=1, label="true 90%" if sign > 0 else None)
ax_band.set(xlabel="x", ylabel="y", title=f"90% intervals (held-out coverage {covered:.2f})")
ax_band.legend(loc="upper left")
fig.tight_layout()
plt.show()

# %%
# Predicted distributions for two inputs
# --------------------------------------
# At ``x = -2`` the predicted histogram is narrow, at ``x = 2`` it is wide.
# ``predict_distribution`` returns the histogram as predicted, blurred: the dotted
# lines are the true conditional densities blurred by the same Gaussian,
# ``N(sin x, noise_sd(x)**2 + sigma_**2)``.
inputs = np.array([[-2.0], [2.0]])
fig, ax_dist = plt.subplots(figsize=(7, 4.5))
display = PredictedDistributionDisplay.from_estimator(
    model, inputs, labels=["x = -2", "x = 2"], ax=ax_dist
)
support = np.linspace(*model.bin_edges_[0, [0, -1]], 400)
for stairs, (value,) in zip(display.stairs_, inputs):
    blurred_sd = np.hypot(noise_sd(value), model.sigma_[0])
    density = stats.norm(np.sin(value), blurred_sd).pdf(support)
    ax_dist.plot(support, density, ":", color=stairs.get_edgecolor())
ax_dist.set_title(f"Predicted distributions (sigma = {model.sigma_[0]:.3f})")
fig.tight_layout()
plt.show()
