"""Penalised least squares (ridge, lasso, elastic net, MCP, SCAD, group lasso) by greedy BCD."""

from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from regkit.linear_model._base import (
    BCD_ATTRIBUTES,
    BCD_CONSTRAINTS,
    PENALTY_NAMES,
    PENALTY_PARAMETER,
    BCDFitMixin,
    bcd_doc,
    make_penalty,
)
from regkit.linear_model._problems import least_squares_problem
from regkit.optim import BasePenalty
from regkit.utils import check_numeric_target, fill_doc, store_init_params, validate_params


def check_regression_data(estimator, X, y, sample_weight, reset=True):
    """Validated ``X`` (float64, CSC if sparse), 2-D ``Y`` and positive-sum sample weights."""
    check_numeric_target(y)
    X, y = validate_data(estimator, X, y, accept_sparse="csc", dtype=np.float64,
                         multi_output=True, y_numeric=True, reset=reset)  # fmt: skip
    sw = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
    if sw.sum() <= 0:
        raise ValueError("sample_weight must have a positive sum.")
    return X, y, y.reshape(len(y), -1), sw


class LinearPredictMixin:
    """``predict`` of the least-squares estimators: ``X coef_' + intercept_``."""

    def predict(self, X):
        """Predict with the fitted linear model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_targets)
        """
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse="csr", dtype=np.float64, reset=False)
        return np.asarray(X @ self.coef_.T, dtype=np.float64) + self.intercept_

    def _set_coef(self, coef, intercept, y):
        self.coef_ = coef[0] if y.ndim == 1 else coef
        self.intercept_ = float(intercept[0]) if y.ndim == 1 else intercept

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.target_tags.multi_output = True
        return tags


@fill_doc(
    bcd_parameters=bcd_doc(selection="gs-q", blocks="variable", update="newton", tol=1e-4,
                           max_iter=1000),
    bcd_attributes=BCD_ATTRIBUTES,
    penalty_parameter=PENALTY_PARAMETER.format(scale="this objective"),
)  # fmt: skip
class BCDRegressor(LinearPredictMixin, RegressorMixin, BCDFitMixin, BaseEstimator):
    """Penalised least squares, solved by greedy block coordinate descent.

    Minimises, as :class:`sklearn.linear_model.ElasticNet` does,

    ``||y - X w - b||^2 / (2 n) + alpha * l1_ratio * ||w||_1
    + alpha * (1 - l1_ratio) / 2 * ||w||^2``

    (sample-weighted: the squared errors are averaged with the weights), so
    ``l1_ratio=0`` is ridge and ``l1_ratio=1`` is the lasso; ``penalty`` swaps the
    elastic net for MCP, SCAD, a group lasso or any :class:`~regkit.optim.BasePenalty`.
    The default solver is the greedy variable-block scheme of Nutini, Laradji &
    Schmidt (2022): GS-q selection of a growing working set, each block minimised
    exactly (compiled coordinate descent on the residual), which identifies the
    support in finitely many iterations and then converges superlinearly.

    Parameters
    ----------
    alpha : float, default=1.0
        Penalty strength.

    l1_ratio : float, default=0.5
        Share of the L1 part, in [0, 1] (``penalty="elasticnet"``).

    {penalty_parameter}

    fit_intercept : bool, default=True
        Fit an unpenalised intercept (dense ``X``: by centring; sparse ``X``: as an
        extra unpenalised column).

    positive : bool, default=False
        Constrain the coefficients to be non-negative.

    {bcd_parameters}

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
        Coefficients.

    intercept_ : float or ndarray of shape (n_targets,)
        Intercept.

    n_features_in_ : int
        Number of features seen in ``fit``.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Feature names, when ``X`` had string column names.

    {bcd_attributes}

    See Also
    --------
    sklearn.linear_model.ElasticNet : The same objective by cyclic coordinate descent.
    BCDRegressorCV : Chooses ``alpha`` (and ``l1_ratio``) by cross-validation.
    regkit.optim.BCDSolver : The engine, with every selection/block/update option.

    Notes
    -----
    Any representable scale of ``X`` and ``y`` works: extreme scales are solved on
    data equilibrated by a power of two, with the penalty rescaled to the same
    problem (see :mod:`regkit.linear_model`); a fit on ``c * X`` equals a fit on
    ``X`` with the penalty of ``w / c``.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from regkit.linear_model import BCDRegressor
    >>> X, y = make_regression(n_samples=100, n_features=20, n_informative=3,
    ...                        noise=1.0, random_state=0)
    >>> model = BCDRegressor(alpha=1.0, l1_ratio=1.0).fit(X, y)
    >>> int((model.coef_ != 0).sum()), round(model.score(X, y), 3)
    (3, 0.999)
    >>> mcp = BCDRegressor(alpha=1.0, penalty="mcp").fit(X, y)  # unbiased large coefficients
    >>> bool(abs(mcp.score(X, y) - 1) < 1e-3)
    True
    """

    _parameter_constraints = {
        "alpha": [Interval(Real, 0, None, closed="left")],
        "l1_ratio": [Interval(Real, 0, 1, closed="both")],
        "penalty": [StrOptions(set(PENALTY_NAMES)), BasePenalty],
        "fit_intercept": ["boolean"],
        "positive": ["boolean"],
        **BCD_CONSTRAINTS,
    }

    def __init__(
        self,
        alpha=1.0,
        *,
        l1_ratio=0.5,
        penalty="elasticnet",
        fit_intercept=True,
        positive=False,
        selection="gs-q",
        blocks="variable",
        block_size="auto",
        partition="sort",
        update="newton",
        tol=1e-4,
        max_iter=1000,
        max_time=None,
        callback=None,
        random_state=None,
    ):
        store_init_params(self, locals())

    def fit(self, X, y, sample_weight=None):
        """Fit the model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Targets.
        sample_weight : array-like of shape (n_samples,) or None, default=None
            Non-negative sample weights.

        Returns
        -------
        self : BCDRegressor
        """
        validate_params(self)
        X, y, Y, sw = check_regression_data(self, X, y, sample_weight)
        penalty = make_penalty(self.penalty, self.alpha, self.l1_ratio, self.positive)
        problem = least_squares_problem(X, Y, sw, self.fit_intercept, penalty)
        coef, intercept = problem.coef_intercept(self._solve_problem(problem))
        self._set_coef(coef, intercept, y)
        return self
