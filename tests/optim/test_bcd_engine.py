"""The BCD engine reaches independently computed optima for every rule and update."""

import itertools

import numpy as np
import pytest
import scipy.optimize
import scipy.sparse as sp
from sklearn.linear_model import ElasticNet as SkElasticNet
from sklearn.linear_model import Lasso

from regkit.optim import (
    L1,
    L2,
    SELECTIONS,
    BCDSolver,
    ElasticNet,
    GraphQuadratic,
    LeastSquares,
    Logistic,
    MultinomialLogistic,
    NonNegative,
    NoPenalty,
    greedy_forest,
    is_forest,
    make_partition,
)

GENERIC_UPDATES = ("gradient", "adaptive", "matrix", "newton")


def _problem(n=40, p=12, seed=0):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, p)) * rng.uniform(0.5, 3.0, p)
    b = A[:, :3] @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.standard_normal(n)
    return A, b


def _solve(datafit, penalty, **kw):
    params = {"tol": 1e-13, "max_iter": 20000, "random_state": 0, "block_size": 3, **kw}
    return BCDSolver(**params).solve(datafit, penalty)


@pytest.fixture(scope="module")
def lasso_problem():
    A, b = _problem()
    alpha = 0.05
    ref = Lasso(alpha=alpha, fit_intercept=False, tol=1e-14, max_iter=100_000).fit(A, b).coef_
    return A, b, alpha, ref


@pytest.mark.parametrize(
    "selection, blocks, update",
    list(itertools.product(SELECTIONS, ("fixed", "variable"), GENERIC_UPDATES)),
)
def test_every_rule_and_update_reaches_lasso_optimum(lasso_problem, selection, blocks, update):
    A, b, alpha, ref = lasso_problem
    res = _solve(LeastSquares(A, b), L1(alpha), selection=selection, blocks=blocks, update=update)
    assert res.converged
    np.testing.assert_allclose(res.x[:, 0], ref, atol=1e-6)


@pytest.mark.parametrize("selection", ["cyclic", "gsl", "gsq", "gs-q"])
@pytest.mark.parametrize("update", GENERIC_UPDATES)
def test_ridge_matches_closed_form(selection, update):
    A, b = _problem(seed=1)
    n, p = A.shape
    ref = np.linalg.solve(A.T @ A / n + 0.3 * np.eye(p), A.T @ b / n)
    res = _solve(LeastSquares(A, b), L2(0.3), selection=selection, update=update)
    np.testing.assert_allclose(res.x[:, 0], ref, atol=1e-6)
    assert res.criterion == "gap"


def test_elastic_net_matches_sklearn():
    A, b = _problem(seed=2)
    ref = SkElasticNet(alpha=0.1, l1_ratio=0.3, fit_intercept=False, tol=1e-14, max_iter=10**5)
    ref = ref.fit(A, b).coef_
    res = _solve(LeastSquares(A, b), ElasticNet(0.1, l1_ratio=0.3), selection="gs-q")
    np.testing.assert_allclose(res.x[:, 0], ref, atol=1e-6)


@pytest.mark.parametrize("update", GENERIC_UPDATES)
def test_nonnegative_l1_matches_bounded_lbfgs(update):
    A, b = _problem(seed=3)
    n = A.shape[0]
    lam = 0.05

    def fun(x):
        r = A @ x - b
        return r @ r / (2 * n) + lam * x.sum(), A.T @ r / n + lam

    ref = scipy.optimize.minimize(
        fun, np.zeros(A.shape[1]), jac=True, method="L-BFGS-B",
        bounds=[(0, None)] * A.shape[1], options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 10**4},
    ).x  # fmt: skip
    res = _solve(LeastSquares(A, b), NonNegative(lam), selection="gs-q", update=update)
    assert np.all(res.x >= 0)
    np.testing.assert_allclose(res.x[:, 0], ref, atol=1e-6)


def _logistic_reference(A, y, l1, l2):
    """L-BFGS-B on the split ``x = u - v`` (u, v >= 0): an independent solver."""
    p = A.shape[1]

    def fun(uv):
        x = uv[:p] - uv[p:]
        z = A @ x
        loss = np.mean(np.logaddexp(0, -y * z))
        g = A.T @ (-y / (1 + np.exp(y * z))) / len(y) + l2 * x
        val = loss + l1 * uv.sum() + 0.5 * l2 * x @ x
        return val, np.concatenate([g + l1, -g + l1])

    opts = {"ftol": 1e-15, "gtol": 1e-12, "maxiter": 10**5}
    out = scipy.optimize.minimize(
        fun, np.zeros(2 * p), jac=True, method="L-BFGS-B", bounds=[(0, None)] * 2 * p, options=opts
    )
    return out.x[:p] - out.x[p:]


