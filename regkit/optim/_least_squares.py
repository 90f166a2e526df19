"""Least squares ``||A x - b||^2 / (2 n)``, with exact block solvers on the residual or Gram."""

import itertools

import numpy as np
import scipy.sparse as sp

from regkit.optim import _kernels
from regkit.optim._compiled_ws import ws_solve
from regkit.optim._datafits import _GLMDatafit, block_lipschitz
from regkit.optim._design import compiled_design
from regkit.optim._families import FIRST_WORKING_SET
from regkit.optim._gram import GramCache, cd_gram
from regkit.optim._updates import INNER_GAP


class _ResidualState:
    """The residual ``z = A x - b``, rebuilt on first read after a Gram-mode solve.

    Paths on a precomputed Gram matrix never read it, so they skip an ``O(n p)``
    product per strength.
    """

    def __init__(self, datafit, z):
        self._datafit, self._z, self._stale_x = datafit, z, None

    @property
    def z(self):
        if self._stale_x is not None:
            f = self._datafit
            self._z = np.asfortranarray(f.A @ self._stale_x - f.b)
            self._stale_x = None
        return self._z

    @z.setter
    def z(self, value):
        self._z, self._stale_x = value, None

    def mark_stale(self, x):
        """The point moved to ``x`` without the residual following."""
        self._stale_x = np.array(x)


