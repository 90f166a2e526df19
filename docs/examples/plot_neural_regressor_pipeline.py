"""
=====================================================
A neural regressor in a scikit-learn grid search
=====================================================

:class:`~regkit.regression.NeuralRegressor` is an ordinary scikit-learn regressor: it
goes in a :class:`~sklearn.pipeline.Pipeline` after a scaler, and
:class:`~sklearn.model_selection.GridSearchCV` tunes it like any other model. Here we
tune its width and weight decay on the diabetes data and look at its predictions
with scikit-learn's :class:`~sklearn.metrics.PredictionErrorDisplay`.
"""

# %%
# Data and pipeline
# -----------------
import os

import matplotlib.pyplot as plt
from sklearn.metrics import PredictionErrorDisplay
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from regkit.datasets import load_diabetes
from regkit.regression import NeuralRegressor

# The test suite runs every gallery script with REGKIT_QUICK=1 (smaller budgets).
QUICK = os.environ.get("REGKIT_QUICK") == "1"

X, y = load_diabetes(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)

pipeline = make_pipeline(
    StandardScaler(),
    NeuralRegressor(max_epochs=30 if QUICK else 300, early_stopping=True, random_state=0),
)

# %%
# Grid search
# -----------
# Double underscores reach the regressor's parameters inside the pipeline.
grid = {
    "neuralregressor__hidden_layer_sizes": [(32,), (64, 64)],
    "neuralregressor__weight_decay": [0.0, 1e-2],
}
search = GridSearchCV(pipeline, grid, cv=3, n_jobs=1).fit(X_train, y_train)
print("best parameters:", search.best_params_)
print(f"test R2: {search.score(X_test, y_test):.3f}")

# %%
# The training history
# --------------------
# ``history_`` holds one record per epoch; early stopping restored the weights of
# ``best_epoch_``.
best = search.best_estimator_[-1]
print(f"stopped after {best.n_iter_} epochs, kept epoch {best.best_epoch_}")
epochs = [record["epoch"] for record in best.history_]
fig, ax_loss = plt.subplots(figsize=(6, 4))
ax_loss.plot(epochs, [r["train_loss"] for r in best.history_], label="training")
ax_loss.plot(epochs, [r["valid_loss"] for r in best.history_], label="validation")
ax_loss.axvline(best.best_epoch_, color="grey", linestyle=":", label="restored epoch")
ax_loss.set(xlabel="epoch", ylabel="MSE (standardised target)", title="Learning curves")
ax_loss.legend()
fig.tight_layout()

# %%
# Predicted against actual
# ------------------------
display = PredictionErrorDisplay.from_estimator(
    search.best_estimator_, X_test, y_test, kind="actual_vs_predicted"
)
display.ax_.set_title("Held-out predictions")
plt.show()
