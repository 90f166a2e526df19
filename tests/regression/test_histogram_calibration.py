"""Conformal calibration of HistogramRegressor's intervals: the pieces and the estimator."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from regkit.nn import TensorBatches
from regkit.regression import HistogramRegressor, histogram_quantiles
from regkit.regression._histogram_calibration import (
    calibrated_interval,
    conformal_half_width,
    conformity_scores,
    histogram_cdf,
)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

# A network that over-fits 900 training rows: its own intervals under-cover.
OVERFIT = {
    "hidden_layer_sizes": (64, 64),
    "max_epochs": 120,
    "learning_rate": 1e-2,
    "n_iter_no_change": None,
    "device": "cpu",
    "random_state": 0,
}


def _coverage(interval, y):
    return np.mean((y >= interval[..., 0]) & (y <= interval[..., 1]))


def _heteroscedastic(n, seed):
    rng = np.random.default_rng(seed)
    X = rng.uniform(0, 1, size=(n, 5))
    y = 2 * X[:, 0] + np.sin(4 * X[:, 1]) + (0.05 + 0.5 * X[:, 0]) * rng.standard_normal(n)
    return X, y


def _zero_inflated(n, seed):
    """Exact zeros with probability 0.3 to 0.8 (depending on X), log-normal otherwise."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(0, 1, size=(n, 3))
    zero = rng.uniform(size=n) < 0.3 + 0.5 * X[:, 2]
    return X, np.where(zero, 0.0, np.exp(X[:, 0] + 0.5 * rng.standard_normal(n)))


# ------------------------------------------------------------------ the pieces
def test_cdf_inverts_the_quantiles():
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(12), size=20)
    edges = np.cumsum(rng.uniform(0.5, 2.0, size=13))
    q = np.array([0.05, 0.3, 0.5, 0.9])
    for blur in (0.0, 0.7):
        quantiles = histogram_quantiles(p, edges, q, blur_sigma=blur)
        for i in range(len(q)):
            np.testing.assert_allclose(histogram_cdf(p, edges, quantiles[:, i], blur), q[i])


def test_cdf_of_a_uniform_histogram_is_linear():
    p = np.full((1, 4), 0.25)
    edges = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    y = np.array([-1.0, 0.0, 0.5, 2.5, 4.0, 9.0])
    np.testing.assert_allclose(
        histogram_cdf(np.repeat(p, 6, axis=0), edges, y), [0, 0, 0.125, 0.625, 1, 1]
    )


@pytest.mark.parametrize("coverage, expected", [(0.8, 0.9), (0.5, 0.6), (0.9, 1.0), (0.95, np.inf)])
def test_conformal_half_width_is_the_ceil_n_plus_one_rank(coverage, expected):
    # n = 10 scores 0.1, ..., 1.0 (shuffled): rank ceil(coverage * 11).
    scores = np.random.default_rng(0).permutation(np.arange(1, 11) / 10)
    assert conformal_half_width(scores, np.ones(10), coverage) == expected
    # Weights that are all equal change nothing.
    assert conformal_half_width(scores, np.full(10, 3.5), coverage) == expected


def test_conformal_half_width_with_weights_and_no_rows():
    scores = np.array([0.1, 0.2, 0.3, 0.4])
    # Mass 0.85 on the smallest score: the level 0.5 * 5 / 4 = 0.625 is reached there.
    assert conformal_half_width(scores, np.array([0.85, 0.05, 0.05, 0.05]), 0.5) == 0.1
    assert conformal_half_width(np.array([]), np.array([]), 0.5) == np.inf


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    blur=st.sampled_from([0.0, 0.4]),
    reach=st.sampled_from([0.0, 0.5, 1.5]),
)
def test_score_is_the_smallest_half_width_whose_interval_holds_the_target(seed, blur, reach):
    # The score and the interval describe one nested family: y lies in the interval
    # of half-width t exactly when its score is at most t (edges and snapping included).
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.full(10, 0.5), size=30)
    edges = np.linspace(-1.0, 9.0, 11)
    low, high = 0.0, 8.0
    y = np.concatenate([rng.uniform(-0.5, 8.5, size=24), [low, low, high, high, 0.3, 7.9]])
    scores = conformity_scores(p, edges, y, blur, low, high, reach)
    for t in np.linspace(0.0, 0.5, 26):
        lower, upper = calibrated_interval(p, edges, blur, t, low, high, reach).T
        held = (y >= lower) & (y <= upper)
        clear = np.abs(scores - t) > 1e-9  # ties sit on an interval's end
        np.testing.assert_array_equal(held[clear], (scores <= t)[clear])
    assert np.all(np.isinf(scores[(y < low) | (y > high)]))


