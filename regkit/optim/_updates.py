"""Block updates: 1/L_b gradient, adaptive L, matrix (H_b), Newton + line search,
message passing on forests.

Every update minimises, over the block step ``d``, a model of
``F(x + U_b d) = f(x + U_b d) + h(x + U_b d)`` where ``f`` holds the datafit and the
``l2`` part of the penalty and ``h`` the ``l1`` / sign part, which enters through
its proximal map. All but Newton minimise an upper bound of ``F``, so they never
increase it; Newton backtracks until the Armijo condition holds.
"""

import numpy as np
import scipy.linalg

from regkit.optim import _kernels
from regkit.optim._penalties import prox_l1
from regkit.optim._selection import block_lipschitz

UPDATES = ("gradient", "adaptive", "matrix", "newton", "message-passing")
# Beyond this many block coordinates, least squares solves the block by compiled
# CD on the residual instead of forming the block Gram matrix.
_GRAM_LIMIT = 64


def _l1_part(x, l1):
    return float(np.sum(l1 * np.abs(x)))


def solve_block_qp(H, G, xb, l1, nonneg, tol=1e-12, max_epochs=2000):
    """Block step ``argmin_d G'd + d'Hd/2 + sum(l1 |x_b + d|)``, ``x_b + d >= 0`` where asked.

    Smooth problems are a Cholesky solve (least squares when ``H`` is singular),
    the others a compiled cyclic coordinate descent on the small QP started at
    ``d = 0``, so the model value never increases.

    Parameters
    ----------
    H : ndarray of shape (m * K, m * K)
        Positive semidefinite block matrix, coordinate-major then output.
    G : ndarray of shape (m, K)
        Block gradient of the smooth part.
    xb : ndarray of shape (m, K)
        Current block values.
    l1 : ndarray of shape (m, 1) or (m, K)
        L1 strengths.
    nonneg : ndarray of bool, shape (m, 1) or (m, K)
        Sign constraints.
    tol : float, default=1e-12
        Inner stopping tolerance on the coordinate changes.
    max_epochs : int, default=2000
        Most inner passes.

    Returns
    -------
    d : ndarray of shape (m, K)

    Examples
    --------
    >>> import numpy as np
    >>> from regkit.optim import solve_block_qp
    >>> H, G = np.array([[2.0, 0.0], [0.0, 1.0]]), np.array([[-4.0], [0.5]])
    >>> solve_block_qp(H, G, np.zeros((2, 1)), np.full((2, 1), 1.0), np.zeros((2, 1), bool))
    array([[1.5],
           [0. ]])
    """
    shape = G.shape
    if not np.any(l1) and not np.any(nonneg):
        try:
            c, low = scipy.linalg.cho_factor(H, check_finite=False)
            return -scipy.linalg.cho_solve((c, low), G.ravel()).reshape(shape)
        except np.linalg.LinAlgError:
            return -np.linalg.lstsq(H, G.ravel(), rcond=None)[0].reshape(shape)
    u = xb.ravel().copy()
    q = G.ravel() - H @ u
    l1f = np.ascontiguousarray(np.broadcast_to(l1, shape).ravel(), dtype=np.float64)
    nnf = np.ascontiguousarray(np.broadcast_to(nonneg, shape).ravel())
    _kernels.qp_cd(np.ascontiguousarray(H), q, u, l1f, nnf, max_epochs, tol)
    return u.reshape(shape) - xb


