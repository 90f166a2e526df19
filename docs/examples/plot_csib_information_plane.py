"""
===========================================================
CS-IB: the information plane and the beta trade-off
===========================================================

:class:`~regkit.regression.CSIBRegressor` trains an encoder-decoder network on a
Cauchy-Schwarz divergence between the data's and the model's conditional
distributions, plus ``beta`` times the Cauchy-Schwarz mutual information
``I(x; t)`` between the inputs and the network's representation ``t``. Every epoch
it records where the representation sits in the *information plane*: how much it
keeps of the inputs, ``I(x; t)``, and how much of the target, ``I(y; t)``.

We follow one model through training, then sweep ``beta`` with
:func:`~regkit.regression.csib_beta_sweep` to see compression traded against test
error.
"""

# %%
# Data and model
# --------------
import os

import matplotlib.pyplot as plt
from sklearn.datasets import make_friedman1
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from regkit.plotting import InformationPlaneDisplay
from regkit.regression import CSIBRegressor, csib_beta_sweep

# The test suite runs every gallery script with REGKIT_QUICK=1 (smaller budgets).
QUICK = os.environ.get("REGKIT_QUICK") == "1"

# Friedman #1: 10 inputs, of which only 5 matter -- room for compression.
X, y = make_friedman1(n_samples=300 if QUICK else 1500, noise=1.0, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)

model = make_pipeline(
    StandardScaler(),
    CSIBRegressor(
        hidden_layer_sizes=(64,),
        representation_size=16,
        decoder_layer_sizes=(64,),
        beta=0.01,
        max_epochs=10 if QUICK else 150,
        random_state=0,
    ),
)
model.fit(X_train, y_train)
print(f"test R2: {model.score(X_test, y_test):.3f}")

# %%
# The training trajectory
# -----------------------
# Each point is an epoch. The representation starts close to the inputs (high
# ``I(x; t)``, little about ``y``); in the first epochs it gains information about
# ``y`` while shedding some about ``x``, and later the compression term pulls
# ``I(x; t)`` further down while ``I(y; t)`` holds.
fig, ax = plt.subplots(figsize=(6, 4.5))
InformationPlaneDisplay.from_estimator(model, ax=ax)
ax.set_title("Information plane during training")
fig.tight_layout()

# %%
# Sweeping beta
# -------------
# Larger ``beta`` compresses more: the compression ratio ``r = 1 - I(x; t) /
# I_0(x; t)`` (relative to ``beta = 0``) grows, and past some point the test error
# rises because the representation drops information the target needs.
betas = [0.0, 1.0] if QUICK else [0.0, 0.01, 0.03, 0.1, 0.3, 1.0]
table = csib_beta_sweep(model, X_train, y_train, betas, X_test=X_test, y_test=y_test)
print(table.round(3).to_string(index=False))

# Each figure is created and finished in one cell: sphinx-gallery saves the open
# figures at the end of every cell, so a panel drawn in a later cell would be empty.
fig, ax = plt.subplots(figsize=(6, 4.5))
ax.plot(table["compression_ratio"], table["test_rmse"], marker="o")
for _, row in table.iterrows():
    ax.annotate(
        f"β={row['beta']:g}",
        (row["compression_ratio"], row["test_rmse"]),
        textcoords="offset points",
        xytext=(4, 4),
        fontsize=8,
    )
ax.set(xlabel="compression ratio r", ylabel="test RMSE", title="The beta trade-off")
fig.tight_layout()
plt.show()