@pytest.mark.parametrize("zeros", [0.0, 0.4])
def test_split_conformal_coverage_holds_for_a_wrong_model(zeros):
    # A fixed, wrong histogram (uniform over the bins) for targets that are exact
    # zeros with probability `zeros` and Beta(2, 5) * 8 otherwise. Over many draws
    # of 19 calibration and 50 test rows, the coverage averages at least 0.9, and
    # exactly ceil(0.9 * 20) / 20 = 0.9 for continuous scores (no snapping: targets
    # within `reach` of an edge share a score, and ties make the coverage larger).
    rng = np.random.default_rng(0)
    edges = np.linspace(-1.0, 9.0, 21)
    p = np.full((69, 20), 1 / 20)
    low, high, reach, blur = 0.0, 8.0, 0.5 if zeros else 0.0, 0.3
    covered = []
    for _ in range(1500):
        y = np.where(rng.uniform(size=69) < zeros, 0.0, 8 * rng.beta(2, 5, size=69))
        scores = conformity_scores(p[:19], edges, y[:19], blur, low, high, reach)
        t = conformal_half_width(scores, np.ones(19), 0.9)
        lower, upper = calibrated_interval(p[19:], edges, blur, t, low, high, reach).T
        covered.append(np.mean((y[19:] >= lower) & (y[19:] <= upper)))
    # 1500 draws: the average has a standard deviation of about 0.002.
    if zeros:
        assert np.mean(covered) > 0.9 - 0.006
    else:
        assert abs(np.mean(covered) - 0.9) < 0.006


# --------------------------------------------------------------- the estimator
def test_intervals_cover_held_out_rows_where_the_network_over_fits():
    X, y = _heteroscedastic(4000, seed=5)
    train, test = slice(0, 800), slice(800, None)
    params = {**OVERFIT, "hidden_layer_sizes": (128, 128), "max_epochs": 100}
    calibrated = HistogramRegressor(**params, calibration_fraction=0.25).fit(X[train], y[train])
    raw = HistogramRegressor(**params, calibration_fraction=None).fit(X[train], y[train])
    for coverage in (0.8, 0.9):
        achieved = _coverage(calibrated.predict_interval(X[test], coverage), y[test])
        # 200 calibration rows: the conformal coverage has a standard deviation of ~0.02.
        assert abs(achieved - coverage) < 0.05
        # The network's own interval (what predict_interval returned before) under-covers.
        assert _coverage(raw.predict_interval(X[test], coverage), y[test]) < coverage - 0.05


@pytest.mark.parametrize("given_support", [False, True])
def test_zero_inflated_target_keeps_its_point_mass(given_support):
    X, y = _zero_inflated(4000, seed=7)
    train, test = slice(0, 1000), slice(1000, None)
    support = {"support": (0.0, float(y.max()))} if given_support else {}
    model = HistogramRegressor(**OVERFIT, **support).fit(X[train], y[train])
    for coverage in (0.8, 0.9):
        interval = model.predict_interval(X[test], coverage)
        assert abs(_coverage(interval, y[test]) - coverage) < 0.06
        # No negative lower end; the zeros are reached exactly, not smeared.
        assert np.all(interval[:, 0] >= 0.0)
        assert np.mean(interval[:, 0] == 0.0) > 0.9
    # Where zeros are likely, the 50% interval is the point mass itself.
    point = np.all(model.predict_interval(X[test], 0.5) == 0.0, axis=1)
    assert np.mean(point) > 0.1 and np.mean(y[test][point] == 0) > 0.5


def test_lower_ends_respect_the_target_range():
    X, y = _heteroscedastic(1500, seed=1)
    y = np.abs(y)
    model = HistogramRegressor(**{**OVERFIT, "max_epochs": 20}).fit(X[:1000], y[:1000])
    np.testing.assert_allclose(model.target_range_, [[y[:1000].min(), y[:1000].max()]])
    interval = model.predict_interval(X[1000:], 0.99)
    assert np.all(interval >= y[:1000].min()) and np.all(interval <= y[:1000].max())
    # The padded bins reach below the range: the raw quantiles do, the interval does not.
    assert model.bin_edges_[0, 0] < y[:1000].min()


def test_intervals_are_nested_in_coverage():
    X, y = _heteroscedastic(600, seed=2)
    model = HistogramRegressor(**{**OVERFIT, "max_epochs": 10}).fit(X, y)
    narrow, wide = model.predict_interval(X, 0.5), model.predict_interval(X, 0.9)
    assert np.all(wide[:, 0] <= narrow[:, 0]) and np.all(narrow[:, 1] <= wide[:, 1])


def test_calibration_is_deterministic_under_random_state():
    X, y = _heteroscedastic(600, seed=3)
    fits = [HistogramRegressor(**{**OVERFIT, "max_epochs": 5}).fit(X, y) for _ in range(2)]
    np.testing.assert_array_equal(fits[0].calibration_scores_, fits[1].calibration_scores_)
    np.testing.assert_array_equal(fits[0].predict_interval(X), fits[1].predict_interval(X))
    other = HistogramRegressor(**{**OVERFIT, "max_epochs": 5, "random_state": 1}).fit(X, y)
    assert not np.array_equal(other.calibration_scores_, fits[0].calibration_scores_)


