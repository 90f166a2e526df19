"""Fidelity of the greedy rules to Nutini, Laradji & Schmidt (issue #15, "Greedy BCD").

- GSD's diagonal is a valid majoriser of the chosen block's Hessian (one valid bound per
  block, also in working sets), so GSD's gradient steps never increase the objective;
- every named rule makes its own choice where the paper says it differs, also inside
  working sets (the one alias there, GSL = GS-q for L1-type penalties, is refused).
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import make_regression
from sklearn.exceptions import ConvergenceWarning

from regkit.linear_model import BCDRegressor
from regkit.optim import L1, BCDSolver, LeastSquares, NoPenalty
from regkit.optim._families import FixedPartition
from regkit.optim._selection import (
    GaussSouthwell,
    GaussSouthwellDiagonal,
    GaussSouthwellLipschitz,
    GaussSouthwellProximal,
    GaussSouthwellQuadratic,
    Problem,
)


def _correlated(n=120, p=300, seed=0):
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((n, p))
    A = base + 0.9 * base[:, [0]] + 0.6 * np.roll(base, 1, axis=1)  # strongly correlated
    A *= rng.uniform(0.2, 5.0, p)  # and badly scaled
    b = A[:, :10] @ rng.standard_normal(10) + rng.standard_normal(n)
    return A, b


def _problem(datafit, penalty):
    pen = penalty.bind(datafit.n_features)
    return Problem(datafit, pen, datafit.lipschitz + pen.quadratic[:, 0],
                   np.random.default_rng(0))  # fmt: skip


def _majorised(H, d):
    """lambda_max(D^-1/2 H D^-1/2) <= 1: the diagonal bounds the block Hessian."""
    s = 1.0 / np.sqrt(d)
    return np.linalg.eigvalsh(H * s[:, None] * s[None, :])[-1] <= 1.0 + 1e-10


@pytest.mark.parametrize("tau", [5, 20, 60])
def test_gsd_diagonal_majorises_the_block_it_chose(tau):
    A, b = _correlated()
    f = LeastSquares(A, b)
    problem = _problem(f, NoPenalty())
    rule = GaussSouthwellDiagonal(problem)
    G = f.gradient_at_zero()
    x = np.zeros((A.shape[1], 1))
    for chosen, d in (rule.variable(0, G, x, tau),
                      rule.working_set(G, x, np.zeros(A.shape[1], bool), tau)):  # fmt: skip
        assert _majorised(f.block_hessian_bound(chosen), d)


def test_gsd_fixed_blocks_use_a_valid_diagonal():
    A, b = _correlated(p=60)
    f = LeastSquares(A, b)
    problem = _problem(f, NoPenalty())
    partition = FixedPartition(problem, "order", 10)
    rule = GaussSouthwellDiagonal(problem)
    G, x = f.gradient_at_zero(), np.zeros((60, 1))
    b_id, d = rule.fixed(0, G, x, partition)
    assert _majorised(f.block_hessian_bound(partition.blocks[b_id]), d)


def test_gsd_gradient_steps_decrease_by_the_guaranteed_amount():
    A, b = _correlated()
    f = LeastSquares(A, b)
    res = BCDSolver(selection="gsd", block_size=40, update="gradient", tol=0.0,
                    max_iter=30).solve(f)  # fmt: skip
    obj = np.array([r["objective"] for r in res.history])
    assert np.all(np.diff(obj) <= 1e-12 * np.abs(obj[:-1]))
    assert obj[-1] < 0.5 * obj[0]


def test_gsd_with_working_sets_converges():
    # The reported failure: selection="gsd", update="gradient" and block_size="auto" used
    # tau = 1 in the GSD diagonal although working sets hold 100+ coordinates, and diverged.
    X, y = make_regression(n_samples=200, n_features=300, n_informative=20, noise=1.0,
                           random_state=0)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = BCDRegressor(selection="gsd", update="gradient").fit(X, y)  # NaN before
    obj = np.array([r["objective"] for r in model.history_])
    assert np.all(np.isfinite(obj)) and np.all(np.diff(obj) <= 1e-10 * np.abs(obj[:-1]))
    assert model.score(X, y) > 0.9


def _pick(rule_cls, datafit, penalty, G, x, tau):
    rule = rule_cls(_problem(datafit, penalty))
    return set(np.sort(rule.variable(0, G, x, tau)[0]).tolist())


def test_gsl_differs_from_gs_with_unequal_lipschitz_constants():
    # Paper, Sec. 3: GS ignores the curvature; GSL divides by L_i.
    A = np.diag([1.0, 10.0])  # L = [0.5, 50] with n = 2
    f = LeastSquares(A, np.zeros(2))
    G = np.array([[1.0], [5.0]])
    x = np.zeros((2, 1))
    assert _pick(GaussSouthwell, f, NoPenalty(), G, x, 1) == {1}
    assert _pick(GaussSouthwellLipschitz, f, NoPenalty(), G, x, 1) == {0}


def test_gsd_differs_from_gsl_with_correlated_coordinates():
    # Paper, Sec. 4: GSD's diagonal bound sees the off-diagonal curvature GSL ignores.
    # Columns 0 and 1 are near copies; column 2 shares no row with them.
    rng = np.random.default_rng(1)
    z = rng.standard_normal(200)
    A = np.zeros((400, 3))
    A[:200, 0], A[:200, 1], A[200:, 2] = z, z + 0.05 * rng.standard_normal(200), z
    A /= np.sqrt((A**2).mean(axis=0))  # equal L_i
    f = LeastSquares(A, np.zeros(400))
    G = np.array([[1.0], [1.0], [0.9]])
    x = np.zeros((3, 1))
    assert _pick(GaussSouthwellLipschitz, f, NoPenalty(), G, x, 2) == {0, 1}
    assert 2 in _pick(GaussSouthwellDiagonal, f, NoPenalty(), G, x, 2)


def test_gsq_differs_from_gsl_on_fixed_blocks():
    # Paper, Sec. 4: GSQ's g_b' H_b^-1 g_b rewards a gradient along a flat direction.
    rng = np.random.default_rng(2)
    z = rng.standard_normal(2000)
    A = np.column_stack([z, z + 0.1 * rng.standard_normal(2000), rng.standard_normal((2000, 2))])
    A /= np.sqrt((A**2).mean(axis=0))
    f = LeastSquares(A, np.zeros(2000))
    problem = _problem(f, NoPenalty())
    partition = FixedPartition(problem, [[0, 1], [2, 3]], 2)
    G = np.array([[1.0], [-1.0], [1.1], [1.1]])
    x = np.zeros((4, 1))
    assert GaussSouthwellLipschitz(problem).fixed(0, G, x, partition)[0] == 1
    assert GaussSouthwellQuadratic(problem).fixed(0, G, x, partition)[0] == 0


def _near_duplicates(seed, n=200, p=400):
    """Sparse, badly scaled columns in near-duplicate pairs (strong pairwise correlation)."""
    rng = np.random.default_rng(seed)
    B = sp.random(n, p // 2, density=0.05, random_state=rng,
                  data_rvs=rng.standard_normal).toarray()  # fmt: skip
    A = np.empty((n, p))
    A[:, ::2], A[:, 1::2] = B, B + (B != 0) * 0.1 * rng.standard_normal(B.shape)
    A *= rng.uniform(0.2, 5.0, p)
    return A, A[:, :20] @ rng.standard_normal(20) + 0.1 * rng.standard_normal(n)


def test_gsq_differs_from_gsl_on_variable_blocks():
    # GSL takes both columns of a near-duplicate pair; GSQ's model sees they add little.
    A, b = _near_duplicates(seed=3)
    f = LeastSquares(A, b)
    G, x = f.gradient_at_zero(), np.zeros((A.shape[1], 1))
    gsq = sorted(_pick(GaussSouthwellQuadratic, f, NoPenalty(), G, x, 10))
    gsl = sorted(_pick(GaussSouthwellLipschitz, f, NoPenalty(), G, x, 10))
    assert gsq != gsl

    def exact_gsq_score(block):
        g = G[block, 0]
        return g @ np.linalg.solve(f.block_hessian_bound(np.array(block)), g)

    assert exact_gsq_score(gsq) > exact_gsq_score(gsl)


def test_gs_q_differs_from_gs_s_when_the_step_crosses_zero():
    # Paper, Sec. 5: GS-s scores the minimum-norm subgradient, GS-q the proximal step's
    # decrease; at x_0 = 0.1 the step towards -1.9 is cut at the kink.
    f = LeastSquares(np.sqrt(2.0) * np.eye(2), np.zeros(2))  # L_i = 1
    G = np.array([[2.0], [-2.5]])
    x = np.array([[0.1], [0.0]])
    assert _pick(GaussSouthwellLipschitz, f, L1(1.0), G, x, 1) == {0}
    assert _pick(GaussSouthwellProximal, f, L1(1.0), G, x, 1) == {1}


@pytest.mark.parametrize("update", ["newton", "gradient"])
def test_each_rule_chooses_its_own_working_set(update):
    A, b = _near_duplicates(seed=4)
    alpha = np.max(np.abs(A.T @ b)) / len(b) / 50
    first = {}
    for rule in ("gs", "gsd", "gsq", "gs-q"):
        res = BCDSolver(selection=rule, update=update, tol=0.0, max_iter=1).solve(
            LeastSquares(A, b), L1(alpha)
        )
        first[rule] = frozenset(res.history[1]["block"].tolist())
        assert len(first[rule]) == 100  # a working set, not the whole problem
    assert len(set(first.values())) == 4, "two rules chose the same working set"


def test_gsl_in_working_sets_is_refused_as_an_alias_of_gs_q():
    A, b = _correlated(seed=5)
    with pytest.raises(ValueError, match="same working sets as selection='gs-q'"):
        BCDSolver(selection="gsl").solve(LeastSquares(A, b), L1(0.1))
    # With an explicit block size the two rules are different rules.
    BCDSolver(selection="gsl", block_size=10, max_iter=2).solve(LeastSquares(A, b), L1(0.1))
