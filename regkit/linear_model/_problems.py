"""A linear model's fit as a BCD problem: equilibrated data, intercept, datafit, penalty.

Shared by the estimators, their cross-validation and the paths, so that each fits
exactly the same objective the same way.

Scale. Any representable scale of ``X`` and ``y`` works: when the largest entry of
``X`` (or ``y``) lies outside ``[1e-100, 1e100]`` the problem is solved on data
divided by a power of two that brings it near 1 (exact in floating point), with
the penalty changed accordingly (:meth:`BasePenalty.rescaled`), and the solution
mapped back. Otherwise the data are used as given. When the rescaled penalty's
strengths overflow, the penalty dominates the loss beyond floating-point range and
the coefficients are exactly 0 to float precision: they are returned as 0.
"""

import numpy as np
import scipy.sparse as sp

from regkit.optim import L1, BCDSolver, LeastSquares, Logistic, MultinomialLogistic
from regkit.optim._augmented import WithFreeCoordinates

SAFE_RANGE = (1e-100, 1e100)


def add_intercept_column(X):
    """Append a column of ones (kept sparse for sparse ``X``)."""
    ones = np.ones((X.shape[0], 1))
    if sp.issparse(X):
        return sp.hstack([X, sp.csc_array(ones)], format="csc")
    return np.hstack([X, ones])


def max_abs(a):
    """Largest absolute entry of a dense or sparse array (no temporary copy)."""
    data = a.data if sp.issparse(a) else a
    if data.size == 0:
        return 0.0
    return float(max(abs(np.max(data)), abs(np.min(data))))


def unit_exponent(a):
    """Exponent ``e`` with ``max|a| < 2**e <= 2 max|a|`` (dense or sparse; 0 if all zero)."""
    top = max_abs(a)
    return int(np.frexp(top)[1]) if top > 0 else 0


def power_of_two_scale(a):
    """1 inside :data:`SAFE_RANGE`, else the power of two closest to the largest ``|a|``."""
    top = max_abs(a)
    if top == 0.0 or SAFE_RANGE[0] <= top <= SAFE_RANGE[1]:
        return 1.0
    return float(2.0 ** np.round(np.log2(top)))


