"""Penalties of the BCD engine: the documented interface and the convex separable family.

A penalty ``h`` is split as ``h(x) = sum_j q_j x_j**2 / 2 + g(x)``. The quadratic
part ``q`` (the ridge of an elastic net) is smooth: the solver adds it to the
datafit's gradient, curvature and Hessian, so greedy rules and block Newton steps see
one smooth function. The rest, ``g``, enters only through its proximal operator,
its optimality measure and, for convex penalties, its conjugate (the duality gap).
Variables have shape ``(n_features, n_outputs)``; a *coordinate* is a row.
"""

import copy

import numpy as np

from regkit.optim import _prox


class BasePenalty:
    """The interface every penalty implements; the solver and the rules use nothing else.

    A penalty is built with its parameters (strength ``alpha``, weights, groups)
    and bound to a problem size by :meth:`bind`, which returns a copy holding the
    per-coordinate arrays; every other method needs a bound penalty.

    Subclasses that override a method without a docstring inherit the one here.

    Attributes
    ----------
    is_convex : bool
        Convex penalties get a duality gap; the others a stationarity measure.
    is_separable : bool
        Separable penalties act coordinate-wise (:meth:`coordinate_kernel`);
        the others act on the groups of :attr:`groups`, and every block the
        solver updates is a union of whole groups.
    """

    is_convex = True
    is_separable = True

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name, member in vars(cls).items():
            inherited = getattr(BasePenalty, name, None)
            if not callable(inherited) and not isinstance(inherited, property):
                continue
            if name.startswith("_") or member.__doc__:
                continue
            if isinstance(member, property):
                setattr(cls, name, property(member.fget, doc=inherited.__doc__))
            elif callable(member):
                member.__doc__ = inherited.__doc__

    _n_features = None
    # Whether the strength lives in ``self.alpha`` (so ``with_alpha`` may replace it).
    _has_strength = False

    def bind(self, n_features):
        """A copy bound to ``n_features`` coordinates (weights and groups checked here).

        Parameters
        ----------
        n_features : int
            Number of coordinates (rows of ``x``).

        Returns
        -------
        penalty : BasePenalty
            Bound copy of the same penalty.
        """
        bound = copy.copy(self)
        bound._n_features = int(n_features)
        bound._bind(int(n_features))
        return bound

    def _bind(self, n_features):
        raise NotImplementedError

    def _bound(self, n_features):
        return self if self._n_features == n_features else self.bind(n_features)

    def with_alpha(self, alpha):
        """The same penalty with strength ``alpha`` (unbound); used along paths.

        Parameters
        ----------
        alpha : float
            New strength, ``>= 0``.

        Returns
        -------
        penalty : BasePenalty
        """
        if not self._has_strength:
            raise TypeError(f"{type(self).__name__} has no strength alpha to change.")
        new = copy.copy(self)
        new.alpha = _check_alpha(alpha)
        new._n_features = None
        return new

    def rescaled(self, linear, quadratic):
        """The penalty ``v -> m * h(k * v)`` (unbound), from ``m k`` and ``m k**2``.

        Used to solve a rescaled problem (equilibrated data) exactly. The two
        products are what a homogeneous family needs (strengths of degree 1 and 2)
        and stay representable when ``m`` or ``k`` alone would not. Raises
        ``NotImplementedError`` for penalties whose family is not closed under this
        change of variables.

        Parameters
        ----------
        linear : float
            ``m * k``, ``> 0``.
        quadratic : float
            ``m * k**2``, ``>= 0``.

        Returns
        -------
        penalty : BasePenalty
        """
        raise NotImplementedError(f"{type(self).__name__} cannot be rescaled.")

    def value(self, x):
        """Penalty value.

        Parameters
        ----------
        x : ndarray of shape (n_features, n_outputs)
            The point.

        Returns
        -------
        value : float
            ``inf`` outside the penalty's domain (a violated sign constraint).
        """
        pen = self._bound(x.shape[0])
        values = pen.nonsmooth_values(x)
        return float(np.sum(values) + 0.5 * np.sum(pen.quadratic * x * x))

    @property
    def quadratic(self):
        """Weights ``q`` of the smooth quadratic part, shape ``(n_features, 1)``."""
        raise NotImplementedError

    @property
    def free(self):
        """Unpenalised coordinates, bool of shape ``(n_features,)``.

        The solver minimises them exactly before it measures the duality gap, so
        :meth:`dual_scale` and :meth:`conjugate` ignore them.
        """
        raise NotImplementedError

    @property
    def groups(self):
        """None for separable penalties, else the groups: a list of sorted index arrays."""
        return None

    @property
    def is_smooth(self):
        """True when the non-smooth part ``g`` is identically zero."""
        raise NotImplementedError

    def nonsmooth_values(self, x, idx=None):
        """Value of ``g`` per coordinate (a group's value shared evenly by its coordinates).

        Parameters
        ----------
        x : ndarray of shape (m, n_outputs)
            The point on the rows ``idx``.
        idx : ndarray of int or None, default=None
            The rows (whole groups); None means all.

        Returns
        -------
        values : ndarray of shape (m,)
            Summed over any whole set of groups, the value of ``g`` there.
        """
        raise NotImplementedError

    def prox(self, v, step, idx):
        """Proximal map of ``g`` on the rows ``idx``: ``argmin_u ||u - v||^2 / (2 step) + g(u)``.

        Parameters
        ----------
        v : ndarray of shape (len(idx), n_outputs)
            Point to map.
        step : ndarray of shape (len(idx),)
            Step per coordinate (constant within a group).
        idx : ndarray of int
            The coordinates (whole groups for non-separable penalties).

        Returns
        -------
        u : ndarray of shape (len(idx), n_outputs)
        """
        raise NotImplementedError

    def subdiff_distance(self, x, grad, idx=None):
        """Smallest element of ``grad + dg(x)``: the optimality violation per coordinate.

        ``grad`` is the gradient of the smooth part (datafit plus the quadratic
        part of the penalty). Zero everywhere means ``x`` is optimal (convex) or
        stationary (Fréchet subdifferential, non-convex penalties). For groups,
        the Euclidean norm over a group is that group's violation.

        Parameters
        ----------
        x : ndarray of shape (m, n_outputs)
            The point on the rows ``idx``.
        grad : ndarray of shape (m, n_outputs)
            Smooth gradient there.
        idx : ndarray of int or None, default=None
            The rows (whole groups); None means all.

        Returns
        -------
        violation : ndarray of shape (m, n_outputs)
        """
        raise NotImplementedError

    def zero_thresholds(self):
        """Per coordinate, a level below which ``|grad_j|`` keeps a zero coordinate optimal.

        Safe screening uses it: coordinates at 0 whose gradient provably stays below
        their threshold need not be recomputed. For groups, the group's level
        divided by the square root of its size.

        Returns
        -------
        thresholds : ndarray of shape (n_features,)
        """
        raise NotImplementedError

    def critical_alpha(self, grad):
        """The smallest ``alpha`` at which ``x = 0`` is optimal, given the gradient at 0.

        The start of a regularisation path (scikit-learn's ``alpha_max``); ``inf``
        when no strength makes 0 optimal (a penalty without a non-smooth part).

        Parameters
        ----------
        grad : ndarray of shape (n_features, n_outputs)
            Datafit gradient at 0 (free coordinates already minimised).

        Returns
        -------
        alpha : float
        """
        raise NotImplementedError

    def dual_scale(self, u):
        """Largest ``s`` in ``[0, 1]`` with ``h*(s u)`` finite (convex penalties).

        Parameters
        ----------
        u : ndarray of shape (n_features, n_outputs)
            Dual direction ``A' theta`` (minus the datafit gradient).

        Returns
        -------
        s : float
        """
        raise NotImplementedError

    def conjugate(self, u):
        """Fenchel conjugate ``h*(u)`` over the penalised coordinates (convex penalties).

        Parameters
        ----------
        u : ndarray of shape (n_features, n_outputs)
            A point with ``dual_scale(u) == 1``.

        Returns
        -------
        value : float
        """
        raise NotImplementedError

    def coordinate_kernel(self):
        """The compiled form of a separable penalty: ``(kind, a, b, nonneg)``.

        ``kind`` is one of the kinds of :mod:`regkit.optim._prox` and ``a``, ``b``
        (float64) and ``nonneg`` (bool) have shape ``(n_features,)``; compiled
        coordinate descent loops evaluate the penalty from these alone.

        Returns
        -------
        kernel : tuple
        """
        raise NotImplementedError

    def group_kernel(self):
        """The compiled form of a group penalty: ``(members, starts, levels)``.

        ``members`` lists the coordinates group after group, group ``k`` being
        ``members[starts[k]:starts[k + 1]]``, with strength ``levels[k]``.

        Returns
        -------
        kernel : tuple
        """
        raise NotImplementedError