@pytest.mark.parametrize("update", GENERIC_UPDATES)
@pytest.mark.parametrize("l1, l2", [(0.0, 0.1), (0.02, 0.0)])
def test_logistic_matches_scipy(update, l1, l2):
    A, b = _problem(n=80, p=8, seed=4)
    y = np.where(b + 0.5 * np.random.default_rng(0).standard_normal(len(b)) > 0, 1.0, -1.0)
    ref = _logistic_reference(A, y, l1, l2)
    pen = L2(l2) if l1 == 0 else L1(l1)
    res = _solve(Logistic(A, y), pen, selection="gs-q", update=update, tol=1e-11)
    assert res.criterion == "gap"
    np.testing.assert_allclose(res.x[:, 0], ref, atol=1e-5)


@pytest.mark.parametrize("update", GENERIC_UPDATES)
def test_multinomial_matches_scipy(update):
    rng = np.random.default_rng(5)
    A = rng.standard_normal((90, 5))
    y = np.argmax(A[:, :3] + 0.5 * rng.standard_normal((90, 3)), axis=1)
    K, lam = 3, 0.05
    Y = np.eye(K)[y]

    def fun(w):
        W = w.reshape(5, K)
        Z = A @ W
        lse = scipy.special.logsumexp(Z, axis=1)
        P = np.exp(Z - lse[:, None])
        val = np.mean(lse - np.sum(Z * Y, axis=1)) + 0.5 * lam * np.sum(W * W)
        return val, (A.T @ (P - Y) / len(y) + lam * W).ravel()

    ref = scipy.optimize.minimize(
        fun, np.zeros(5 * K), jac=True, method="L-BFGS-B", options={"ftol": 1e-15, "gtol": 1e-12}
    ).x.reshape(5, K)
    res = _solve(MultinomialLogistic(A, y, K), L2(lam), selection="gsl", update=update, tol=1e-10)
    np.testing.assert_allclose(res.x, ref, atol=1e-5)


def _chain_graph(n=30, seed=0):
    """A path plus a few chords (so not a tree), as a Laplacian + small ridge."""
    rng = np.random.default_rng(seed)
    rows = np.r_[np.arange(n - 1), rng.integers(0, n, 8)]
    cols = np.r_[np.arange(1, n), rng.integers(0, n, 8)]
    keep = rows != cols
    W = sp.coo_array((np.ones(keep.sum()), (rows[keep], cols[keep])), shape=(n, n)).tocsr()
    W = ((W + W.T) > 0).astype(float)
    L = sp.diags_array(np.asarray(W.sum(axis=1)).ravel()) - W
    Q = sp.csr_array(L + 0.1 * sp.eye_array(n))
    return Q, rng.standard_normal((n, 2))


def test_message_passing_equals_dense_block_solve():
    Q, c = _chain_graph()
    f = GraphQuadratic(Q, c)
    order = np.random.default_rng(1).permutation(Q.shape[0])
    nodes = greedy_forest(Q, order)
    assert is_forest(Q, nodes)
    assert len(nodes) > Q.shape[0] // 2
    rhs = np.random.default_rng(2).standard_normal((len(nodes), 2))
    shift = np.full(len(nodes), 0.25)
    dense = np.linalg.solve(Q[nodes][:, nodes].toarray() + 0.25 * np.eye(len(nodes)), rhs)
    np.testing.assert_allclose(f.solve_forest_block(nodes, shift, rhs), dense, atol=1e-10)


def test_greedy_forest_is_maximal():
    Q, _ = _chain_graph(seed=3)
    nodes = greedy_forest(Q, np.arange(Q.shape[0]))
    outside = np.setdiff1d(np.arange(Q.shape[0]), nodes)
    for v in outside:  # adding any other node would close a cycle
        assert not is_forest(Q, np.sort(np.r_[nodes, v]))


@pytest.mark.parametrize(
    "blocks, partition, selection",
    [
        ("forest", "sort", "gsl"),
        ("forest", "sort", "gs"),
        ("forest", "sort", "random"),
        ("fixed", "forest", "cyclic"),
        ("fixed", "red-black", "gsl"),
    ],
)
def test_message_passing_solves_graph_quadratic(blocks, partition, selection):
    Q, c = _chain_graph()
    ref = np.linalg.solve(Q.toarray(), c)
    res = BCDSolver(
        selection=selection, blocks=blocks, partition=partition, update="message-passing",
        tol=1e-12, max_iter=5000, random_state=0,
    ).solve(GraphQuadratic(Q, c))  # fmt: skip
    assert res.criterion == "kkt" and res.converged
    np.testing.assert_allclose(res.x, ref, atol=1e-8)