class LinearProblem:
    """The BCD problem of a linear model and the map back to coefficients and intercepts.

    Parameters
    ----------
    datafit : BaseDatafit
        Datafit on the (equilibrated, centred or intercept-augmented) design.
    penalty : BasePenalty
        The model's penalty on the original coefficients (unbound).
    n_features : int
        Features of ``X`` (the datafit may have intercept columns after them).
    x_scale, y_scale : float
        Powers of two the data were divided by.
    x_offset, y_offset : ndarray
        Centring offsets (zeros without centring), in the scaled units.
    """

    def __init__(self, datafit, penalty, n_features, x_scale, y_scale, x_offset, y_offset):
        self.datafit, self.user_penalty = datafit, penalty
        self.n_features = n_features
        self.x_scale, self.y_scale = x_scale, y_scale
        self.x_offset, self.y_offset = x_offset, y_offset
        self.n_free = datafit.n_features - n_features

    def penalty(self, alpha=None):
        """The penalty on the problem's coordinates (at strength ``alpha`` if given).

        Returns None when its rescaled strengths overflow (the solution is 0).
        """
        pen = self.user_penalty if alpha is None else self.user_penalty.with_alpha(alpha)
        if self.x_scale != 1.0 or self.y_scale != 1.0:
            pen = self._rescaled(pen)
            if pen is None:
                return None
        return WithFreeCoordinates(pen, self.n_free) if self.n_free else pen

    def _rescaled(self, pen):
        """The penalty of the equilibrated problem; None when its strengths overflow."""
        # The coefficients scale by k = y_scale / x_scale and the objective by
        # m = 1 / y_scale**2: strengths by m k = 1 / (x_scale y_scale) and m k^2.
        # Both are powers of two whose product with a strength may be representable
        # when the factor alone is not (a lasso alpha of 1e-200 on X ~ 1e-200 needs
        # m k^2 ~ 1e400): the families are homogeneous, so apply each factor in two
        # representable halves.
        ex, ey = (int(np.frexp(np.float64(s))[1]) - 1 for s in (self.x_scale, self.y_scale))
        linear, quadratic = -(ex + ey), -2 * ex
        halves = [(linear // 2, quadratic // 2), (linear - linear // 2, quadratic - quadratic // 2)]
        try:
            with np.errstate(over="ignore", under="ignore", invalid="ignore"):
                for lin, quad in halves:
                    pen = pen.rescaled(np.ldexp(1.0, lin), np.ldexp(1.0, quad))
        except NotImplementedError as exc:
            raise ValueError(
                f"X or y has an extreme scale (X divided by {self.x_scale:.3g}, y by "
                f"{self.y_scale:.3g} to solve); {type(pen).__name__} cannot be rescaled "
                "exactly: standardise X and y first."
            ) from exc
        bound = pen.bind(self.n_features)
        finite = np.all(np.isfinite(bound.zero_thresholds()))
        if not (finite and np.all(np.isfinite(bound.quadratic))):
            return None
        return pen

    def zero_start(self):
        """The point where every penalised coordinate is 0 (intercepts at their optimum)."""
        W = np.zeros((self.datafit.n_features, self.datafit.n_outputs))
        if self.n_free:
            free = np.arange(self.n_features, self.datafit.n_features)
            # Only the free block moves; a huge L1 pins the others at 0 throughout.
            pinned = WithFreeCoordinates(L1(1e300), self.n_free)
            W = BCDSolver(selection="cyclic", blocks="fixed", partition=[free], update="newton",
                          tol=0.0, max_iter=30).solve(self.datafit, pinned).x  # fmt: skip
        return W

    def critical_alpha(self):
        """Smallest strength of the penalty family with an all-zero solution (``alpha_max``)."""
        datafit = self.datafit
        grad = datafit.gradient(datafit.init_state(self.zero_start()))[: self.n_features]
        with np.errstate(over="ignore"):  # to the original units of X and y
            grad = grad * (np.float64(self.x_scale) * np.float64(self.y_scale))
        return self.user_penalty.bind(self.n_features).critical_alpha(grad)

    def coef_intercept(self, W):
        """Coefficients ``(n_outputs, n_features)`` and intercepts ``(n_outputs,)`` of ``W``."""
        ratio = self.y_scale / self.x_scale
        coef = W[: self.n_features].T * ratio
        intercept = self.y_scale * (self.y_offset - W[: self.n_features].T @ self.x_offset)
        if self.n_free:
            intercept = intercept + self.y_scale * W[self.n_features]
        return coef, intercept

    def original_gap(self, gap):
        """A duality gap of the solved problem on the original objective's scale.

        ``inf`` when it exceeds the float range (y scaled by more than ~1e154).
        """
        with np.errstate(over="ignore"):  # two steps: 0 * huge stays 0
            return float(np.float64(gap) * self.y_scale * self.y_scale)


def _scaled(X, Y):
    x_scale, y_scale = power_of_two_scale(X), power_of_two_scale(Y)
    if x_scale != 1.0:
        X = X * (1.0 / x_scale)
    if y_scale != 1.0:
        Y = Y * (1.0 / y_scale)
    return X, Y, x_scale, y_scale


# Paths on a dense design precompute its Gram matrix when it is this small.
PRECOMPUTE_MAX_FEATURES = 4096


def least_squares_problem(X, Y, sample_weight, fit_intercept, penalty, many_solves=False):
    """Least squares (scikit-learn's ElasticNet scale) with an unpenalised intercept.

    Dense ``X`` is centred (weighted means); sparse ``X`` gets an intercept column.
    ``many_solves`` (paths) precomputes the Gram matrix of a dense design with at
    least twice as many samples as features (as scikit-learn's paths do).
    """
    X, Y, x_scale, y_scale = _scaled(X, Y)
    p = X.shape[1]
    x_offset, y_offset = np.zeros(p), np.zeros(Y.shape[1])
    design = X
    if fit_intercept and sp.issparse(X):
        design = add_intercept_column(X)
    elif fit_intercept:
        x_offset = np.average(X, axis=0, weights=sample_weight)
        y_offset = np.average(Y, axis=0, weights=sample_weight)
        design = np.subtract(X, x_offset, order="F")  # the solver's layout, in one copy
    n = X.shape[0]
    precompute = (many_solves and not sp.issparse(X) and n >= 2 * p
                  and p <= PRECOMPUTE_MAX_FEATURES)  # fmt: skip
    datafit = LeastSquares(design, Y - y_offset, sample_weight=sample_weight,
                           precompute=precompute)  # fmt: skip
    return LinearProblem(datafit, penalty, p, x_scale, y_scale, x_offset, y_offset)


def logistic_problem(X, codes, n_classes, sample_weight, fit_intercept, penalty):
    """Mean (weighted) logistic or softmax loss with unpenalised intercept columns."""
    X, _, x_scale, _ = _scaled(X, np.zeros(1))
    p = X.shape[1]
    design = add_intercept_column(X) if fit_intercept else X
    if n_classes == 2:
        datafit = Logistic(design, np.where(codes == 1, 1.0, -1.0), sample_weight=sample_weight)
    else:
        datafit = MultinomialLogistic(design, codes, n_classes, sample_weight=sample_weight)
    K = datafit.n_outputs
    return LinearProblem(datafit, penalty, p, x_scale, 1.0, np.zeros(p), np.zeros(K))
