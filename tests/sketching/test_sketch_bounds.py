"""sketch_size and linf_radius: the proven Gaussian formula and its calibrated uses."""

import math

import numpy as np
import pytest

from regkit.sketching import (
    CountSketch,
    GaussianSketch,
    SparseSignSketch,
    linf_radius,
    sketch_size,
)
from regkit.sketching._bounds import gaussian_linf_eps


def _formula(m, d, delta):
    # Written out independently of the implementation.
    return math.sqrt(2 * d * math.log(4 * d / delta) / m) / (
        1 - math.sqrt(d / m) - math.sqrt(2 * math.log(2 / delta) / m)
    )


@pytest.mark.parametrize("d, eps, delta", [(1, 0.5, 0.1), (10, 0.3, 0.01), (50, 0.5, 0.01)])
def test_sketch_size_is_the_smallest_m_meeting_the_target(d, eps, delta):
    m = sketch_size(10**9, d, eps, delta)
    assert _formula(m, d, delta) <= eps < _formula(m - 1, d, delta)
    assert linf_radius(m, d, delta) * math.sqrt(d) == pytest.approx(_formula(m, d, delta))


def test_sketch_size_scales_like_d_log_d_over_eps_squared():
    small, large = sketch_size(10**9, 20, 0.5, 0.01), sketch_size(10**9, 20, 0.25, 0.01)
    assert 3 < large / small < 4.5  # the Gordon denominator adds to small m
    assert sketch_size(10**9, 40, 0.5, 0.01) > 2 * small


def test_sketch_size_caps_at_n_and_uses_calibration():
    assert sketch_size(500, 50, 0.5, 0.01) == 500
    gaussian = sketch_size(10**9, 20, 0.5, 0.01, "gaussian")
    sparse = sketch_size(10**9, 20, 0.5, 0.01, SparseSignSketch)
    constant = SparseSignSketch.linf_constant
    assert gaussian_linf_eps(sparse, 20, 0.01) * constant <= 0.5
    assert sparse > gaussian


def test_count_sketch_has_no_linf_size():
    with pytest.raises(ValueError, match="no l-inf guarantee"):
        sketch_size(10**6, 10, 0.5, 0.01, CountSketch)
    assert linf_radius(1000, 10, 0.01, sketch="count") == math.inf


def test_linf_radius_scaling_and_vectors():
    base = linf_radius(400, 10, 0.05, sketch=GaussianSketch)
    assert linf_radius(400, 10, 0.05, residual_norm=3.0, sigma_min=0.5) == pytest.approx(6 * base)
    radii = linf_radius(400, 10, 0.05, residual_norm=np.array([1.0, 2.0]))
    np.testing.assert_allclose(radii, [base, 2 * base])
    assert linf_radius(10, 10, 0.05) == math.inf  # m <= d: no bound


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: sketch_size(0, 5), "n must be"),
        (lambda: sketch_size(100, 5, eps=-1), "eps must be"),
        (lambda: sketch_size(100, 5, delta=1.5), "delta must be"),
        (lambda: linf_radius(100, 0), "n_features must be"),
        (lambda: sketch_size(100, 5, sketch="nope"), "sketch must be one of"),
        (lambda: linf_radius(100, 5, residual_norm=-1.0), "residual_norm must be"),
        (lambda: linf_radius(100, 5, residual_norm=np.nan), "residual_norm must be"),
        (lambda: linf_radius(100, 5, residual_norm=[1.0, -2.0]), "residual_norm must be"),
        (lambda: linf_radius(100, 5, residual_norm=np.ones((2, 2))), "residual_norm must be"),
        (lambda: linf_radius(100, 5, residual_norm="big"), "residual_norm must be"),
        (lambda: linf_radius(100, 5, sigma_min=0.0), "sigma_min must be"),
        (lambda: linf_radius(100, 5, sigma_min=-1.0), "sigma_min must be"),
        (lambda: linf_radius(100, 5, sigma_min=np.inf), "sigma_min must be"),
        (lambda: linf_radius(100, 5, delta=0.0), "delta must be"),
        (lambda: linf_radius(2.5, 5), "n_sketch_rows must be"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_linf_radius_of_an_exact_fit_is_zero_but_none_stays_inf():
    assert linf_radius(400, 10, 0.05, residual_norm=0.0) == 0.0
    assert linf_radius(400, 10, 0.05, residual_norm=0.0, sketch="count") == math.inf
