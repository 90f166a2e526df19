"""Penalties: proximal maps, optimality measures and conjugates against closed forms."""

import numpy as np
import pytest
import scipy.optimize
from hypothesis import given, settings
from hypothesis import strategies as st

from regkit.optim import (
    L1,
    L2,
    MCP,
    SCAD,
    ElasticNet,
    GroupLasso,
    NonNegative,
    WeightedL1,
)
from regkit.optim._augmented import WithFreeCoordinates

SETTINGS = settings(max_examples=40, deadline=None)
finite = st.floats(-50, 50, allow_nan=False)
positive = st.floats(0.01, 10)
# Points at 0 or away from it (finite differences cannot see a kink closer than h).
away_from_kink = st.one_of(st.just(0.0), finite.filter(lambda v: abs(v) > 1e-3))

SEPARABLE = {
    "l1": lambda a: L1(a),
    "positive l1": lambda a: L1(a, positive=True),
    "elastic net": lambda a: ElasticNet(a, l1_ratio=0.3),
    "nonnegative": lambda a: NonNegative(a),
    "weighted l1": lambda a: WeightedL1(a, weights=[2.5]),
    "mcp": lambda a: MCP(a, gamma=2.0),
    "scad": lambda a: SCAD(a, gamma=3.7),
}


def _scalar_nonsmooth(pen, u):
    return float(pen.nonsmooth_values(np.array([[u]]), np.arange(1))[0])


def _brute_prox(pen, z, step):
    """Minimise (u - z)^2 / (2 step) + g(u) over a fine grid, then polish locally."""
    grid = np.linspace(-abs(z) - 60, abs(z) + 60, 240_001)
    vals = (grid - z) ** 2 / (2 * step) + pen.nonsmooth_values(
        grid[:, None], np.zeros(len(grid), dtype=int)
    )
    u0 = grid[np.argmin(vals)]
    with np.errstate(invalid="ignore"):  # +inf outside a sign constraint
        res = scipy.optimize.minimize_scalar(
            lambda u: (u - z) ** 2 / (2 * step) + _scalar_nonsmooth(pen, u),
            bounds=(u0 - 1e-3, u0 + 1e-3), method="bounded", options={"xatol": 1e-12},
        )  # fmt: skip
    return res.x if res.fun <= vals.min() else u0


@SETTINGS
@given(name=st.sampled_from(sorted(SEPARABLE)), alpha=positive, z=finite, step=positive)
def test_separable_prox_is_the_minimiser(name, alpha, z, step):
    pen = SEPARABLE[name](alpha).bind(1)
    u = pen.prox(np.array([[z]]), np.array([step]), np.arange(1))[0, 0]
    objective = lambda v: (v - z) ** 2 / (2 * step) + _scalar_nonsmooth(pen, v)  # noqa: E731
    best = _brute_prox(pen, z, step)
    # The prox value is never worse than the brute-force minimum (up to its grid).
    assert objective(u) <= objective(best) + 1e-9 * (1 + abs(objective(best)))


@pytest.mark.parametrize(
    "z, step, expected",
    [(3.0, 1.0, 2.0), (-3.0, 1.0, -2.0), (0.5, 1.0, 0.0), (3.0, 2.0, 1.0)],
)
def test_soft_thresholding_closed_form(z, step, expected):
    pen = L1(1.0).bind(1)
    assert pen.prox(np.array([[z]]), np.array([step]), np.arange(1))[0, 0] == expected


def test_mcp_firm_thresholding_closed_form():
    # step 1 < gamma = 3, lambda = 1: 0 below 1, (|z| - 1) / (1 - 1/3) up to 3, z beyond.
    pen = MCP(1.0, gamma=3.0).bind(4)
    z = np.array([[0.8], [2.0], [-2.5], [4.0]])
    out = pen.prox(z, np.ones(4), np.arange(4))[:, 0]
    np.testing.assert_allclose(out, [0.0, 1.5, -2.25, 4.0])


def test_scad_thresholding_closed_form():
    # Fan & Li's rule with step 1, lambda = 1, gamma = 3.7.
    pen = SCAD(1.0, gamma=3.7).bind(4)
    z = np.array([[0.5], [1.7], [3.0], [5.0]])
    out = pen.prox(z, np.ones(4), np.arange(4))[:, 0]
    g = 3.7
    np.testing.assert_allclose(out, [0.0, 0.7, ((g - 1) * 3.0 - g) / (g - 2), 5.0])


def test_group_prox_is_block_soft_thresholding():
    pen = GroupLasso(2.0, groups=[[0, 2], [1]], weights=[1.0, 1.0]).bind(3)
    v = np.array([[3.0], [1.0], [4.0]])
    out = pen.prox(v, np.full(3, 0.5), np.arange(3))
    # group {0, 2}: norm 5, threshold 1 -> scaled by 4/5; group {1}: 1 -> 0.
    np.testing.assert_allclose(out[:, 0], [2.4, 0.0, 3.2])


def _finite_difference_violation(pen, x, grad, h=1e-7):
    """Largest one-sided directional derivative violation of grad'd + g at x (1-D)."""
    base = _scalar_nonsmooth(pen, x)
    worst = 0.0
    for d in (1.0, -1.0):
        slope = (_scalar_nonsmooth(pen, x + h * d) - base) / h + grad * d
        if np.isfinite(slope):
            worst = max(worst, -slope)
    return worst


