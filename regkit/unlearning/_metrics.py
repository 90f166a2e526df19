"""How much of the forget rows a model still shows: output distance and membership attack."""

from typing import NamedTuple

import numpy as np
from scipy.stats import wasserstein_distance
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.utils import _safe_indexing


def prediction_wasserstein(estimator, reference, X):
    """Wasserstein-1 distance between two models' predictions on the same rows.

    Tarun et al. (ICML 2023) compare the distribution of an unlearned model's
    predictions on the forget rows with the retrained model's, with
    :func:`scipy.stats.wasserstein_distance`; 0 means the same distribution.

    Parameters
    ----------
    estimator : fitted regressor
        The model to judge (unlearned, say).
    reference : fitted regressor
        The reference model (retrained without the forget rows).
    X : array-like of shape (n_samples, n_features)
        The rows (the forget rows, in the paper's protocol).

    Returns
    -------
    distance : float
        In the units of the target; for several outputs, the mean over outputs
        of the per-output distances.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.dummy import DummyRegressor
    >>> from regkit.unlearning import prediction_wasserstein
    >>> X = np.zeros((4, 1))
    >>> a = DummyRegressor(strategy="constant", constant=1.0).fit(X, np.ones(4))
    >>> b = DummyRegressor(strategy="constant", constant=3.5).fit(X, np.ones(4))
    >>> prediction_wasserstein(a, b, X)
    2.5
    """
    predicted = np.asarray(estimator.predict(X), dtype=np.float64)
    expected = np.asarray(reference.predict(X), dtype=np.float64)
    predicted = predicted.reshape(len(predicted), -1)
    expected = expected.reshape(len(expected), -1)
    return float(
        np.mean(
            [
                wasserstein_distance(predicted[:, j], expected[:, j])
                for j in range(predicted.shape[1])
            ]
        )
    )


class MembershipInference(NamedTuple):
    """Result of :func:`membership_inference`.

    Parameters
    ----------
    score : float
        Share of the forget rows the attack calls members (training rows).
    attack_accuracy : float
        Cross-validated accuracy of the attack on its own balanced member /
        non-member rows: 0.5 is chance (the model's losses do not tell members
        apart), 1.0 a perfect attack.
    n_samples : int
        Rows drawn from each of the member and non-member sets.
    """

    score: float
    attack_accuracy: float
    n_samples: int


def membership_inference(
    estimator,
    X_forget,
    y_forget,
    X_member,
    y_member,
    X_nonmember,
    y_nonmember,
    *,
    n_samples=2000,
    random_state=0,
):
    """Membership-inference attack on the per-sample loss (Tarun et al. protocol).

    An attacker that sees a row's loss under the model guesses whether the row was
    trained on. Following the reference code of "Deep Regression Unlearning":
    the feature is the per-sample absolute error, the attack is
    ``SVC(kernel="rbf", C=3, gamma="auto")``, trained on ``n_samples`` random
    training (member) rows labelled 1 against as many held-out (non-member) rows
    labelled 0, and the score is the share of the forget rows it calls members.
    A model that truly forgot should score like the retrained model, not 0.

    Parameters
    ----------
    estimator : fitted regressor
        The model under attack.
    X_forget : array-like of shape (n_forget, n_features)
        Rows to judge (the forget rows).
    y_forget : array-like of shape (n_forget,) or (n_forget, n_outputs)
        Their targets.
    X_member : array-like of shape (n_train, n_features)
        Rows the model was trained on (the retain rows).
    y_member : array-like of shape (n_train,) or (n_train, n_outputs)
        Their targets.
    X_nonmember : array-like of shape (n_test, n_features)
        Rows the model never saw (a test set).
    y_nonmember : array-like of shape (n_test,) or (n_test, n_outputs)
        Their targets.
    n_samples : int, default=2000
        Rows drawn from each of the member and non-member sets (fewer when a set
        is smaller; the two classes are always balanced) and at most from the
        forget rows.
    random_state : int, default=0
        Seed of the draws and of the cross-validation folds.

    Returns
    -------
    result : MembershipInference
        ``score``, ``attack_accuracy`` (0.5 = chance) and ``n_samples``.

    Notes
    -----
    Deviation from the reference code: the losses are standardised (with the
    attack's training rows) before the SVC. The reference feeds raw losses to an
    RBF kernel of width ``gamma="auto" = 1``, which makes the attack depend on
    the units of the target (a target in thousands leaves the kernel matrix the
    identity). For multi-output targets the loss is the mean absolute error over
    outputs.

    Examples
    --------
    A 1-nearest-neighbour model memorises its training rows (loss 0), so the
    attack tells members apart and flags the forget rows it was trained on:

    >>> import numpy as np
    >>> from sklearn.neighbors import KNeighborsRegressor
    >>> from regkit.unlearning import membership_inference
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((600, 2))
    >>> y = X[:, 0] + rng.standard_normal(600)
    >>> model = KNeighborsRegressor(n_neighbors=1).fit(X[:400], y[:400])
    >>> result = membership_inference(
    ...     model, X[:50], y[:50], X[50:400], y[50:400], X[400:], y[400:]
    ... )
    >>> result.score, result.attack_accuracy > 0.9
    (1.0, True)
    """
    rng = np.random.default_rng(random_state)
    n = int(min(n_samples, len(X_member), len(X_nonmember)))
    members = rng.choice(len(X_member), size=n, replace=False)
    nonmembers = rng.choice(len(X_nonmember), size=n, replace=False)
    features = np.concatenate(
        [
            _absolute_errors(
                estimator, _safe_indexing(X_member, members), _safe_indexing(y_member, members)
            ),
            _absolute_errors(
                estimator,
                _safe_indexing(X_nonmember, nonmembers),
                _safe_indexing(y_nonmember, nonmembers),
            ),
        ]
    )[:, None]
    labels = np.r_[np.ones(n, dtype=int), np.zeros(n, dtype=int)]
    attack = make_pipeline(StandardScaler(), SVC(kernel="rbf", C=3, gamma="auto"))
    folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=random_state)
    accuracy = float(cross_val_score(attack, features, labels, cv=folds).mean())
    attack.fit(features, labels)
    judged = np.arange(len(X_forget))
    if len(judged) > n_samples:
        judged = rng.choice(len(X_forget), size=n_samples, replace=False)
    forget_losses = _absolute_errors(
        estimator, _safe_indexing(X_forget, judged), _safe_indexing(y_forget, judged)
    )
    score = float(attack.predict(forget_losses[:, None]).mean())
    return MembershipInference(score, accuracy, n)


def _absolute_errors(estimator, X, y):
    """Per-row absolute error (mean over outputs)."""
    predicted = np.asarray(estimator.predict(X), dtype=np.float64).reshape(len(y), -1)
    return np.abs(predicted - np.asarray(y, dtype=np.float64).reshape(len(y), -1)).mean(axis=1)
