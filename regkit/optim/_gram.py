"""A growing cache of Gram columns ``A' a_j / n`` for coordinate descent on dense designs.

With ``n`` samples, a coordinate update on the residual costs ``O(n)``; on the Gram
matrix of the block it costs ``O(|block|)``. For dense designs with blocks much
smaller than ``n`` (working sets, and above all regularisation paths, whose
working sets grow slowly and reuse the same coordinates at every strength), the
Gram entries of every coordinate that has entered a block are computed once, by
BLAS, and kept: scikit-learn's ``precompute`` restricted to the coordinates that
matter.
"""

import numpy as np
from numba import njit

from regkit.optim._design import FAST
from regkit.optim._kernels import _anderson_point, _cd_step
from regkit.optim._prox import L1_KIND, value_scalar

# Blocks use the Gram path up to this many coordinates, when n >= 2 |block|.
GRAM_MAX_BLOCK = 1024
# The cache holds at most this many coordinates (its matrix: 8 * GRAM_MAX_CACHED**2 bytes).
GRAM_MAX_CACHED = 4096


class GramCache:
    """Gram entries ``A_S' A_S / n`` of the coordinates ``S`` seen so far.

    Parameters
    ----------
    A : ndarray of shape (n_samples, n_features)
        Dense design.
    """

    def __init__(self, A):
        self.A = A
        self.n_samples = A.shape[0]
        self.position = np.full(A.shape[1], -1, dtype=np.int64)
        self.members = np.empty(0, dtype=np.int64)
        self.matrix = np.empty((0, 0))
        self._columns = np.empty((A.shape[0], 0), order="F")  # the members' columns

    def accepts(self, idx):
        """Whether a block of these coordinates should use the Gram path."""
        new = np.count_nonzero(self.position[idx] < 0)
        return (len(idx) <= GRAM_MAX_BLOCK and self.n_samples >= 2 * len(idx)
                and len(self.members) + new <= GRAM_MAX_CACHED)  # fmt: skip

    def positions(self, idx):
        """Positions of ``idx`` in :attr:`matrix`, computing missing entries first."""
        new = np.asarray(idx)[self.position[idx] < 0]
        if len(new):
            self._add(np.unique(new))
        return self.position[idx]

    def _add(self, new):
        old, size = len(self.members), len(self.members) + len(new)
        if size > self.matrix.shape[0]:  # grow geometrically: amortised copies
            capacity = max(size, 2 * self.matrix.shape[0])
            matrix = np.empty((capacity, capacity))
            matrix[:old, :old] = self.matrix[:old, :old]
            columns = np.empty((self.n_samples, capacity), order="F")
            columns[:, :old] = self._columns[:, :old]
            self.matrix, self._columns = matrix, columns
        self._columns[:, old:size] = self.A[:, new]
        # BLAS: the new columns against every member (themselves included).
        cross = (self._columns[:, old:size].T @ self._columns[:, :size]) / self.n_samples
        self.matrix[old:size, :size] = cross
        self.matrix[:size, old:size] = cross.T
        self.position[new] = np.arange(old, size)
        self.members = np.r_[self.members, new]


@njit(cache=True, nogil=True)
def _gram_objective(rr, x, rows, coords, q, kind, a, b, nonneg):
    val = 0.5 * rr
    for jj in range(rows.shape[0]):
        j, t = coords[jj], rows[jj]
        val += value_scalar(kind, x[t], a[j], b[j], nonneg[j]) + 0.5 * q[j] * x[t] ** 2
    return val


