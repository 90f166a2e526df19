"""Cross-validated choice of the penalty strength (and mix) along warm-started paths."""

from numbers import Integral, Real

import numpy as np
from joblib import Parallel, delayed
from scipy.special import log_expit, log_softmax
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.model_selection import check_cv
from sklearn.utils._param_validation import Interval, StrOptions

from regkit.linear_model._base import (
    BCD_ATTRIBUTES,
    BCD_CONSTRAINTS,
    PENALTY_NAMES,
    PENALTY_PARAMETER,
    BCDFitMixin,
    bcd_doc,
    make_penalty,
)
from regkit.linear_model._logistic import (
    BCDLogisticRegression,
    LogisticMixin,
    check_classification_data,
)
from regkit.linear_model._path import alpha_grid, path_points
from regkit.linear_model._problems import least_squares_problem, logistic_problem, unit_exponent
from regkit.linear_model._regressor import BCDRegressor, LinearPredictMixin, check_regression_data
from regkit.optim import BasePenalty
from regkit.utils import fill_doc, store_init_params, validate_params

CV_PARAMETERS = """
eps : float, default=1e-3
        ``alpha_min / alpha_max`` of the automatic grid.

    alphas : int or array-like, default=100
        Number of strengths of the automatic grid (from ``alpha_max``, the smallest
        strength with a zero solution on the whole data, down to ``eps *
        alpha_max``, geometric, as scikit-learn's), or the strengths themselves
        (used in decreasing order).

    cv : int, cross-validation generator or iterable, default=None
        As in scikit-learn: None is 5-fold :class:`~sklearn.model_selection.KFold`
        ({splitter} for an int).

    n_jobs : int or None, default=None
        Paths computed in parallel (threads; the compiled loops release the GIL),
        one per fold and ``l1_ratio``.
"""

CV_CONSTRAINTS = {
    "eps": [Interval(Real, 0, 1, closed="neither")],
    "alphas": [Interval(Integral, 1, None, closed="left"), "array-like"],
    "cv": ["cv_object"],
    "n_jobs": [Integral, None],
}

CV_ATTRIBUTES = """
alpha_ : float
        The strength chosen.

    l1_ratio_ : float or None
        The ``l1_ratio`` chosen (None for penalties other than ``"elasticnet"``).

    alphas_ : ndarray of shape (n_alphas,) or (n_l1_ratio, n_alphas)
        The grid of each ``l1_ratio``.
"""


def _l1_ratios(estimator):
    if isinstance(estimator.penalty, BasePenalty) or estimator.penalty != "elasticnet":
        return [None]
    ratios = np.atleast_1d(np.asarray(estimator.l1_ratio, dtype=np.float64))
    if ratios.ndim != 1 or np.any((ratios < 0) | (ratios > 1)):
        raise ValueError(f"l1_ratio must be a float or a list of floats in [0, 1], got "
                         f"{estimator.l1_ratio!r}.")  # fmt: skip
    return list(ratios)


def _grids(estimator, problems):
    if isinstance(estimator.alphas, Integral):
        return np.array([alpha_grid(pb, estimator.eps, estimator.alphas) for pb in problems])
    alphas = np.sort(np.asarray(estimator.alphas, dtype=np.float64).ravel())[::-1]
    if alphas.size == 0 or np.any(~np.isfinite(alphas)) or np.any(alphas < 0):
        raise ValueError("alphas must be finite numbers >= 0.")
    return np.tile(alphas, (len(problems), 1))


def cross_validated_losses(X, make_problem, templates, grids, folds, solver, loss, n_jobs):
    """Held-out loss of every path point: shape ``(n_templates, n_alphas, n_folds)``.

    ``make_problem(train, template)`` builds a fold's problem and ``loss(scores,
    test)`` the held-out loss of each path point from its decision values on the
    held-out rows, shape ``(n_test, n_alphas, n_outputs)`` (one product for the
    whole path, as the held-out rows are sliced once per fold).
    """

    def one_path(template, alphas, train, test):
        problem = make_problem(train, template)
        fitted = [problem.coef_intercept(W) for W, _, _ in path_points(problem, alphas, solver)]
        coefs = np.stack([coef for coef, _ in fitted])  # (n_alphas, n_outputs, n_features)
        intercepts = np.stack([intercept for _, intercept in fitted])
        n_alphas, n_outputs, n_features = coefs.shape
        scores = np.asarray(X[test] @ coefs.reshape(-1, n_features).T)
        scores = scores.reshape(len(test), n_alphas, n_outputs) + intercepts
        return loss(scores, test)

    losses = Parallel(n_jobs=n_jobs, prefer="threads")(
        delayed(one_path)(template, alphas, train, test)
        for template, alphas in zip(templates, grids)
        for train, test in folds
    )
    return np.moveaxis(np.reshape(losses, (len(templates), len(folds), -1)), 2, 1)


