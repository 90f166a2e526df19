"""Least-squares problems with a known solution, for testing coordinate-wise bounds."""

from numbers import Integral, Real

import numpy as np
import scipy.linalg
from sklearn.utils import check_random_state

__all__ = ["make_sketching_problem"]


def _orthonormal_columns(G):
    """Orthonormal basis of range(G) by Cholesky-QR twice (BLAS-3, exact to ~1e-15)."""
    for _ in range(2):
        R = scipy.linalg.cholesky(G.T @ G, lower=False, check_finite=False)
        G = scipy.linalg.solve_triangular(R, G.T, trans="T", check_finite=False).T
    return np.ascontiguousarray(G)


def make_sketching_problem(
    n_samples,
    n_features,
    *,
    coherent=False,
    spiky=False,
    condition_number=1.0,
    residual_norm=1.0,
    random_state=None,
):
    """A tall problem ``b = A x* + r`` with ``A^T r = 0``: ``x*`` is its exact solution.

    ``A = U diag(sigma) V^T`` with singular values from 1 down to
    ``1 / condition_number`` (so ``||A^+|| = condition_number``) and ``r``
    orthogonal to the range of A. These are the hard cases of the l-inf
    verification protocol: coherent rows (leverage close to 1, which sparse sketches
    and row sampling miss) and a spiky residual (concentrated on one row).

    Parameters
    ----------
    n_samples, n_features : int
        Shape of A (``n_samples > n_features >= 1``).
    coherent : bool, default=False
        Make ``n_features`` rows (at random positions) carry almost all the leverage.
    spiky : bool, default=False
        Residual ``r`` proportional to ``(I - U U^T) e_j`` for one incoherent row j
        instead of a Gaussian vector projected off the range of A.
    condition_number : float, default=1.0
        Ratio of the largest to the smallest singular value of A (finite, >= 1).
    residual_norm : float, default=1.0
        ``||r||_2`` (finite, >= 0).
    random_state : int, RandomState instance or None, default=None
        Seeds A, b and ``x*``.

    Returns
    -------
    A : ndarray of shape (n_samples, n_features)
    b : ndarray of shape (n_samples,)
    x_star : ndarray of shape (n_features,)
        The exact least-squares solution.

    Examples
    --------
    >>> import numpy as np
    >>> from regkit.sketching import make_sketching_problem
    >>> A, b, x_star = make_sketching_problem(500, 4, coherent=True, random_state=0)
    >>> np.allclose(np.linalg.lstsq(A, b, rcond=None)[0], x_star)
    True
    """
    for name, value in (("n_samples", n_samples), ("n_features", n_features)):
        if isinstance(value, bool) or not isinstance(value, Integral):
            raise ValueError(f"{name} must be an int, got {value!r}.")
    n, d = n_samples, n_features
    if not n > d >= 1:
        raise ValueError(f"need n_samples > n_features >= 1, got {n} and {d}.")
    for name, value, low in (
        ("condition_number", condition_number, 1),
        ("residual_norm", residual_norm, 0),
    ):
        if isinstance(value, bool) or not isinstance(value, Real) or not low <= value < np.inf:
            raise ValueError(f"{name} must be a finite number >= {low}, got {value!r}.")
    rng = check_random_state(random_state)
    G = rng.standard_normal((n, d))
    order = rng.permutation(n)
    if coherent:
        # A scaled identity on top of noise: after orthonormalisation those d rows
        # hold leverage ~1 each and every other row almost none.
        G[order[:d]] = 1e3 * np.sqrt(n) * np.eye(d)
    U = _orthonormal_columns(G)
    if spiky:
        j = order[d]  # an incoherent row
        g = -U @ U[j]
        g[j] += 1.0
    else:
        g = rng.standard_normal(n)
        g -= U @ (U.T @ g)
    g -= U @ (U.T @ g)  # second projection: orthogonal to working precision
    r = residual_norm * g / np.linalg.norm(g)
    sigma = np.geomspace(1.0, 1.0 / condition_number, d)
    V = scipy.linalg.qr(rng.standard_normal((d, d)))[0]
    x_star = rng.standard_normal(d)
    A = U * sigma @ V.T
    b = U @ (sigma * (V.T @ x_star)) + r
    return A, b, x_star