def _check_alpha(alpha):
    alpha = float(alpha)
    if not alpha >= 0 or not np.isfinite(alpha):
        raise ValueError(f"penalty strength alpha must be a finite number >= 0, got {alpha}.")
    return alpha


def _check_weights(weights, n_features, what="penalty weights"):
    if weights is None:
        return np.ones(n_features)
    weights = np.asarray(weights, dtype=np.float64)
    if weights.shape != (n_features,):
        raise ValueError(f"{what} must have shape ({n_features},), got {weights.shape}.")
    if not np.all(np.isfinite(weights)) or np.any(weights < 0):
        raise ValueError(f"{what} must be finite and >= 0.")
    return weights


class _CoordinateWise(BasePenalty):
    """Separable penalties whose non-smooth part is one compiled kind per coordinate.

    Subclasses set ``_kind`` and define ``_params(n_features)`` returning the
    per-coordinate ``a``, ``b``, ``nonneg`` and quadratic weights ``q``.
    """

    _kind = _prox.L1_KIND

    def _bind(self, n_features):
        a, b, nonneg, q = self._params(n_features)
        self._a = np.ascontiguousarray(a, dtype=np.float64)
        self._b = np.ascontiguousarray(b, dtype=np.float64)
        self._nonneg = np.ascontiguousarray(nonneg, dtype=np.bool_)
        self._q = np.asarray(q, dtype=np.float64).reshape(n_features, 1)

    @property
    def quadratic(self):
        return self._q

    @property
    def free(self):
        return (self._a == 0) & (self._q[:, 0] == 0) & ~self._nonneg

    @property
    def is_smooth(self):
        return not (np.any(self._a) or np.any(self._nonneg))

    def nonsmooth_values(self, x, idx=None):
        pen = self._bound(x.shape[0]) if idx is None else self
        sel = slice(None) if idx is None else idx
        return _prox.value_rows(pen._kind, _f64(x), pen._a[sel], pen._b[sel], pen._nonneg[sel])

    def prox(self, v, step, idx):
        step = np.broadcast_to(np.asarray(step, dtype=np.float64).reshape(-1), (len(idx),))
        return _prox.prox_array(
            self._kind, _f64(v), np.ascontiguousarray(step), self._a[idx], self._b[idx],
            self._nonneg[idx],
        )  # fmt: skip

    def subdiff_distance(self, x, grad, idx=None):
        pen = self._bound(x.shape[0]) if idx is None else self
        sel = slice(None) if idx is None else idx
        return _prox.violation_array(
            pen._kind, _f64(x), _f64(grad), pen._a[sel], pen._b[sel], pen._nonneg[sel]
        )

    def zero_thresholds(self):
        return self._a.copy()

    def critical_alpha(self, grad):
        unit = self.with_alpha(1.0).bind(self._n_features)
        level = unit._a
        g = np.where(unit._nonneg[:, None], np.maximum(-grad, 0.0), np.abs(grad))
        g = g.max(axis=1)
        return _critical(g, level, (level == 0) & (unit._q[:, 0] > 0))

    def coordinate_kernel(self):
        return self._kind, self._a, self._b, self._nonneg


