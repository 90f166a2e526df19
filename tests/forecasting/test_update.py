"""``update`` then ``predict``: a refit for statistical models, the recursion for AR-Net."""

import copy

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from regkit.datasets import make_ar_process
from regkit.forecasting import ARNetForecaster, AutoRegForecaster, NaiveForecaster

SERIES = make_ar_process(160, [0.5, -0.3, 0.2], random_state=7) + 3.0
INDEX = pd.date_range("2020-01-06", periods=160, freq="W-MON")


def statistical(kind, n_lags):
    if kind == "autoreg":
        return AutoRegForecaster(n_lags=n_lags)
    if kind == "last":
        return NaiveForecaster(seasonal_period=n_lags)
    return NaiveForecaster(strategy=kind)


@settings(deadline=None, max_examples=40)
@given(
    kind=st.sampled_from(["autoreg", "last", "mean", "drift"]),
    n_lags=st.integers(1, 4),
    split=st.integers(60, 150),
    n_chunks=st.integers(1, 3),
    horizon=st.integers(1, 8),
    pandas=st.booleans(),
)
def test_update_then_predict_equals_refit(kind, n_lags, split, n_chunks, horizon, pandas):
    y = pd.Series(SERIES, index=INDEX) if pandas else SERIES
    model = statistical(kind, n_lags).fit(y[:split])
    for chunk in np.array_split(np.arange(split, 160), n_chunks):
        model.update(y[chunk[0] : chunk[-1] + 1])
    refit = statistical(kind, n_lags).fit(y)
    np.testing.assert_allclose(
        np.asarray(model.predict(horizon)), np.asarray(refit.predict(horizon)), rtol=1e-9
    )
    np.testing.assert_allclose(
        np.asarray(model.predict_interval(horizon)),
        np.asarray(refit.predict_interval(horizon)),
        rtol=1e-9,
    )


@pytest.fixture(scope="module")
def arnet():
    kw = {"max_epochs": 5, "device": "cpu", "random_state": 0, "calibration_size": None}
    return {
        1: ARNetForecaster(n_lags=3, **kw).fit(SERIES[:100]),
        2: ARNetForecaster(n_lags=3, n_forecasts=2, **kw).fit(SERIES[:100]),
    }


def recursion(model, history, horizon):
    """AR-Net's forecast by its definition: normalise, predict a block, feed it back."""
    mean, scale = model.series_mean_[0], model.series_scale_[0]
    history = list(history)
    start = len(history)
    while len(history) < start + horizon:
        lags = (np.array(history[-1 : -model.n_lags - 1 : -1]) - mean) / scale
        block = np.atleast_1d(model.regressor_.predict(lags[None, :])[0])
        history.extend(block * scale + mean)
    return np.array(history[start : start + horizon])


@settings(deadline=None, max_examples=25)
@given(n_forecasts=st.sampled_from([1, 2]), n_new=st.integers(1, 60), horizon=st.integers(1, 7))
def test_arnet_update_then_predict_is_the_recursion(arnet, n_forecasts, n_new, horizon):
    model = copy.deepcopy(arnet[n_forecasts])
    weights = model.regressor_.coef_.copy()
    model.update(SERIES[100 : 100 + n_new])
    np.testing.assert_array_equal(model.regressor_.coef_, weights)  # no refit
    expected = recursion(model, SERIES[: 100 + n_new], horizon)
    np.testing.assert_allclose(model.predict(horizon), expected, rtol=1e-5, atol=1e-6)


def test_arnet_update_with_params_is_a_refit():
    kw = {"n_lags": 2, "max_epochs": 3, "device": "cpu", "random_state": 0}
    model = ARNetForecaster(**kw).fit(SERIES[:120])
    model.update(SERIES[120:], update_params=True)
    refit = ARNetForecaster(**kw).fit(SERIES)
    np.testing.assert_array_equal(model.predict(3), refit.predict(3))
    np.testing.assert_array_equal(model.predict_interval(3), refit.predict_interval(3))
