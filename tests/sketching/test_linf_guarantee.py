"""The verification protocol of the l-inf guarantee (research note, section 3).

A and b are fixed, with a known solution ``x*``; over many seeds we count the runs
where sketch-and-solve leaves the radius ``linf_radius(m, d, delta)`` and compare the
count with the 99.9% quantile of Binomial(seeds, delta). The dense sketches (and
OSNAP with 8 nonzeros, calibrated) must pass on incoherent, coherent and
spiky-residual problems; CountSketch must fail on a coherent one.
"""

import numpy as np
import pytest
from scipy.stats import binom

from regkit.sketching import (
    CountSketch,
    GaussianSketch,
    RademacherSketch,
    SparseSignSketch,
    SRHTSketch,
    linf_radius,
    make_sketching_problem,
)

DELTA = 0.05
GUARANTEED = [GaussianSketch, RademacherSketch, SRHTSketch, SparseSignSketch]
PROBLEMS = {
    "incoherent": {},
    "coherent": {"coherent": True},
    "spiky": {"spiky": True},
    "coherent+spiky": {"coherent": True, "spiky": True},
}


def count_failures(cls, problem, m, seeds, radius):
    A, b, x_star = problem
    Ab = np.column_stack([A, b])
    failures = 0
    for seed in range(seeds):
        SAb = cls(m, random_state=seed).apply(Ab)
        x = np.linalg.lstsq(SAb[:, :-1], SAb[:, -1], rcond=None)[0]
        failures += np.abs(x - x_star).max() > radius
    return failures


def _run(cls, kind, n, d, m, seeds):
    # condition number 10: ||A^+|| = 10, ||r|| = 2, so the radius is not the unit one.
    problem = make_sketching_problem(
        n, d, condition_number=10.0, residual_norm=2.0, random_state=0, **PROBLEMS[kind]
    )
    radius = linf_radius(m, d, DELTA, residual_norm=2.0, sigma_min=0.1, sketch=cls)
    return count_failures(cls, problem, m, seeds, radius)


@pytest.mark.parametrize("kind", list(PROBLEMS))
@pytest.mark.parametrize("cls", GUARANTEED, ids=[c.name for c in GUARANTEED])
def test_failure_rate_within_binomial_bound(cls, kind):
    seeds = 30
    failures = _run(cls, kind, n=2048, d=16, m=256, seeds=seeds)
    assert failures <= binom.ppf(0.999, seeds, DELTA)


def test_count_sketch_fails_on_coherent_matrix():
    # 16 rows hold the leverage; with m = 256 two of them collide in ~40% of seeds,
    # which moves a coordinate far outside the radius the dense sketches respect.
    seeds = 30
    n, d, m = 2048, 16, 256
    problem = make_sketching_problem(n, d, coherent=True, random_state=0)
    radius = linf_radius(m, d, DELTA)  # the Gaussian radius at the same m
    failures = count_failures(CountSketch, problem, m, seeds, radius)
    assert failures > binom.ppf(0.999, seeds, DELTA)
    # ...while the same radius holds for CountSketch on an incoherent matrix.
    problem = make_sketching_problem(n, d, random_state=0)
    assert count_failures(CountSketch, problem, m, seeds, radius) <= binom.ppf(0.999, seeds, DELTA)


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(PROBLEMS))
@pytest.mark.parametrize("cls", GUARANTEED, ids=[c.name for c in GUARANTEED])
def test_failure_rate_100_seeds(cls, kind):
    # The research note's setting: n = 4096, d = 32, m = 32 d.
    seeds = 100
    failures = _run(cls, kind, n=4096, d=32, m=1024, seeds=seeds)
    assert failures <= binom.ppf(0.999, seeds, DELTA)


@pytest.mark.slow
def test_count_sketch_fails_on_coherent_matrix_100_seeds():
    seeds, n, d, m = 100, 4096, 32, 1024
    problem = make_sketching_problem(n, d, coherent=True, random_state=1)
    failures = count_failures(CountSketch, problem, m, seeds, linf_radius(m, d, DELTA))
    assert failures > binom.ppf(0.999, seeds, DELTA)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_samples": 10, "n_features": 10}, "n_samples > n_features"),
        ({"n_samples": 100.0}, "n_samples must be an int"),
        ({"n_features": True}, "n_features must be an int"),
        ({"condition_number": 0.5}, "condition_number must be a finite number >= 1"),
        ({"condition_number": np.inf}, "condition_number"),
        ({"residual_norm": -1.0}, "residual_norm must be a finite number >= 0"),
        ({"residual_norm": np.nan}, "residual_norm"),
    ],
)
def test_problem_generator_validates_its_arguments(kwargs, match):
    arguments = {"n_samples": 100, "n_features": 4, **kwargs}
    with pytest.raises(ValueError, match=match):
        make_sketching_problem(**arguments, random_state=0)