def best_point(losses, grids, ratios):
    """scikit-learn's choice: the smallest mean loss, the first ``l1_ratio`` on ties."""
    best = (np.inf, None, None)
    for ratio, alphas, mean in zip(ratios, grids, losses.mean(axis=2)):
        i = int(np.argmin(mean))
        if mean[i] < best[0]:
            best = (mean[i], alphas[i], ratio)
    return best[1], best[2]


class PathCVMixin(BCDFitMixin):
    """The search shared by the CV estimators: grids, folds, losses, choice, refit."""

    def _search(self, X, y_split, make_problem, loss):
        ratios = _l1_ratios(self)
        templates = [make_penalty(self.penalty, 1.0, 1.0 if r is None else r, self._positive())
                     for r in ratios]  # fmt: skip
        every_row = slice(None)  # views, not copies, of the data
        grids = _grids(self, [make_problem(every_row, t) for t in templates])
        splitter = check_cv(self.cv, y_split, classifier=self._is_classifier())
        n_folds = splitter.get_n_splits(X, y_split)
        if X.shape[0] < n_folds:
            raise ValueError(f"X has {X.shape[0]} samples: cross-validation with {n_folds} "
                             f"folds needs at least {n_folds}.")  # fmt: skip
        folds = list(splitter.split(X, y_split))
        losses = cross_validated_losses(X, make_problem, templates, grids, folds,
                                        self._make_solver(), loss, self.n_jobs)  # fmt: skip
        self.alpha_, self.l1_ratio_ = best_point(losses, grids, ratios)
        self.alphas_ = grids[0] if len(ratios) == 1 else grids
        return losses

    def _positive(self):
        return False

    def _is_classifier(self):
        return False

    def _refit_params(self):
        names = set(BCD_CONSTRAINTS) | {"penalty", "fit_intercept"}
        params = {k: v for k, v in self.get_params().items() if k in names}
        if self.l1_ratio_ is not None:
            params["l1_ratio"] = self.l1_ratio_
        return params

    def _copy_fit(self, model):
        for name in ("n_iter_", "history_", "converged_", "dual_gap_"):
            setattr(self, name, getattr(model, name))


