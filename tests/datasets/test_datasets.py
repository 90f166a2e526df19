import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.tsa.ar_model import AutoReg

from regkit import datasets


@pytest.mark.parametrize(
    "loader, shape, target",
    [
        (datasets.load_diabetes, (442, 10), "target"),
        (datasets.load_randhie, (20190, 9), "mdvis"),
        (datasets.load_fair, (6366, 8), "affairs"),
    ],
)
def test_regression_loaders(loader, shape, target):
    bunch = loader()
    assert bunch.data.shape == shape
    assert bunch.target.name == target and len(bunch.target) == shape[0]
    assert bunch.feature_names == list(bunch.data.columns)
    assert target not in bunch.data.columns
    assert bunch.DESCR
    X, y = loader(return_X_y=True)
    pd.testing.assert_frame_equal(X, bunch.data)
    assert np.isfinite(X.to_numpy()).all() and np.isfinite(y.to_numpy()).all()


def test_series_loaders_have_real_time_indexes():
    co2 = datasets.load_co2()
    assert isinstance(co2.index, pd.DatetimeIndex) and co2.index.freqstr == "MS"
    assert not co2.isna().any() and 310 < co2.iloc[0] < 320
    weekly = datasets.load_co2(frequency="weekly")
    assert weekly.isna().sum() > 0 and len(weekly) > len(co2)
    # The monthly series is the mean of the weekly observations of each month.
    assert co2["1960-05"].iloc[0] == pytest.approx(weekly["1960-05"].mean())
    sunspots = datasets.load_sunspots()
    assert sunspots.index[0] == pd.Timestamp("1700-01-01") and sunspots.index.freqstr == "YS-JAN"
    assert sunspots.index[-1] == pd.Timestamp("2008-01-01")
    elnino = datasets.load_elnino()
    assert len(elnino) == 61 * 12 and elnino.index.freqstr == "MS"
    assert elnino["1950-02-01"] == pytest.approx(24.20)  # February of the first row
    macro = datasets.load_macrodata()
    assert macro.index[-1] == pd.Timestamp("2009-07-01") and "realgdp" in macro


def test_co2_frequency_is_validated():
    with pytest.raises(ValueError, match="frequency"):
        datasets.load_co2(frequency="daily")


def test_ar_process_matches_its_recursion_exactly():
    coef = np.array([0.5, -0.3, 0.2])
    y = datasets.make_ar_process(200, coef, noise=0.0, burn_in=0, random_state=0)
    recursion = coef[0] * y[2:-1] + coef[1] * y[1:-2] + coef[2] * y[:-3]
    np.testing.assert_allclose(y[3:], recursion, atol=1e-12)


def test_sparse_ar_process_is_recovered_by_statsmodels():
    y = datasets.make_ar_process(20000, {1: 0.2, 2: 0.3, 3: -0.5}, random_state=0)
    fitted = AutoReg(y, lags=3, trend="n").fit()
    # Standard errors are about 0.007 at this length: 0.035 is five of them.
    np.testing.assert_allclose(fitted.params, [0.2, 0.3, -0.5], atol=0.035)
    assert fitted.sigma2 == pytest.approx(1.0, rel=0.05)


def test_ar_process_is_reproducible_and_validates():
    a = datasets.make_ar_process(50, [0.5], random_state=1)
    np.testing.assert_array_equal(a, datasets.make_ar_process(50, [0.5], random_state=1))
    with pytest.raises(ValueError, match="stationary"):
        datasets.make_ar_process(50, [1.2])
    with pytest.raises(ValueError, match="coef"):
        datasets.make_ar_process(50, [])
    with pytest.raises(ValueError, match="lags >= 1"):
        datasets.make_ar_process(50, {0: 0.5})
    with pytest.raises(ValueError, match="n_samples"):
        datasets.make_ar_process(0, [0.5])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"burn_in": -5}, "burn_in must be None or an int >= 0, got -5"),
        ({"burn_in": 2.5}, "burn_in"),
        ({"n_samples": 10.5}, "n_samples must be an int"),
        ({"n_samples": True}, "n_samples must be an int"),
        ({"noise": -1.0}, "noise must be a finite number >= 0"),
        ({"noise": np.nan}, "noise"),
        ({"noise": np.inf}, "noise"),
        ({"coef": [0.5, np.nan]}, "coef must be"),
        ({"coef": {1: np.nan}}, r"coef\[1\] must be a finite number"),
        ({"coef": {1.5: 0.3}}, "int lags >= 1"),
        ({"coef": [[0.5]]}, "coef must be"),
        ({"coef": "ab"}, "coef must be"),
    ],
)
def test_ar_process_validates_every_argument(kwargs, match):
    arguments = {"n_samples": 10, "coef": [0.5], **kwargs}
    with pytest.raises(ValueError, match=match):
        datasets.make_ar_process(**arguments, random_state=0)


def test_ar_process_burn_in_zero_and_numpy_ints():
    y = datasets.make_ar_process(np.int64(10), [0.5], burn_in=np.int32(0), random_state=0)
    assert y.shape == (10,)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(-0.45, 0.45), min_size=1, max_size=2), st.integers(0, 2**31 - 2))
def test_ar_process_is_stationary_sized_and_finite(coef, seed):
    # |c1| + |c2| < 1 guarantees stationarity.
    y = datasets.make_ar_process(300, coef, random_state=seed)
    assert y.shape == (300,) and np.isfinite(y).all()
    assert y.std() < 10


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_series": 2.5}, "n_series must be an int >= 1"),
        ({"n_series": None}, "n_series must be an int >= 1"),
        ({"n_weeks": 0}, "n_weeks must be an int >= 1"),
        ({"n_weeks": True}, "n_weeks must be an int >= 1"),
        ({"weekly": "yes"}, "weekly must be True or False"),
        ({"ar": [1.5]}, "stationary"),
    ],
)
def test_seasonal_panel_validates_its_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        datasets.make_seasonal_panel(**kwargs, random_state=0)
