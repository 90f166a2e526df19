"""Unlearning a time window from an ARNetForecaster."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from regkit.forecasting import ARNetForecaster, NaiveForecaster
from regkit.unlearning import BlindspotUnlearner, RetrainUnlearner, unlearn_time_window

N_LAGS = 6


@pytest.fixture(scope="module")
def series():
    rng = np.random.default_rng(0)
    t = np.arange(200)
    values = np.sin(t / 4) + 0.1 * rng.standard_normal(200)
    values[100:110] += 3.0  # the window a deletion request covers
    return pd.Series(values, index=pd.date_range("2000-01-01", periods=200, freq="D"))


@pytest.fixture(scope="module")
def forecaster(series):
    return ARNetForecaster(
        n_lags=N_LAGS, ar_layers=(16,), max_epochs=20, device="cpu", random_state=0
    ).fit(series)


def test_lag_rows_are_the_rows_the_network_was_trained_on(forecaster, series):
    X, y, touches = forecaster.lag_rows()
    assert X.shape == (len(series) - N_LAGS, N_LAGS) and touches.all()
    # The same estimator fitted on these rows is the fitted network, bit for bit.
    refitted = clone(forecaster.regressor_).fit(X, y)
    np.testing.assert_array_equal(refitted.predict(X), forecaster.regressor_.predict(X))
    # Window k holds values k .. k + N_LAGS (targets: the last one, normalised).
    scale, mean = forecaster.series_scale_[0], forecaster.series_mean_[0]
    np.testing.assert_allclose(y * scale + mean, series.to_numpy()[N_LAGS:])
    np.testing.assert_allclose(X[:, 0] * scale + mean, series.to_numpy()[N_LAGS - 1 : -1])


def test_lag_rows_touching_a_range(forecaster, series):
    _, _, touches = forecaster.lag_rows("2000-04-10", "2000-04-19")  # positions 100 .. 109
    # A window of times k .. k + N_LAGS (origin k + N_LAGS) touches when
    # k <= 109 and k + N_LAGS >= 100.
    starts = np.arange(len(series) - N_LAGS)
    np.testing.assert_array_equal(touches, (starts <= 109) & (starts + N_LAGS >= 100))
    assert touches.sum() == 10 + N_LAGS
    # Partial date strings select whole periods, as in series.loc[...].
    _, _, april = forecaster.lag_rows("2000-04", "2000-04")
    assert april.sum() == 30 + N_LAGS
    # After update the network is the same: so are its training rows.
    updated = clone(forecaster).fit(series.iloc[:150])
    before = updated.lag_rows()[0]
    updated.update(series.iloc[150:])
    np.testing.assert_array_equal(updated.lag_rows()[0], before)


def test_retrain_equals_refitting_on_the_other_windows(forecaster, series):
    forgot = unlearn_time_window(RetrainUnlearner(), forecaster, "2000-04-10", "2000-04-19")
    X, y, touches = forecaster.lag_rows("2000-04-10", "2000-04-19")
    expected = clone(forecaster.regressor_).fit(X[~touches], y[~touches])
    np.testing.assert_array_equal(forgot.regressor_.predict(X), expected.predict(X))
    # The forecaster forecasts with the new network from the same history.
    scale, mean = forecaster.series_scale_[0], forecaster.series_mean_[0]
    last = (series.to_numpy()[-1 : -N_LAGS - 1 : -1] - mean) / scale
    np.testing.assert_allclose(
        forgot.predict(1).to_numpy(), expected.predict(last[None, :]) * scale + mean
    )
    assert forgot.predict(3).index.equals(forecaster.predict(3).index)


def test_deep_unlearner_leaves_the_forecaster_alone(forecaster, series):
    before = forecaster.predict(5).copy()
    regressor = forecaster.regressor_
    forgot = unlearn_time_window(
        BlindspotUnlearner(random_state=0), forecaster, "2000-04-10", "2000-04-19"
    )
    pd.testing.assert_series_equal(forecaster.predict(5), before)
    assert forecaster.regressor_ is regressor and forecaster.calibration_model_ is not None
    assert forgot.regressor_ is not regressor
    assert forgot.regressor_.history_[-1]["stage"] == "unlearn"
    np.testing.assert_array_equal(forgot.y_, forecaster.y_)
    # The intervals are dropped with the calibration model (it saw the window).
    assert forgot.calibration_model_ is None
    with pytest.raises(ValueError, match="calibration"):
        forgot.predict_interval(3)
    forecaster.predict_interval(3)  # the original keeps its intervals


def test_one_series_of_a_panel(series):
    panel = pd.DataFrame({"a": series, "b": series.to_numpy()[::-1]}, index=series.index)
    model = ARNetForecaster(n_lags=N_LAGS, max_epochs=5, device="cpu", random_state=0).fit(panel)
    _, _, both = model.lag_rows("2000-04-10", "2000-04-19")
    _, _, only_b = model.lag_rows("2000-04-10", "2000-04-19", series=["b"])
    assert both.sum() == 2 * only_b.sum()
    assert not only_b[0::2].any() and np.array_equal(only_b[1::2], both[1::2])
    forgot = unlearn_time_window(
        RetrainUnlearner(), model, "2000-04-10", "2000-04-19", series=["b"]
    )
    X, y, _ = model.lag_rows()
    expected = clone(model.regressor_).fit(X[~only_b], y[~only_b])
    np.testing.assert_array_equal(forgot.regressor_.predict(X), expected.predict(X))


def test_array_history_and_bad_input(forecaster):
    y = np.sin(np.arange(80) / 3)
    model = ARNetForecaster(n_lags=4, max_epochs=5, calibration_size=None, random_state=0).fit(y)
    assert model.lag_rows(30, 31)[2].sum() == 6
    with pytest.raises(ValueError, match="holds no time"):
        model.lag_rows(40, 30)
    updated = clone(model).fit(y[:60]).update(y[60:])  # the network never saw 60 ..
    with pytest.raises(ValueError, match="nothing to forget"):
        unlearn_time_window(RetrainUnlearner(), updated, 70, 75)
    with pytest.raises(ValueError, match="every training window"):
        unlearn_time_window(RetrainUnlearner(), model, 0, 79)
    with pytest.raises(TypeError, match="ARNetForecaster"):
        unlearn_time_window(RetrainUnlearner(), NaiveForecaster().fit(y), 3, 4)
    with pytest.raises(TypeError, match="ARNetRegressor"):
        model.with_regressor(RetrainUnlearner())
    with pytest.raises(ValueError, match="inputs"):
        model.with_regressor(forecaster.regressor_)