def test_red_black_blocks_are_independent_sets():
    Q, _ = _chain_graph()
    blocks = make_partition(Q.shape[0], 1, kind="red-black", graph=Q)
    assert sorted(np.concatenate(blocks).tolist()) == list(range(Q.shape[0]))
    for blk in blocks:
        sub = Q[blk][:, blk].toarray()
        assert np.count_nonzero(sub - np.diag(np.diag(sub))) == 0


def test_partitions_cover_every_coordinate():
    L = np.random.default_rng(0).uniform(size=23)
    for kind in ("order", "sort", "avg"):
        blocks = make_partition(23, 5, kind=kind, lipschitz=L)
        assert sorted(np.concatenate(blocks).tolist()) == list(range(23))
    sort = make_partition(23, 5, kind="sort", lipschitz=L)
    assert set(sort[0]) == set(np.argsort(-L)[:5])


def test_progress_gsq_ge_gsl_ge_gs():
    # One iteration from the same point with the same fixed blocks and the matrix
    # update: each rule picks the block with the largest guaranteed decrease of its
    # own bound, and the exact matrix step realises GSQ's bound, so the decreases order.
    rng = np.random.default_rng(7)
    n, p = 60, 12
    A = rng.standard_normal((n, p)) * np.repeat([1.0, 6.0, 0.3, 2.0], 3)
    A[:, 3:6] += A[:, [3]]  # strongly correlated block: ||g|| large, decrease small
    b = rng.standard_normal(n)
    blocks = [np.arange(i, i + 3) for i in range(0, p, 3)]
    f0 = LeastSquares(A, b).value_at_zero()
    decrease = {}
    for rule in ("gs", "gsl", "gsq"):
        res = BCDSolver(
            selection=rule, blocks="fixed", partition=blocks, update="matrix", max_iter=1
        ).solve(LeastSquares(A, b), NoPenalty())
        decrease[rule] = f0 - res.history[-1]["objective"]
    assert decrease["gsq"] >= decrease["gsl"] >= decrease["gs"]
    assert decrease["gsq"] > decrease["gs"]


def test_l1_support_identified():
    rng = np.random.default_rng(8)
    A = rng.standard_normal((100, 50))
    x_true = np.zeros(50)
    x_true[[3, 17, 30]] = [2.0, -1.5, 1.0]
    b = A @ x_true + 0.01 * rng.standard_normal(100)
    res = BCDSolver(selection="gs-q", block_size=5, update="gradient", tol=1e-12).solve(
        LeastSquares(A, b), L1(0.05)
    )
    assert res.converged
    assert np.flatnonzero(res.x[:, 0]).tolist() == [3, 17, 30]
    # Found in finitely many iterations, well before the end, and never lost again.
    assert res.support_identified_at < res.n_iter // 2
    sizes = [r["support_size"] for r in res.history[res.support_identified_at :]]
    assert set(sizes) == {3}


@pytest.mark.parametrize("update", ["gradient", "adaptive", "matrix", "newton"])
@pytest.mark.parametrize("selection", ["cyclic", "random", "gsl", "gs-q"])
def test_objective_monotone(selection, update):
    A, b = _problem(seed=9)
    y = np.where(b > 0, 1.0, -1.0)
    for datafit, pen in [(LeastSquares(A, b), L1(0.05)), (Logistic(A, y), ElasticNet(0.02))]:
        res = BCDSolver(
            selection=selection, block_size=4, update=update, max_iter=60, tol=0, random_state=0
        ).solve(datafit, pen)
        obj = np.array([r["objective"] for r in res.history])
        assert np.all(np.diff(obj) <= 1e-12 * np.abs(obj[:-1]) + 1e-15)


@pytest.mark.parametrize("selection, update", [("gs-q", "newton"), ("cyclic", "gradient")])
def test_dense_and_sparse_agree(selection, update):
    rng = np.random.default_rng(10)
    A = sp.random(80, 40, density=0.2, random_state=rng, format="csc")
    b = A @ rng.standard_normal(40) + 0.1 * rng.standard_normal(80)
    kw = {
        "selection": selection,
        "update": update,
        "block_size": 5,
        "tol": 1e-12,
        "max_iter": 20000,
    }
    dense = BCDSolver(**kw, random_state=0).solve(LeastSquares(A.toarray(), b), L1(0.01))
    sparse = BCDSolver(**kw, random_state=0).solve(LeastSquares(A, b), L1(0.01))
    np.testing.assert_allclose(dense.x, sparse.x, atol=1e-9)


def test_working_set_with_large_blocks_uses_compiled_cd():
    rng = np.random.default_rng(11)
    A = rng.standard_normal((120, 300))
    b = A[:, :80] @ rng.standard_normal(80)
    ref = Lasso(alpha=0.01, fit_intercept=False, tol=1e-14, max_iter=10**5).fit(A, b).coef_
    for design in (A, sp.csc_array(A)):
        res = BCDSolver(tol=1e-12).solve(LeastSquares(design, b), L1(0.01))
        assert res.converged
        np.testing.assert_allclose(res.x[:, 0], ref, atol=1e-6)


