"""The histogram encodings against exact values and independent scipy references."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from regkit.regression import (
    bin_centers,
    histogram_mean,
    histogram_quantiles,
    hl_gauss_encode,
    one_hot_encode,
    padded_support,
    two_hot_encode,
)

EDGES = np.linspace(-2.0, 3.0, 51)
WIDTH = EDGES[1] - EDGES[0]
FINITE = st.floats(-1e6, 1e6, allow_nan=False)
ENCODERS = {
    "hl_gauss": lambda y, edges: hl_gauss_encode(y, edges, 0.75 * (edges[1] - edges[0])),
    "two_hot": two_hot_encode,
    "one_hot": one_hot_encode,
}


def test_bin_centers_are_midpoints_not_half_differences():
    assert np.array_equal(bin_centers([0.0, 1.0, 3.0, 4.0]), [0.5, 2.0, 3.5])


@pytest.mark.parametrize("encoding", sorted(ENCODERS))
@settings(deadline=None, max_examples=30)
@given(y=st.lists(FINITE, min_size=1, max_size=20))
def test_rows_are_probabilities(encoding, y):
    p = ENCODERS[encoding](np.array(y), EDGES)
    assert p.shape == (len(y), len(EDGES) - 1)
    assert np.all(p >= 0)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=0, atol=1e-12)


@settings(deadline=None, max_examples=50)
@given(y=st.floats(0.0, 1.0))
def test_two_hot_decodes_exactly(y):
    centers = bin_centers(EDGES)
    target = centers[0] + y * (centers[-1] - centers[0])
    p = two_hot_encode([target], EDGES)
    assert np.count_nonzero(p) <= 2
    np.testing.assert_allclose(histogram_mean(p, EDGES), [target], rtol=0, atol=1e-12)


def test_two_hot_exact_small_case():
    np.testing.assert_allclose(
        two_hot_encode([1.25, 0.5, 2.5, 9.0], [0.0, 1.0, 2.0, 3.0]),
        [[0.25, 0.75, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 1.0]],
    )


def test_one_hot_matches_digitize():
    y = np.array([-5.0, -2.0, 0.01, 1.3, 3.0, 7.0])
    index = np.clip(np.digitize(y, EDGES) - 1, 0, len(EDGES) - 2)
    assert np.array_equal(one_hot_encode(y, EDGES).argmax(axis=1), index)


def test_hl_gauss_equals_truncated_normal_bin_masses():
    sigma = 0.75 * WIDTH
    y = np.array([-2.0, -1.1, 0.0, 0.33, 2.99, 3.0])
    expected = [
        np.diff(
            stats.truncnorm(
                (EDGES[0] - v) / sigma, (EDGES[-1] - v) / sigma, loc=v, scale=sigma
            ).cdf(EDGES)
        )
        for v in y
    ]
    np.testing.assert_allclose(hl_gauss_encode(y, EDGES, sigma), expected, atol=1e-12)


@pytest.mark.parametrize("sigma_ratio", [0.75, 2.0])
def test_hl_gauss_decodes_interior_targets_within_a_thousandth_of_a_bin(sigma_ratio):
    sigma = sigma_ratio * WIDTH
    y = np.linspace(EDGES[0] + 4 * sigma, EDGES[-1] - 4 * sigma, 997)
    error = histogram_mean(hl_gauss_encode(y, EDGES, sigma), EDGES) - y
    assert np.max(np.abs(error)) < 1e-3 * WIDTH


@pytest.mark.parametrize("sigma_ratio", [0.75, 2.0])
def test_padded_support_removes_the_edge_bias_of_hl_gauss(sigma_ratio):
    y = np.array([0.0, 1.0])  # the smallest and largest training targets
    n_bins = 51
    padded = np.linspace(*padded_support(0.0, 1.0, n_bins, 4 * sigma_ratio), n_bins + 1)
    width = padded[1] - padded[0]
    decoded = histogram_mean(hl_gauss_encode(y, padded, sigma_ratio * width), padded)
    np.testing.assert_allclose(decoded, y, rtol=0, atol=1e-3 * width)
    # Without padding the Gaussian is cut in half at the edges and decodes inwards.
    tight = np.linspace(0.0, 1.0, n_bins + 1)
    width = tight[1] - tight[0]
    biased = histogram_mean(hl_gauss_encode(y, tight, sigma_ratio * width), tight)
    assert biased[0] > 0.5 * width and biased[1] < 1 - 0.5 * width


def test_padded_support_puts_extremes_on_bin_centres_and_handles_constants():
    edges = np.linspace(*padded_support(2.0, 5.0, 7, 0.5), 8)
    centers = bin_centers(edges)
    np.testing.assert_allclose([centers[0], centers[-1]], [2.0, 5.0])
    assert padded_support(3.0, 3.0, 10, 0.5) == pytest.approx((2.5 - 1 / 18, 3.5 + 1 / 18))
    with pytest.raises(ValueError, match="n_bins"):
        padded_support(0.0, 1.0, 6, 3.0)


def test_far_outliers_are_clipped_and_stay_finite():
    sigma = 0.75 * WIDTH
    p = hl_gauss_encode([1e300, -1e300], EDGES, sigma)
    assert np.all(np.isfinite(p))
    np.testing.assert_allclose(p, hl_gauss_encode([EDGES[-1], EDGES[0]], EDGES, sigma))


@pytest.mark.parametrize("bad", [[0.0], [0.0, 0.0, 1.0], [[0.0, 1.0]]])
def test_bad_edges_are_rejected(bad):
    with pytest.raises(ValueError, match="bin_edges"):
        hl_gauss_encode([0.0], bad, 1.0)


def test_quantiles_match_scipy_rv_histogram():
    rng = np.random.default_rng(0)
    edges = np.array([-1.0, 0.0, 0.5, 2.0, 2.5, 4.0])
    p = rng.dirichlet(np.ones(5), size=4)
    p[1, 2] = 0.0  # an empty bin inside the support
    p[1] /= p[1].sum()
    q = np.array([0.01, 0.1, 0.5, 0.77, 0.99])
    expected = [stats.rv_histogram((row, edges), density=False).ppf(q) for row in p]
    np.testing.assert_allclose(histogram_quantiles(p, edges, q), expected, atol=1e-10)
    means = [stats.rv_histogram((row, edges), density=False).mean() for row in p]
    np.testing.assert_allclose(histogram_mean(p, edges), means)


@settings(deadline=None, max_examples=40)
@given(
    weights=st.lists(st.floats(0.0, 1.0), min_size=3, max_size=12).filter(lambda w: sum(w) > 0),
    q=st.lists(st.floats(0.0, 1.0), min_size=2, max_size=10),
    blur_sigma=st.sampled_from([0.0, 0.3, 1.0, 100.0]),
)
def test_quantiles_are_monotone_in_q(weights, q, blur_sigma):
    p = np.array([weights]) / np.sum(weights)
    edges = np.arange(len(weights) + 1, dtype=float)
    q = np.sort(q)
    values = histogram_quantiles(p, edges, q, blur_sigma=blur_sigma)[0]
    assert np.all(np.diff(values) >= -1e-12)
    assert edges[0] - 1e-12 <= values[0] and values[-1] <= edges[-1] + 1e-12
    # De-blurring only moves quantiles towards the mean, never away from it.
    mean = histogram_mean(p, edges)[0]
    blurred = histogram_quantiles(p, edges, q)[0]
    assert np.all(np.abs(values - mean) <= np.abs(blurred - mean) + 1e-12)


GRID = np.linspace(-6.0, 8.0, 141)
LEVELS = np.array([0.05, 0.1, 0.25, 0.5, 0.8, 0.9, 0.95])


@pytest.mark.parametrize("sigma_ratio", [0.75, 3.0])
@pytest.mark.parametrize("noise", [0.3, 0.5])
def test_deblurring_recovers_the_quantiles_of_a_gaussian(sigma_ratio, noise):
    # A histogram of N(1, noise^2) convolved with N(0, sigma^2), i.e. N(1, noise^2 +
    # sigma^2): what a perfect HL-Gauss network predicts for Gaussian noise.
    width = GRID[1] - GRID[0]
    sigma = sigma_ratio * width
    blurred = np.diff(stats.norm(1.0, np.hypot(noise, sigma)).cdf(GRID))[None]
    truth = stats.norm(1.0, noise).ppf(LEVELS)
    deblurred = histogram_quantiles(blurred, GRID, LEVELS, blur_sigma=sigma)[0]
    np.testing.assert_allclose(deblurred, truth, rtol=0, atol=0.05 * width)
    # Without the correction the tails are off by much more than that.
    raw = histogram_quantiles(blurred, GRID, LEVELS)[0]
    assert np.max(np.abs(raw - truth)) > 3 * np.max(np.abs(deblurred - truth))


def test_deblurring_vanishes_with_sigma():
    p = np.random.default_rng(0).dirichlet(np.ones(len(GRID) - 1), size=5)
    raw = histogram_quantiles(p, GRID, LEVELS)
    assert np.array_equal(histogram_quantiles(p, GRID, LEVELS, blur_sigma=0.0), raw)
    np.testing.assert_allclose(
        histogram_quantiles(p, GRID, LEVELS, blur_sigma=1e-6), raw, rtol=0, atol=1e-9
    )


def test_a_point_target_deblurs_to_one_bin_not_to_a_point():
    # The HL-Gauss histogram of a single value is as narrow as the blur itself: the
    # sharp distribution is kept one bin wide (variance w^2 / 12), not a point.
    width = GRID[1] - GRID[0]
    sigma = 0.75 * width
    p = hl_gauss_encode([0.37], GRID, sigma)
    mean = histogram_mean(p, GRID)[0]
    raw = histogram_quantiles(p, GRID, LEVELS)[0] - mean
    deblurred = histogram_quantiles(p, GRID, LEVELS, blur_sigma=sigma)[0] - mean
    np.testing.assert_allclose(deblurred, raw * width / np.sqrt(12) / sigma, rtol=1e-4)


def test_bad_blur_sigma_is_rejected():
    with pytest.raises(ValueError, match="blur_sigma"):
        histogram_quantiles([[0.5, 0.5]], [0.0, 1.0, 2.0], [0.5], blur_sigma=-1.0)


def test_quantiles_reject_levels_outside_unit_interval():
    with pytest.raises(ValueError, match="q must"):
        histogram_quantiles([[0.5, 0.5]], [0.0, 1.0, 2.0], [1.5])
