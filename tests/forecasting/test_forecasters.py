"""The forecaster interface: index handling, rollout, update, errors, baselines."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from regkit.datasets import make_ar_process
from regkit.forecasting import (
    ARNetForecaster,
    AutoRegForecaster,
    NaiveForecaster,
    backtest,
    mean_absolute_scaled_error,
    symmetric_mean_absolute_percentage_error,
)

FAST = {"max_epochs": 20, "device": "cpu", "random_state": 0, "calibration_size": None}


def arnet_next(model, history, n_lags):
    """The recursive definition of one AR-Net block: normalise, predict, denormalise."""
    mean, scale = model.series_mean_[0], model.series_scale_[0]
    lags = (np.asarray(history[-1 : -n_lags - 1 : -1]) - mean) / scale
    return model.regressor_.predict(lags[None, :])[0] * scale + mean


@pytest.fixture(scope="module")
def ar_values():
    return make_ar_process(300, [0.6, -0.2], random_state=0)


@pytest.mark.parametrize(
    "index, expected",
    [
        (pd.date_range("2021-01-01", periods=300, freq="D"), ["2021-10-28", "2021-10-29"]),
        (pd.date_range("2000-01-01", periods=300, freq="MS"), ["2025-01-01", "2025-02-01"]),
    ],
)
def test_datetime_index_continues(ar_values, index, expected):
    y = pd.Series(ar_values, index=index, name="y")
    forecast = NaiveForecaster().fit(y).predict(2)
    assert [str(d.date()) for d in forecast.index] == expected
    assert forecast.index.freq == index.freq and forecast.name == "y"


def test_inferred_frequency_and_period_and_integer_index(ar_values):
    dates = pd.DatetimeIndex(pd.date_range("2021-01-01", periods=300, freq="D").to_numpy())
    assert dates.freq is None  # freq must be inferred
    forecast = NaiveForecaster().fit(pd.Series(ar_values, index=dates)).predict(1)
    assert str(forecast.index[0].date()) == "2021-10-28"
    periods = pd.period_range("2000Q1", periods=300, freq="Q")
    forecast = NaiveForecaster().fit(pd.Series(ar_values, index=periods)).predict(2)
    assert list(forecast.index.astype(str)) == ["2075Q1", "2075Q2"]
    integers = pd.Index(np.arange(10, 10 + 3 * 300, 3))
    forecast = NaiveForecaster().fit(pd.Series(ar_values, index=integers)).predict(2)
    assert forecast.index.tolist() == [910, 913]


def test_kind_in_kind_out(ar_values):
    frame = pd.DataFrame({"sales": ar_values})
    out = NaiveForecaster().fit(frame).predict(3)
    assert isinstance(out, pd.DataFrame) and list(out.columns) == ["sales"]
    out = NaiveForecaster().fit(ar_values).predict(3)
    assert isinstance(out, np.ndarray) and out.dtype == np.float64 and out.shape == (3,)


def test_irregular_index_rejected(ar_values):
    dates = pd.to_datetime(["2020-01-01", "2020-01-02", "2020-01-05", "2020-01-06"])
    with pytest.raises(ValueError, match="regular frequency"):
        NaiveForecaster().fit(pd.Series(ar_values[:4], index=dates))
    # Integer times with a gap: the skipped time is a missing value.
    with pytest.raises(ValueError, match="missing values"):
        NaiveForecaster().fit(pd.Series(ar_values[:4], index=[0, 1, 3, 4]))
    filled = NaiveForecaster(missing="interpolate").fit(
        pd.Series([1.0, 2.0, 4.0, 5.0], index=[0, 1, 3, 4])
    )
    assert filled.get_history().to_dict() == {0: 1.0, 1: 2.0, 2: 3.0, 3: 4.0, 4: 5.0}


def test_recursive_rollout_matches_manual_recursion(ar_values):
    model = ARNetForecaster(n_lags=3, **FAST).fit(ar_values)
    forecast = model.predict(7)
    history = list(ar_values)
    for _ in range(7):
        history.append(arnet_next(model, history, 3))
    np.testing.assert_allclose(forecast, history[-7:], rtol=1e-12)


def test_multi_step_blocks_roll_out(ar_values):
    model = ARNetForecaster(n_lags=4, n_forecasts=3, **FAST).fit(ar_values)
    forecast = model.predict(5)
    first = arnet_next(model, ar_values, 4)
    np.testing.assert_allclose(forecast[:3], first)
    extended = np.concatenate([ar_values, first])
    second = arnet_next(model, extended, 4)
    np.testing.assert_allclose(forecast[3:], second[:2])


def test_autoreg_forecaster_matches_statsmodels(ar_values):
    from statsmodels.tsa.ar_model import AutoReg

    model = AutoRegForecaster(n_lags=3).fit(ar_values)
    reference = AutoReg(ar_values, lags=3, trend="c").fit()
    np.testing.assert_allclose(model.predict(10), reference.forecast(10), rtol=1e-10)
    in_sample = model.predict_in_sample()
    assert np.isnan(in_sample[:3]).all()
    np.testing.assert_allclose(in_sample[3:], reference.fittedvalues, rtol=1e-10)


def test_update_appends_without_refit(ar_values):
    index = pd.date_range("2021-01-01", periods=300, freq="D")
    y = pd.Series(ar_values, index=index)
    model = AutoRegForecaster(n_lags=2).fit(y.iloc[:250])
    coef = model.coef_.copy()
    model.update(y.iloc[250:], update_params=False)
    assert model.cutoff_ == index[-1]
    np.testing.assert_array_equal(model.coef_, coef)
    refit_free = model.predict(4)
    expected = coef[0] * y.iloc[-1] + coef[1] * y.iloc[-2] + model.intercept_
    assert refit_free.iloc[0] == pytest.approx(expected)
    assert str(refit_free.index[0].date()) == "2021-10-28"
    with pytest.raises(ValueError, match="continue"):
        model.update(y.iloc[:5])


def test_update_arnet_uses_new_lags(ar_values):
    model = ARNetForecaster(n_lags=2, **FAST).fit(ar_values[:200])
    before = model.predict(1)
    model.update(ar_values[200:])
    assert len(model.y_) == 300 and model.cutoff_ == 299
    expected = arnet_next(model, ar_values, 2)
    np.testing.assert_allclose(model.predict(1), [expected])
    assert not np.allclose(before, expected)


def test_predict_in_sample_is_one_step_ahead(ar_values):
    model = ARNetForecaster(n_lags=3, **FAST).fit(pd.Series(ar_values))
    fitted = model.predict_in_sample()
    assert fitted.iloc[:3].isna().all()
    expected = [arnet_next(model, ar_values[:t], 3) for t in range(3, 300)]
    np.testing.assert_allclose(fitted.iloc[3:], expected, rtol=1e-6)


def test_exogenous_regressor_needs_future_values():
    rng = np.random.default_rng(0)
    exog = rng.standard_normal((400, 1))
    y = 0.5 * np.r_[0, np.zeros(399)] + 2.0 * exog[:, 0]
    model = ARNetForecaster(n_lags=2, **FAST).fit(y, X=exog)
    future = rng.standard_normal((5, 1))
    np.testing.assert_allclose(model.predict(5, X=future), 2.0 * future[:, 0], atol=0.1)
    with pytest.raises(ValueError, match="X is required"):
        model.predict(5)


def test_missing_values_raise_or_fill(ar_values):
    y = ar_values.copy()
    y[[10, 11]] = np.nan
    with pytest.raises(ValueError, match="missing values"):
        NaiveForecaster().fit(y)
    filled = NaiveForecaster(missing="interpolate").fit(y).y_
    np.testing.assert_allclose(filled[10:12], np.interp([10, 11], [9, 12], y[[9, 12]]))
    carried = NaiveForecaster(missing="ffill").fit(y).y_
    assert carried[10] == carried[11] == y[9]


def test_too_short_and_bad_options(ar_values):
    with pytest.raises(ValueError, match="at least 12"):
        ARNetForecaster(n_lags=10, n_forecasts=2).fit(ar_values[:11])
    with pytest.raises(ValueError, match="missing"):
        NaiveForecaster(missing="zero").fit(ar_values)
    with pytest.raises(ValueError, match="n_lags"):
        ARNetForecaster(n_lags=0).fit(ar_values)
    with pytest.raises(ValueError, match="sparsity"):
        ARNetForecaster(n_lags=2, sparsity=2.0).fit(ar_values)
    with pytest.raises(ValueError, match="1-D"):
        NaiveForecaster().fit(np.ones((10, 2, 2)))
    with pytest.raises(ValueError, match="fh"):
        NaiveForecaster().fit(ar_values).predict(0)
    with pytest.raises(AttributeError, match="not fitted"):
        NaiveForecaster().predict(1)


def test_params_and_clone():
    model = ARNetForecaster(n_lags=5, sparsity=0.2)
    assert model.get_params()["n_lags"] == 5
    copy = clone(model)
    assert copy is not model and copy.get_params() == model.get_params()
    assert repr(model) == "ARNetForecaster(n_lags=5, sparsity=0.2)"
    with pytest.raises(ValueError, match="Invalid parameter"):
        model.set_params(lags=3)


def test_naive_strategies():
    y = np.array([1.0, 2.0, 4.0, 8.0])
    assert NaiveForecaster().fit(y).predict(2).tolist() == [8.0, 8.0]
    assert NaiveForecaster(strategy="mean").fit(y).predict(2).tolist() == [3.75, 3.75]
    np.testing.assert_allclose(
        NaiveForecaster(strategy="drift").fit(y).predict(2), [8 + 7 / 3, 8 + 14 / 3]
    )
    fitted = NaiveForecaster(seasonal_period=2).fit(y).predict_in_sample()
    np.testing.assert_array_equal(fitted, [np.nan, np.nan, 1.0, 2.0])


def test_backtest_refit_and_update_agree_for_naive(ar_values):
    y = pd.Series(ar_values, index=pd.date_range("2000-01-01", periods=300, freq="MS"))
    refit = backtest(NaiveForecaster(), y, fh=6, n_windows=4, seasonal_period=12)
    updated = backtest(NaiveForecaster(), y, fh=6, n_windows=4, refit=False, seasonal_period=12)
    pd.testing.assert_frame_equal(refit, updated)
    assert list(refit.columns) == ["cutoff", "n_train", "n_scored", "mae", "rmse", "mase", "smape"]
    assert refit["n_train"].tolist() == [276, 282, 288, 294]
    last = refit.iloc[-1]
    actual, forecast = ar_values[294:], np.repeat(ar_values[293], 6)
    assert last["mae"] == pytest.approx(np.mean(np.abs(actual - forecast)))
    assert last["mase"] == pytest.approx(
        mean_absolute_scaled_error(actual, forecast, ar_values[:294], seasonal_period=12)
    )


def test_metrics_by_hand():
    assert mean_absolute_scaled_error([3.0], [2.0], [0.0, 2.0, 4.0]) == pytest.approx(0.5)
    assert symmetric_mean_absolute_percentage_error([1.0, 0.0], [3.0, 0.0]) == pytest.approx(50)


def test_demo_task_scores_every_model():
    from regkit._demo import run_demo

    table = run_demo(quick=True, areas=["forecasting"])
    assert set(table["model"]) == {
        "ARNetForecaster",
        "statsmodels AutoReg",
        "seasonal naive",
        "AutoTimesForecaster (tiny random LLM)",
    }
    assert set(table["metric"]) == {"test MASE", "test 80% interval coverage"}
    assert np.isfinite(table["score"]).all()
    mase = table[table["metric"] == "test MASE"].set_index("model")["score"]
    assert mase["statsmodels AutoReg"] < mase["seasonal naive"]
    coverage = table[table["metric"] != "test MASE"]["score"]
    assert coverage.between(0, 1).all()