@SETTINGS
@given(name=st.sampled_from(sorted(SEPARABLE)), alpha=positive, x=away_from_kink, grad=finite)
def test_violation_zero_iff_no_descent_direction(name, alpha, x, grad):
    pen = SEPARABLE[name](alpha).bind(1)
    if not np.isfinite(_scalar_nonsmooth(pen, x)):
        return
    viol = pen.subdiff_distance(np.array([[x]]), np.array([[grad]]))[0, 0]
    descent = _finite_difference_violation(pen, x, grad)
    if abs(viol) < 1e-9:
        assert descent < 1e-4 * (1 + abs(grad))
    else:
        # A non-zero violation is the slope of a feasible descent direction.
        assert descent == pytest.approx(abs(viol), rel=1e-4, abs=1e-4)


@SETTINGS
@given(
    name=st.sampled_from(["l1", "positive l1", "elastic net", "nonnegative", "weighted l1"]),
    alpha=positive,
    x=finite,
    u=finite,
)
def test_fenchel_young(name, alpha, x, u):
    """h(x) + h*(u) >= x u, with equality at u = -grad for an optimal x."""
    pen = SEPARABLE[name](alpha).bind(1)
    X, U = np.array([[x]]), np.array([[u]])
    s = pen.dual_scale(U)
    h = pen.value(X)
    if np.isfinite(h):
        assert h + pen.conjugate(s * U) >= x * s * u - 1e-9 * (1 + abs(x * u))
    # The conjugate's closed form at a subgradient: h(x) + h*(u) = x u.
    q = pen.quadratic[0, 0]
    a = float(pen.zero_thresholds()[0])
    if x != 0 and not (pen.coordinate_kernel()[3][0] and x < 0):
        sub = q * x + a * np.sign(x)
        assert pen.value(X) + pen.conjugate(np.array([[sub]])) == pytest.approx(
            x * sub, rel=1e-10, abs=1e-10
        )


def test_dual_scale_rescales_into_the_domain():
    pen = L1(2.0).bind(3)
    u = np.array([[1.0], [-4.0], [3.0]])
    assert pen.dual_scale(u) == 0.5
    assert ElasticNet(1.0, l1_ratio=0.5).bind(3).dual_scale(u) == 1.0  # smooth conjugate
    assert NonNegative(1.0).bind(1).dual_scale(np.array([[-5.0]])) == 1.0
    group = GroupLasso(1.0, groups=1).bind(3)
    assert group.dual_scale(u) == pytest.approx(0.25)


def test_critical_alpha():
    grad = np.array([[0.3], [-0.8], [0.1]])
    assert L1(1.0).bind(3).critical_alpha(grad) == pytest.approx(0.8)
    assert ElasticNet(1.0, l1_ratio=0.5).bind(3).critical_alpha(grad) == pytest.approx(1.6)
    assert L1(1.0, positive=True).bind(3).critical_alpha(grad) == pytest.approx(0.8)
    assert L1(1.0, positive=True).bind(1).critical_alpha(np.array([[0.5]])) == 0.0
    assert L2(1.0).bind(3).critical_alpha(grad) == np.inf
    group = GroupLasso(1.0, groups=[[0, 1], [2]], weights=[2.0, 1.0]).bind(3)
    assert group.critical_alpha(grad) == pytest.approx(np.hypot(0.3, 0.8) / 2)


@pytest.mark.parametrize(
    "penalty",
    [L1(0.7), ElasticNet(0.7, 0.4), MCP(0.7, 2.5), GroupLasso(0.7, groups=2)],
    ids=repr,
)
def test_rescaled_is_the_same_penalty_in_new_units(penalty):
    x = np.random.default_rng(0).standard_normal((4, 1)) * 3
    coef_scale, value_scale = 2.0**-3, 2.0**5
    new = penalty.rescaled(value_scale * coef_scale, value_scale * coef_scale**2)
    assert new.value(x) == pytest.approx(value_scale * penalty.value(coef_scale * x))


def test_scad_refuses_rescaling():
    with pytest.raises(NotImplementedError):
        SCAD(1.0).rescaled(2.0, 1.0)


def test_free_coordinates_wrapper():
    pen = WithFreeCoordinates(GroupLasso(1.0, groups=2, weights=[1.0]), 1).bind(3)
    assert pen.free.tolist() == [False, False, True]
    assert len(pen.groups) == 2 and pen.groups[1].tolist() == [2]
    v = np.array([[3.0], [4.0], [7.0]])
    np.testing.assert_allclose(pen.prox(v, np.ones(3), np.arange(3))[:, 0], [2.4, 3.2, 7.0])
    members, starts, levels = pen.group_kernel()
    assert members.tolist() == [0, 1, 2] and starts.tolist() == [0, 2, 3]
    assert levels.tolist() == [1.0, 0.0]


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: L1(-1.0), "alpha"),
        (lambda: MCP(1.0, gamma=0.0), "gamma"),
        (lambda: SCAD(1.0, gamma=2.0), "gamma"),
        (lambda: ElasticNet(1.0, l1_ratio=1.5), "l1_ratio"),
        (lambda: WeightedL1(1.0, weights=None), "weights"),
        (lambda: L1(1.0, weights=[1.0, -1.0]).bind(2), "weights"),
        (lambda: L1(1.0, weights=[1.0]).bind(2), "shape"),
        (lambda: GroupLasso(1.0, groups=[[0], [0, 1]]).bind(2), "partition"),
    ],
)
def test_bad_penalty_parameters_raise(make, match):
    with pytest.raises(ValueError, match=match):
        make()
