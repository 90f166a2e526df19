"""make_lag_features on numpy and pandas inputs."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from regkit.forecasting import make_lag_features


@settings(deadline=None, max_examples=30)
@given(n=st.integers(2, 40), n_lags=st.integers(1, 6), n_forecasts=st.integers(1, 4))
def test_rows_match_definition(n, n_lags, n_forecasts):
    y = np.arange(float(n)) ** 2
    if n < n_lags + n_forecasts:
        with pytest.raises(ValueError, match="n_lags"):
            make_lag_features(y, n_lags, n_forecasts=n_forecasts)
        return
    X, targets = make_lag_features(y, n_lags, n_forecasts=n_forecasts)
    targets = targets.reshape(len(X), -1)
    assert len(X) == n - n_lags - n_forecasts + 1
    for i in range(len(X)):
        t = n_lags + i
        assert X[i].tolist() == [y[t - k] for k in range(1, n_lags + 1)]
        assert targets[i].tolist() == y[t : t + n_forecasts].tolist()


def test_pandas_index_and_names():
    index = pd.date_range("2020-01-01", periods=6, freq="D")
    y = pd.Series(np.arange(6.0), index=index, name="load")
    X, target = make_lag_features(y, 2)
    assert list(X.columns) == ["lag_1", "lag_2"]
    assert X.index.equals(index[2:]) and target.name == "load"
    _, targets = make_lag_features(y.to_frame(), 2, n_forecasts=2)
    assert list(targets.columns) == ["step_1", "step_2"]


def test_exogenous_columns_at_forecast_times():
    y = np.arange(6.0)
    exog = pd.DataFrame({"temp": 10 + np.arange(6.0)})
    X, _ = make_lag_features(pd.Series(y), 2, n_forecasts=2, X=exog)
    assert list(X.columns) == ["lag_1", "lag_2", "temp_t+0", "temp_t+1"]
    assert X.iloc[0].tolist() == [1.0, 0.0, 12.0, 13.0]
    with pytest.raises(ValueError, match="one row per value"):
        make_lag_features(y, 2, X=np.ones((5, 1)))


def test_dropna_and_bad_input():
    y = np.array([0.0, 1.0, np.nan, 3.0, 4.0, 5.0, 6.0])
    X, target = make_lag_features(y, 2, dropna=True)
    assert not np.isnan(X).any() and target.tolist() == [5.0, 6.0]
    with pytest.raises(ValueError, match="n_lags"):
        make_lag_features(y, 0)
    with pytest.raises(ValueError, match="one series"):
        make_lag_features(np.ones((5, 2)), 1)
