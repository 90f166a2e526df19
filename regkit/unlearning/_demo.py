"""Demo tasks of :mod:`regkit.unlearning` (see :mod:`regkit._demo`).

A deletion request on bundled data: the top 15 % of the targets (a cohort) is
forgotten from a fitted neural regressor by each unlearner. The first row of each
table is the original model (its ``fit_seconds``: training); the others are the
unlearned models (their ``fit_seconds``: unlearning). Scores: the error on the
forgotten rows, whose target is the retrained model's (not "as large as
possible"), and the Wasserstein distance of their predictions to the retrained
model's (0 is best).
"""

import numpy as np
from sklearn.metrics import mean_absolute_error
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from regkit._demo import DemoTask
from regkit.datasets import load_fair
from regkit.unlearning._base import Unlearner
from regkit.unlearning._blindspot import BlindspotUnlearner
from regkit.unlearning._finetune import FineTuneUnlearner
from regkit.unlearning._gaussian import GaussianUnlearner
from regkit.unlearning._metrics import prediction_wasserstein
from regkit.unlearning._retrain import RetrainUnlearner

ORIGINAL = "NeuralRegressor (original)"


def _request(quick):
    X, y = load_fair(return_X_y=True)
    if quick:
        X, y = X.iloc[:1000], y.iloc[:1000]
    X_train, _, y_train, _ = train_test_split(X, y, test_size=0.25, random_state=0)
    forget = (y_train > np.quantile(y_train, 0.85)).to_numpy()
    return {
        "train": (X_train, y_train),
        "forget": (X_train[forget], y_train[forget]),
        "retain": (X_train[~forget], y_train[~forget]),
        "fitted": {},  # filled as the demo runs: the original, then each unlearned model
    }


def _fit_or_unlearn(model, data):
    fitted = data["fitted"]
    if isinstance(model, Unlearner):
        fitted[model] = model.unlearn(fitted[ORIGINAL], *data["forget"], *data["retain"])
    else:
        fitted[ORIGINAL] = model.fit(*data["train"])
    return model


def _result(model, data):
    return data["fitted"][model if isinstance(model, Unlearner) else ORIGINAL]


def _forget_mae(model, data):
    X, y = data["forget"]
    return mean_absolute_error(y, _result(model, data).predict(X))


def _already_done(model, data):
    # The distance task scores the models the error task has just made.
    return model


def demo_tasks(quick):
    from regkit.regression import NeuralRegressor

    data = _request(quick)
    retrain = RetrainUnlearner()
    models = {
        ORIGINAL: make_pipeline(
            StandardScaler(),
            NeuralRegressor(
                (64, 64),
                max_epochs=10 if quick else 60,
                learning_rate=3e-3,
                n_iter_no_change=None,
                random_state=0,
            ),
        ),
        "RetrainUnlearner": retrain,
        "FineTuneUnlearner": FineTuneUnlearner(random_state=0),
        "GaussianUnlearner": GaussianUnlearner(random_state=0),
        "BlindspotUnlearner": BlindspotUnlearner(random_state=0),
    }

    def distance_to_retrained(model, data):
        X, _ = data["forget"]
        return prediction_wasserstein(_result(model, data), data["fitted"][retrain], X)

    dataset = "fair (forget the top 15 % of targets)"
    return [
        DemoTask(
            "unlearning",
            dataset,
            data,
            models,
            metric="forget MAE (target: retrain's)",
            fit=_fit_or_unlearn,
            score=_forget_mae,
        ),
        DemoTask(
            "unlearning",
            dataset,
            data,
            models,
            metric="forget W-distance to retrain",
            fit=_already_done,
            score=distance_to_retrained,
        ),
    ]