class LeastSquares(_GLMDatafit):
    """``f(x) = ||A x - b||^2 / (2 n)`` (sample-weighted: ``sum w_i r_i^2 / (2 sum w)``).

    Parameters
    ----------
    A : {ndarray, sparse matrix} of shape (n_samples, n_features)
        Design matrix.
    b : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        Targets; several columns are independent problems sharing ``A``.
    sample_weight : ndarray of shape (n_samples,) or None, default=None
        Non-negative weights; they are folded into ``A`` and ``b`` once.
    precompute : bool, default=False
        Solve on the Gram matrix ``A'A / n`` of a dense design, computed once: pays
        off when many solves share the data (regularisation paths) and ``n`` is
        large compared with ``n_features`` (scikit-learn's ``precompute``).

    Examples
    --------
    >>> import numpy as np
    >>> from regkit.optim import LeastSquares
    >>> f = LeastSquares(np.eye(2), np.array([1.0, 2.0]))
    >>> f.value(f.init_state(np.zeros((2, 1))))
    1.25
    """

    quadratic = True

    def __init__(self, A, b, sample_weight=None, precompute=False):
        b = np.asarray(b, dtype=np.float64)
        b2 = b.reshape(b.shape[0], -1)
        if sample_weight is not None and np.ptp(sample_weight) > 0:
            w = np.asarray(sample_weight, dtype=np.float64)
            root = np.sqrt(w * len(w) / w.sum())
            A = sp.diags_array(root) @ A if sp.issparse(A) else A * root[:, None]
            b2 = b2 * root[:, None]
        super().__init__(A, b2.shape[1])
        self.b = np.asfortranarray(b2)
        self._design = None
        self._gram = None
        self._full_gram = None
        self.precompute = bool(precompute)

    @property
    def design(self):
        """The design as the compiled loops take it (built once)."""
        if self._design is None:
            self._design = compiled_design(self.A)
        return self._design

    def _offset(self):
        return self.b

    def _loss(self, z):
        return 0.5 * float(np.sum(z * z)) / self.n_samples

    def _dloss(self, z):
        return z / self.n_samples

    def _curvature_bound(self):
        return np.full(self.n_samples, 1.0 / self.n_samples), np.eye(self.n_outputs)

    def block_hessian(self, state, idx):
        return self.block_hessian_bound(idx)

    def _neg_conjugate(self, state, scale):
        theta = -scale * state.z / self.n_samples
        return float(np.sum(theta * self.b) - 0.5 * self.n_samples * np.sum(theta * theta))

    def _gradient_at_zero(self):
        A = self.A
        if sp.issparse(A) and self.n_outputs == 1 and self._lipschitz is None:
            # The Lipschitz constants and A'b share one pass over the data. (Dense A'b
            # stays BLAS's: alpha_max computed as max|X'y| / n must give exactly 0.)
            sq, dot = _kernels.column_sq_norms_dot_csc(A.data, A.indices, A.indptr, self.b[:, 0])
            self._lipschitz = sq / self.n_samples
            return (-dot / self.n_samples)[:, None]
        return super()._gradient_at_zero()

    def init_state(self, x):
        state = _ResidualState(self, super().init_state(x).z)
        state.screen_ref = None  # point of the last full gradient (screened_gradient)
        state.group_lipschitz = None
        return state

    def screened_gradient(self, state, x, idx, thresholds):
        # Outside ``idx``, where ``x`` must be 0, |g_j| <= |g_j(ref)| + ||a_j||
        # ||z - z_ref|| / n with ``ref`` the point of the last full gradient. When that
        # bound is below ``thresholds[j]`` for every such coordinate, their stale entries
        # change neither the dual scaling of the duality gap, nor the optimality
        # violation, nor a GS-q score (all zero there), so only the rows ``idx`` (a
        # working set) are recomputed: a pass over its columns instead of over ``A``.
        # Otherwise this is ``gradient``, and its point becomes the new reference.
        ref = state.screen_ref
        if ref is not None and self.n_outputs == 1:
            z_ref, grad_ref = ref
            outside = np.ones(self.n_features, dtype=bool)
            outside[idx] = False
            if not np.any(x[outside]):
                drift = np.linalg.norm(state.z - z_ref) / np.sqrt(self.n_samples)
                bound = np.abs(grad_ref[:, 0]) + np.sqrt(self.lipschitz) * drift
                if np.all(bound[outside] < thresholds[outside]):
                    grad = grad_ref.copy()
                    idx = np.ascontiguousarray(idx, dtype=np.int64)
                    grad[idx, 0] = _kernels.columns_dot(self.design, idx, state.z[:, 0])
                    grad[idx, 0] /= self.n_samples
                    return grad
        grad = self.gradient(state)
        state.screen_ref = (state.z.copy(), grad.copy())
        return grad

    @property
    def exact_block_solver(self):
        """True: blocks are minimised by compiled coordinate descent on the residual."""
        return True

    def solve_block_exact(self, state, x, idx, penalty, lipschitz, max_epochs, tol, gap_tol=0.0):
        # Compiled, Anderson-accelerated cyclic CD on the residual (no Gram matrix is
        # formed unless the Gram cache accepts the block). Group penalties take block CD
        # steps over their groups, with the group's lambda_max(A_g' A_g) / n as curvature.
        inv_n = 1.0 / self.n_samples
        idx = np.ascontiguousarray(idx, dtype=np.int64)
        if not penalty.is_separable:
            gids, glips = self._group_lipschitz(state, penalty, idx)
            X = np.ascontiguousarray(x)
            kernel = penalty.group_kernel()
            _kernels.group_cd_ls(self.design, gids, kernel, glips, state.z, X, inv_n, max_epochs,
                                 tol)  # fmt: skip
            x[:] = X
            return
        q = np.ascontiguousarray(penalty.quadratic[:, 0])
        kernel = penalty.coordinate_kernel()
        if self.gram is not None and self.gram.accepts(idx):
            self._solve_gram(state, x, idx, q, kernel, lipschitz, max_epochs, tol, gap_tol)
            return
        for k in range(self.n_outputs):
            xk = np.ascontiguousarray(x[:, k])
            _kernels.cd_ls(self.design, idx, state.z[:, k], xk, lipschitz, q, kernel, inv_n,
                           max_epochs, tol, gap_tol / self.n_outputs)  # fmt: skip
            x[:, k] = xk

    def solve_compiled(self, x, state, penalty, tol, max_iter, scales):
        # The default working-set solve, compiled (see regkit.optim._compiled_ws): one
        # output and a separable penalty; the Gram matrix of a dense design is used when
        # ``precompute`` is set. The residual in ``state`` is kept current.
        if self.n_outputs != 1 or not penalty.is_separable:
            return None
        kind, a, b, nonneg = penalty.coordinate_kernel()
        free = penalty.free
        convex = penalty.is_convex and not free.all()
        use_gram = self.precompute and not sp.issparse(self.A) and not free.any()
        G = self._gram_matrix() if use_gram else np.empty((0, 0))
        # A'b / n and b'b / n from the datafit's cached values at 0 (warm starts reuse them).
        c = np.ascontiguousarray(-self.gradient_at_zero()[:, 0])
        bb = 2.0 * self.value_at_zero()
        xk = np.ascontiguousarray(x[:, 0])
        blocks = np.full((min(max_iter + 1, 64), 100), -1, dtype=np.int64)
        q = np.ascontiguousarray(penalty.quadratic[:, 0])
        # Gram mode reads no residual (only its length): leave a stale one unbuilt.
        r = np.empty(self.n_samples) if use_gram else state.z[:, 0]
        out = ws_solve(*self.design, G, use_gram, c, bb, self.b[:, 0], r, xk, self.lipschitz, q,
                       kind, a, b, nonneg, free, convex, *scales, tol, max_iter, INNER_GAP,
                       FIRST_WORKING_SET, _kernels.ANDERSON_K, blocks)  # fmt: skip
        x[:, 0] = xk
        if use_gram:  # Gram mode does not carry the residual along: rebuilt when read
            state.mark_stale(x)
        state.screen_ref = None
        return (*out, blocks)

    def _gram_matrix(self):
        """``A'A / n`` of a dense design, computed once (BLAS)."""
        if self._full_gram is None:
            self._full_gram = np.ascontiguousarray(self.A.T @ self.A) / self.n_samples
        return self._full_gram

    @property
    def gram(self):
        """The Gram cache of a dense design (None for sparse designs)."""
        if self._gram is None and not sp.issparse(self.A):
            self._gram = GramCache(self.A)
        return self._gram

    def _solve_gram(self, state, x, idx, q, kernel, lipschitz, max_epochs, tol, gap_tol):
        """Block CD through the block's Gram matrix; the residual is updated once at the end."""
        pos = self.gram.positions(idx)
        block = self.gram.matrix[np.ix_(pos, pos)]  # contiguous rows over the block only
        rows = np.arange(len(idx))
        kind, a, b, nonneg = kernel
        args = (lipschitz, q, kind, a, b, nonneg, max_epochs, tol, gap_tol / self.n_outputs,
                _kernels.ANDERSON_K)  # fmt: skip
        idx = np.ascontiguousarray(idx, dtype=np.int64)
        for k in range(self.n_outputs):
            r = state.z[:, k]
            g = _kernels.columns_dot(self.design, idx, r) / self.n_samples
            xb = np.ascontiguousarray(x[idx, k])
            start = xb.copy()
            cd_gram(block, rows, idx, g, float(r @ r) / self.n_samples, xb, *args)
            _kernels.columns_axpy(self.design, idx, xb - start, r)
            x[idx, k] = xb

    def _group_lipschitz(self, state, penalty, idx):
        """Ids of the groups in ``idx`` and every group's curvature (cached in the state)."""
        members, starts, _ = penalty.group_kernel()
        if state.group_lipschitz is None:
            glips = np.array([block_lipschitz(self, members[lo:hi])
                              for lo, hi in itertools.pairwise(starts)])  # fmt: skip
            group_of = np.empty(self.n_features, dtype=np.int64)
            group_of[members] = np.repeat(np.arange(len(starts) - 1), np.diff(starts))
            state.group_lipschitz = (glips, group_of)
        glips, group_of = state.group_lipschitz
        return np.unique(group_of[idx]), glips
