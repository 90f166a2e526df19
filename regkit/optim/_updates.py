"""Block updates: 1/L_b gradient, adaptive L, matrix (H_b), Newton + line search,
message passing on forests.

Every update minimises, over the block step ``d``, a model of
``F(x + U_b d) = f(x + U_b d) + h(x + U_b d)`` where ``f`` holds the datafit and the
quadratic part of the penalty and ``g`` (the rest of ``h``) enters through its
proximal map. All but Newton minimise an upper bound of ``F``, so they never
increase it; Newton backtracks until the Armijo condition holds.
"""

from dataclasses import dataclass

import numpy as np
import scipy.linalg

from regkit.optim import _kernels

# Beyond this many block coordinates, a datafit with an exact residual-based block
# solver (least squares) uses it instead of forming the block Gram matrix.
_GRAM_LIMIT = 64


# An exact block solve stops at this fraction of the last measured duality gap.
INNER_GAP = 1e-2


@dataclass
class InnerTolerance:
    """When an exact block solver (least squares' compiled CD) may stop.

    Parameters
    ----------
    change : float
        Largest coordinate change (times its curvature) of a final epoch.
    gap : float, default=0.0
        Duality gap of the block subproblem (convex penalties; 0 disables).
    """

    change: float
    gap: float = 0.0


def _smooth_qp(H, G):
    try:
        c, low = scipy.linalg.cho_factor(H, check_finite=False)
        return -scipy.linalg.cho_solve((c, low), G.ravel())
    except np.linalg.LinAlgError:
        return -np.linalg.lstsq(H, G.ravel(), rcond=None)[0]


def _group_qp(H, G, u, penalty, idx, K, max_epochs, tol):
    """Block CD over the groups of the block on the flattened QP (in place on ``u``)."""
    members, starts, levels = penalty.group_kernel()
    n_features = penalty.quadratic.shape[0]
    group_of = np.empty(n_features, dtype=np.int64)
    group_of[members] = np.repeat(np.arange(len(starts) - 1), np.diff(starts))
    position = np.full(n_features, -1, dtype=np.int64)
    position[idx] = np.arange(len(idx))
    local, local_starts, local_levels, glips = [], [0], [], []
    for g in np.unique(group_of[idx]):
        rows = position[members[starts[g] : starts[g + 1]]]
        flat = (rows[:, None] * K + np.arange(K)).ravel()
        local.append(flat)
        local_starts.append(local_starts[-1] + len(flat))
        local_levels.append(levels[g])
        glips.append(np.linalg.eigvalsh(H[np.ix_(flat, flat)])[-1])
    q = G.ravel() - H @ u
    _kernels.qp_group_cd(np.ascontiguousarray(H), q, u, np.concatenate(local).astype(np.int64),
                         np.array(local_starts, dtype=np.int64), np.array(local_levels),
                         np.array(glips), max_epochs, tol)  # fmt: skip


def solve_block_qp(H, G, xb, penalty, idx, tol=1e-12, max_epochs=2000):
    """Block step ``argmin_d G'd + d'Hd/2 + g(x_b + d)``, ``g`` a bound penalty's non-smooth part.

    A smooth block is a Cholesky solve (least squares when ``H`` is singular);
    otherwise a compiled cyclic coordinate descent (block CD over groups for a
    group penalty) on the small QP, started at ``d = 0`` so the model value never
    increases.

    Parameters
    ----------
    H : ndarray of shape (m * K, m * K)
        Positive semidefinite block matrix, coordinate-major then output.
    G : ndarray of shape (m, K)
        Block gradient of the smooth part.
    xb : ndarray of shape (m, K)
        Current block values.
    penalty : BasePenalty
        The bound penalty.
    idx : ndarray of int
        The block's coordinates (whole groups for a group penalty).
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
    >>> from regkit.optim import L1, solve_block_qp
    >>> H, G = np.array([[2.0, 0.0], [0.0, 1.0]]), np.array([[-4.0], [0.5]])
    >>> solve_block_qp(H, G, np.zeros((2, 1)), L1(1.0).bind(2), np.arange(2))
    array([[1.5],
           [0. ]])
    """
    shape = G.shape
    K = shape[1]
    if penalty.is_separable:
        kind, a, b, nonneg = penalty.coordinate_kernel()
        if not (np.any(a[idx]) or np.any(nonneg[idx])):
            return _smooth_qp(H, G).reshape(shape)
        u = xb.ravel().copy()
        q = G.ravel() - H @ u
        a, b, nonneg = (np.ascontiguousarray(np.repeat(v[idx], K)) for v in (a, b, nonneg))
        _kernels.qp_cd(np.ascontiguousarray(H), q, u, kind, a, b, nonneg, max_epochs, tol)
        return u.reshape(shape) - xb
    u = xb.ravel().copy()
    _group_qp(H, G, u, penalty, idx, K, max_epochs, tol)
    return u.reshape(shape) - xb


