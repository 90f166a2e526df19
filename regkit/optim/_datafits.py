"""Smooth objectives ("datafits") of the BCD engine.

A datafit is bound to its data and owns a small state from which its value and
gradients are cheap: the linear predictor ``z = A x`` (least squares keeps the
residual ``A x - b``) for the generalised linear models, the gradient ``Q x - c``
for graph quadratics. Variables have shape ``(n_features, n_outputs)``; a
*coordinate* is a row (one feature across all outputs), so multi-output least
squares, multinomial logistic regression and multi-class label propagation share
one engine.

Each datafit provides

- ``lipschitz``: per-coordinate curvature bounds ``L_i``;
- ``block_hessian_bound(idx)``: a matrix ``H_b >= Hessian`` on the block (flattened
  row-major, coordinate-major then output) and ``block_hessian(state, idx)``, the
  exact Hessian for Newton steps;
- ``trial(state, idx, d)``: a function ``t -> f(x + t U_b d)`` for line searches,
  and ``commit`` to apply the step;
- ``duality_gap`` where the Fenchel dual is simple (least squares, binary
  logistic), else ``None``.
"""

import numpy as np
import scipy.linalg.blas
import scipy.sparse as sp
from scipy.special import expit, log_expit, logsumexp, xlogy

from regkit.optim import _kernels


class _State:
    """Mutable per-solve state of a datafit (the solver never looks inside)."""

    def __init__(self, **fields):
        self.__dict__.update(fields)


def _as_design(A):
    if sp.issparse(A):
        return sp.csc_array(A, dtype=np.float64)
    return np.asfortranarray(A, dtype=np.float64)


def _columns(A, idx):
    return A[:, idx]


def _weighted_gram(Ab, s):
    """``Ab' diag(s) Ab`` as a dense array."""
    if sp.issparse(Ab):
        return np.asarray((Ab.T @ (sp.diags_array(s) @ Ab)).toarray())
    if np.all(s >= 0):
        # A symmetric rank-k update does half the work of a general product.
        G = scipy.linalg.blas.dsyrk(1.0, np.asfortranarray(Ab * np.sqrt(s)[:, None]), trans=1)
        return np.triu(G) + np.triu(G, 1).T
    return (Ab * s[:, None]).T @ Ab


def _power_iteration(matvec, p, K, n_iter=50, seed=0):
    v = np.random.default_rng(seed).standard_normal((p, K))
    value = 0.0
    for _ in range(n_iter):
        v /= np.linalg.norm(v)
        w = matvec(v)
        value = float(np.sum(v * w))
        v = w
    return value


