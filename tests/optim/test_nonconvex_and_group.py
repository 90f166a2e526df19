"""MCP, SCAD and the group lasso solved by the BCD engine."""

import numpy as np
import pytest
import scipy.sparse as sp

from regkit.optim import L1, MCP, SCAD, BCDSolver, GroupLasso, LeastSquares, Logistic


def _sparse_signal(n=120, p=40, seed=0):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, p))
    A /= np.sqrt((A**2).mean(axis=0))  # unit curvature: L_j = 1
    w = np.zeros(p)
    w[[2, 7, 19, 31]] = [3.0, -2.5, 2.0, 4.0]
    return A, A @ w + 0.1 * rng.standard_normal(n), w


def _stationarity(A, b, x, penalty):
    n = len(b)
    grad = (A.T @ (A @ x - b) / n)[:, None]
    pen = penalty.bind(A.shape[1])
    return np.max(np.abs(pen.subdiff_distance(x[:, None], grad)))


@pytest.mark.parametrize("penalty", [MCP(0.3, gamma=3.0), SCAD(0.3, gamma=3.7)], ids=repr)
@pytest.mark.parametrize("update", ["newton", "gradient"])
def test_folded_concave_solution_is_stationary(penalty, update):
    A, b, _ = _sparse_signal()
    res = BCDSolver(update=update, tol=1e-10, max_iter=5000).solve(LeastSquares(A, b), penalty)
    assert res.converged and res.criterion == "kkt" and np.isnan(res.gap)
    x = res.x[:, 0]
    assert _stationarity(A, b, x, penalty) < 1e-8
    # Stationary also in the finite-difference sense: no coordinate move decreases F.
    f = LeastSquares(A, b)
    pen = penalty.bind(A.shape[1])

    def F(v):
        return f.value(f.init_state(v[:, None])) + pen.value(v[:, None])

    for j in range(A.shape[1]):
        for step in (1e-6, -1e-6):
            moved = x.copy()
            moved[j] += step
            assert F(moved) >= F(x) - 1e-12


def test_mcp_removes_the_lasso_bias():
    A, b, w = _sparse_signal(seed=1)
    alpha = 0.3
    lasso = BCDSolver(tol=1e-10).solve(LeastSquares(A, b), L1(alpha)).x[:, 0]
    mcp = BCDSolver(tol=1e-10).solve(LeastSquares(A, b), MCP(alpha, gamma=3.0)).x[:, 0]
    support = w != 0
    assert np.array_equal(mcp != 0, support)
    # The lasso shrinks every large coefficient by about alpha; MCP leaves them alone.
    assert np.all(np.abs(lasso[support]) < np.abs(w[support]) - 0.2)
    np.testing.assert_allclose(mcp[support], w[support], atol=0.05)


def test_mcp_with_large_gamma_is_the_lasso():
    A, b, _ = _sparse_signal(seed=2)
    lasso = BCDSolver(tol=1e-12).solve(LeastSquares(A, b), L1(0.2)).x
    mcp = BCDSolver(tol=1e-12).solve(LeastSquares(A, b), MCP(0.2, gamma=1e8)).x
    np.testing.assert_allclose(mcp, lasso, atol=1e-6)


def _fista_group_lasso(A, b, groups, levels, n_iter=20000):
    """Accelerated proximal gradient with the textbook block soft-thresholding."""
    n, p = A.shape
    L = np.linalg.norm(A, 2) ** 2 / n
    x = np.zeros(p)
    yk, t = x.copy(), 1.0
    for _ in range(n_iter):
        v = yk - A.T @ (A @ yk - b) / n / L
        new = np.zeros(p)
        for g, lev in zip(groups, levels):
            norm = np.linalg.norm(v[g])
            if norm > lev / L:
                new[g] = (1 - lev / L / norm) * v[g]
        t_next = (1 + np.sqrt(1 + 4 * t * t)) / 2
        yk = new + (t - 1) / t_next * (new - x)
        x, t = new, t_next
    return x


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("update", ["newton", "matrix", "gradient"])
def test_group_lasso_matches_a_reference_solve_and_zeros_whole_groups(sparse, update):
    rng = np.random.default_rng(3)
    n, p = 80, 24
    A = rng.standard_normal((n, p))
    groups = [np.arange(i, i + 4) for i in range(0, p, 4)]
    w = np.zeros(p)
    w[groups[1]] = [1.0, -2.0, 0.5, 1.5]
    w[groups[4]] = [-1.0, 1.0, 2.0, 0.0]
    b = A @ w + 0.1 * rng.standard_normal(n)
    pen = GroupLasso(0.15, groups=groups)
    design = sp.csc_array(A) if sparse else A
    res = BCDSolver(update=update, tol=1e-12, max_iter=20000).solve(LeastSquares(design, b), pen)
    assert res.converged and res.criterion == "gap"
    ref = _fista_group_lasso(A, b, groups, 0.15 * np.sqrt([4] * 6))
    np.testing.assert_allclose(res.x[:, 0], ref, atol=1e-6)
    nonzero_groups = [k for k, g in enumerate(groups) if np.any(res.x[g, 0] != 0)]
    assert nonzero_groups == [1, 4]
    for g in groups:  # each group entirely zero or entirely non-zero
        assert np.all(res.x[g, 0] == 0) or np.all(res.x[g, 0] != 0)


def test_group_lasso_logistic_is_optimal():
    rng = np.random.default_rng(4)
    A = rng.standard_normal((150, 12))
    y = np.where(A[:, :3].sum(axis=1) + 0.3 * rng.standard_normal(150) > 0, 1.0, -1.0)
    pen = GroupLasso(0.02, groups=3)
    res = BCDSolver(tol=1e-10, max_iter=5000).solve(Logistic(A, y), pen)
    assert res.converged and res.criterion == "gap" and res.gap < 1e-9
    bound = pen.bind(12)
    grad = Logistic(A, y).gradient(Logistic(A, y).init_state(res.x))
    assert np.max(np.abs(bound.subdiff_distance(res.x, grad))) < 1e-5


def test_group_selection_picks_whole_groups():
    A, b, _ = _sparse_signal(seed=5)
    pen = GroupLasso(0.05, groups=4)
    seen = []
    BCDSolver(
        selection="gsl",
        block_size=2,
        update="gradient",
        max_iter=20,
        tol=0.0,
        callback=lambda x, rec: seen.append(rec["block"]),
    ).solve(LeastSquares(A, b), pen)
    for block in seen:  # two groups of four per block
        assert len(block) == 8 and len({int(j) // 4 for j in block}) == 2