class BlockUpdate:
    """A block update: the interface of the updates below.

    Parameters
    ----------
    problem : Problem
        The problem being solved.
    """

    def __init__(self, problem):
        self.problem = problem
        self._cache = {}

    def step(self, state, x, block, Gb, inner_tol):
        """Update ``x[block.idx]`` and ``state`` in place; return the step length used."""
        raise NotImplementedError

    def _prox_step(self, x, idx, Gb, curv):
        """The proximal gradient step ``d`` on the block with per-coordinate curvature."""
        xb = x[idx]
        curv = np.broadcast_to(curv, (len(idx),))
        return self.problem.penalty.prox(xb - Gb / curv[:, None], 1.0 / curv, idx) - xb

    def _apply(self, state, x, idx, d, t=1.0):
        datafit = self.problem.datafit
        datafit.commit(state, datafit.trial(state, idx, d), t)
        x[idx] = x[idx] + t * d
        return t

    def _block_lipschitz(self, block):
        # Fixed blocks by id; a variable block by its coordinates (working sets repeat).
        key = block.block_id if block.block_id is not None else block.idx.tobytes()
        if key not in self._cache:
            if block.block_id is None:
                self._cache = {k: v for k, v in self._cache.items() if not isinstance(k, bytes)}
            self._cache[key] = self.problem.block_lipschitz(block.idx)
        return self._cache[key]

    def _smooth_change(self, trial, f0, xb, d, t, qb):
        """Change of the smooth part (datafit + quadratic part) along ``t d``."""
        return trial(t) - f0 + 0.5 * float(np.sum(qb * ((xb + t * d) ** 2 - xb**2)))

    def _nonsmooth(self, xb, idx):
        return float(np.sum(self.problem.penalty.nonsmooth_values(xb, idx)))


class GradientUpdate(BlockUpdate):
    """Proximal gradient step with the block Lipschitz constant (or the rule's diagonal)."""

    def step(self, state, x, block, Gb, inner_tol):
        curv = block.curvature if block.curvature is not None else self._block_lipschitz(block)
        return self._apply(state, x, block.idx, self._prox_step(x, block.idx, Gb, curv))


class AdaptiveUpdate(BlockUpdate):
    """Per-coordinate estimates of ``L`` (start at 1), doubled until sufficient decrease."""

    def __init__(self, problem):
        super().__init__(problem)
        self.estimates = np.ones(problem.datafit.n_features)

    def step(self, state, x, block, Gb, inner_tol):
        datafit, idx = self.problem.datafit, block.idx
        xb, qb = x[idx], self.problem.penalty.quadratic[idx]
        L = float(self.estimates[idx].max())
        f0 = datafit.value(state)
        for _ in range(60):
            d = self._prox_step(x, idx, Gb, L)
            trial = datafit.trial(state, idx, d)
            bound = float(np.sum(Gb * d)) + 0.5 * L * float(np.sum(d * d))
            if self._smooth_change(trial, f0, xb, d, 1.0, qb) <= bound + 1e-12 * abs(f0):
                break
            L *= 2.0
        self.estimates[idx] = L
        datafit.commit(state, trial, 1.0)
        x[idx] = xb + d
        return 1.0


