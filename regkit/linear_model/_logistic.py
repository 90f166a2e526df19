"""Binary and multinomial logistic regression by greedy block coordinate descent."""

from numbers import Real

import numpy as np
from scipy.special import expit, log_expit, log_softmax, softmax
from sklearn.base import BaseEstimator
from sklearn.linear_model._base import LinearClassifierMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils._param_validation import Interval
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, validate_data

from regkit.linear_model._base import BCD_ATTRIBUTES, BCD_CONSTRAINTS, BCDFitMixin, bcd_doc
from regkit.linear_model._regressor import add_intercept_column
from regkit.optim import ElasticNet, Logistic, MultinomialLogistic
from regkit.utils import fill_doc, store_init_params, validate_params


@fill_doc(
    bcd_parameters=bcd_doc(selection="gs-q", blocks="variable", update="newton", tol=1e-6,
                           max_iter=1000),
    bcd_attributes=BCD_ATTRIBUTES,
)  # fmt: skip
class BCDLogisticRegression(LinearClassifierMixin, BCDFitMixin, BaseEstimator):
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
        "fit_intercept": ["boolean"],
        **BCD_CONSTRAINTS,
    }

    def __init__(
        self,
        C=1.0,
        *,
        l1_ratio=0.0,
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
        X, y = validate_data(self, X, y, accept_sparse="csc", dtype=np.float64)
        check_classification_targets(y)
        encoder = LabelEncoder().fit(y)
        self.classes_ = encoder.classes_
        n_classes = len(self.classes_)
        if n_classes < 2:
            raise ValueError(
                "BCDLogisticRegression needs samples of at least 2 classes in y; got 1 class "
                f"({self.classes_[0]!r})."
            )
        sw = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
        if sw.sum() <= 0:
            raise ValueError("sample_weight must have a positive sum.")
        codes = encoder.transform(y)
        n_features = X.shape[1]
        design, weights = X, np.ones(n_features)
        if self.fit_intercept:
            design = add_intercept_column(X)
            weights = np.r_[weights, 0.0]
        if n_classes == 2:
            datafit = Logistic(design, np.where(codes == 1, 1.0, -1.0), sample_weight=sw)
        else:
            datafit = MultinomialLogistic(design, codes, n_classes, sample_weight=sw)
        # sklearn's C * sum(w loss) + penalty, divided by C * sum(w).
        penalty = ElasticNet(1.0 / (self.C * sw.sum()), self.l1_ratio, weights=weights)
        result = self._make_solver().solve(datafit, penalty)
        W = result.x
        self.coef_ = np.ascontiguousarray(W[:n_features].T)
        self.intercept_ = W[n_features].copy() if self.fit_intercept else np.zeros(W.shape[1])
        if n_classes > 2:
            # Softmax is blind to a common shift of the unpenalised intercepts: report
            # the centred (minimum-norm) one, so equal problems give equal models.
            self.intercept_ -= self.intercept_.mean()
        self._record_result(result)
        return self

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
