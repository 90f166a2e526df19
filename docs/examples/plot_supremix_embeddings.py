"""
===================================================
Contrastive embeddings for regression with SupReMix
===================================================

:class:`~regkit.regression.SupReMixRegressor` first *pretrains* its encoder with a
supervised contrastive loss: two augmented views of each row, hard negatives and
hard positives made by mixing embeddings, all weighted by label distance. The
embeddings it learns are ordered like the target. A regressor is then fitted on
them (here the whole network is fine-tuned).

This example compares those embeddings with the last hidden layer of the same
network trained with the squared error alone
(:class:`~regkit.regression.NeuralRegressor`), on an imbalanced target: the number
of doctor visits in the RAND health insurance experiment, where three rows in four
have fewer than 4 visits and a few have more than 20.
"""

# %%
# Data and models
# ---------------
# Both models get the same encoder (a 128-wide hidden layer, then a 64-wide
# embedding layer) and optimiser; SupReMix pretrains it for 30 epochs first.
import os

import matplotlib.pyplot as plt
import numpy as np
import torch
from scipy.stats import spearmanr
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from regkit.datasets import load_randhie
from regkit.regression import NeuralRegressor, SupReMixRegressor

# The test suite runs every gallery script with REGKIT_QUICK=1 (smaller budgets).
QUICK = os.environ.get("REGKIT_QUICK") == "1"

X, y = load_randhie(return_X_y=True)
rows = np.random.default_rng(0).choice(len(X), 800 if QUICK else 4000, replace=False)
X, y = X.to_numpy(float)[rows], y.to_numpy(float)[rows]
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

engine = {
    "max_epochs": 20 if QUICK else 150,
    "early_stopping": True,
    "validation_fraction": 0.15,
    "n_iter_no_change": 20,
    "random_state": 0,
}
supremix = SupReMixRegressor(
    (128,), embedding_size=64, head="finetune", pretrain_epochs=3 if QUICK else 30, **engine
).fit(X_train, y_train)
mse = NeuralRegressor((128, 64), **engine).fit(X_train, y_train)

# %%
# The embeddings, projected to two dimensions
# -------------------------------------------
# ``transform`` gives SupReMix's embeddings; for the MSE network we take its last
# hidden layer, the input of its output layer. Each panel is the first two
# principal components of the test rows' embeddings, coloured by the target (on a
# log scale: the target is skewed). The Spearman correlation between distances of
# embeddings and distances of targets, over random pairs of rows, measures how
# well the embedding orders the rows by their target.


def last_hidden_layer(model, X):
    with torch.no_grad():
        return model.module_[:-1](torch.as_tensor(X, dtype=torch.float32)).double().numpy()


def ordinality(Z, y, n_pairs=2000):
    i, j = np.random.default_rng(0).integers(len(y), size=(2, n_pairs))
    keep = i != j
    distances = np.linalg.norm(Z[i[keep]] - Z[j[keep]], axis=1)
    return spearmanr(distances, np.abs(y[i[keep]] - y[j[keep]])).statistic


embeddings = {
    "SupReMix (contrastive pretraining)": supremix.transform(X_test),
    "MSE (last hidden layer)": last_hidden_layer(mse, X_test),
}
fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), layout="constrained")
order = np.argsort(y_test)  # draw the rare large targets last, on top
for ax, (name, Z) in zip(axes, embeddings.items()):
    points = PCA(n_components=2).fit_transform(Z)[order]
    scatter = ax.scatter(points[:, 0], points[:, 1], c=np.log1p(y_test[order]), s=8, cmap="viridis")
    ax.set(title=f"{name}\nSpearman ordinality {ordinality(Z, y_test):.2f}")
    ax.set(xlabel="first principal component", ylabel="second principal component")
fig.colorbar(scatter, ax=axes, label="log(1 + doctor visits)")
plt.show()

# %%
# Errors in the rare region
# -------------------------
# The training targets are cut into 20 equal-width bins; a bin holding fewer than
# 2% of the training rows is *rare* (the long tail of the counts). The mean absolute
# error is reported separately on the test rows in rare bins, as the "few-shot"
# columns of imbalanced-regression benchmarks do. An imbalanced target pulls every
# model towards the common values; the rare region is where that costs most.
counts, edges = np.histogram(y_train, bins=20)
rare_bins = np.flatnonzero(counts < 0.02 * len(y_train))
bins = np.clip(np.searchsorted(edges, y_test, side="right") - 1, 0, 19)
rare = np.isin(bins, rare_bins) | (y_test > edges[-1])
print(f"rare region: {y_test[rare].min():.0f} visits and more, {rare.sum()} test rows")

models = {"SupReMix": supremix, "MSE": mse}
errors = {name: np.abs(model.predict(X_test) - y_test) for name, model in models.items()}
regions = {"all rows": np.ones_like(rare), "common bins": ~rare, "rare bins": rare}
fig, ax = plt.subplots(figsize=(7, 3.8), layout="constrained")
width = 0.38
for k, (name, error) in enumerate(errors.items()):
    values = [error[mask].mean() for mask in regions.values()]
    bars = ax.bar(np.arange(3) + (k - 0.5) * width, values, width, label=name)
    ax.bar_label(bars, fmt="%.2f")
    print(name, ", ".join(f"{region} {v:.3f}" for region, v in zip(regions, values)))
ax.set_xticks(np.arange(3), list(regions))
ax.set(ylabel="mean absolute error (visits)", title="Test errors by region of the target")
ax.legend()
plt.show()

# %%
# One split and one seed make a picture, not a measurement: the benchmark
# ``benchmarks/bench_supremix.py`` compares SupReMix with the contrastive baselines
# (Rank-N-Contrast, SupCon) and the supervised regressors over five splits and
# three datasets (see :ref:`supremix`).
