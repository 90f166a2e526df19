"""A minimal window forecaster gets the whole interface from BaseWindowForecaster."""

import numpy as np
import pandas as pd
import pytest

from regkit.forecasting import BaseWindowForecaster, backtest
from regkit.forecasting._window import WINDOW_CONSTRAINTS


class WindowMean(BaseWindowForecaster):
    """Predicts the mean of its last ``context`` normalised values, ``block`` at once."""

    _parameter_constraints = {**BaseWindowForecaster._parameter_constraints, **WINDOW_CONSTRAINTS}

    def __init__(
        self, context=3, block=2, *, missing="raise", seasonality=None,
        lagged_regressors=(), calibration_size=0.25,
    ):  # fmt: skip
        self.context, self.block, self.missing = context, block, missing
        self.seasonality, self.lagged_regressors = seasonality, lagged_regressors
        self.calibration_size = calibration_size

    def _context_length(self):
        return self.context

    def _block_size(self):
        return self.block

    def _fit_windows(self, windows):
        self.n_fitted_windows_ = len(windows.past)
        self.seen_origins_ = windows.origins

    def _predict_windows(self, windows):
        self.last_origins_ = windows.origins
        return np.repeat(windows.past.mean(axis=1, keepdims=True), self.block, axis=1)


def by_definition(values, context, block, n_steps):
    mean, scale = values.mean(), values.std()
    z = list((values - mean) / scale)
    start = len(z)
    while len(z) < start + n_steps:
        z.extend([np.mean(z[-context:])] * block)
    return np.array(z[start : start + n_steps]) * scale + mean


def test_rollout_normalisation_and_windows():
    values = np.sin(np.arange(40.0)) + np.arange(40.0) / 10
    model = WindowMean().fit(values)
    np.testing.assert_allclose(model.predict(5), by_definition(values, 3, 2, 5))
    # Training windows: every origin 3..38 (the last block must fit in the history).
    assert model.n_fitted_windows_ == 40 - 3 - 2 + 1
    assert model.seen_origins_.tolist() == list(range(3, 39))
    model.predict(5)
    assert model.last_origins_.tolist() == [44]  # the third block starts 4 steps ahead


def test_many_series_intervals_and_backtest_come_for_free():
    index = pd.date_range("2022-01-01", periods=60, freq="D")
    rng = np.random.default_rng(0)
    wide = pd.DataFrame(
        rng.standard_normal((60, 2)).cumsum(axis=0), index=index, columns=["a", "b"]
    )
    model = WindowMean().fit(wide)
    interval = model.predict_interval(3, coverage=0.8)
    assert interval.columns.tolist() == [
        ("a", "lower"),
        ("a", "upper"),
        ("b", "lower"),
        ("b", "upper"),
    ]
    point = model.predict(3)
    assert (interval[("a", "lower")] <= point["a"]).all() and (
        point["b"] <= interval[("b", "upper")]
    ).all()
    scores = backtest(WindowMean(), wide, fh=2, n_windows=3, coverage=0.8)
    assert scores["series"].tolist() == ["a", "b"] * 3
    assert model._time_labels([59, 60, 61]).tolist() == list(
        pd.date_range("2022-03-01", periods=3, freq="D")
    )


def test_lagged_regressors_reach_one_block():
    values = np.arange(30.0)
    X = pd.DataFrame({"x": np.arange(30.0) ** 2})
    model = WindowMean(lagged_regressors=["x"]).fit(pd.Series(values), X=X)
    assert model.predict(2).shape == (2,)
    with pytest.raises(ValueError, match="at most 2 steps"):
        model.predict(3)
