"""Hypothesis properties of the BCD engine on random small problems."""

import numpy as np
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import Lasso

from regkit.optim import (
    SELECTIONS,
    BCDSolver,
    ElasticNet,
    GraphQuadratic,
    LeastSquares,
    greedy_forest,
    is_forest,
)

SETTINGS = settings(max_examples=12, deadline=None)


@SETTINGS
@given(
    seed=st.integers(0, 2**16),
    n=st.integers(5, 30),
    p=st.integers(1, 15),
    alpha_frac=st.floats(0.01, 1.2),
    selection=st.sampled_from(SELECTIONS),
    blocks=st.sampled_from(["fixed", "variable"]),
    block_size=st.integers(1, 5),
)
def test_lasso_optimum_any_rule(seed, n, p, alpha_frac, selection, blocks, block_size):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, p))
    b = rng.standard_normal(n)
    alpha = alpha_frac * np.max(np.abs(A.T @ b)) / n  # above alpha_max: x* = 0
    res = BCDSolver(
        selection=selection, blocks=blocks, block_size=block_size, update="matrix",
        tol=1e-12, max_iter=50_000, random_state=seed,
    ).solve(LeastSquares(A, b), ElasticNet(alpha, l1_ratio=1.0))  # fmt: skip
    ref = Lasso(alpha=alpha, fit_intercept=False, tol=1e-14, max_iter=10**6).fit(A, b).coef_
    np.testing.assert_allclose(res.x[:, 0], ref, atol=1e-6)
    if alpha_frac > 1.0:
        assert not np.any(res.x)
    elif alpha_frac == 1.0:  # alpha_max itself: 0 up to the rounding of A'b / n
        assert np.max(np.abs(res.x)) <= 1e-14
    objective = [r["objective"] for r in res.history]
    assert objective[-1] <= objective[0] + 1e-12


@SETTINGS
@given(seed=st.integers(0, 2**16), n=st.integers(2, 40), density=st.floats(0.05, 0.5))
def test_forest_blocks_solve_exactly(seed, n, density):
    rng = np.random.default_rng(seed)
    W = sp.random(n, n, density=density, random_state=rng)
    W = ((W + W.T) > 0).astype(float)
    W.setdiag(0)
    W = sp.csr_array(W)
    W.eliminate_zeros()
    Q = sp.csr_array(sp.diags_array(np.asarray(W.sum(axis=1)).ravel() + 0.5) - W)
    nodes = greedy_forest(Q, rng.permutation(n))
    assert is_forest(Q, nodes)
    f = GraphQuadratic(Q, rng.standard_normal(n))
    rhs = rng.standard_normal((len(nodes), 1))
    dense = np.linalg.solve(Q[nodes][:, nodes].toarray(), rhs)
    np.testing.assert_allclose(f.solve_forest_block(nodes, np.zeros(len(nodes)), rhs), dense,
                               atol=1e-9)  # fmt: skip
    res = BCDSolver(
        selection="gsl", blocks="forest", update="message-passing", tol=1e-12, max_iter=10**5
    ).solve(f)
    np.testing.assert_allclose(res.x[:, 0], np.linalg.solve(Q.toarray(), f.c[:, 0]), atol=1e-8)
