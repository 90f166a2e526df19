"""Inputs that used to give a wrong forecast without an error (issue 14)."""

import numpy as np
import pandas as pd
import pytest

from regkit.datasets import load_macrodata, make_ar_process
from regkit.forecasting import (
    ARNetForecaster,
    AutoRegForecaster,
    NaiveForecaster,
    backtest,
)

FAST = {"max_epochs": 10, "device": "cpu", "random_state": 0, "calibration_size": None}


@pytest.fixture(scope="module")
def macro():
    frame = load_macrodata()
    return frame["realcons"], frame[["realgdp", "infl"]]


def test_exogenous_columns_are_matched_by_name(macro):
    y, X = macro
    model = AutoRegForecaster(n_lags=2).fit(y.iloc[:-4], X=X.iloc[:-4])
    future = X.iloc[-4:]
    expected = model.predict(4, X=future)
    swapped = model.predict(4, X=future[["infl", "realgdp"]])
    pd.testing.assert_series_equal(swapped, expected)
    # The forecast is the regression on the right columns (the level of realcons).
    assert abs(expected.iloc[0] - y.iloc[-4]) < 0.05 * y.iloc[-4]
    with pytest.raises(ValueError, match=r"missing \['infl'\], unexpected \['cpi'\]"):
        model.predict(4, X=future.rename(columns={"infl": "cpi"}))
    with pytest.raises(ValueError, match=r"missing \['infl'\]"):
        model.predict(4, X=future[["realgdp"]])


def test_arnet_matches_exogenous_columns_by_name(macro):
    y, X = macro
    model = ARNetForecaster(n_lags=2, **FAST).fit(y.iloc[:-4], X=X.iloc[:-4])
    future = X.iloc[-4:]
    pd.testing.assert_series_equal(
        model.predict(4, X=future[["infl", "realgdp"]]), model.predict(4, X=future)
    )


def test_array_exog_after_named_fit_warns(macro):
    y, X = macro
    model = AutoRegForecaster(n_lags=2).fit(y.iloc[:-4], X=X.iloc[:-4])
    with pytest.warns(UserWarning, match="no column names"):
        model.predict(4, X=X.iloc[-4:].to_numpy())


@pytest.mark.parametrize(
    "bad_update, match",
    [
        ("nan", "missing values"),
        ("no_exog", "X_new is required"),
        ("nan_exog", "NaN"),
        ("gap_in_index", "continue"),
    ],
)
def test_failed_update_changes_nothing(bad_update, match):
    index = pd.date_range("2021-01-01", periods=120, freq="D")
    y = pd.Series(make_ar_process(120, [0.5], random_state=0), index=index)
    X = pd.DataFrame({"x": np.arange(120.0)}, index=index)
    model = AutoRegForecaster(n_lags=2).fit(y.iloc[:100], X=X.iloc[:100])
    before = model.predict(3, X=X.iloc[100:103])
    y_new, X_new = y.iloc[100:110].copy(), X.iloc[100:110].copy()
    if bad_update == "nan":
        y_new.iloc[4] = np.nan
    elif bad_update == "no_exog":
        X_new = None
    elif bad_update == "nan_exog":
        X_new.iloc[2, 0] = np.nan
    else:
        y_new.index = y_new.index - pd.Timedelta(days=50)
    with pytest.raises(ValueError, match=match):
        model.update(y_new, X_new)
    assert model.cutoff_ == index[99]
    pd.testing.assert_series_equal(model.predict(3, X=X.iloc[100:103]), before)
    assert len(model.get_history()) == len(model.predict_in_sample()) == 100
    model.update(y.iloc[100:110], X.iloc[100:110])  # a valid update still works
    assert model.cutoff_ == index[109]


def test_failed_fit_keeps_the_previous_fit():
    y = make_ar_process(100, [0.5], random_state=0)
    model = NaiveForecaster().fit(y)
    with pytest.raises(ValueError, match="missing"):
        model.fit(np.r_[y, np.nan])
    np.testing.assert_array_equal(model.y_, y)


def test_decreasing_index_is_an_error():
    index = pd.date_range("2021-01-01", periods=50, freq="D")[::-1]
    y = pd.Series(np.arange(50.0), index=index)
    with pytest.raises(ValueError, match="increasing"):
        NaiveForecaster().fit(y)
    with pytest.raises(ValueError, match="duplicated"):
        NaiveForecaster().fit(pd.Series([1.0, 2.0, 3.0], index=[0, 1, 1]))


@pytest.mark.parametrize(
    "make",
    [
        lambda: NaiveForecaster(),
        lambda: AutoRegForecaster(n_lags=2),
        lambda: ARNetForecaster(n_lags=2, **FAST),
    ],
)
def test_mutating_the_input_after_fit_changes_nothing(make):
    values = make_ar_process(200, [0.5], random_state=0) + 10
    X = np.arange(200.0)[:, None]
    model = make().fit(values, X=X)
    before = model.predict(2, X=np.array([[200.0], [201.0]]))
    values[:] = 1e5
    X[:] = -1e5
    np.testing.assert_array_equal(model.predict(2, X=np.array([[200.0], [201.0]])), before)


def test_autoreg_nan_in_future_or_new_exog_is_an_error():
    y = make_ar_process(100, [0.5], random_state=0)
    X = np.random.default_rng(0).standard_normal((110, 1))
    model = AutoRegForecaster(n_lags=2).fit(y, X=X[:100])
    future = X[100:103].copy()
    future[1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        model.predict(3, X=future)
    with pytest.raises(ValueError, match="NaN"):
        model.update(np.ones(3), X_new=future)
    assert np.isfinite(model.predict(3, X=X[100:103])).all()


def test_backtest_scores_only_observed_values():
    y = make_ar_process(120, [0.5], random_state=0)
    y_missing = y.copy()
    y_missing[-3] = np.nan  # inside the last scored window
    scores = backtest(NaiveForecaster(missing="ffill"), y_missing, fh=4, n_windows=2)
    assert np.isfinite(scores[["mae", "rmse", "mase", "smape"]].to_numpy()).all()
    assert scores["n_scored"].tolist() == [4, 3]
    actual, forecast = y[-4:], np.repeat(y[-5], 4)
    observed = ~np.isnan(y_missing[-4:])
    assert scores["mae"].iloc[-1] == pytest.approx(np.abs(actual - forecast)[observed].mean())
    with pytest.raises(ValueError, match="missing values"):
        backtest(NaiveForecaster(), np.r_[np.nan, y], fh=4, n_windows=2)


@pytest.mark.parametrize("scale", [1e-200, 1e160, 1e300])
def test_arnet_forecasts_at_any_scale(scale):
    # Per-series normalisation makes the network see the same data at any scale.
    values = make_ar_process(200, [0.5], random_state=0) + 3
    base = ARNetForecaster(n_lags=2, **FAST).fit(values).predict(3)
    scaled = ARNetForecaster(n_lags=2, **FAST).fit(values * scale).predict(3)
    np.testing.assert_allclose(scaled / scale, base, rtol=1e-5)
