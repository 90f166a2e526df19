"""Ridge, lasso and elastic net by greedy block coordinate descent."""

from numbers import Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from regkit.linear_model._base import BCD_ATTRIBUTES, BCD_CONSTRAINTS, BCDFitMixin, bcd_doc
from regkit.optim import ElasticNet, LeastSquares
from regkit.utils import fill_doc, store_init_params, validate_params


def add_intercept_column(X):
    """Append a column of ones (kept sparse for sparse ``X``)."""
    ones = np.ones((X.shape[0], 1))
    if sp.issparse(X):
        return sp.hstack([X, sp.csc_array(ones)], format="csc")
    return np.hstack([X, ones])


@fill_doc(
    bcd_parameters=bcd_doc(selection="gs-q", blocks="variable", update="newton", tol=1e-4,
                           max_iter=1000),
    bcd_attributes=BCD_ATTRIBUTES,
)  # fmt: skip
class BCDRegressor(RegressorMixin, BCDFitMixin, BaseEstimator):
    """Least squares with an elastic-net penalty, solved by greedy block coordinate descent.

    Minimises, as :class:`sklearn.linear_model.ElasticNet` does,

    ``||y - X w - b||^2 / (2 n) + alpha * l1_ratio * ||w||_1
    + alpha * (1 - l1_ratio) / 2 * ||w||^2``

    (sample-weighted: the squared errors are averaged with the weights), so
    ``l1_ratio=0`` is ridge and ``l1_ratio=1`` is the lasso. The default solver is
    the greedy variable-block scheme of Nutini, Laradji & Schmidt (2022): GS-q
    selection of a growing working set, each block minimised exactly (compiled
    coordinate descent on the residual), which identifies the support in finitely
    many iterations and then converges superlinearly.

    Parameters
    ----------
    alpha : float, default=1.0
        Penalty strength.

    l1_ratio : float, default=0.5
        Share of the L1 part, in [0, 1].

    fit_intercept : bool, default=True
        Fit an unpenalised intercept (dense ``X``: by centring; sparse ``X``: as an
        extra unpenalised column, which switches the stopping test to the KKT
        violation).

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
    regkit.optim.BCDSolver : The engine, with every selection/block/update option.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from regkit.linear_model import BCDRegressor
    >>> X, y = make_regression(n_samples=100, n_features=20, n_informative=3,
    ...                        noise=1.0, random_state=0)
    >>> model = BCDRegressor(alpha=1.0, l1_ratio=1.0).fit(X, y)
    >>> int((model.coef_ != 0).sum()), round(model.score(X, y), 3)
    (3, 0.999)
    """

    _parameter_constraints = {
        "alpha": [Interval(Real, 0, None, closed="left")],
        "l1_ratio": [Interval(Real, 0, 1, closed="both")],
        "fit_intercept": ["boolean"],
        "positive": ["boolean"],
        **BCD_CONSTRAINTS,
    }

    def __init__(
        self,
        alpha=1.0,
        *,
        l1_ratio=0.5,
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
        X, y = validate_data(
            self, X, y, accept_sparse="csc", dtype=np.float64, multi_output=True, y_numeric=True
        )
        sw = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
        if sw.sum() <= 0:
            raise ValueError("sample_weight must have a positive sum.")
        Y = y.reshape(len(y), -1)
        n_features = X.shape[1]
        weights = np.ones(n_features)
        design, y_offset, x_offset = X, np.zeros(Y.shape[1]), np.zeros(n_features)
        if self.fit_intercept and sp.issparse(X):
            design = add_intercept_column(X)
            weights = np.r_[weights, 0.0]
        elif self.fit_intercept:
            x_offset = np.average(X, axis=0, weights=sw)
            y_offset = np.average(Y, axis=0, weights=sw)
            design = X - x_offset
        datafit = LeastSquares(design, Y - y_offset, sample_weight=sw)
        penalty = ElasticNet(self.alpha, self.l1_ratio, nonneg=self.positive, weights=weights)
        result = self._make_solver().solve(datafit, penalty)
        W = result.x
        coef = W[:n_features].T
        intercept = y_offset - coef @ x_offset
        if W.shape[0] > n_features:
            intercept = intercept + W[n_features]
        self._record_result(result)
        self.coef_ = coef[0] if y.ndim == 1 else coef
        self.intercept_ = float(intercept[0]) if y.ndim == 1 else intercept
        return self

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

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.target_tags.multi_output = True
        return tags
