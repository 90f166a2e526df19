"""Fourier seasonality, lagged (past-only) regressors, components, fitted attributes."""

import numpy as np
import pandas as pd
import pytest

from regkit.datasets import make_ar_process
from regkit.forecasting import ARNetForecaster
from regkit.forecasting._seasonality import fourier_features, resolve_seasonality

FAST = {
    "max_epochs": 30,
    "batch_size": 64,
    "device": "cpu",
    "random_state": 0,
    "calibration_size": None,
}


def names_and_orders(terms):
    return [(t.name, t.order) for t in terms]


def test_auto_seasonality_follows_the_frequency():
    hourly = pd.date_range("2021-01-01", periods=24 * 21, freq="h")
    assert names_and_orders(resolve_seasonality("auto", hourly, len(hourly))) == [
        ("daily", 6),
        ("weekly", 3),
    ]
    daily = pd.date_range("2018-01-01", periods=3 * 365, freq="D")
    # Daily steps cannot resolve a daily cycle; weekly is capped at order 3.
    assert names_and_orders(resolve_seasonality("auto", daily, len(daily))) == [
        ("weekly", 3),
        ("yearly", 6),
    ]
    monthly = pd.period_range("2000-01", periods=120, freq="M")
    assert names_and_orders(resolve_seasonality("auto", monthly, 120)) == [("yearly", 5)]
    assert resolve_seasonality("auto", None, 100) == []


def test_seasonality_options_and_errors():
    hourly = pd.date_range("2021-01-01", periods=100, freq="h")
    terms = resolve_seasonality({"daily": 2, 12: 1}, hourly, 100)
    assert names_and_orders(terms) == [("daily", 2), ("period_12", 1)]
    with pytest.raises(ValueError, match="needs dates"):
        resolve_seasonality("weekly", pd.RangeIndex(100), 100)
    with pytest.raises(ValueError, match="unknown"):
        resolve_seasonality("hourly", hourly, 100)
    with pytest.raises(ValueError, match="too few"):
        resolve_seasonality("daily", pd.date_range("2021-01-01", periods=100, freq="D"), 100)


def test_fourier_features_values():
    index = pd.date_range("2021-01-01", periods=48, freq="h")
    terms = resolve_seasonality({"daily": 1}, index, 48)
    features = fourier_features(terms, index, np.arange(48))
    hours = np.arange(48) % 24
    np.testing.assert_allclose(features[:, 0], np.sin(2 * np.pi * hours / 24), atol=1e-9)
    np.testing.assert_allclose(features[:, 1], np.cos(2 * np.pi * hours / 24), atol=1e-9)
    steps = resolve_seasonality({4: 1}, None, 48)
    np.testing.assert_allclose(
        fourier_features(steps, None, np.arange(8))[:, 0],
        np.sin(np.pi * np.arange(8) / 2),
        atol=1e-12,
    )


def test_seasonality_features_carry_a_cycle_the_lags_cannot():
    index = pd.date_range("2021-01-04", periods=24 * 7 * 3, freq="h")
    rng = np.random.default_rng(0)
    cycle = 3 * np.sin(2 * np.pi * index.hour / 24)
    y = pd.Series(cycle + 0.3 * rng.standard_normal(len(index)), index=index)
    train, test = y.iloc[:-48], y.iloc[-48:]
    plain = ARNetForecaster(n_lags=2, **FAST).fit(train)
    seasonal = ARNetForecaster(n_lags=2, seasonality="daily", **FAST).fit(train)
    error = {
        name: np.abs(model.predict(48) - test).mean()
        for name, model in {"plain": plain, "seasonal": seasonal}.items()
    }
    assert error["seasonal"] < 0.5 < error["plain"]
    assert len(seasonal.seasonality_terms_) == 1


def test_lagged_regressor_needs_no_future_values():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(600)
    y = np.r_[0.0, 2.0 * x[:-1]] + 0.05 * rng.standard_normal(600)  # y[t] = 2 x[t-1]
    X = pd.DataFrame({"x": x})
    model = ARNetForecaster(n_lags=2, lagged_regressors=["x"], **FAST).fit(pd.Series(y), X=X)
    assert model.predict(1).iloc[0] == pytest.approx(2.0 * x[-1], abs=0.15)
    with pytest.raises(ValueError, match="at most 1 steps"):
        model.predict(2)
    two = ARNetForecaster(n_lags=2, n_forecasts=2, lagged_regressors=["x"], **FAST)
    assert two.fit(pd.Series(y), X=X).predict(2).shape == (2,)
    with pytest.raises(ValueError, match="not columns of X"):
        ARNetForecaster(n_lags=2, lagged_regressors=["z"], **FAST).fit(pd.Series(y), X=X)


def test_known_and_lagged_regressors_together():
    rng = np.random.default_rng(1)
    n = 500
    known, past = rng.standard_normal(n), rng.standard_normal(n)
    y = 1.5 * known + np.r_[0.0, -1.0 * past[:-1]] + 0.05 * rng.standard_normal(n)
    X = pd.DataFrame({"known": known, "past": past})
    model = ARNetForecaster(n_lags=1, lagged_regressors=["past"], **FAST).fit(y[:-1], X=X.iloc[:-1])
    forecast = model.predict(1, X=X.iloc[-1:][["known"]])
    assert forecast[0] == pytest.approx(1.5 * known[-1] - past[-2], abs=0.2)


def test_components_add_up_to_the_in_sample_prediction():
    index = pd.date_range("2021-01-04", periods=24 * 14, freq="h")
    rng = np.random.default_rng(0)
    y = pd.Series(
        np.sin(2 * np.pi * index.hour / 24) + 0.2 * rng.standard_normal(len(index)), index=index
    )
    X = pd.DataFrame({"x": rng.standard_normal(len(index))}, index=index)
    model = ARNetForecaster(n_lags=3, seasonality="daily", **FAST).fit(y, X=X)
    components = model.predict_components()
    assert list(components.columns) == [
        "baseline",
        "autoregression",
        "future_regressors",
        "seasonality",
    ]
    np.testing.assert_allclose(
        components.sum(axis=1, skipna=False).iloc[3:],
        model.predict_in_sample().iloc[3:],
        rtol=1e-5,
        atol=1e-5,
    )
    deep = ARNetForecaster(n_lags=3, ar_layers=(4,), **FAST).fit(y)
    with pytest.raises(AttributeError, match="linear"):
        deep.predict_components()


def test_fitted_attributes_of_the_network_are_exposed():
    y = make_ar_process(300, [0.5], random_state=0)
    model = ARNetForecaster(n_lags=2, **FAST).fit(y)
    assert model.n_iter_ == 30 == len(model.history_)
    assert model.best_epoch_ == model.regressor_.best_epoch_
    assert model.device_ == "cpu" and model.regularization_strength_ == 0.0
    assert model.coef_.shape == (2,)
    with pytest.raises(AttributeError, match="not fitted"):
        ARNetForecaster().n_iter_  # noqa: B018