class MatrixUpdate(BlockUpdate):
    """Exact minimiser of the block model with the fixed Hessian bound ``H_b`` (+ ``q``)."""

    def step(self, state, x, block, Gb, inner_tol):
        datafit, idx = self.problem.datafit, block.idx
        if datafit.exact_block_solver and len(idx) > _GRAM_LIMIT:
            # Least squares: the exact block minimiser, without forming the Gram matrix.
            datafit.solve_block_exact(state, x, idx, self.problem.penalty, datafit.lipschitz,
                                      1000, inner_tol.change, inner_tol.gap)  # fmt: skip
            return 1.0
        d = solve_block_qp(self._hessian(state, block), Gb, x[idx], self.problem.penalty, idx)
        return self._finish(state, x, idx, Gb, d)

    def _with_quadratic(self, H, idx):
        K = self.problem.datafit.n_outputs
        return H + np.diag(np.repeat(self.problem.penalty.quadratic[idx, 0], K))

    def _hessian(self, state, block):
        key = ("H", block.block_id)
        if block.block_id is None or key not in self._cache:
            H = self.problem.datafit.block_hessian_bound(block.idx)
            self._cache[key] = self._with_quadratic(H, block.idx)
        return self._cache[key]

    def _finish(self, state, x, idx, Gb, d):
        return self._apply(state, x, idx, d)


class NewtonUpdate(MatrixUpdate):
    """Exact block Hessian: proximal Newton with Armijo backtracking (exact on quadratics)."""

    def _hessian(self, state, block):
        H = self.problem.datafit.block_hessian(state, block.idx)
        return self._with_quadratic(H, block.idx)

    def _finish(self, state, x, idx, Gb, d):
        datafit = self.problem.datafit
        if datafit.quadratic:
            return self._apply(state, x, idx, d)
        xb, qb = x[idx], self.problem.penalty.quadratic[idx]
        f0 = datafit.value(state)
        trial = datafit.trial(state, idx, d)
        h0 = self._nonsmooth(xb, idx)
        decrease = float(np.sum(Gb * d)) + self._nonsmooth(xb + d, idx) - h0
        t = 1.0
        for _ in range(40):
            change = (self._smooth_change(trial, f0, xb, d, t, qb)
                      + self._nonsmooth(xb + t * d, idx) - h0)  # fmt: skip
            # The slack absorbs rounding once the decrease is at machine precision.
            if change <= 1e-4 * t * decrease + 1e-14 * abs(f0):
                break
            t *= 0.5
        else:
            t = 0.0
        datafit.commit(state, trial, t)
        x[idx] = xb + t * d
        return t


class MessagePassingUpdate(BlockUpdate):
    """Exact solve of a forest block of a graph quadratic by Gaussian belief propagation."""

    def __init__(self, problem):
        super().__init__(problem)
        if problem.datafit.graph is None:
            raise ValueError("update='message-passing' needs a graph objective (GraphQuadratic).")
        if not problem.penalty.is_smooth or not problem.penalty.is_separable:
            raise ValueError("update='message-passing' needs a smooth penalty (none or L2).")

    def step(self, state, x, block, Gb, inner_tol):
        idx = block.idx
        q = self.problem.penalty.quadratic[idx, 0]
        d = self.problem.datafit.solve_forest_block(idx, q, -Gb)
        return self._apply(state, x, idx, d)


UPDATE_CLASSES = {
    "gradient": GradientUpdate,
    "adaptive": AdaptiveUpdate,
    "matrix": MatrixUpdate,
    "newton": NewtonUpdate,
    "message-passing": MessagePassingUpdate,
}
UPDATES = tuple(UPDATE_CLASSES)


def make_update(update, problem):
    """The :class:`BlockUpdate` named ``update`` (one of :data:`UPDATES`)."""
    if update not in UPDATE_CLASSES:
        raise ValueError(f"update must be one of {UPDATES}, got {update!r}.")
    return UPDATE_CLASSES[update](problem)