@njit(cache=True, nogil=True)
def _gram_gap(g, rr, x, rows, coords, q, a, nonneg):
    """The block duality gap of ``_block_gap`` from the Gram state (L1 kind)."""
    scale = 1.0
    for jj in range(rows.shape[0]):
        j, t = coords[jj], rows[jj]
        if q[j] == 0.0 and a[j] > 0.0:
            excess = -g[t] if nonneg[j] else abs(g[t])
            if excess > a[j]:
                scale = min(scale, a[j] / excess)
    total = 0.5 * rr
    xg = 0.0
    for jj in range(rows.shape[0]):
        j, t = coords[jj], rows[jj]
        xg += x[t] * g[t]
        total += a[j] * abs(x[t]) + 0.5 * q[j] * x[t] * x[t]
        if q[j] > 0.0:
            u = -scale * g[t]
            excess = max(u - a[j], 0.0) if nonneg[j] else max(abs(u) - a[j], 0.0)
            total += excess * excess / (2.0 * q[j])
    return total + scale * (xg - rr) + 0.5 * scale * scale * rr


@njit(cache=True, nogil=True, fastmath=FAST)
def cd_gram(G, rows, coords, g, rr, x, lips, q, kind, a, b, nonneg, max_epochs, tol, gap_tol,
            anderson):  # fmt: skip
    """Cyclic CD on a block through Gram rows; ``x`` and ``g`` updated in place.

    The block's ``jj``-th coordinate is ``coords[jj]`` of the problem (which indexes
    ``lips``, ``q``, ``a``, ``b`` and ``nonneg``) and ``rows[jj]`` of ``G``, ``x``
    and ``g``: ``G`` holds the Gram rows ``A_t' A / n`` of the tracked coordinates,
    ``g = A' r / n`` and ``x`` are over the same coordinates, and every update
    keeps all of ``g`` current with one contiguous row (``O(G.shape[1])``). Tracking
    only the block (a copied block matrix) costs ``O(|block|)`` per update; tracking
    every coordinate (the full Gram matrix) leaves the whole gradient current for
    the working-set loop, with no copy. ``rr = ||r||^2 / n`` at the start. The
    stopping rules and the Anderson extrapolation (every ``anderson + 1`` epochs,
    kept if it lowers the block objective) are those of the residual loop. Returns
    ``(epochs, rr)``.
    """
    m, width = rows.shape[0], G.shape[1]
    K = anderson
    hist = np.empty((K + 1, m))
    check_gap = gap_tol > 0.0 and kind == L1_KIND
    for epoch in range(max_epochs):
        largest = 0.0
        for jj in range(m):
            j, t = coords[jj], rows[jj]
            if lips[j] == 0.0:
                continue
            new = _cd_step(kind, x[t], g[t], lips[j], q[j], a[j], b[j], nonneg[j])
            delta = new - x[t]
            if delta != 0.0:
                rr += delta * (2.0 * g[t] + delta * lips[j])
                row = G[t]
                for ii in range(width):
                    g[ii] += delta * row[ii]
                x[t] = new
                change = abs(delta) * (lips[j] + q[j])
                if change > largest:
                    largest = change
        if largest <= tol:
            return epoch + 1, rr
        if check_gap and _gram_gap(g, rr, x, rows, coords, q, a, nonneg) <= gap_tol:
            return epoch + 1, rr
        slot = epoch % (K + 1)
        for jj in range(m):
            hist[slot, jj] = x[rows[jj]]
        if K > 0 and slot == K:
            step = _anderson_point(hist) - hist[K]
            Gs = np.zeros(width)
            for jj in range(m):
                if step[jj] != 0.0:
                    row = G[rows[jj]]
                    for ii in range(width):
                        Gs[ii] += step[jj] * row[ii]
            rr_try, gs = rr, 0.0
            for jj in range(m):
                t = rows[jj]
                rr_try += 2.0 * step[jj] * g[t]
                gs += step[jj] * Gs[t]
            rr_try += gs
            before = _gram_objective(rr, x, rows, coords, q, kind, a, b, nonneg)
            for jj in range(m):
                x[rows[jj]] += step[jj]
            if _gram_objective(rr_try, x, rows, coords, q, kind, a, b, nonneg) < before:
                for ii in range(width):
                    g[ii] += Gs[ii]
                rr = rr_try
            else:
                for jj in range(m):
                    x[rows[jj]] = hist[K, jj]
    return max_epochs, rr