def _critical(grad_norms, level, smooth_only):
    """``max grad / level`` over the units with a level.

    ``inf`` when a unit penalised only smoothly (``smooth_only``) has a gradient:
    no strength makes it stay at 0.
    """
    if np.any(grad_norms[smooth_only] > 0):
        return np.inf
    scored = level > 0
    return float(np.max(grad_norms[scored] / level[scored], initial=0.0))


def _f64(a):
    return np.ascontiguousarray(a, dtype=np.float64)


class SeparablePenalty(_CoordinateWise):
    """``l1 * |x| + l2 / 2 * x**2`` (+ ``x >= 0``), weighted per coordinate.

    The convex separable family; :class:`L1`, :class:`L2`, :class:`ElasticNet`,
    :class:`WeightedL1`, :class:`NonNegative` and :class:`NoPenalty` are its
    named members.

    Parameters
    ----------
    l1 : float, default=0.0
        Weight of the absolute value.
    l2 : float, default=0.0
        Weight of the squared value (halved).
    nonneg : bool, default=False
        Constrain the penalised coordinates to be non-negative.
    weights : array-like of shape (n_features,) or None, default=None
        Per-coordinate multipliers of ``l1`` and ``l2`` (glmnet's penalty factors);
        coordinates with weight 0 are unpenalised and unconstrained.

    Examples
    --------
    >>> import numpy as np
    >>> from regkit.optim import ElasticNet
    >>> pen = ElasticNet(alpha=1.0, l1_ratio=0.5)
    >>> float(pen.value(np.array([[2.0], [-1.0]])))
    2.75
    """

    def __init__(self, l1=0.0, l2=0.0, nonneg=False, weights=None):
        if not (l1 >= 0 and l2 >= 0):
            raise ValueError(f"penalty strengths must be >= 0, got l1={l1}, l2={l2}.")
        self._l1 = float(l1)
        self._l2 = float(l2)
        self.nonneg = bool(nonneg)
        self.weights = None if weights is None else np.asarray(weights, dtype=float)

    @property
    def l1(self):
        """Strength of the absolute value."""
        return self._l1

    @property
    def l2(self):
        """Strength of the (halved) squared value."""
        return self._l2

    def _params(self, n_features):
        w = _check_weights(self.weights, n_features)
        a = self.l1 * w
        return a, np.zeros(n_features), (w > 0) & self.nonneg, self.l2 * w

    def rescaled(self, linear, quadratic):
        return SeparablePenalty(l1=linear * self.l1, l2=quadratic * self.l2, nonneg=self.nonneg,
                                weights=self.weights)  # fmt: skip

    def _hard(self):
        """Penalised coordinates without a quadratic part: their conjugate is an indicator."""
        return (self._q[:, 0] == 0) & ~self.free

    def dual_scale(self, u):
        hard = self._hard()
        if not np.any(hard):
            return 1.0
        uh = u[hard]
        excess = np.where(self._nonneg[hard, None], uh, np.abs(uh))
        level = self._a[hard, None]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            ratio = np.where(excess > level, level / excess, 1.0)
        return float(min(1.0, np.min(ratio)))

    def conjugate(self, u):
        soft = (self._q[:, 0] > 0) & ~self.free
        if not np.any(soft):
            return 0.0
        us, a, q = u[soft], self._a[soft, None], self._q[soft]
        excess = np.where(self._nonneg[soft, None], np.maximum(us - a, 0.0),
                          np.maximum(np.abs(us) - a, 0.0))  # fmt: skip
        with np.errstate(over="ignore"):  # a vanishing ridge: the bound is (rightly) huge
            return float(np.sum(excess**2 / (2.0 * q)))

    def __repr__(self):
        return f"{type(self).__name__}(l1={self.l1:g}, l2={self.l2:g}, nonneg={self.nonneg})"


