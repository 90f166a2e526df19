"""Binary and multinomial logistic regression by greedy block coordinate descent."""

from numbers import Real

import numpy as np
from scipy.special import expit, log_expit, log_softmax, softmax
from sklearn.base import BaseEstimator
from sklearn.linear_model._base import LinearClassifierMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, validate_data

from regkit.linear_model._base import (
    BCD_ATTRIBUTES,
    BCD_CONSTRAINTS,
    PENALTY_NAMES,
    PENALTY_PARAMETER,
    BCDFitMixin,
    bcd_doc,
    make_penalty,
)
from regkit.linear_model._problems import logistic_problem
from regkit.optim import BasePenalty
from regkit.utils import fill_doc, store_init_params, validate_params


def check_classification_data(estimator, X, y, sample_weight):
    """Validated ``X``, class codes, classes and positive-sum sample weights."""
    X, y = validate_data(estimator, X, y, accept_sparse="csc", dtype=np.float64)
    check_classification_targets(y)
    encoder = LabelEncoder().fit(y)
    classes = encoder.classes_
    if len(classes) < 2:
        raise ValueError(
            f"{type(estimator).__name__} needs samples of at least 2 classes in y; got 1 class "
            f"({classes[0]!r})."
        )
    sw = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
    if sw.sum() <= 0:
        raise ValueError("sample_weight must have a positive sum.")
    return X, encoder.transform(y), classes, sw


class LogisticMixin(LinearClassifierMixin):
    """Probabilities and coefficients of the logistic estimators."""

    def _set_coef(self, coef, intercept):
        self.coef_ = np.ascontiguousarray(coef)
        self.intercept_ = np.asarray(intercept, dtype=np.float64).copy()
        if len(self.classes_) > 2:
            # Softmax is blind to a common shift of the unpenalised intercepts: report
            # the centred (minimum-norm) one, so equal problems give equal models.
            self.intercept_ -= self.intercept_.mean()

    def predict_proba(self, X):
        """Class probabilities.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        scores = self.decision_function(X)
        if scores.ndim == 1:
            p1 = expit(scores)
            return np.column_stack([1 - p1, p1])
        return softmax(scores, axis=1)

    def predict_log_proba(self, X):
        """Logarithm of the class probabilities.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        # Computed in log space: np.log(predict_proba) underflows to -inf for
        # confident predictions.
        scores = self.decision_function(X)
        if scores.ndim == 1:
            return np.column_stack([log_expit(-scores), log_expit(scores)])
        return log_softmax(scores, axis=1)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


@fill_doc(
    bcd_parameters=bcd_doc(selection="gs-q", blocks="variable", update="newton", tol=1e-6,
                           max_iter=1000),
    bcd_attributes=BCD_ATTRIBUTES,
    penalty_parameter=PENALTY_PARAMETER.format(scale="the mean (weighted) loss, i.e. "
                                               "``alpha = 1 / (C * sum(sample_weight))``"),
)  # fmt: skip
class BCDLogisticRegression(LogisticMixin, BCDFitMixin, BaseEstimator):
    """Logistic regression (binary or multinomial) by greedy block coordinate descent.

    Minimises scikit-learn's :class:`~sklearn.linear_model.LogisticRegression`
    objective ``C * sum_i w_i loss_i + (1 - l1_ratio) / 2 ||W||^2 + l1_ratio ||W||_1``
    (the intercept is not penalised), with the logistic loss for two classes and
    the softmax cross-entropy for more. The default solver selects a growing
    working set with the proximal GS-q rule and takes block proximal-Newton steps
    with a backtracking line search (Nutini, Laradji & Schmidt, 2022).

    Parameters
    ----------
    C : float, default=1.0
        Inverse penalty strength, as in scikit-learn.

    l1_ratio : float, default=0.0
        Share of the L1 part of the penalty, in [0, 1] (0: L2, 1: L1).

    {penalty_parameter}

    fit_intercept : bool, default=True
        Fit unpenalised intercepts (an extra column; the stopping test is then
        the KKT violation, since the dual needs every coordinate penalised).

    {bcd_parameters}

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.

    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        Coefficients (one row for two classes).

    intercept_ : ndarray of shape (1,) or (n_classes,)
        Intercepts.

    n_features_in_ : int
        Number of features seen in ``fit``.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Feature names, when ``X`` had string column names.

    {bcd_attributes}

    See Also
    --------
    sklearn.linear_model.LogisticRegression : The same objective (lbfgs, liblinear, saga...).

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from regkit.linear_model import BCDLogisticRegression
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = BCDLogisticRegression(C=1.0).fit(X, y)
    >>> clf.coef_.shape, round(clf.score(X, y), 2)
    ((3, 4), 0.97)
    """

    _parameter_constraints = {
        "C": [Interval(Real, 0, None, closed="neither")],
        "l1_ratio": [Interval(Real, 0, 1, closed="both")],
        "penalty": [StrOptions(set(PENALTY_NAMES)), BasePenalty],
        "fit_intercept": ["boolean"],
        **BCD_CONSTRAINTS,
    }

    def __init__(
        self,
        C=1.0,
        *,
        l1_ratio=0.0,
        penalty="elasticnet",
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

    def fit(self, X, y, sample_weight=None):
        """Fit the model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Class labels.
        sample_weight : array-like of shape (n_samples,) or None, default=None
            Non-negative sample weights.

        Returns
        -------
        self : BCDLogisticRegression
        """
        validate_params(self)
        X, codes, self.classes_, sw = check_classification_data(self, X, y, sample_weight)
        # sklearn's C * sum(w loss) + penalty, divided by C * sum(w).
        penalty = make_penalty(self.penalty, 1.0 / (self.C * sw.sum()), self.l1_ratio)
        problem = logistic_problem(X, codes, len(self.classes_), sw, self.fit_intercept, penalty)
        self._set_coef(*problem.coef_intercept(self._solve_problem(problem)))
        return self