def test_held_out_rows_are_the_calibration_fraction_or_the_validation_rows():
    X, y = _heteroscedastic(200, seed=4)
    params = {**OVERFIT, "max_epochs": 2}
    model = HistogramRegressor(**params, calibration_fraction=0.25).fit(X, y)
    assert model.calibration_scores_.shape == (50, 1, 2)
    stopped = HistogramRegressor(**params, early_stopping=True, validation_fraction=0.3)
    assert stopped.fit(X, y).calibration_scores_.shape == (60, 1, 2)
    uncalibrated = HistogramRegressor(**params, calibration_fraction=None).fit(X, y)
    assert uncalibrated.calibration_scores_ is None


def test_zero_weight_rows_do_not_calibrate():
    X, y = _heteroscedastic(200, seed=4)
    weight = np.ones(200)
    weight[::2] = 0.0
    model = HistogramRegressor(**{**OVERFIT, "max_epochs": 2}).fit(X, y, weight)
    assert np.all(model.calibration_weights_ > 0)
    assert 0 < len(model.calibration_weights_) < 20


def test_one_row_gives_the_target_range():
    with pytest.warns(UserWarning, match="No held-out row"):
        model = HistogramRegressor(**{**OVERFIT, "max_epochs": 2}).fit([[0.0]], [3.0])
    np.testing.assert_array_equal(model.predict_interval([[0.0], [1.0]]), [[3.0, 3.0]] * 2)


def test_a_failed_fit_leaves_the_calibration_as_it_was():
    X, y = _heteroscedastic(300, seed=6)
    model = HistogramRegressor(**{**OVERFIT, "max_epochs": 3}).fit(X, y)
    scores, interval = model.calibration_scores_.copy(), model.predict_interval(X)
    # One weighted row, and 3 training rows left by calibration_fraction=0.99: the
    # training loss is undefined (this seed leaves row 0 out of the training rows).
    weight = np.r_[1.0, np.zeros(299)]
    for bad in (
        lambda: model.set_params(calibration_fraction=1.5).fit(X, y),
        lambda: model.set_params(calibration_fraction=0.99).fit(X, y, weight),
    ):
        with pytest.raises(ValueError, match=r"calibration_fraction|sample_weight"):
            bad()
    model.set_params(calibration_fraction=0.1)
    with pytest.raises(ValueError, match="coverage"):
        model.predict_interval(X, coverage=1.5)
    np.testing.assert_array_equal(model.calibration_scores_, scores)
    np.testing.assert_array_equal(model.predict_interval(X), interval)


def test_fine_tune_drops_the_stale_calibration_of_its_copy():
    X, y = _heteroscedastic(300, seed=6)
    model = HistogramRegressor(**{**OVERFIT, "max_epochs": 3}).fit(X, y)
    batches = TensorBatches(*model.encode_tensors(X, y), batch_size=64)
    tuned = model.fine_tune(model._loss, batches, max_epochs=1, n_iter_no_change=None)
    assert tuned.calibration_scores_ is None and model.calibration_scores_ is not None


def test_partial_fit_drops_the_stale_calibration():
    X, y = _heteroscedastic(300, seed=6)
    model = HistogramRegressor(**{**OVERFIT, "max_epochs": 3}).fit(X, y)
    model.partial_fit(X, y)
    assert model.calibration_scores_ is None
    np.testing.assert_allclose(
        model.predict_interval(X, 0.8), model.predict_quantiles(X, [0.1, 0.9]), rtol=1e-12
    )


def test_calibration_survives_save_and_load(tmp_path):
    X, y = _heteroscedastic(300, seed=6)
    model = HistogramRegressor(**{**OVERFIT, "max_epochs": 3}).fit(X, y)
    loaded = HistogramRegressor.load(model.save(tmp_path / "model.safetensors"))
    np.testing.assert_array_equal(loaded.predict_interval(X), model.predict_interval(X))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert loaded.calibration_scores_.shape == model.calibration_scores_.shape


def test_calibrating_a_dataframe_fit_raises_no_feature_name_warning():
    pandas = pytest.importorskip("pandas")
    X, y = _heteroscedastic(200, seed=8)
    frame = pandas.DataFrame(X, columns=[f"x{i}" for i in range(5)])
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        model = HistogramRegressor(**{**OVERFIT, "max_epochs": 2}).fit(frame, y)
        assert model.predict_interval(frame).shape == (200, 2)


def test_each_output_is_calibrated_in_its_own_range():
    X, y = _heteroscedastic(1200, seed=9)
    Y = np.column_stack([y, np.abs(1000 * y)])
    model = HistogramRegressor(**{**OVERFIT, "max_epochs": 20}).fit(X[:800], Y[:800])
    assert model.calibration_scores_.shape == (80, 2, 2)
    np.testing.assert_allclose(
        model.target_range_, [[f(Y[:800, j]) for f in (np.min, np.max)] for j in range(2)]
    )
    interval = model.predict_interval(X[800:], 0.9)
    assert interval.shape == (400, 2, 2)
    assert np.all(interval[:, 1] >= Y[:800, 1].min())  # no negative end for |1000 y|
    for j in range(2):
        assert abs(_coverage(interval[:, j], Y[800:, j]) - 0.9) < 0.08