@fill_doc(
    bcd_parameters=bcd_doc(selection="gs-q", blocks="variable", update="newton", tol=1e-4,
                           max_iter=1000),
    bcd_attributes=BCD_ATTRIBUTES,
    cv_parameters=CV_PARAMETERS.format(splitter="KFold"),
    cv_attributes=CV_ATTRIBUTES,
    penalty_parameter=PENALTY_PARAMETER.format(scale="this objective (its alpha is searched)"),
)  # fmt: skip
class BCDRegressorCV(LinearPredictMixin, PathCVMixin, RegressorMixin, BaseEstimator):
    """:class:`BCDRegressor` with ``alpha`` (and ``l1_ratio``) chosen by cross-validation.

    The counterpart of scikit-learn's :class:`~sklearn.linear_model.ElasticNetCV`
    and :class:`~sklearn.linear_model.LassoCV`: on each fold a warm-started path
    (:func:`bcd_path`) over the same grid, the held-out mean squared error of each
    point, the strength (and ``l1_ratio``) with the smallest mean over folds, and a
    refit on all the data. Same grid, folds and choice rule as scikit-learn.

    Parameters
    ----------
    l1_ratio : float or list of float, default=0.5
        Share(s) of the L1 part searched (``penalty="elasticnet"``).

    {penalty_parameter}

    {cv_parameters}

    fit_intercept : bool, default=True
        Fit an unpenalised intercept (centred per fold, as scikit-learn does).

    positive : bool, default=False
        Non-negative coefficients.

    {bcd_parameters}

    Attributes
    ----------
    {cv_attributes}

    mse_path_ : ndarray of shape (n_alphas, n_folds) or (n_l1_ratio, n_alphas, n_folds)
        Held-out mean squared error of every point and fold.

    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
        Coefficients of the refit.

    intercept_ : float or ndarray of shape (n_targets,)
        Intercept of the refit.

    n_features_in_ : int
        Number of features seen in ``fit``.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Feature names, when ``X`` had string column names.

    {bcd_attributes}

    See Also
    --------
    sklearn.linear_model.ElasticNetCV : The same search by cyclic coordinate descent.
    bcd_path : One warm-started path.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from regkit.linear_model import BCDRegressorCV
    >>> X, y = make_regression(n_samples=120, n_features=30, n_informative=4, noise=5.0,
    ...                        random_state=0)
    >>> model = BCDRegressorCV(l1_ratio=[0.5, 1.0], alphas=20).fit(X, y)
    >>> model.mse_path_.shape, int((model.coef_ != 0).sum()) < 30
    ((2, 20, 5), True)
    """

    _parameter_constraints = {
        "l1_ratio": [Interval(Real, 0, 1, closed="both"), "array-like"],
        "penalty": [StrOptions(set(PENALTY_NAMES)), BasePenalty],
        "fit_intercept": ["boolean"],
        "positive": ["boolean"],
        **CV_CONSTRAINTS,
        **BCD_CONSTRAINTS,
    }

    def __init__(
        self,
        *,
        l1_ratio=0.5,
        penalty="elasticnet",
        eps=1e-3,
        alphas=100,
        cv=None,
        n_jobs=None,
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

    def _positive(self):
        return self.positive

    def fit(self, X, y, sample_weight=None):
        """Search the strength by cross-validation, then refit on all the data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Targets.
        sample_weight : array-like of shape (n_samples,) or None, default=None
            Non-negative sample weights (the folds' losses are weighted too).

        Returns
        -------
        self : BCDRegressorCV
        """
        validate_params(self)
        X, y, Y, sw = check_regression_data(self, X, y, sample_weight)

        def make_problem(rows, template):
            return least_squares_problem(X[rows], Y[rows], sw[rows], self.fit_intercept, template,
                                         many_solves=True)  # fmt: skip

        # Residuals in units of a power of two near the largest |y|: their squares
        # neither overflow (y ~ 1e160) nor underflow (y ~ 1e-200), and the choice is
        # that of the original units exactly.
        exponent = unit_exponent(Y)

        def loss(scores, test):
            residual = np.ldexp(scores - Y[test][:, None, :], -exponent)
            return np.average(residual**2, axis=0, weights=sw[test]).mean(axis=1)

        losses = self._search(X, y, make_problem, loss)
        with np.errstate(over="ignore", under="ignore"):  # beyond float64: inf or 0, truly
            self.mse_path_ = np.squeeze(np.ldexp(losses, 2 * exponent))
        model = BCDRegressor(alpha=self.alpha_, positive=self.positive, **self._refit_params())
        model.fit(X, y, sample_weight=sw)
        self.coef_, self.intercept_ = model.coef_, model.intercept_
        self._copy_fit(model)
        return self


@fill_doc(
    bcd_parameters=bcd_doc(selection="gs-q", blocks="variable", update="newton", tol=1e-6,
                           max_iter=1000),
    bcd_attributes=BCD_ATTRIBUTES,
    cv_parameters=CV_PARAMETERS.format(splitter="StratifiedKFold"),
    cv_attributes=CV_ATTRIBUTES,
    penalty_parameter=PENALTY_PARAMETER.format(
        scale="the mean (weighted) loss (its alpha is searched)"),
)  # fmt: skip
class BCDLogisticRegressionCV(LogisticMixin, PathCVMixin, BaseEstimator):
    """:class:`BCDLogisticRegression` with the penalty strength chosen by cross-validation.

    Strengths are on the scale of the mean loss, ``alpha = 1 / (C * n)`` (glmnet's
    convention, the same on every fold); ``C_`` is the chosen one in
    :class:`BCDLogisticRegression`'s terms. Each fold runs a warm-started path over
    the grid, scores every point by the held-out mean log-loss (a proper scoring
    rule, so the choice does not jump between tied accuracies), and the best mean
    over folds is refit on all the data.

    Parameters
    ----------
    l1_ratio : float or list of float, default=0.5
        Share(s) of the L1 part searched (``penalty="elasticnet"``); the
        automatic grid needs an L1 part (pass ``alphas`` for a pure ridge).

    {penalty_parameter}

    {cv_parameters}

    fit_intercept : bool, default=True
        Fit unpenalised intercepts.

    {bcd_parameters}

    Attributes
    ----------
    {cv_attributes}

    C_ : float
        The chosen strength as :class:`BCDLogisticRegression`'s ``C`` on all the
        data, ``1 / (alpha_ * sum(sample_weight))``.

    loss_path_ : ndarray of shape (n_alphas, n_folds) or (n_l1_ratio, n_alphas, n_folds)
        Held-out mean log-loss of every point and fold.

    classes_ : ndarray of shape (n_classes,)
        Class labels.

    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        Coefficients of the refit.

    intercept_ : ndarray of shape (1,) or (n_classes,)
        Intercepts of the refit.

    n_features_in_ : int
        Number of features seen in ``fit``.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Feature names, when ``X`` had string column names.

    {bcd_attributes}

    See Also
    --------
    sklearn.linear_model.LogisticRegressionCV : A grid over ``C`` by other solvers.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.preprocessing import StandardScaler
    >>> from regkit.linear_model import BCDLogisticRegressionCV
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> X = StandardScaler().fit_transform(X)
    >>> clf = BCDLogisticRegressionCV(l1_ratio=1.0, alphas=10).fit(X, y)
    >>> clf.loss_path_.shape, clf.score(X, y) > 0.95
    ((10, 5), True)
    """

    _parameter_constraints = {
        "l1_ratio": [Interval(Real, 0, 1, closed="both"), "array-like"],
        "penalty": [StrOptions(set(PENALTY_NAMES)), BasePenalty],
        "fit_intercept": ["boolean"],
        **CV_CONSTRAINTS,
        **BCD_CONSTRAINTS,
    }

    def __init__(
        self,
        *,
        l1_ratio=0.5,
        penalty="elasticnet",
        eps=1e-3,
        alphas=100,
        cv=None,
        n_jobs=None,
        fit_intercept=True,
        selection="gs-q",
        blocks="variable",
        block_size="auto",
        partition="sort",
        update="newton",
        tol=1e-6,
        max_iter=1000,
        max_time=None,
        callback=None,
        random_state=None,
    ):
        store_init_params(self, locals())

    def _is_classifier(self):
        return True

    def fit(self, X, y, sample_weight=None):
        """Search the strength by cross-validation, then refit on all the data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Class labels.
        sample_weight : array-like of shape (n_samples,) or None, default=None
            Non-negative sample weights (the folds' losses are weighted too).

        Returns
        -------
        self : BCDLogisticRegressionCV
        """
        validate_params(self)
        X, codes, self.classes_, sw = check_classification_data(self, X, y, sample_weight)
        n_classes = len(self.classes_)

        def make_problem(rows, template):
            return logistic_problem(X[rows], codes[rows], n_classes, sw[rows],
                                    self.fit_intercept, template)  # fmt: skip

        def loss(scores, test):
            if n_classes == 2:
                signs = np.where(codes[test] == 1, 1.0, -1.0)
                per_row = -log_expit(signs[:, None] * scores[:, :, 0])
            else:
                per_row = -log_softmax(scores, axis=2)[np.arange(len(test)), :, codes[test]]
            return np.average(per_row, axis=0, weights=sw[test])

        self.loss_path_ = np.squeeze(self._search(X, codes, make_problem, loss))
        self.C_ = 1.0 / (self.alpha_ * sw.sum())
        model = BCDLogisticRegression(C=self.C_, **self._refit_params()).fit(X, y, sw)
        self.coef_, self.intercept_ = model.coef_, model.intercept_
        self._copy_fit(model)
        return self
