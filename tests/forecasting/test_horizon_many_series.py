"""The forecasting horizon (fh) and many series (wide, long, 2-D arrays)."""

import numpy as np
import pandas as pd
import pytest

from regkit.datasets import make_ar_process
from regkit.forecasting import ARNetForecaster, AutoRegForecaster, NaiveForecaster

FAST = {"max_epochs": 10, "device": "cpu", "random_state": 0, "calibration_size": None}


@pytest.fixture(scope="module")
def daily():
    values = make_ar_process(200, [0.6, -0.2], random_state=0)
    return pd.Series(values, index=pd.date_range("2021-01-01", periods=200, freq="D"), name="y")


@pytest.mark.parametrize(
    "fh",
    [
        [2, 5],
        np.array([5, 2]),
        pd.DatetimeIndex(["2021-07-21", "2021-07-24"]),
    ],
)
def test_horizon_kinds_select_the_same_steps(daily, fh):
    model = AutoRegForecaster(n_lags=2).fit(daily)
    full = model.predict(5)
    chosen = model.predict(fh)
    pd.testing.assert_series_equal(chosen, full.iloc[[1, 4]], check_freq=False)
    interval = model.predict_interval(fh)
    assert interval.index.equals(chosen.index)


def test_horizon_on_periods_and_integers():
    values = make_ar_process(60, [0.5], random_state=0)
    periods = pd.Series(values, index=pd.period_range("2000Q1", periods=60, freq="Q"))
    model = NaiveForecaster(strategy="drift").fit(periods)
    chosen = model.predict(pd.PeriodIndex(["2015Q3"], freq="Q"))
    assert chosen.iloc[0] == model.predict(3).iloc[2]
    integers = pd.Series(values, index=pd.RangeIndex(0, 120, 2))
    model = NaiveForecaster(strategy="drift").fit(integers)
    assert model.predict(pd.Index([124])).iloc[0] == model.predict(3).iloc[2]
    with pytest.raises(ValueError, match="grid"):
        model.predict(pd.Index([123]))


def test_bad_horizons(daily):
    model = NaiveForecaster().fit(daily)
    with pytest.raises(ValueError, match="after the last time"):
        model.predict(pd.DatetimeIndex(["2021-01-05"]))
    with pytest.raises(ValueError, match="not on y's grid"):
        model.predict(pd.DatetimeIndex(["2021-07-21 12:00"]))
    with pytest.raises(TypeError, match="fh"):
        model.predict(True)
    with pytest.raises(ValueError, match=">= 1"):
        model.predict([0, 1])
    with pytest.raises(TypeError, match="kind"):
        model.predict(pd.Index([300]))
    with pytest.raises(TypeError, match="array"):
        NaiveForecaster().fit(daily.to_numpy()).predict(pd.DatetimeIndex(["2021-07-21"]))


def test_future_exog_is_aligned_on_labels(daily):
    X = pd.DataFrame(
        {"x": np.random.default_rng(0).standard_normal(205)},
        index=pd.date_range("2021-01-01", periods=205, freq="D"),
    )
    model = AutoRegForecaster(n_lags=2).fit(daily, X=X.iloc[:200])
    future = X.iloc[200:]
    shuffled = future.iloc[[3, 0, 4, 1, 2]]
    pd.testing.assert_series_equal(model.predict(5, X=shuffled), model.predict(5, X=future))
    with pytest.raises(ValueError, match="no row"):
        model.predict(5, X=future.iloc[1:])


@pytest.fixture(scope="module")
def wide(daily):
    other = make_ar_process(200, [0.3, 0.3], random_state=1)
    return pd.DataFrame({"a": daily.to_numpy(), "b": 100 + 5 * other}, index=daily.index)


@pytest.mark.parametrize(
    "make",
    [lambda: NaiveForecaster(seasonal_period=7), lambda: AutoRegForecaster(n_lags=3)],
)
def test_local_forecasters_fit_one_model_per_series(wide, make):
    together = make().fit(wide)
    forecast = together.predict(4)
    quantiles = together.predict_quantiles(4, [0.1, 0.9])
    for name in wide.columns:
        alone = make().fit(wide[name])
        np.testing.assert_allclose(forecast[name], alone.predict(4), rtol=1e-12)
        np.testing.assert_allclose(quantiles[name], alone.predict_quantiles(4, [0.1, 0.9]))


def test_long_format_in_long_format_out(wide):
    long = wide.rename_axis(index="ds", columns="unique_id").stack().swaplevel().sort_index()
    long.name = "y"
    forecast = AutoRegForecaster(n_lags=2).fit(long).predict(3)
    assert forecast.index.names == ["unique_id", "ds"] and forecast.name == "y"
    expected = AutoRegForecaster(n_lags=2).fit(wide).predict(3)
    np.testing.assert_allclose(forecast.loc["b"], expected["b"])
    frame = long.to_frame()
    assert isinstance(AutoRegForecaster(n_lags=2).fit(frame).predict(3), pd.Series)


def test_two_dimensional_arrays(wide):
    values = wide.to_numpy()
    forecast = NaiveForecaster().fit(values).predict(2)
    np.testing.assert_array_equal(forecast, np.repeat(values[-1:], 2, axis=0))


def test_global_arnet_normalises_each_series(wide):
    a = wide["a"].to_numpy()
    # b is an affine copy of a: per-series normalisation makes it the same
    # normalised series, so its forecast is the same affine copy.
    panel = pd.DataFrame({"a": a, "b": 10 * a + 5}, index=wide.index)
    model = ARNetForecaster(n_lags=3, **FAST).fit(panel)
    forecast = model.predict(4)
    np.testing.assert_allclose(forecast["b"], 10 * forecast["a"] + 5, rtol=1e-5)
    np.testing.assert_allclose(model.series_scale_, [a.std(), 10 * a.std()])
    assert model.regressor_.n_features_in_ == 3  # shared weights, one network


def test_id_embedding_adds_series_inputs(wide):
    model = ARNetForecaster(n_lags=3, id_embedding=True, **FAST).fit(wide)
    assert model.regressor_.n_features_in_ == 3 + 2
    assert model.predict(2).shape == (2, 2)


def test_update_many_series_matches_columns_by_name(wide):
    model = NaiveForecaster().fit(wide.iloc[:150])
    model.update(wide.iloc[150:][["b", "a"]])
    pd.testing.assert_frame_equal(model.get_history(), wide)
    with pytest.raises(ValueError, match="series seen in fit"):
        model.update(wide.iloc[:0].rename(columns={"a": "c"}))


def test_per_series_exog_in_long_format(wide):
    long_y = wide.stack().swaplevel().sort_index()
    x = pd.DataFrame(
        {"x": np.random.default_rng(0).standard_normal(len(long_y))}, index=long_y.index
    )
    model = AutoRegForecaster(n_lags=2).fit(long_y, X=x)
    assert model.exog_coef_.shape == (2, 1)
    future_index = pd.MultiIndex.from_product(
        [["a", "b"], pd.date_range("2021-07-20", periods=2, freq="D")]
    )
    future = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0]}, index=future_index)
    forecast = model.predict(2, X=future)
    alone = AutoRegForecaster(n_lags=2).fit(wide["b"], X=x.loc["b"].to_numpy())
    np.testing.assert_allclose(forecast.loc["b"], alone.predict(2, X=np.array([[3.0], [4.0]])))