class BaseDatafit:
    """The interface every datafit implements; the solver uses nothing else.

    Subclasses that override a method without a docstring inherit the one here.
    Variables ``x`` have shape ``(n_features, n_outputs)``; block steps ``d`` have
    shape ``(len(idx), n_outputs)``.
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name, member in vars(cls).items():
            inherited = getattr(BaseDatafit, name, None)
            if inherited is not None and not name.startswith("_") and not member.__doc__:
                if isinstance(member, property):
                    setattr(cls, name, property(member.fget, doc=inherited.__doc__))
                else:
                    member.__doc__ = inherited.__doc__

    def init_state(self, x):
        """Build the state (linear predictor or gradient) at ``x``.

        Parameters
        ----------
        x : ndarray of shape (n_features, n_outputs)
            The point.

        Returns
        -------
        state : object
            Opaque to the solver; passed back to the other methods.
        """
        raise NotImplementedError

    def value(self, state):
        """Datafit value at the state's point.

        Parameters
        ----------
        state : object
            From :meth:`init_state`.

        Returns
        -------
        value : float
        """
        raise NotImplementedError

    def value_at_zero(self):
        """Datafit value at ``x = 0`` (the scale of the relative duality gap).

        Returns
        -------
        value : float
        """
        raise NotImplementedError

    def gradient_at_zero(self):
        """Full gradient at ``x = 0`` (the scale of the KKT test and the first step).

        Returns
        -------
        grad : ndarray of shape (n_features, n_outputs)
        """
        return self.gradient(self.init_state(np.zeros((self.n_features, self.n_outputs))))

    def gradient(self, state):
        """Full gradient.

        Parameters
        ----------
        state : object
            From :meth:`init_state`.

        Returns
        -------
        grad : ndarray of shape (n_features, n_outputs)
        """
        raise NotImplementedError

    def block_gradient(self, state, idx):
        """Gradient on the rows ``idx`` only (cheaper than :meth:`gradient`).

        Parameters
        ----------
        state : object
            From :meth:`init_state`.
        idx : ndarray of int
            Block coordinates.

        Returns
        -------
        grad : ndarray of shape (len(idx), n_outputs)
        """
        raise NotImplementedError

    def trial(self, state, idx, d):
        """A function ``t -> f(x + t U_b d)`` for line searches (state unchanged).

        Parameters
        ----------
        state : object
            From :meth:`init_state`.
        idx : ndarray of int
            Block coordinates.
        d : ndarray of shape (len(idx), n_outputs)
            Block step.

        Returns
        -------
        value : callable
            Pass it to :meth:`commit` to take the step.
        """
        raise NotImplementedError

    def commit(self, state, trial, t):
        """Move the state to ``x + t U_b d`` for a step prepared by :meth:`trial`.

        Parameters
        ----------
        state : object
            From :meth:`init_state`; updated in place.
        trial : callable
            From :meth:`trial`.
        t : float
            Step length.
        """
        raise NotImplementedError

    @property
    def lipschitz(self):
        """Per-coordinate curvature bounds ``L_i``, shape ``(n_features,)``."""
        raise NotImplementedError

    def gershgorin(self):
        """Row sums of the absolute Hessian bound: a diagonal majoriser ``D >= H``.

        Returns
        -------
        d : ndarray of shape (n_features,)
        """
        raise NotImplementedError

    def block_hessian_bound(self, idx):
        """A fixed matrix ``H_b`` bounding the block Hessian everywhere.

        Parameters
        ----------
        idx : ndarray of int
            Block coordinates.

        Returns
        -------
        H : ndarray of shape (len(idx) * n_outputs, len(idx) * n_outputs)
            Coordinate-major, then output.
        """
        raise NotImplementedError

    def block_hessian(self, state, idx):
        """The exact block Hessian at the state's point (for Newton steps).

        Parameters
        ----------
        state : object
            From :meth:`init_state`.
        idx : ndarray of int
            Block coordinates.

        Returns
        -------
        H : ndarray of shape (len(idx) * n_outputs, len(idx) * n_outputs)
        """
        raise NotImplementedError

    def hessian_bound_matvec(self, D):
        """Product of the full Hessian bound with ``D``.

        Parameters
        ----------
        D : ndarray of shape (n_features, n_outputs)
            Direction.

        Returns
        -------
        HD : ndarray of shape (n_features, n_outputs)
        """
        raise NotImplementedError

    @property
    def global_lipschitz(self):
        """Largest eigenvalue of the full Hessian bound (power iteration, cached)."""
        raise NotImplementedError

    def duality_gap(self, state, x, grad, l1, l2, nonneg, primal):
        """Fenchel duality gap at ``x``, or None where no simple dual bound exists.

        Parameters
        ----------
        state : object
            From :meth:`init_state`.
        x : ndarray of shape (n_features, n_outputs)
            The point.
        grad : ndarray of shape (n_features, n_outputs)
            Datafit gradient at ``x`` (without the penalty).
        l1, l2, nonneg : ndarray of shape (n_features, 1)
            The penalty, as returned by :meth:`SeparablePenalty.bind`.
        primal : float
            Objective (datafit + penalty) at ``x``.

        Returns
        -------
        gap : float or None
        """
        return None


class _GLMDatafit(BaseDatafit):
    """Shared machinery of objectives ``F(A x)`` with ``A`` of shape ``(n, p)``.

    Subclasses define the loss through ``_loss(z)``, its derivative ``_dloss(z)``
    (both with respect to the linear predictor, already divided by the sample
    weight total), the curvature bound ``(s, B)`` with ``d2 F <= diag(s) kron B``,
    and the exact Hessian of a block.
    """

    # Newton steps on a quadratic are exact: no line search needed.
    quadratic = False

    def __init__(self, A, n_outputs):
        self.A = _as_design(A)
        self.n_samples, self.n_features = self.A.shape
        self.n_outputs = n_outputs
        self._lipschitz = None
        self._global_lipschitz = None

    # --- state ---------------------------------------------------------------
    def _offset(self):
        return 0.0

    def init_state(self, x):
        if not np.any(x):  # the usual start: skip the product with A
            z = np.zeros((self.n_samples, self.n_outputs), order="F") - self._offset()
        else:
            z = np.asfortranarray(self.A @ x) - self._offset()
        return _State(z=np.asfortranarray(z))

    def value(self, state):
        return self._loss(state.z)

    def value_at_zero(self):
        return self.value(self.init_state(np.zeros((self.n_features, self.n_outputs))))

    def gradient(self, state):
        return np.asarray(self.A.T @ self._dloss(state.z)).reshape(self.n_features, -1)

    def block_gradient(self, state, idx):
        Ab = _columns(self.A, idx)
        return np.asarray(Ab.T @ self._dloss(state.z)).reshape(len(idx), -1)

    def trial(self, state, idx, d):
        dz = np.asarray(_columns(self.A, idx) @ d)

        def value(t):
            return self._loss(state.z + t * dz)

        value.dz = dz
        return value

    def commit(self, state, trial, t):
        state.z += t * trial.dz

    # --- curvature -----------------------------------------------------------
    @property
    def lipschitz(self):
        """Per-coordinate bounds ``L_i`` on the diagonal of the Hessian bound."""
        if self._lipschitz is None:
            s, B = self._curvature_bound()
            A = self.A
            constant = np.ptp(s) == 0  # then no squared copy of A is needed
            if sp.issparse(A) and constant:
                col = _kernels.column_sq_norms_csc(A.data, A.indptr) * s[0]
            elif sp.issparse(A):
                col = np.asarray(A.multiply(A).T @ s).ravel()
            elif constant and A.flags.f_contiguous:
                col = _kernels.column_sq_norms_dense(A) * s[0]
            else:  # no n x p temporary
                col = np.einsum("ij,ij,i->j", A, A, s)
            self._lipschitz = col * np.linalg.eigvalsh(B)[-1]
        return self._lipschitz

    def gershgorin(self):
        """Row sums of ``|A|' diag(s) |A| kron |B|``: a diagonal majoriser of the Hessian."""
        s, B = self._curvature_bound()
        absA = abs(self.A)
        rows = np.asarray(absA.T @ (s * np.asarray(absA @ np.ones(self.n_features)).ravel()))
        return rows.ravel() * np.abs(B).sum(axis=1).max()

    def block_hessian_bound(self, idx):
        s, B = self._curvature_bound()
        return np.kron(_weighted_gram(_columns(self.A, idx), s), B)

    def hessian_bound_matvec(self, D):
        s, B = self._curvature_bound()
        return np.asarray(self.A.T @ (s[:, None] * np.asarray(self.A @ D))) @ B

    @property
    def global_lipschitz(self):
        """Largest eigenvalue of the full Hessian bound (power iteration, cached)."""
        if self._global_lipschitz is None:
            est = _power_iteration(self.hessian_bound_matvec, self.n_features, self.n_outputs)
            self._global_lipschitz = 1.01 * est  # power iteration approaches from below
        return self._global_lipschitz

    # --- duality ---------------------------------------------------------------
    def _neg_conjugate(self, state, scale):
        """``-F*(-scale * theta)`` at the dual point ``theta = -grad_z F``; None if unknown."""
        return None

    def duality_gap(self, state, x, grad, l1, l2, nonneg, primal):
        """Fenchel duality gap at ``x`` for the dual point ``-grad_z F`` (rescaled).

        ``grad`` is the datafit gradient ``A' grad_z F`` (without the penalty).
        Returns None when there is no finite dual bound (an unpenalised
        coordinate with non-zero gradient, or an objective without a simple
        conjugate).
        """
        u = -grad
        free = (l1 == 0) & (l2 == 0)
        if np.any(free[:, 0]):
            return None
        hard = (l2 == 0)[:, 0]  # conjugate is an indicator: rescale to feasibility
        scale = 1.0
        if np.any(hard):
            viol = np.where(nonneg, u, np.abs(u))[hard]
            worst = np.max(viol / l1[hard]) if viol.size else 0.0
            if worst > 1.0:
                scale = 1.0 / worst
        head = self._neg_conjugate(state, scale)
        if head is None:
            return None
        su = scale * u
        excess = np.where(nonneg, np.maximum(su - l1, 0.0), np.maximum(np.abs(su) - l1, 0.0))
        soft = ~hard
        conj = np.sum(excess[soft] ** 2 / (2 * np.broadcast_to(l2, su.shape)[soft]))
        return max(primal - (head - conj), 0.0)


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

    Examples
    --------
    >>> import numpy as np
    >>> from regkit.optim import LeastSquares
    >>> f = LeastSquares(np.eye(2), np.array([1.0, 2.0]))
    >>> f.value(f.init_state(np.zeros((2, 1))))
    1.25
    """

    quadratic = True

    def __init__(self, A, b, sample_weight=None):
        b = np.asarray(b, dtype=np.float64)
        b2 = b.reshape(b.shape[0], -1)
        if sample_weight is not None and np.ptp(sample_weight) > 0:
            w = np.asarray(sample_weight, dtype=np.float64)
            root = np.sqrt(w * len(w) / w.sum())
            A = sp.diags_array(root) @ A if sp.issparse(A) else A * root[:, None]
            b2 = b2 * root[:, None]
        super().__init__(A, b2.shape[1])
        self.b = np.asfortranarray(b2)

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

    def gradient_at_zero(self):
        A = self.A
        if sp.issparse(A) and self.n_outputs == 1 and self._lipschitz is None:
            # The Lipschitz constants and A'b share one pass over the data.
            sq, dot = _kernels.column_sq_norms_dot_csc(A.data, A.indices, A.indptr, self.b[:, 0])
            self._lipschitz = sq / self.n_samples
            return (-dot / self.n_samples)[:, None]
        return super().gradient_at_zero()

    def screened_gradient(self, state, x, idx, threshold):
        """Full gradient, recomputing only the rows ``idx`` when the others provably stay small.

        Outside ``idx``, where ``x`` must be 0, ``|g_j| <= |g_j(ref)| + ||a_j||
        ||z - z_ref|| / n`` with ``ref`` the point of the last full gradient. When
        that bound is below ``threshold_j`` (the coordinate's L1 strength) for every
        such coordinate, their stale entries change neither the dual scaling of the
        duality gap, nor the KKT violation, nor a GS-q score (all zero there), so
        only the rows ``idx`` (a working set) are recomputed: a pass over its
        columns instead of over ``A``. Otherwise this is :meth:`gradient`, and its
        point becomes the new reference.

        Parameters
        ----------
        state : object
            From :meth:`init_state`; holds the reference point.
        x : ndarray of shape (n_features, n_outputs)
            Current point.
        idx : ndarray of int
            Rows to recompute (the last working set).
        threshold : ndarray of shape (n_features,)
            Level every other row must provably stay below.

        Returns
        -------
        grad : ndarray of shape (n_features, n_outputs)
        """
        ref = getattr(state, "screen_ref", None)
        if ref is not None and self.n_outputs == 1:
            z_ref, grad_ref = ref
            outside = np.ones(self.n_features, dtype=bool)
            outside[idx] = False
            if not np.any(x[outside]):
                drift = np.linalg.norm(state.z - z_ref) / np.sqrt(self.n_samples)
                bound = np.abs(grad_ref[:, 0]) + np.sqrt(self.lipschitz) * drift
                if np.all(bound[outside] < threshold[outside]):
                    grad = grad_ref.copy()
                    idx = np.ascontiguousarray(idx, dtype=np.int64)
                    grad[idx, 0] = _kernels.columns_dot(self.A, idx, state.z[:, 0])
                    grad[idx, 0] /= self.n_samples
                    return grad
        grad = self.gradient(state)
        state.screen_ref = (state.z.copy(), grad.copy())
        return grad

    def solve_block_cd(self, state, x, idx, l1, l2, nonneg, max_epochs, tol):
        """Exact block minimisation by compiled, Anderson-accelerated cyclic CD.

        Works on the residual, so no Gram matrix is formed; ``x`` and ``state`` are
        updated in place.

        Parameters
        ----------
        state : object
            From :meth:`init_state`.
        x : ndarray of shape (n_features, n_outputs)
            Current point, updated in place on the rows ``idx``.
        idx : ndarray of int
            Block coordinates.
        l1, l2, nonneg : ndarray of shape (n_features, 1)
            The penalty, as returned by :meth:`SeparablePenalty.bind`.
        max_epochs : int
            Most passes over the block.
        tol : float
            Stop when no coordinate moves by more than ``tol`` (times its curvature).
        """
        lips = self.lipschitz
        inv_n = 1.0 / self.n_samples
        idx = np.ascontiguousarray(idx, dtype=np.int64)
        l1c, l2c, nnc = (np.ascontiguousarray(a[:, 0]) for a in (l1, l2, nonneg))
        for k in range(self.n_outputs):
            r = state.z[:, k]
            xk = np.ascontiguousarray(x[:, k])
            if sp.issparse(self.A):
                A = self.A
                _kernels.cd_ls_sparse(
                    A.data, A.indices, A.indptr, idx, r, xk, lips, l1c, l2c, nnc, inv_n,
                    max_epochs, tol,
                )  # fmt: skip
            else:
                _kernels.cd_ls_dense(
                    self.A, idx, r, xk, lips, l1c, l2c, nnc, inv_n, max_epochs, tol
                )
            x[:, k] = xk


class Logistic(_GLMDatafit):
    """Binary logistic loss ``sum_i w_i log(1 + exp(-y_i a_i'x)) / sum w``, ``y`` in {-1, 1}.

    Parameters
    ----------
    A : {ndarray, sparse matrix} of shape (n_samples, n_features)
        Design matrix.
    y : ndarray of shape (n_samples,)
        Labels in {-1, +1}.
    sample_weight : ndarray of shape (n_samples,) or None, default=None
        Non-negative weights.

    Examples
    --------
    >>> import numpy as np
    >>> from regkit.optim import Logistic
    >>> f = Logistic(np.ones((2, 1)), np.array([1.0, -1.0]))
    >>> round(f.value_at_zero(), 6)
    0.693147
    """

    def __init__(self, A, y, sample_weight=None):
        super().__init__(A, 1)
        y = np.asarray(y, dtype=np.float64).ravel()
        if not np.all(np.isin(y, (-1.0, 1.0))):
            raise ValueError("Logistic needs labels y in {-1, +1}.")
        w = np.ones_like(y) if sample_weight is None else np.asarray(sample_weight, float)
        self.y = y[:, None]
        self.c = (w / w.sum())[:, None]

    def _loss(self, z):
        return -float(np.sum(self.c * log_expit(self.y * z)))

    def _dloss(self, z):
        return -self.c * self.y * expit(-self.y * z)

    def _curvature_bound(self):
        return 0.25 * self.c[:, 0], np.ones((1, 1))

    def block_hessian(self, state, idx):
        sig = expit(state.z[:, 0])
        return _weighted_gram(_columns(self.A, idx), self.c[:, 0] * sig * (1 - sig))

    def _neg_conjugate(self, state, scale):
        q = scale * expit(-self.y * state.z)
        return -float(np.sum(self.c * (xlogy(q, q) + xlogy(1 - q, 1 - q))))


class MultinomialLogistic(_GLMDatafit):
    """Softmax cross-entropy ``sum_i w_i [logsumexp(z_i) - z_{i, y_i}] / sum w``, ``z = A X``.

    Parameters
    ----------
    A : {ndarray, sparse matrix} of shape (n_samples, n_features)
        Design matrix.
    y : ndarray of shape (n_samples,)
        Class indices in ``0 .. n_classes - 1``.
    n_classes : int
        Number of classes (columns of ``X``).
    sample_weight : ndarray of shape (n_samples,) or None, default=None
        Non-negative weights.

    Notes
    -----
    The curvature bound is Böhning's ``(I - 11'/K) / 2`` per sample.

    Examples
    --------
    >>> import numpy as np
    >>> from regkit.optim import MultinomialLogistic
    >>> f = MultinomialLogistic(np.ones((3, 1)), np.array([0, 1, 2]), n_classes=3)
    >>> round(f.value_at_zero(), 6)
    1.098612
    """

    def __init__(self, A, y, n_classes, sample_weight=None):
        super().__init__(A, int(n_classes))
        y = np.asarray(y).ravel().astype(np.int64)
        w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, float)
        self.Y = np.zeros((len(y), self.n_outputs))
        self.Y[np.arange(len(y)), y] = 1.0
        self.c = (w / w.sum())[:, None]

    def _loss(self, z):
        return float(np.sum(self.c[:, 0] * (logsumexp(z, axis=1) - np.sum(z * self.Y, axis=1))))

    def _probabilities(self, z):
        return np.exp(z - logsumexp(z, axis=1, keepdims=True))

    def _dloss(self, z):
        return self.c * (self._probabilities(z) - self.Y)

    def _curvature_bound(self):
        K = self.n_outputs
        return self.c[:, 0], 0.5 * (np.eye(K) - np.full((K, K), 1.0 / K))

    def block_hessian(self, state, idx):
        P = self._probabilities(state.z)
        Ab = _columns(self.A, idx)
        K, m = self.n_outputs, len(idx)
        H = np.zeros((m, K, m, K))
        for k in range(K):
            for j in range(k, K):
                s = self.c[:, 0] * P[:, k] * ((k == j) - P[:, j])
                H[:, k, :, j] = _weighted_gram(Ab, s)
                H[:, j, :, k] = H[:, k, :, j].T
        return H.reshape(m * K, m * K)


class GraphQuadratic(BaseDatafit):
    """``f(x) = x'Qx / 2 - c'x`` with a sparse symmetric positive (semi)definite ``Q``.

    The label-propagation objective (``Q`` a graph Laplacian restricted to the
    unlabelled nodes, ``c`` the pull of the labelled ones) and the paper's lattice
    problems. The state is the gradient ``Q x - c``, updated only on the rows a block
    touches, so one update costs ``O(nnz(Q[:, b]))``.

    Parameters
    ----------
    Q : sparse matrix of shape (n, n)
        Symmetric, positive semidefinite, with a non-zero diagonal.
    c : ndarray of shape (n,) or (n, n_outputs)
        Linear term.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from regkit.optim import GraphQuadratic
    >>> f = GraphQuadratic(sp.csr_array(np.array([[2.0, -1.0], [-1.0, 2.0]])), np.ones(2))
    >>> f.value(f.init_state(np.ones((2, 1))))
    -1.0
    """

    quadratic = True

    def __init__(self, Q, c):
        Q = sp.csr_array(Q, dtype=np.float64)
        Q.sum_duplicates()
        Q.sort_indices()
        if Q.shape[0] != Q.shape[1]:
            raise ValueError(f"Q must be square, got shape {Q.shape}.")
        self.Q = Q
        c = np.asarray(c, dtype=np.float64)
        self.c = c.reshape(Q.shape[0], -1)
        self.n_features, self.n_outputs = self.c.shape
        self._global_lipschitz = None

    @property
    def graph(self):
        """The CSR matrix ``Q``, whose sparsity pattern is the graph of the variables."""
        return self.Q

    def init_state(self, x):
        g = np.asarray(self.Q @ x) - self.c
        return _State(g=g, f=0.5 * float(np.sum(x * (g - self.c))))

    def value(self, state):
        return state.f

    def value_at_zero(self):
        return 0.0

    def gradient(self, state):
        return state.g.copy()

    def block_gradient(self, state, idx):
        return state.g[idx]

    def trial(self, state, idx, d):
        gd = float(np.sum(state.g[idx] * d))
        Qbb = self.Q[idx][:, idx]
        dQd = float(np.sum(d * (Qbb @ d)))

        def value(t):
            return state.f + t * gd + 0.5 * t * t * dQd

        value.parts = (idx, d)
        return value

    def commit(self, state, trial, t):
        idx, d = trial.parts
        state.f = trial(t)
        Q = self.Q
        _kernels.scatter_rows(
            Q.indptr, Q.indices, Q.data, np.asarray(idx, np.int64), t * d, state.g
        )

    @property
    def lipschitz(self):
        return self.Q.diagonal().copy()

    def gershgorin(self):
        return np.asarray(abs(self.Q).sum(axis=1)).ravel()

    def block_hessian_bound(self, idx):
        return np.kron(self.Q[idx][:, idx].toarray(), np.eye(self.n_outputs))

    def block_hessian(self, state, idx):
        return self.block_hessian_bound(idx)

    def hessian_bound_matvec(self, D):
        return np.asarray(self.Q @ D)

    @property
    def global_lipschitz(self):
        if self._global_lipschitz is None:
            est = _power_iteration(self.hessian_bound_matvec, self.n_features, self.n_outputs)
            self._global_lipschitz = 1.01 * est
        return self._global_lipschitz

    def solve_forest_block(self, idx, shift, rhs):
        """Solve ``(Q_bb + diag(shift)) d = rhs`` by message passing on a forest block.

        Parameters
        ----------
        idx : ndarray of int
            Block nodes; their induced subgraph must be a forest.
        shift : ndarray of shape (len(idx),)
            Added to the block diagonal (the ``l2`` part of a penalty).
        rhs : ndarray of shape (len(idx), n_outputs)
            Right-hand side.

        Returns
        -------
        d : ndarray of shape (len(idx), n_outputs)
        """
        Q = self.Q
        return _kernels.forest_solve(
            Q.indptr,
            Q.indices.astype(np.int64),
            Q.data,
            np.asarray(idx, np.int64),
            np.asarray(shift, np.float64),
            np.ascontiguousarray(rhs, dtype=np.float64),
        )
