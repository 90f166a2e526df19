"""
================================================
Building on the engine: a new loss, a new stage
================================================

Every neural estimator of regkit trains with one loop,
:func:`regkit.nn.run_epochs`. This example uses it twice, the two ways library
code builds on it: a new estimator that only changes the loss, and fine-tuning an
already fitted estimator with a loss of its own on batches drawn from two data
sources (the pattern of machine unlearning: forget some rows, keep the others).
"""

# %%
# A new estimator: change the loss
# --------------------------------
# A subclass of :class:`~regkit.regression.NeuralRegressor` keeps its network and
# parameters and replaces the squared error by the pinball loss: the network then
# predicts the 90% conditional quantile. Registering the class lets ``save`` files
# of it be loaded.
import os

import matplotlib.pyplot as plt
import numpy as np
import torch

from regkit.nn import register_estimator, weighted_mean
from regkit.regression import NeuralRegressor

QUICK = os.environ.get("REGKIT_QUICK") == "1"  # the test suite runs a small version

# [custom-loss-start]


@register_estimator
class UpperQuantileRegressor(NeuralRegressor):
    """A multilayer perceptron for the 90% conditional quantile (pinball loss)."""

    quantile = 0.9  # a constant here; a tunable level would be an __init__ parameter

    def _loss(self, module, X, y, w):
        residual = y - module(X)
        pinball = torch.maximum(self.quantile * residual, (self.quantile - 1) * residual)
        return weighted_mean(pinball.mean(dim=1), w)


rng = np.random.default_rng(0)
X = rng.uniform(-3, 3, size=(2000, 1))
y = np.sin(X[:, 0]) + (0.1 + 0.2 * np.abs(X[:, 0])) * rng.standard_normal(2000)
budget = {"max_epochs": 20 if QUICK else 100, "n_iter_no_change": None}  # fixed budget
upper = UpperQuantileRegressor((32, 32), learning_rate=3e-3, random_state=0, **budget).fit(X, y)
print(f"share of targets below the prediction: {np.mean(y <= upper.predict(X)):.3f}")
# [custom-loss-end]

# %%
# Fine-tuning with another loss on two data sources
# -------------------------------------------------
# A fitted model is asked to forget the rows with ``x > 1.5`` and to keep fitting
# the others. A *batch source* is any object with ``__len__`` (minibatches per
# epoch) and ``batches(generator)``; this one mixes forget and retain rows in every
# minibatch. :meth:`~regkit.nn.BaseNeuralRegressor.encode_tensors` gives the rows
# as the network sees them (float32, targets standardised with the fitted scaling),
# and :meth:`~regkit.nn.BaseNeuralRegressor.fine_tune` trains a copy with the loss
# (the fitted model is left as it is).

# [fine-tune-start]


class MixedBatches:
    """Minibatches of ``n_forget`` forget rows and ``n_retain`` retain rows."""

    def __init__(self, forget, retain, n_forget, n_retain):
        self.forget, self.retain = forget, retain
        self.n_forget, self.n_retain = n_forget, n_retain

    def __len__(self):
        return -(-len(self.retain[0]) // self.n_retain)

    def batches(self, generator):
        order = torch.randperm(len(self.retain[0]), generator=generator)
        for i in range(len(self)):
            r = order[i * self.n_retain : (i + 1) * self.n_retain]
            f = torch.randint(len(self.forget[0]), (self.n_forget,), generator=generator)
            X = torch.cat([self.forget[0][f], self.retain[0][r]])
            y = torch.cat([self.forget[1][f], self.retain[1][r]])
            yield X, y, torch.arange(len(X)) < self.n_forget


def forget_loss(module, X, y, is_forget):
    """Fit the retained rows; pull the forgotten ones to the mean target (0)."""
    target = torch.where(is_forget[:, None], torch.zeros_like(y), y)
    return torch.square(module(X) - target).mean()


model = NeuralRegressor((32, 32), learning_rate=3e-3, random_state=0, **budget).fit(X, y)
forget = X[:, 0] > 1.5
source = MixedBatches(
    model.encode_tensors(X[forget], y[forget])[:2],
    model.encode_tensors(X[~forget], y[~forget])[:2],
    n_forget=16,
    n_retain=112,
)
unlearned = model.fine_tune(
    forget_loss,
    source,
    max_epochs=5 if QUICK else 20,
    learning_rate=1e-3,
    n_iter_no_change=None,
    stage="unlearn",
)
for name, estimator in [("fitted", model), ("unlearned", unlearned)]:
    errors = [np.sqrt(np.mean((estimator.predict(X[m]) - y[m]) ** 2)) for m in (forget, ~forget)]
    print(f"{name:>9}: RMSE on forget rows {errors[0]:.3f}, on retain rows {errors[1]:.3f}")
# [fine-tune-end]

# %%
# What the two models learnt
# --------------------------
# Left: the 90% quantile. Right: the history of the fine-tuned copy records both
# runs, tagged by ``stage``, and its predictions on the forgotten region.
grid = np.linspace(-3, 3, 300)[:, None]
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
left.scatter(X[:, 0], y, s=3, alpha=0.3, color="grey")
left.plot(grid[:, 0], upper.predict(grid), color="C1", label="90% quantile (pinball loss)")
left.legend()
left.set(xlabel="x", ylabel="y", title="A new loss")
right.scatter(X[:, 0], y, s=3, alpha=0.3, color="grey")
right.plot(grid[:, 0], model.predict(grid), label="fitted")
right.plot(grid[:, 0], unlearned.predict(grid), label="after unlearning x > 1.5")
right.axvspan(1.5, 3, alpha=0.1, color="red")
stages = [record.get("stage", "fit") for record in unlearned.history_]
right.legend(title=f"{stages.count('fit')} fit + {stages.count('unlearn')} unlearn epochs")
right.set(xlabel="x", title="Fine-tuning with another loss")
fig.tight_layout()
plt.show()
