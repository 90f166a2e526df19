"""regkit regressors as base estimators of MAPIE (split and cross conformal prediction)."""

import numpy as np
import pytest
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from regkit.regression import HistogramRegressor, NeuralRegressor

mapie_regression = pytest.importorskip("mapie.regression")

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

FAST = {"hidden_layer_sizes": (32,), "max_epochs": 30, "learning_rate": 1e-2, "device": "cpu"}


def _data(n, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2, 2, size=(n, 3))
    y = np.sin(2 * X[:, 0]) + X[:, 1] + (0.2 + 0.3 * np.abs(X[:, 2])) * rng.standard_normal(n)
    return X, y


def _coverage(y, intervals):
    return np.mean((y >= intervals[:, 0, 0]) & (y <= intervals[:, 1, 0]))


@pytest.mark.parametrize(
    "estimator",
    [
        NeuralRegressor(**FAST, random_state=0),
        make_pipeline(StandardScaler(), HistogramRegressor(**FAST, random_state=0)),
    ],
    ids=["NeuralRegressor", "HistogramRegressor-pipeline"],
)
def test_split_conformal_regressor_covers_held_out_rows(estimator):
    X, y = _data(3000)
    model = mapie_regression.SplitConformalRegressor(estimator, confidence_level=0.9, prefit=False)
    model.fit(X[:1000], y[:1000]).conformalize(X[1000:1500], y[1000:1500])
    prediction, intervals = model.predict_interval(X[1500:])
    assert prediction.shape == (1500,) and intervals.shape == (1500, 2, 1)
    # 500 conformity scores: the coverage has a standard deviation of ~0.013.
    assert abs(_coverage(y[1500:], intervals) - 0.9) < 0.045
    # MAPIE fitted a clone: the estimator passed in is left unfitted.
    assert not hasattr(estimator, "n_features_in_")


def test_cross_conformal_regressor_clones_and_refits():
    X, y = _data(600, seed=1)
    model = mapie_regression.CrossConformalRegressor(
        HistogramRegressor(**{**FAST, "max_epochs": 10}, random_state=0),
        confidence_level=0.8,
        cv=3,
        method="plus",
        random_state=0,
    )
    model.fit_conformalize(X[:400], y[:400])
    _, intervals = model.predict_interval(X[400:])
    assert intervals.shape == (200, 2, 1)
    assert np.all(intervals[:, 0, 0] <= intervals[:, 1, 0])
    assert 0.65 < _coverage(y[400:], intervals) < 0.95
