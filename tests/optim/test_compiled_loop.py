"""The compiled default loop of least squares agrees with the generic Python loop."""

import numpy as np
import pytest
import scipy.sparse as sp

from regkit.optim import L1, MCP, BCDSolver, ElasticNet, LeastSquares, NonNegative, WeightedL1
from regkit.optim._augmented import WithFreeCoordinates


def _generic(**kw):
    # Any callback selects the generic loop (the compiled one takes none).
    return BCDSolver(callback=lambda x, record: False, **kw)


def _data(sparse, seed=0, n=120, p=300):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, p)) * rng.uniform(0.3, 3.0, p)
    if sparse:
        A[rng.uniform(size=A.shape) > 0.2] = 0.0
        A = sp.csc_array(A)
    b = A[:, :8] @ rng.standard_normal(8) + 0.3 * rng.standard_normal(n)
    return A, b


PENALTIES = {
    "l1": lambda p: L1(0.05),
    "elastic net": lambda p: ElasticNet(0.1, 0.5),
    "nonnegative": lambda p: NonNegative(0.05),
    "weighted, one free": lambda p: WeightedL1(0.05, np.r_[0.0, np.ones(p - 1)]),
}


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("name", sorted(PENALTIES))
@pytest.mark.parametrize("precompute", [False, True])
def test_compiled_equals_generic(sparse, name, precompute):
    A, b = _data(sparse)
    if precompute and not sparse:
        A = A[:, :50]  # n >= 2 p: the Gram path
    penalty = PENALTIES[name](A.shape[1])
    f = LeastSquares(A, b, precompute=precompute)
    fast = BCDSolver(tol=1e-12).solve(f, penalty)
    slow = _generic(tol=1e-12).solve(LeastSquares(A, b), penalty)
    assert fast.converged and slow.converged
    assert fast.history[-1]["seconds"] >= 0
    np.testing.assert_allclose(fast.x, slow.x, atol=1e-6)
    assert fast.criterion == slow.criterion == "gap" and fast.gap <= 1e-12 * f.value_at_zero()
    # Same working-set sizes, then the same support.
    assert fast.history[1]["block_size"] == slow.history[1]["block_size"]
    assert np.array_equal(fast.x != 0, slow.x != 0)


def test_compiled_handles_free_coordinates_and_nonconvex_penalties():
    A, b = _data(True, seed=1)
    A = sp.hstack([A, sp.csc_array(np.ones((A.shape[0], 1)))], format="csc")
    pen = WithFreeCoordinates(L1(0.05), 1)
    fast = BCDSolver(tol=1e-12).solve(LeastSquares(A, b + 5.0), pen)
    slow = _generic(tol=1e-12).solve(LeastSquares(A, b + 5.0), pen)
    np.testing.assert_allclose(fast.x, slow.x, atol=1e-6)
    mcp_fast = BCDSolver(tol=1e-10).solve(LeastSquares(A, b), MCP(0.05, gamma=3.0))
    mcp_slow = _generic(tol=1e-10).solve(LeastSquares(A, b), MCP(0.05, gamma=3.0))
    assert mcp_fast.criterion == "kkt" and mcp_fast.converged
    np.testing.assert_allclose(mcp_fast.x, mcp_slow.x, atol=1e-6)


def test_compiled_warm_start_and_budget():
    A, b = _data(False, seed=2)
    f = LeastSquares(A, b)
    first = BCDSolver(tol=1e-10).solve(f, L1(0.2))
    again = BCDSolver(tol=1e-10).solve(f, L1(0.1), x0=first.x, state=first.state)
    cold = BCDSolver(tol=1e-10).solve(LeastSquares(A, b), L1(0.1))
    np.testing.assert_allclose(again.x, cold.x, atol=1e-6)
    short = BCDSolver(tol=1e-14, max_iter=1).solve(LeastSquares(A, b), L1(0.01))
    assert short.n_iter == 1 and not short.converged and len(short.history) == 2
