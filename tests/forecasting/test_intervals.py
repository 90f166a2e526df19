"""Prediction intervals: naive formulas, statsmodels' AutoReg, conformal AR-Net."""

import copy

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from regkit.datasets import make_ar_process
from regkit.forecasting import (
    ARNetForecaster,
    AutoRegForecaster,
    NaiveForecaster,
    backtest,
)
from regkit.forecasting._conformal import conformal_quantiles

Z90 = norm.ppf(0.95)


@pytest.fixture(scope="module")
def walk():
    return np.cumsum(np.random.default_rng(0).standard_normal(200)) + 50


def test_random_walk_interval_by_hand(walk):
    interval = NaiveForecaster().fit(walk).predict_interval(4, coverage=0.9)
    sigma = np.sqrt(np.mean(np.diff(walk) ** 2))
    half = Z90 * sigma * np.sqrt(np.arange(1, 5))
    np.testing.assert_allclose(interval[:, 0], walk[-1] - half)
    np.testing.assert_allclose(interval[:, 1], walk[-1] + half)


def test_seasonal_naive_interval_by_hand(walk):
    m = 4
    q = NaiveForecaster(seasonal_period=m).fit(walk).predict_quantiles(9, [0.95])
    sigma = np.sqrt(np.mean((walk[m:] - walk[:-m]) ** 2))
    k = np.floor((np.arange(1, 10) - 1) / m)
    point = walk[-m:][np.arange(9) % m]
    np.testing.assert_allclose(q[:, 0], point + Z90 * sigma * np.sqrt(k + 1))


def test_mean_and_drift_intervals_by_hand(walk):
    T = len(walk)
    mean_q = NaiveForecaster(strategy="mean").fit(walk).predict_quantiles(2, [0.95])
    expected = walk.mean() + Z90 * walk.std(ddof=1) * np.sqrt(1 + 1 / T)
    np.testing.assert_allclose(mean_q[:, 0], [expected, expected])
    drift = NaiveForecaster(strategy="drift").fit(walk)
    slope = (walk[-1] - walk[0]) / (T - 1)
    sigma = np.sqrt(np.sum((np.diff(walk) - slope) ** 2) / (T - 2))
    h = np.arange(1, 4)
    q = drift.predict_quantiles(3, [0.05])
    np.testing.assert_allclose(
        q[:, 0], walk[-1] + h * slope - Z90 * sigma * np.sqrt(h * (1 + h / T))
    )


def test_autoreg_intervals_are_statsmodels(walk):
    from statsmodels.tsa.ar_model import AutoReg

    y = make_ar_process(300, [0.6, -0.2, 0.1], random_state=0)
    X = np.random.default_rng(1).standard_normal((310, 2))
    model = AutoRegForecaster(n_lags=3).fit(y, X=X[:300])
    reference = AutoReg(y, lags=3, exog=X[:300]).fit()
    prediction = reference.get_prediction(start=300, end=309, exog_oos=X[300:])
    np.testing.assert_allclose(
        model.predict_quantiles(10, [0.05, 0.95], X=X[300:]), prediction.conf_int(alpha=0.1)
    )
    np.testing.assert_allclose(model.predict(10, X=X[300:]), prediction.predicted_mean)


def test_interval_layouts():
    values = make_ar_process(150, [0.5], random_state=0)
    index = pd.date_range("2020-01-01", periods=150, freq="D")
    interval = NaiveForecaster().fit(pd.Series(values, index=index)).predict_interval(3)
    assert (
        list(interval.columns) == ["lower", "upper"] and interval.index[0] == index[-1] + index.freq
    )
    wide = pd.DataFrame({"a": values, "b": values + 1}, index=index)
    quantiles = NaiveForecaster().fit(wide).predict_quantiles([1, 3], [0.1, 0.5, 0.9])
    assert quantiles.columns.tolist() == [(s, q) for s in "ab" for q in (0.1, 0.5, 0.9)]
    assert len(quantiles) == 2
    long = wide.stack().swaplevel().sort_index()
    interval = NaiveForecaster().fit(long).predict_interval(2)
    assert interval.index.get_level_values(0).tolist() == ["a", "a", "b", "b"]
    array = NaiveForecaster().fit(wide.to_numpy()).predict_interval(2)
    assert array.shape == (2, 2, 2)
    with pytest.raises(ValueError, match="coverage"):
        NaiveForecaster().fit(values).predict_interval(2, coverage=1.5)
    with pytest.raises(ValueError, match="quantiles"):
        NaiveForecaster().fit(values).predict_quantiles(2, [0.0, 0.5])


@settings(deadline=None, max_examples=40)
@given(
    m=st.integers(1, 60),
    level=st.floats(0.01, 0.99),
    seed=st.integers(0, 1000),
)
def test_conformal_quantile_is_the_finite_sample_order_statistic(m, level, seed):
    residuals = np.random.default_rng(seed).standard_normal((m, 1))
    offset = conformal_quantiles(residuals, np.array([level]))[0, 0]
    ordered = np.sort(residuals[:, 0])
    # At least ceil((m+1) q) of the m+1 points (with a new one) lie at or below an
    # upper bound; at most floor((m+1) q) strictly below a lower one.
    if level >= 0.5:
        rank = min(int(np.ceil((m + 1) * level)), m)
    else:
        rank = max(int(np.floor((m + 1) * level)), 1)
    assert offset == ordered[rank - 1]