class Updater:
    """Computes and applies the step of one block (see the module docstring).

    Parameters
    ----------
    update : str
        One of :data:`UPDATES`.
    datafit, l1, l2, nonneg
        The problem (penalty arrays of shape ``(n_features, 1)``).
    diagonal : ndarray or None
        Per-coordinate curvature for a diagonally scaled gradient step (GSD).
    """

    def __init__(self, update, datafit, l1, l2, nonneg, diagonal=None):
        if update not in UPDATES:
            raise ValueError(f"update must be one of {UPDATES}, got {update!r}.")
        if update == "message-passing" and not hasattr(datafit, "solve_forest_block"):
            raise ValueError("update='message-passing' needs a graph objective (GraphQuadratic).")
        if update == "message-passing" and (np.any(l1) or np.any(nonneg)):
            raise ValueError("update='message-passing' needs a smooth penalty (none or L2).")
        self.update, self.datafit = update, datafit
        self.l1, self.l2, self.nonneg = l1, l2, nonneg
        self.diagonal = diagonal
        self._cache = {}
        self.adaptive_L = np.ones(datafit.n_features)

    def _smooth_delta(self, trial, f0, xb, d, t, l2b):
        """Change of the smooth part ``f`` (datafit + l2) along ``t d``."""
        return trial(t) - f0 + 0.5 * float(np.sum(l2b * ((xb + t * d) ** 2 - xb**2)))

    def step(self, state, x, idx, block_id, Gb, inner_tol):
        """Update ``x[idx]`` and ``state`` in place; return the step length used."""
        upd, datafit = self.update, self.datafit
        xb = x[idx]
        l1b, l2b, nnb = self.l1[idx], self.l2[idx], self.nonneg[idx]
        K = datafit.n_outputs
        if (
            upd in ("matrix", "newton")
            and len(idx) > _GRAM_LIMIT
            and hasattr(datafit, "solve_block_cd")
        ):
            # Least squares: the exact block minimiser, without forming the Gram matrix.
            datafit.solve_block_cd(state, x, idx, self.l1, self.l2, self.nonneg, 1000, inner_tol)
            return 1.0
        if upd == "gradient":
            if self.diagonal is not None:
                curv = self.diagonal[idx][:, None]
            else:
                key = ("L", block_id)
                if block_id is None or key not in self._cache:
                    self._cache[key] = block_lipschitz(datafit, idx, self.l2)
                curv = self._cache[key]
            d = prox_l1(xb - Gb / curv, l1b / curv, nnb) - xb
            return self._apply(state, x, idx, d, 1.0)
        if upd == "adaptive":
            L = float(self.adaptive_L[idx].max())
            f0 = datafit.value(state)
            for _ in range(60):
                d = prox_l1(xb - Gb / L, l1b / L, nnb) - xb
                trial = datafit.trial(state, idx, d)
                bound = float(np.sum(Gb * d)) + 0.5 * L * float(np.sum(d * d))
                if self._smooth_delta(trial, f0, xb, d, 1.0, l2b) <= bound + 1e-12 * abs(f0):
                    break
                L *= 2.0
            self.adaptive_L[idx] = L
            datafit.commit(state, trial, 1.0)
            x[idx] = xb + d
            return 1.0
        if upd == "message-passing":
            d = datafit.solve_forest_block(idx, l2b[:, 0], -Gb)
            return self._apply(state, x, idx, d, 1.0)
        # matrix / newton: a (proximal) Newton step on the block
        if upd == "matrix":
            key = ("H", block_id)
            if block_id is None or key not in self._cache:
                self._cache[key] = datafit.block_hessian_bound(idx) + np.diag(
                    np.repeat(l2b[:, 0], K)
                )
            H = self._cache[key]
        else:
            H = datafit.block_hessian(state, idx) + np.diag(np.repeat(l2b[:, 0], K))
        d = solve_block_qp(H, Gb, xb, l1b, nnb)
        if upd == "matrix" or datafit.quadratic:
            return self._apply(state, x, idx, d, 1.0)
        # Armijo backtracking on F along the (proximal) Newton direction.
        f0 = datafit.value(state)
        trial = datafit.trial(state, idx, d)
        h0 = _l1_part(xb, l1b)
        decrease = float(np.sum(Gb * d)) + _l1_part(xb + d, l1b) - h0
        t = 1.0
        for _ in range(40):
            change = self._smooth_delta(trial, f0, xb, d, t, l2b) + _l1_part(xb + t * d, l1b) - h0
            # The slack absorbs rounding once the decrease is at machine precision.
            if change <= 1e-4 * t * decrease + 1e-14 * abs(f0):
                break
            t *= 0.5
        else:
            t = 0.0
        datafit.commit(state, trial, t)
        x[idx] = xb + t * d
        return t

    def _apply(self, state, x, idx, d, t):
        trial = self.datafit.trial(state, idx, d)
        self.datafit.commit(state, trial, t)
        x[idx] = x[idx] + t * d
        return t
