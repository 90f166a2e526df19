"""Separable penalties ``h(x) = sum_j w_j h_j(x_j)`` of the BCD engine.

Every penalty is one instance of the same family

    h_j(x) = l1 * |x| + (l2 / 2) * x**2 + indicator(x >= 0 if nonneg),

scaled per coordinate by ``weights`` (0 leaves a coordinate, e.g. an intercept, free).
The solver treats the quadratic part as smooth (it is added to the gradient, the
Lipschitz constants and the Hessian) and only the ``l1`` / sign part through its
proximal operator, so greedy rules and block Newton steps see one smooth function
plus a simple separable one.
"""

import numpy as np


class SeparablePenalty:
    """``l1 * |x| + l2 / 2 * x**2`` (+ ``x >= 0``), weighted per coordinate.

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
        if l1 < 0 or l2 < 0:
            raise ValueError(f"penalty strengths must be >= 0, got l1={l1}, l2={l2}.")
        self.l1 = float(l1)
        self.l2 = float(l2)
        self.nonneg = bool(nonneg)
        self.weights = None if weights is None else np.asarray(weights, dtype=float)

    @property
    def is_smooth(self):
        """True when the penalty has no non-differentiable part (no ``l1``, no sign)."""
        return self.l1 == 0.0 and not self.nonneg

    def coef_weights(self, n_features):
        """Per-coordinate weights as a column.

        Parameters
        ----------
        n_features : int
            Number of coordinates.

        Returns
        -------
        weights : ndarray of shape (n_features, 1)
        """
        if self.weights is None:
            return np.ones((n_features, 1))
        if self.weights.shape != (n_features,):
            raise ValueError(
                f"penalty weights must have shape ({n_features},), got {self.weights.shape}."
            )
        return self.weights[:, None]

    def bind(self, n_features):
        """Per-coordinate strengths, the form the solver works with.

        Parameters
        ----------
        n_features : int
            Number of coordinates.

        Returns
        -------
        l1, l2 : ndarray of shape (n_features, 1)
            Weighted strengths.
        nonneg : ndarray of bool, shape (n_features, 1)
            Where ``x >= 0`` is imposed.
        """
        w = self.coef_weights(n_features)
        nonneg = (w > 0) & self.nonneg
        return self.l1 * w, self.l2 * w, nonneg

    def value(self, x, bound=None):
        """Penalty value.

        Parameters
        ----------
        x : ndarray of shape (n_features, n_outputs)
            The point.
        bound : tuple or None, default=None
            The result of :meth:`bind`, to skip recomputing it.

        Returns
        -------
        value : float
            ``inf`` when a sign constraint is violated.
        """
        l1, l2, nonneg = bound if bound is not None else self.bind(x.shape[0])
        if np.any(x[np.broadcast_to(nonneg, x.shape)] < 0):
            return np.inf
        return float(np.sum(l1 * np.abs(x)) + 0.5 * np.sum(l2 * x**2))

    def __repr__(self):
        return f"{type(self).__name__}(l1={self.l1:g}, l2={self.l2:g}, nonneg={self.nonneg})"


def prox_l1(v, step_l1, nonneg):
    """Proximal map of the non-smooth part: soft-thresholding (one-sided if ``nonneg``)."""
    out = np.sign(v) * np.maximum(np.abs(v) - step_l1, 0.0)
    return np.where(nonneg, np.maximum(v - step_l1, 0.0), out)


def min_norm_subgradient(x, grad, l1, nonneg):
    """Smallest element of ``grad + d(l1 |x| + indicator)`` at ``x``; 0 means KKT holds.

    ``grad`` must already include the smooth (``l2``) part of the penalty.
    """
    at_zero = x == 0
    shrunk = np.sign(grad) * np.maximum(np.abs(grad) - l1, 0.0)
    # At 0 with x >= 0, only moving up is feasible: the violation is the negative part.
    shrunk = np.where(nonneg, np.minimum(grad + l1, 0.0), shrunk)
    moving = grad + l1 * np.sign(x)
    return np.where(at_zero, shrunk, moving)


class NoPenalty(SeparablePenalty):
    """No penalty: plain (smooth) minimisation.

    Examples
    --------
    >>> from regkit.optim import NoPenalty
    >>> NoPenalty().is_smooth
    True
    """

    def __init__(self):
        super().__init__()


class L2(SeparablePenalty):
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

    def __init__(self, alpha, weights=None):
        super().__init__(l2=alpha, weights=weights)


class L1(SeparablePenalty):
    """Lasso penalty ``alpha * ||x||_1``.

    Parameters
    ----------
    alpha : float
        Strength.
    weights : array-like or None, default=None
        Per-coordinate multipliers (0 leaves a coordinate free).

    Examples
    --------
    >>> from regkit.optim import L1
    >>> L1(0.1).is_smooth
    False
    """

    def __init__(self, alpha, weights=None):
        super().__init__(l1=alpha, weights=weights)


class ElasticNet(SeparablePenalty):
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
        super().__init__(
            l1=alpha * l1_ratio, l2=alpha * (1.0 - l1_ratio), nonneg=nonneg, weights=weights
        )


class NonNegative(SeparablePenalty):
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

    def __init__(self, alpha=0.0, weights=None):
        super().__init__(l1=alpha, nonneg=True, weights=weights)