def test_arnet_conformal_coverage_near_nominal():
    y = make_ar_process(1200, [0.6, -0.3], random_state=3)
    model = ARNetForecaster(n_lags=4, max_epochs=20, device="cpu", random_state=0)
    scores = backtest(model, y, fh=[1, 5], initial=800, step=6, refit=False, coverage=[0.8, 0.95])
    assert 0.72 <= scores["coverage_80"].mean() <= 0.88
    assert 0.9 <= scores["coverage_95"].mean() <= 0.99
    model.fit(y[:800])
    assert model.calibration_model_ is not None
    # The calibration network saw 80 % of the history, the final one all of it.
    assert model.calibration_model_.regressor_.n_features_in_ == 4
    lower, upper = model.predict_interval(5, coverage=0.8).T
    point = model.predict(5)
    assert (lower < point).all() and (point < upper).all()


def test_arnet_intervals_need_calibration():
    y = make_ar_process(200, [0.5], random_state=0)
    model = ARNetForecaster(n_lags=2, max_epochs=2, device="cpu", random_state=0)
    with pytest.raises(ValueError, match="calibration"):
        model.set_params(calibration_size=None).fit(y).predict_interval(2)
    model.set_params(calibration_size=5).fit(y)
    with pytest.raises(ValueError, match="6-step-ahead"):
        model.predict_interval(6)
    assert model.predict_interval(5).shape == (5, 2)


def test_conformal_residuals_roll_forward_with_update():
    y = make_ar_process(300, [0.6], random_state=1)
    model = ARNetForecaster(n_lags=3, max_epochs=5, calibration_size=40, device="cpu")
    model.set_params(random_state=0).fit(y[:250])
    held_out = model._calibration_residuals(1)[0]
    assert held_out.shape == (40, 1)
    frozen = copy.deepcopy(model)
    model.update(y[250:270])
    # The final model's one-step residuals at the 20 new origins (each forecast
    # from the history up to its origin, with the fitted parameters) replace the
    # 20 oldest held-out residuals.
    later = []
    for origin in range(250, 270):
        reference = copy.deepcopy(frozen)
        if origin > 250:
            reference.update(y[250:origin])
        later.append(y[origin] - np.asarray(reference.predict(1)).ravel()[0])
    expected = np.concatenate([held_out[20:, 0], later])
    np.testing.assert_allclose(model._calibration_residuals(1)[0][:, 0], expected, rtol=1e-6)
    offsets = conformal_quantiles(expected[:, None], np.array([0.1, 0.9]))[0]
    lower, upper = np.asarray(model.predict_interval(1, coverage=0.8))[0]
    point = np.asarray(model.predict(1)).ravel()[0]
    np.testing.assert_allclose([lower, upper], point + offsets, rtol=1e-6)


def test_rolling_calibration_follows_a_change_of_noise_level():
    # AR(1) whose noise triples after the fitted history: intervals calibrated
    # once keep the old width; rolling ones recover the nominal coverage.
    rng = np.random.default_rng(5)
    noise = rng.standard_normal(700) * np.where(np.arange(700) < 400, 1.0, 3.0)
    y = np.zeros(700)
    for t in range(1, 700):
        y[t] = 0.5 * y[t - 1] + noise[t]
    model = ARNetForecaster(n_lags=2, max_epochs=20, device="cpu", random_state=0).fit(y[:400])
    fixed = conformal_quantiles(model._calibration_residuals(1)[0], np.array([0.1, 0.9]))[0]
    rolling_inside, fixed_inside = [], []
    for origin in range(400, 700):
        lower, upper = np.asarray(model.predict_interval(1, coverage=0.8))[0]
        point = np.asarray(model.predict(1)).ravel()[0]
        rolling_inside.append(lower <= y[origin] <= upper)
        fixed_inside.append(point + fixed[0] <= y[origin] <= point + fixed[1])
        model.update(y[origin : origin + 1])
    # After the 80 residuals of the window have turned over (calibration_size=0.2).
    assert 0.7 <= np.mean(rolling_inside[100:]) <= 0.9
    assert np.mean(fixed_inside[100:]) < 0.55


def test_rolling_residuals_are_those_of_a_fresh_computation():
    # Forecasts from earlier origins are kept across updates; those whose
    # future regressors were extrapolated are redone once the values arrive.
    rng = np.random.default_rng(2)
    x = rng.standard_normal(260)
    y = make_ar_process(260, [0.5], random_state=2) + 0.8 * x
    model = ARNetForecaster(n_lags=3, max_epochs=5, calibration_size=30, device="cpu")
    model.set_params(random_state=0).fit(y[:200], X=x[:200, None])
    for start, stop in [(200, 207), (207, 208), (208, 230), (230, 260)]:
        X_future = np.ones((3, 1))
        model.predict_interval(3, coverage=0.8, X=X_future)  # fills the cache
        model.update(y[start:stop], X_new=x[start:stop, None])
        incremental = model._calibration_residuals(3)
        model._calibration[4].clear()
        fresh = model._calibration_residuals(3)
        for a, b in zip(incremental, fresh, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-12)
            assert len(a) == 30
