"""Regularisation paths: warm-started BCD solves along a decreasing grid of strengths."""

import numpy as np
from sklearn.utils import check_array, check_consistent_length

from regkit.linear_model._base import make_penalty
from regkit.linear_model._problems import least_squares_problem
from regkit.optim import BCDSolver


def alpha_grid(problem, eps=1e-3, n_alphas=100):
    """scikit-learn's geometric grid from ``alpha_max`` (0 optimal) down to ``eps * alpha_max``.

    Parameters
    ----------
    problem : LinearProblem
        The problem (its penalty gives ``alpha_max`` through ``critical_alpha``).
    eps : float, default=1e-3
        ``alpha_min / alpha_max``.
    n_alphas : int, default=100
        Grid size.

    Returns
    -------
    alphas : ndarray of shape (n_alphas,)
        Decreasing.
    """
    alpha_max = problem.critical_alpha()
    if not np.isfinite(alpha_max):
        raise ValueError(
            "an automatic alpha grid needs a penalty with a non-smooth part (e.g. "
            "l1_ratio > 0); pass the alphas instead."
        )
    # scikit-learn clamps alpha_max <= 1e-15 to a constant grid; regkit only the
    # null case, since alpha_max scales with X and y (1e-300 data has alpha_max ~ 1e-300).
    if not alpha_max > 0:
        return np.full(n_alphas, np.finfo(np.float64).resolution)
    return np.geomspace(alpha_max, alpha_max * eps, num=n_alphas)


def path_points(problem, alphas, solver, W0=None):
    """Solve ``problem`` at each alpha, warm-starting from the previous solution.

    Parameters
    ----------
    problem : LinearProblem
        The problem.
    alphas : ndarray of shape (n_alphas,)
        Strengths, in the order solved (decreasing is fastest).
    solver : BCDSolver
        The solver.
    W0 : ndarray or None, default=None
        Start of the first solve (the all-penalised-zero point by default).

    Yields
    ------
    W : ndarray of shape (n_coordinates, n_outputs)
        Solution at that alpha (a fresh array).
    gap : float
        Its duality gap on the original objective's scale (NaN if none).
    n_iter : int
        Block updates done.
    """
    W = problem.zero_start() if W0 is None else np.asarray(W0, dtype=np.float64)
    state = None
    for alpha in alphas:
        penalty = problem.penalty(alpha)
        if penalty is None:  # the penalty dominates beyond float range
            W, state = problem.zero_start(), None
            yield W.copy(), 0.0, 1
            continue
        result = solver.solve(problem.datafit, penalty, x0=W, state=state)
        W, state = result.x, result.state
        yield W.copy(), problem.original_gap(result.gap), max(1, result.n_iter)


def bcd_path(
    X,
    y,
    *,
    penalty="elasticnet",
    l1_ratio=0.5,
    eps=1e-3,
    n_alphas=100,
    alphas=None,
    positive=False,
    coef_init=None,
    return_n_iter=False,
    tol=1e-4,
    max_iter=1000,
    **params,
):
    """Regularisation path of penalised least squares by greedy block coordinate descent.

    Follows :func:`sklearn.linear_model.enet_path`: the objective is
    ``||y - X w||^2 / (2 n) + penalty(w)`` (no intercept: centre the data first),
    solved along a decreasing grid of strengths, each solve warm-started from the
    previous solution (and its residual), so that the working sets follow the
    growing support.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        Training data.
    y : array-like of shape (n_samples,) or (n_samples, n_targets)
        Targets.
    penalty : {"elasticnet", "l1", "l2", "mcp", "scad"} or BasePenalty, \
default="elasticnet"
        The penalty family; its strength runs over ``alphas`` (a penalty object
        through :meth:`~regkit.optim.BasePenalty.with_alpha`).
    l1_ratio : float, default=0.5
        Share of the L1 part (``"elasticnet"``).
    eps : float, default=1e-3
        ``alpha_min / alpha_max`` of the automatic grid.
    n_alphas : int, default=100
        Size of the automatic grid.
    alphas : array-like or None, default=None
        The strengths; solved in decreasing order. None: the automatic grid from
        ``alpha_max``, the smallest strength with a zero solution.
    positive : bool, default=False
        Non-negative coefficients (named convex penalties).
    coef_init : ndarray of shape (n_features,) or (n_targets, n_features) or None, \
default=None
        Start of the first solve.
    return_n_iter : bool, default=False
        Also return the block updates done per alpha.
    tol : float, default=1e-4
        Stopping tolerance of each solve (relative duality gap, see
        :class:`~regkit.optim.BCDSolver`).
    max_iter : int, default=1000
        Block updates per solve.
    **params
        Other :class:`~regkit.optim.BCDSolver` options (``selection``,
        ``block_size``, ``update``...).

    Returns
    -------
    alphas : ndarray of shape (n_alphas,)
        The strengths, decreasing.
    coefs : ndarray of shape (n_features, n_alphas) or (n_targets, n_features, n_alphas)
        The solutions.
    dual_gaps : ndarray of shape (n_alphas,)
        Duality gap of each solution on the objective's scale (NaN for
        non-convex penalties).
    n_iters : ndarray of shape (n_alphas,)
        Block updates per alpha (with ``return_n_iter=True``).

    See Also
    --------
    sklearn.linear_model.enet_path : The same path by cyclic coordinate descent.
    BCDRegressorCV : Chooses ``alpha`` along the path by cross-validation.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from regkit.linear_model import bcd_path
    >>> X, y = make_regression(n_samples=50, n_features=8, n_informative=3, random_state=0)
    >>> alphas, coefs, gaps = bcd_path(X, y, l1_ratio=1.0, n_alphas=5)
    >>> coefs.shape, [int((coefs[:, k] != 0).sum()) for k in range(5)]
    ((8, 5), [0, 3, 3, 3, 3])
    """
    X = check_array(X, accept_sparse="csc", dtype=np.float64)
    y = check_array(y, ensure_2d=False, dtype=np.float64)
    check_consistent_length(X, y)
    Y = y.reshape(len(y), -1)
    template = make_penalty(penalty, 1.0, l1_ratio, positive)
    problem = least_squares_problem(X, Y, None, False, template, many_solves=True)
    if alphas is None:
        alphas = alpha_grid(problem, eps, n_alphas)
    else:
        alphas = np.sort(np.asarray(alphas, dtype=np.float64).ravel())[::-1]
    W0 = None
    if coef_init is not None:
        W0 = np.asarray(coef_init, dtype=np.float64).reshape(Y.shape[1], -1).T
        W0 = W0 * (problem.x_scale / problem.y_scale)
    solver = BCDSolver(tol=tol, max_iter=max_iter, **params)
    points = list(path_points(problem, alphas, solver, W0))
    coefs = np.stack([problem.coef_intercept(W)[0] for W, _, _ in points], axis=-1)
    gaps = np.array([gap for _, gap, _ in points])
    coefs = coefs[0] if y.ndim == 1 else coefs
    if return_n_iter:
        return alphas, coefs, gaps, np.array([it for _, _, it in points])
    return alphas, coefs, gaps
