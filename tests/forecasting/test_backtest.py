"""backtest: windows, scoring, interval scores, forecasts, many series."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from regkit.datasets import make_ar_process
from regkit.forecasting import ARNetForecaster, AutoRegForecaster, NaiveForecaster, backtest


@pytest.fixture(scope="module")
def y():
    values = make_ar_process(120, [0.6], random_state=0) + 5
    return pd.Series(values, index=pd.date_range("2020-01-01", periods=120, freq="D"))


def test_scoring_names_callables_and_dict(y):
    def worst(y_true, y_pred):
        return float(np.max(np.abs(y_true - y_pred)))

    scores = backtest(NaiveForecaster(), y, fh=3, n_windows=2, scoring=["mae", "mse", worst])
    assert list(scores.columns) == ["cutoff", "n_train", "n_scored", "mae", "mse", "worst"]
    last = y.iloc[-3:].to_numpy() - y.iloc[-4]
    assert scores["worst"].iloc[-1] == pytest.approx(np.abs(last).max())
    assert scores["mse"].iloc[-1] == pytest.approx(np.mean(last**2))
    named = backtest(NaiveForecaster(), y, fh=3, n_windows=2, scoring={"err": "mae"})
    np.testing.assert_allclose(named["err"], scores["mae"])
    with pytest.raises(ValueError, match="unknown"):
        backtest(NaiveForecaster(), y, fh=3, scoring="r2")


def test_expanding_and_sliding_windows(y):
    expanding = backtest(NaiveForecaster(), y, fh=2, initial=100, step=5)
    assert expanding["n_train"].tolist() == [100, 105, 110, 115]
    sliding = backtest(
        AutoRegForecaster(n_lags=1),
        y,
        fh=2,
        initial=100,
        step=5,
        window="sliding",
        window_length=50,
    )
    assert sliding["n_train"].tolist() == [50] * 4
    alone = AutoRegForecaster(n_lags=1).fit(y.iloc[55:105]).predict(2)
    assert sliding["mae"].iloc[1] == pytest.approx(np.abs(alone - y.iloc[105:107]).mean())
    with pytest.raises(ValueError, match="refit=True"):
        backtest(NaiveForecaster(), y, fh=2, window="sliding", refit=False)
    with pytest.raises(ValueError, match="no backtest window"):
        backtest(NaiveForecaster(), y, fh=200)


def test_interval_scores_and_forecasts_by_hand(y):
    scores, forecasts = backtest(
        NaiveForecaster(), y, fh=[1, 2], n_windows=3, coverage=0.8, return_forecasts=True
    )
    assert len(forecasts) == 6 and forecasts["step"].tolist() == [1, 2] * 3
    last = forecasts[forecasts["cutoff"] == scores["cutoff"].iloc[-1]]
    cutoff = len(y) - 2
    train = y.iloc[:cutoff].to_numpy()
    sigma = np.sqrt(np.mean(np.diff(train) ** 2))
    half = norm.ppf(0.9) * sigma * np.sqrt([1, 2])
    np.testing.assert_allclose(last["upper_80"], train[-1] + half)
    inside = (last["y_true"] >= last["lower_80"]) & (last["y_true"] <= last["upper_80"])
    assert scores["coverage_80"].iloc[-1] == inside.mean()
    assert scores["width_80"].iloc[-1] == pytest.approx(2 * half.mean())
    assert scores["mae"].iloc[-1] == pytest.approx((last["y_true"] - last["y_pred"]).abs().mean())
    err = last["y_true"].to_numpy() - last["lower_80"].to_numpy()
    err_up = last["y_true"].to_numpy() - last["upper_80"].to_numpy()
    pinball = 0.5 * (
        np.mean(np.maximum(0.1 * err, -0.9 * err))
        + np.mean(np.maximum(0.9 * err_up, -0.1 * err_up))
    )
    assert scores["pinball_80"].iloc[-1] == pytest.approx(pinball)


def test_many_series_and_every_forecaster(y):
    wide = pd.DataFrame({"a": y, "b": 2 * y.to_numpy()[::-1]}, index=y.index)
    for model in [
        NaiveForecaster(),
        AutoRegForecaster(n_lags=2),
        ARNetForecaster(n_lags=2, max_epochs=2, device="cpu", random_state=0),
    ]:
        scores = backtest(model, wide, fh=3, n_windows=2, refit=False, coverage=0.9)
        assert scores["series"].tolist() == ["a", "b", "a", "b"]
        assert np.isfinite(scores[["mae", "coverage_90"]].to_numpy()).all()
    long = wide.stack().swaplevel().sort_index()
    from_long = backtest(NaiveForecaster(), long, fh=3, n_windows=2)
    from_wide = backtest(NaiveForecaster(), wide, fh=3, n_windows=2)
    pd.testing.assert_frame_equal(from_long, from_wide)


def test_backtest_with_exogenous_series(y):
    X = pd.DataFrame({"x": np.arange(len(y), dtype=float)}, index=y.index)
    scores = backtest(AutoRegForecaster(n_lags=1), y, fh=2, X=X, n_windows=2)
    model = AutoRegForecaster(n_lags=1).fit(y.iloc[:-2], X=X.iloc[:-2])
    forecast = model.predict(2, X=X.iloc[-2:])
    assert scores["mae"].iloc[-1] == pytest.approx(np.abs(forecast - y.iloc[-2:]).mean())
