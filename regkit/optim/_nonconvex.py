"""Non-convex separable penalties: MCP and SCAD (less bias on large coefficients).

Both equal ``alpha |x|`` near zero, so they select variables like the lasso, and
flatten out further away, so large coefficients are not shrunk. The objective is
no longer convex: the solver stops on the stationarity measure (the distance of
``-grad`` to the Fréchet subdifferential), not on a duality gap, and the solution
is a stationary point reached from the start (usually 0, or a warm start).
"""

import numpy as np

from regkit.optim import _prox
from regkit.optim._penalties import _check_alpha, _check_weights, _CoordinateWise


class _Folded(_CoordinateWise):
    """Shared parameters of the folded-concave penalties."""

    is_convex = False
    _min_gamma = 0.0
    _has_strength = True

    def __init__(self, alpha, gamma, weights=None):
        self.alpha = _check_alpha(alpha)
        gamma = float(gamma)
        if not gamma > self._min_gamma:
            raise ValueError(
                f"{type(self).__name__} needs gamma > {self._min_gamma:g}, got {gamma}."
            )
        self.gamma = gamma
        self.weights = None if weights is None else np.asarray(weights, dtype=float)

    def _params(self, n_features):
        w = _check_weights(self.weights, n_features)
        return (self.alpha * w, np.full(n_features, self.gamma), np.zeros(n_features, bool),
                np.zeros(n_features))  # fmt: skip

    def __repr__(self):
        return f"{type(self).__name__}(alpha={self.alpha:g}, gamma={self.gamma:g})"


class MCP(_Folded):
    """Minimax concave penalty (Zhang 2010), per coordinate.

    ``alpha |x| - x**2 / (2 gamma)`` for ``|x| <= gamma alpha``, ``gamma alpha**2 / 2``
    beyond (skglm's ``MCPenalty``). ``gamma -> inf`` is the lasso; small ``gamma``
    approaches hard thresholding. Per-coordinate ``weights`` multiply ``alpha``.

    Parameters
    ----------
    alpha : float
        Strength (the slope at 0).
    gamma : float, default=3.0
        Concavity parameter, ``> 0``.
    weights : array-like of shape (n_features,) or None, default=None
        Per-coordinate multipliers of ``alpha`` (0 leaves a coordinate free).

    Notes
    -----
    The coordinate subproblem ``(u - z)**2 / (2 t) + mcp(u)`` is convex when
    ``t < gamma``; otherwise its proximal map compares the candidates of each
    piece, so coordinate steps stay exact for any curvature.

    Examples
    --------
    >>> import numpy as np
    >>> from regkit.optim import MCP
    >>> pen = MCP(alpha=1.0, gamma=3.0)
    >>> pen.value(np.array([[0.5], [10.0]]))  # 0.5 - 0.25/6, then the plateau 1.5
    1.9583...
    """

    _kind = _prox.MCP_KIND

    def __init__(self, alpha, gamma=3.0, weights=None):
        super().__init__(alpha, gamma, weights)

    def rescaled(self, linear, quadratic):
        # m * mcp(k v) is an MCP in v: slope m k alpha, concavity gamma / (m k^2).
        with np.errstate(divide="ignore"):  # a vanishing quadratic scale: the lasso limit
            gamma = np.float64(self.gamma) / quadratic
        return MCP(alpha=linear * self.alpha, gamma=gamma, weights=self.weights)


class SCAD(_Folded):
    """Smoothly clipped absolute deviation (Fan & Li 2001), per coordinate.

    ``alpha |x|`` for ``|x| <= alpha``, ``(2 gamma alpha |x| - x**2 - alpha**2) /
    (2 (gamma - 1))`` up to ``gamma alpha``, ``alpha**2 (gamma + 1) / 2`` beyond.

    Parameters
    ----------
    alpha : float
        Strength (the slope at 0).
    gamma : float, default=3.7
        Concavity parameter, ``> 2`` (Fan & Li's 3.7 by default).
    weights : array-like of shape (n_features,) or None, default=None
        Per-coordinate multipliers of ``alpha``; unlike MCP, SCAD's knots depend
        on the strength, so a weight changes both its slope and its knots.

    Examples
    --------
    >>> import numpy as np
    >>> from regkit.optim import SCAD
    >>> SCAD(alpha=1.0).value(np.array([[0.5], [100.0]]))  # 0.5, then 4.7 / 2
    2.85
    """

    _kind = _prox.SCAD_KIND
    _min_gamma = 2.0

    def __init__(self, alpha, gamma=3.7, weights=None):
        super().__init__(alpha, gamma, weights)