def test_multi_output_least_squares_is_columnwise():
    A, b = _problem(seed=12)
    B = np.column_stack([b, -2 * b + 1])
    res = _solve(LeastSquares(A, B), L1(0.05), selection="gs-q", update="newton")
    for k in range(2):
        ref = Lasso(alpha=0.05, fit_intercept=False, tol=1e-14, max_iter=10**5).fit(A, B[:, k])
        np.testing.assert_allclose(res.x[:, k], ref.coef_, atol=1e-6)


def test_sample_weight_equals_repetition():
    A, b = _problem(seed=13)
    w = np.random.default_rng(0).integers(1, 4, len(b))
    rep = np.repeat(np.arange(len(b)), w)
    kw = {"selection": "gs-q", "update": "newton", "tol": 1e-13}
    weighted = BCDSolver(**kw).solve(LeastSquares(A, b, sample_weight=w), L1(0.05))
    repeated = BCDSolver(**kw).solve(LeastSquares(A[rep], b[rep]), L1(0.05))
    np.testing.assert_allclose(weighted.x, repeated.x, atol=1e-8)


def test_budgets_history_and_callback():
    A, b = _problem(seed=14)
    seen = []

    def callback(x, record):
        seen.append(record["iteration"])
        return record["iteration"] >= 5

    res = BCDSolver(selection="cyclic", block_size=1, tol=0, callback=callback).solve(
        LeastSquares(A, b), L1(0.01)
    )
    assert res.n_iter == 5 and seen == [1, 2, 3, 4, 5] and not res.converged
    assert [r["iteration"] for r in res.history] == list(range(6))
    assert {"objective", "gap", "kkt", "seconds", "block", "support_size"} <= set(res.history[0])
    res = BCDSolver(selection="cyclic", block_size=1, tol=0, max_iter=10**6, max_time=0.05).solve(
        LeastSquares(A, b), L1(0.01)
    )
    assert res.history[-1]["seconds"] < 5.0 and res.n_iter < 10**6


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"selection": "best"}, "selection"),
        ({"blocks": "random"}, "blocks"),
        ({"update": "exact"}, "update"),
        ({"blocks": "forest"}, "graph"),
        ({"update": "message-passing"}, "graph"),
    ],
)
def test_bad_options_raise(kwargs, match):
    A, b = _problem()
    with pytest.raises(ValueError, match=match):
        BCDSolver(**kwargs).solve(LeastSquares(A, b), L1(0.1))


@pytest.mark.parametrize("sparse", [False, True])
def test_screened_gradient_is_exact_where_it_matters(sparse):
    rng = np.random.default_rng(15)
    A = rng.standard_normal((60, 40))
    b = A[:, :3] @ np.array([1.0, -2.0, 0.5]) + 0.01 * rng.standard_normal(60)
    f = LeastSquares(sp.csc_array(A) if sparse else A, b)
    lam = 0.5 * np.max(np.abs(A.T @ b)) / 60
    x = np.zeros((40, 1))
    state = f.init_state(x)
    first = f.screened_gradient(state, x, np.arange(3), np.full(40, lam))
    np.testing.assert_allclose(first, f.gradient(state))  # no reference yet: full
    x[:3, 0] = [0.9, -1.9, 0.4]
    state = f.init_state(x)
    true = f.gradient(state)
    stale = true + 1e-9  # the gradient at a nearby reference point
    state.screen_ref = (state.z.copy() + 1e-6, stale)
    grad = f.screened_gradient(state, x, np.arange(5), np.full(40, 10 * lam))
    np.testing.assert_allclose(grad[:5], true[:5], rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(grad[5:], stale[5:])  # certified: not recomputed
    assert np.all(np.abs(true[5:]) < 10 * lam)
    # A threshold the bound cannot certify falls back to the full gradient.
    np.testing.assert_allclose(f.screened_gradient(state, x, np.arange(5), np.zeros(40)), true)


def test_sparse_gradient_at_zero_and_lipschitz_match_dense():
    rng = np.random.default_rng(16)
    A = sp.random(50, 30, density=0.2, format="csc", random_state=rng)
    b = rng.standard_normal(50)
    w = rng.uniform(0.5, 2.0, 50)
    for weights in (None, w):
        sparse, dense = LeastSquares(A, b, weights), LeastSquares(A.toarray(), b, weights)
        ref = dense.gradient(dense.init_state(np.zeros((30, 1))))
        np.testing.assert_allclose(sparse.gradient_at_zero(), ref, atol=1e-14)
        np.testing.assert_allclose(sparse.lipschitz, dense.lipschitz, rtol=1e-12)
        np.testing.assert_allclose(dense.gradient_at_zero(), ref, atol=1e-14)