class NoPenalty(SeparablePenalty):
    """No penalty: plain (smooth) minimisation.

    Examples
    --------
    >>> from regkit.optim import NoPenalty
    >>> NoPenalty().bind(3).is_smooth
    True
    """

    def __init__(self):
        super().__init__()

    def __repr__(self):
        return "NoPenalty()"


class _AlphaPenalty(SeparablePenalty):
    """Members of the family parametrised by one strength ``alpha``."""

    _l1_share = 0.0
    _l2_share = 0.0
    _has_strength = True

    @property
    def l1(self):
        return self.alpha * self._l1_share

    @property
    def l2(self):
        return self.alpha * self._l2_share

    def __repr__(self):
        return f"{type(self).__name__}(alpha={self.alpha:g})"


class L2(_AlphaPenalty):
    """Ridge penalty ``alpha / 2 * ||x||^2``.

    Parameters
    ----------
    alpha : float
        Strength.
    weights : array-like or None, default=None
        Per-coordinate multipliers (0 leaves a coordinate free).

    Examples
    --------
    >>> from regkit.optim import L2
    >>> L2(0.5).l2
    0.5
    """

    _l2_share = 1.0

    def __init__(self, alpha, weights=None):
        super().__init__(weights=weights)
        self.alpha = _check_alpha(alpha)


