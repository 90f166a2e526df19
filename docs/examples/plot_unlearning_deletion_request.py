"""
==========================================
A deletion request, end to end (exact)
==========================================

A group of patients asks to be removed from a model trained on their records. The
exact answer is to retrain without them; :mod:`regkit.unlearning` offers exact
answers that cost less, and a report that measures any unlearned model against the
retrained one. Here: fit, unlearn, report, plot, with the two exact methods --
ridge regression that downdates its sufficient statistics, and SISA sharded
training around any regressor.
"""

# %%
# The data and the deletion request
# ---------------------------------
# The diabetes data (442 patients, 10 features, disease progression after a year).
# The deletion request is a cohort: the patients with the highest progression, the
# setting of Tarun et al. (ICML 2023), where a target range is forgotten.
import os
import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeRegressor

from regkit.datasets import load_diabetes
from regkit.plotting import UnlearningDisplay
from regkit.unlearning import (
    ExactUnlearner,
    RetrainUnlearner,
    SISARegressor,
    UnlearnableRidge,
    run_unlearners,
    unlearning_report,
)

# The test suite runs every gallery script with REGKIT_QUICK=1 (smaller budgets).
QUICK = os.environ.get("REGKIT_QUICK") == "1"

X, y = load_diabetes(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0)
forget = (y_train > np.quantile(y_train, 0.85)).to_numpy()
X_forget, y_forget = X_train[forget], y_train[forget]
X_retain, y_retain = X_train[~forget], y_train[~forget]
print(f"{forget.sum()} of {len(X_train)} training patients ask to be forgotten")

# %%
# Exact unlearning of a ridge pipeline
# ------------------------------------
# :class:`~regkit.unlearning.UnlearnableRidge` keeps the weighted sufficient
# statistics of its rows (not the rows). :class:`~regkit.unlearning.ExactUnlearner`
# removes the cohort's statistics and solves again, whatever the number of rows;
# :class:`~regkit.unlearning.RetrainUnlearner` refits on the retain rows: the
# reference. Both keep the fitted scaler of the pipeline and unlearn its last step.
model = make_pipeline(StandardScaler(), UnlearnableRidge(alpha=1.0)).fit(X_train, y_train)
unlearners = {"retrain": RetrainUnlearner(), "exact": ExactUnlearner()}
models, seconds = run_unlearners(model, unlearners, X_forget, y_forget, X_retain, y_retain)
gap = np.abs(models["exact"].predict(X_test) - models["retrain"].predict(X_test)).max()
print(f"largest difference between exact unlearning and retraining: {gap:.1e}")

# %%
# The report
# ----------
# Every metric of the paper, one row per model, read against the retrained model:
# errors on each set, the Wasserstein distance of forget-set predictions to the
# retrained model's, a membership-inference attack on the per-row loss (the
# attack's own accuracy says whether it can tell members at all; 0.5 is chance) and
# the anamnesis index (relearning time relative to the retrained model; 1 is ideal).
report = unlearning_report(
    models,
    X_forget,
    y_forget,
    X_retain,
    y_retain,
    X_test,
    y_test,
    seconds=seconds,
    mia_samples=200 if QUICK else 2000,
)
print(report.round(3).T)

# %%
# Forgetting with shards: SISA
# ----------------------------
# Any regressor becomes exactly forgettable when it is trained on disjoint shards
# (:class:`~regkit.unlearning.SISARegressor`): forgetting retrains only the shards
# that held the rows. A cohort spread over every shard retrains all of them; a
# single patient retrains one.
sisa = SISARegressor(DecisionTreeRegressor(max_depth=4), n_shards=8, random_state=0)
sisa.fit(X_train, y_train)
first = sisa.find_rows(X_forget.iloc[:1], y_forget.iloc[:1])
start = time.perf_counter()
sisa.forget(first)
elapsed = time.perf_counter() - start
print(
    f"forgetting one patient retrained shard {sisa.retrained_shards_.tolist()} in {elapsed:.3f} s"
)

# %%
# Plot: the forget error of each model against the seconds it took
# -----------------------------------------------------------------
# The retrained model is the target (star and dashed line); the original model,
# which was not timed, is the dotted line. Exact unlearning lands on the target.
fig, (ax_error, ax_mia) = plt.subplots(1, 2, figsize=(10, 4))
UnlearningDisplay.from_report(report, metric="forget_mae", ax=ax_error)
UnlearningDisplay.from_report(report, metric="mia_score", ax=ax_mia)
ax_error.set_title("error on the forgotten cohort")
ax_mia.set_title("membership-inference score")
fig.tight_layout()
plt.show()
