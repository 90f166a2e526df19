"""Smooth objectives ("datafits") of the BCD engine: the interface and the GLM base.

A datafit is bound to its data and owns a small state from which its value and
gradients are cheap: the linear predictor ``z = A x`` (least squares keeps the
residual ``A x - b``) for the generalised linear models, the gradient ``Q x - c``
for graph quadratics. Variables have shape ``(n_features, n_outputs)``; a
*coordinate* is a row (one feature across all outputs), so multi-output least
squares, multinomial logistic regression and multi-class label propagation share
one engine. :class:`BaseDatafit` lists everything the solver may use.
"""

import numpy as np
import scipy.sparse as sp

from regkit.optim import _kernels
from regkit.optim._columns import block_dot, block_gram, block_matvec


class _State:
    """Mutable per-solve state of a datafit (the solver never looks inside)."""

    def __init__(self, **fields):
        self.__dict__.update(fields)


def _as_design(A):
    if sp.issparse(A):
        return sp.csc_array(A, dtype=np.float64)
    return np.asfortranarray(A, dtype=np.float64)


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

    Attributes
    ----------
    n_features, n_outputs : int
        Shape of the variables.
    quadratic : bool
        True when the datafit is a quadratic, so that Newton steps are exact and
        need no line search.
    """

    quadratic = False

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

    def duality_gap(self, state, grad, penalty, primal):
        """Fenchel duality gap at the state's point, or None where no simple dual exists.

        The dual point is built from ``-grad`` (rescaled by
        :meth:`BasePenalty.dual_scale` into the domain of the penalty's conjugate).
        The penalty's free coordinates must already be minimised (their gradient
        is zero), which the solver ensures before it asks.

        Parameters
        ----------
        state : object
            From :meth:`init_state`.
        grad : ndarray of shape (n_features, n_outputs)
            Datafit gradient at the point (without the penalty).
        penalty : BasePenalty
            A bound convex penalty.
        primal : float
            Objective (datafit + penalty) at the point.

        Returns
        -------
        gap : float or None
        """
        return None

    @property
    def exact_block_solver(self):
        """Whether :meth:`solve_block_exact` is available (a residual-based block solver)."""
        return False

    def solve_block_exact(self, state, x, idx, penalty, lipschitz, max_epochs, tol, gap_tol=0.0):
        """Minimise the objective over the rows ``idx`` exactly (to ``tol``), in place.

        Only called when :attr:`exact_block_solver` is True.

        Parameters
        ----------
        state : object
            From :meth:`init_state`; updated in place.
        x : ndarray of shape (n_features, n_outputs)
            Current point, updated in place on the rows ``idx``.
        idx : ndarray of int
            Block coordinates (whole groups for group penalties).
        penalty : BasePenalty
            The bound penalty.
        lipschitz : ndarray of shape (n_features,)
            Per-coordinate curvature of the datafit (zero-curvature coordinates skipped).
        max_epochs : int
            Most passes over the block.
        tol : float
            Stop when no coordinate moves by more than ``tol`` (times its curvature).
        gap_tol : float, default=0.0
            Also stop once the block subproblem's duality gap is at most
            ``gap_tol`` (convex penalties; 0 disables).
        """
        raise NotImplementedError

    def screened_gradient(self, state, x, idx, thresholds):
        """Full gradient where it matters: rows outside ``idx`` may be stale but certified.

        A datafit may skip recomputing rows that provably keep ``|grad_j|`` below
        ``thresholds[j]`` while ``x_j = 0`` (then their entries change neither the
        duality gap's dual scaling, nor the optimality violation, nor a proximal
        greedy score); the default recomputes everything.

        Parameters
        ----------
        state : object
            From :meth:`init_state`.
        x : ndarray of shape (n_features, n_outputs)
            Current point.
        idx : ndarray of int
            Rows that must be exact (the last working set).
        thresholds : ndarray of shape (n_features,)
            From :meth:`BasePenalty.zero_thresholds`.

        Returns
        -------
        grad : ndarray of shape (n_features, n_outputs)
        """
        return self.gradient(state)

    def solve_compiled(self, x, state, penalty, tol, max_iter, scales):
        """Optionally, :class:`BCDSolver`'s default loop in compiled form; None if not provided.

        The solver calls it only with its default options (GS-q working sets, exact
        block solves, no callback or time budget) and falls back to its own loop on
        None, the default here.

        Parameters
        ----------
        x : ndarray of shape (n_features, n_outputs)
            Start, updated in place.
        state : object
            From :meth:`init_state` at ``x``; updated in place.
        penalty : BasePenalty
            The bound penalty.
        tol : float
            The solver's tolerance (relative gap, or relative violation).
        max_iter : int
            Most working-set solves.
        scales : tuple of float
            The objective and the optimality violation at the null point, the
            scales of the stopping tests.

        Returns
        -------
        result : tuple or None
            ``(n_iter, converged, gap, support_identified_at, records, blocks)``.
        """
        return None

    @property
    def graph(self):
        """Sparse matrix whose pattern is the graph of the variables, or None (not a graph)."""
        return None

    def solve_forest_block(self, idx, shift, rhs):
        """Solve ``(H_bb + diag(shift)) d = rhs`` exactly on a forest block (graph datafits).

        Parameters
        ----------
        idx : ndarray of int
            Block nodes; their induced subgraph must be a forest.
        shift : ndarray of shape (len(idx),)
            Added to the block diagonal (the quadratic part of a penalty).
        rhs : ndarray of shape (len(idx), n_outputs)
            Right-hand side.

        Returns
        -------
        d : ndarray of shape (len(idx), n_outputs)
        """
        raise NotImplementedError


class _GLMDatafit(BaseDatafit):
    """Shared machinery of objectives ``F(A x)`` with ``A`` of shape ``(n, p)``.

    Subclasses define the loss through ``_loss(z)``, its derivative ``_dloss(z)``
    (both with respect to the linear predictor, already divided by the sample
    weight total), the curvature bound ``(s, B)`` with ``d2 F <= diag(s) kron B``,
    and the exact Hessian of a block.
    """

    def __init__(self, A, n_outputs):
        self.A = _as_design(A)
        self.n_samples, self.n_features = self.A.shape
        self.n_outputs = n_outputs
        self._lipschitz = None
        self._global_lipschitz = None
        self._curvature_cache = None
        self._grad_zero = None
        self._value_zero = None
        self._gershgorin = None

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
        if self._value_zero is None:  # data-only: cached for warm-started solves
            self._value_zero = self.value(
                self.init_state(np.zeros((self.n_features, self.n_outputs)))
            )
        return self._value_zero

    def gradient_at_zero(self):
        if self._grad_zero is None:  # data-only: cached for warm-started solves
            self._grad_zero = self._gradient_at_zero()
        return self._grad_zero

    def _gradient_at_zero(self):
        return self.gradient(self.init_state(np.zeros((self.n_features, self.n_outputs))))

    def gradient(self, state):
        return np.asarray(self.A.T @ self._dloss(state.z)).reshape(self.n_features, -1)

    def block_gradient(self, state, idx):
        return block_dot(self.A, idx, self._dloss(state.z))

    def trial(self, state, idx, d):
        dz = block_matvec(self.A, idx, d)

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
            s, B = self._curvature()
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
        if self._gershgorin is None:  # data-only: computed once
            s, B = self._curvature()
            absA = abs(self.A)
            rows = np.asarray(absA.T @ (s * np.asarray(absA @ np.ones(self.n_features)).ravel()))
            self._gershgorin = rows.ravel() * np.abs(B).sum(axis=1).max()
        return self._gershgorin

    def _curvature(self):
        if self._curvature_cache is None:  # data-only: computed once
            self._curvature_cache = self._curvature_bound()
        return self._curvature_cache

    def block_hessian_bound(self, idx):
        s, B = self._curvature()
        gram = block_gram(self.A, idx, s)
        return gram * B[0, 0] if B.shape == (1, 1) else np.kron(gram, B)

    def hessian_bound_matvec(self, D):
        s, B = self._curvature()
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

    def duality_gap(self, state, grad, penalty, primal):
        """Fenchel duality gap for the dual point ``-grad_z F``, rescaled into ``h*``'s domain."""
        u = -grad
        scale = penalty.dual_scale(u)
        head = self._neg_conjugate(state, scale)
        if head is None:
            return None
        return max(primal - (head - penalty.conjugate(scale * u)), 0.0)


def block_lipschitz(datafit, idx, quadratic=None):
    """Largest eigenvalue of the block's Hessian bound (plus the penalty's quadratic part).

    Exact for blocks of up to 128 entries; beyond, the smallest of three upper
    bounds: the largest eigenvalue of the whole Hessian bound (interlacing; power
    iteration, cached), the trace and the largest Gershgorin row sum.

    Parameters
    ----------
    datafit : BaseDatafit
        The smooth part.
    idx : ndarray of int
        Block coordinates.
    quadratic : ndarray of shape (n_features, 1) or None, default=None
        The penalty's quadratic weights.

    Returns
    -------
    L : float
    """
    L = datafit.lipschitz
    if len(idx) == 1:
        top = L[idx[0]]
    elif len(idx) * datafit.n_outputs <= 128:
        top = np.linalg.eigvalsh(datafit.block_hessian_bound(idx))[-1]
    else:
        top = min(datafit.global_lipschitz, L[idx].sum(), datafit.gershgorin()[idx].max())
    extra = 0.0 if quadratic is None else float(np.max(quadratic[idx]))
    return float(top) + extra