class L1(_AlphaPenalty):
    """Lasso penalty ``alpha * ||x||_1``.

    Parameters
    ----------
    alpha : float
        Strength.
    weights : array-like or None, default=None
        Per-coordinate multipliers (0 leaves a coordinate free).
    positive : bool, default=False
        Constrain the penalised coordinates to be non-negative.

    Examples
    --------
    >>> from regkit.optim import L1
    >>> L1(0.1).bind(2).is_smooth
    False
    """

    _l1_share = 1.0

    def __init__(self, alpha, weights=None, positive=False):
        super().__init__(nonneg=positive, weights=weights)
        self.alpha = _check_alpha(alpha)


class WeightedL1(L1):
    """Weighted lasso ``alpha * sum_j w_j |x_j|`` (adaptive lasso, penalty factors).

    Parameters
    ----------
    alpha : float
        Strength.
    weights : array-like of shape (n_features,)
        Non-negative per-coordinate weights; 0 leaves a coordinate unpenalised.
    positive : bool, default=False
        Constrain the penalised coordinates to be non-negative.

    Examples
    --------
    >>> import numpy as np
    >>> from regkit.optim import WeightedL1
    >>> float(WeightedL1(1.0, weights=[0.0, 2.0]).value(np.array([[5.0], [-1.0]])))
    2.0
    """

    def __init__(self, alpha, weights, positive=False):
        if weights is None:
            raise ValueError("WeightedL1 needs weights (use L1 for equal weights).")
        super().__init__(alpha, weights=weights, positive=positive)


class ElasticNet(_AlphaPenalty):
    """``alpha * (l1_ratio * ||x||_1 + (1 - l1_ratio) / 2 * ||x||^2)``, as in scikit-learn.

    Parameters
    ----------
    alpha : float
        Overall strength.
    l1_ratio : float, default=0.5
        Share of the L1 part, in [0, 1].
    nonneg : bool, default=False
        Constrain the coefficients to be non-negative.
    weights : array-like or None, default=None
        Per-coordinate multipliers (0 leaves a coordinate free).

    Examples
    --------
    >>> from regkit.optim import ElasticNet
    >>> pen = ElasticNet(2.0, l1_ratio=0.25)
    >>> pen.l1, pen.l2
    (0.5, 1.5)
    """

    def __init__(self, alpha, l1_ratio=0.5, nonneg=False, weights=None):
        if not 0.0 <= l1_ratio <= 1.0:
            raise ValueError(f"l1_ratio must be in [0, 1], got {l1_ratio}.")
        super().__init__(nonneg=nonneg, weights=weights)
        self.alpha = _check_alpha(alpha)
        self.l1_ratio = float(l1_ratio)

    @property
    def _l1_share(self):
        return self.l1_ratio

    @property
    def _l2_share(self):
        return 1.0 - self.l1_ratio

    def __repr__(self):
        return f"ElasticNet(alpha={self.alpha:g}, l1_ratio={self.l1_ratio:g})"


class NonNegative(_AlphaPenalty):
    """The constraint ``x >= 0``, optionally with a linear term ``alpha * sum(x)``.

    This is the paper's "A-L1" penalty: on ``x >= 0``, ``alpha * ||x||_1`` is linear.

    Parameters
    ----------
    alpha : float, default=0.0
        Weight of ``sum(x)`` (equal to ``||x||_1`` on the feasible set).
    weights : array-like or None, default=None
        Per-coordinate multipliers (0 leaves a coordinate free and unconstrained).

    Examples
    --------
    >>> import numpy as np
    >>> from regkit.optim import NonNegative
    >>> NonNegative().value(np.array([[-1.0]]))
    inf
    """

    _l1_share = 1.0

    def __init__(self, alpha=0.0, weights=None):
        super().__init__(nonneg=True, weights=weights)
        self.alpha = _check_alpha(alpha)
