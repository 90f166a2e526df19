"""Anamnesis index: how fast a model relearns what it was asked to forget."""

import copy

import numpy as np
from sklearn.metrics import mean_absolute_error
from sklearn.utils import _safe_indexing
from sklearn.utils.validation import _num_samples

from regkit.unlearning._pipeline import final_estimator, transform_to_final
from regkit.unlearning._seeding import seed_estimator
from regkit.utils import fill_doc


def partial_fit_step(estimator, X, y):
    """Default relearning step: one ``partial_fit`` call of the final model on a batch.

    For a Pipeline, the batch goes through the fitted preprocessing (kept fixed) and
    the last step's ``partial_fit`` is called. Estimators with ``partial_fit``
    include regkit's neural regressors (one epoch over the batch, in minibatches
    of their ``batch_size``, continuing one optimiser), scikit-learn's
    ``SGDRegressor`` and ``MLPRegressor`` (one gradient pass over the batch) and
    :class:`~regkit.unlearning.UnlearnableRidge` (adds the rows exactly). For any
    other estimator, pass your own step to
    :func:`relearn_steps` / :func:`anamnesis_index`: a callable
    ``step(estimator, X_batch, y_batch)`` that trains ``estimator`` in place.

    Parameters
    ----------
    estimator : fitted regressor or Pipeline
        Trained in place (the AIN functions pass a copy).
    X : array-like of shape (n_batch, n_features)
        Batch inputs.
    y : array-like of shape (n_batch,) or (n_batch, n_outputs)
        Batch targets.

    Raises
    ------
    TypeError
        If the final model has no ``partial_fit``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import SGDRegressor
    >>> from regkit.unlearning import partial_fit_step
    >>> X, y = np.ones((4, 1)), np.ones(4)
    >>> model = SGDRegressor(random_state=0).fit(X, y)
    >>> partial_fit_step(model, X, y)
    """
    final = final_estimator(estimator)
    _check_partial_fit(final)
    final.partial_fit(transform_to_final(estimator, X), y)


_RELEARNING = """relearn_step : callable or None, default=None
        ``step(estimator, X_batch, y_batch)`` training a copy in place; None:
        :func:`partial_fit_step`.
    batch_size : int, default=256
        Rows per step (the paper's value).
    max_epochs : int, default=10
        Passes over the training rows before giving up (the paper's value).
    error : callable, default=sklearn.metrics.mean_absolute_error
        ``error(y_true, y_pred)``, lower is better.
    random_state : int or None, default=0
        Seed of the batch order (every model relearns on the same batches) and of
        the copy's own draws: every ``random_state`` parameter of the copy is set
        from it (so a neural regressor's ``partial_fit`` shuffles and drops out
        the same way for every model). None keeps the models' own seeds."""


@fill_doc(relearning=_RELEARNING)
def relearn_steps(
    estimator,
    X_forget,
    y_forget,
    X_train,
    y_train,
    *,
    threshold,
    relearn_step=None,
    batch_size=256,
    max_epochs=10,
    error=mean_absolute_error,
    random_state=0,
):
    """Mini-batch steps of training on the full data until the forget error is low again.

    Works on a deep copy: ``estimator`` and the arrays are never modified. The
    training rows are visited in shuffled mini-batches (the order depends only on
    ``random_state``, so every model sees the same batches) and the forget error
    is checked after every step.

    Parameters
    ----------
    estimator : fitted regressor or Pipeline
        The model (not modified).
    X_forget : array-like of shape (n_forget, n_features)
        Rows whose error is tracked.
    y_forget : array-like of shape (n_forget,) or (n_forget, n_outputs)
        Their targets.
    X_train : array-like of shape (n_train, n_features)
        Rows to relearn from (the full training set: retain and forget rows).
    y_train : array-like of shape (n_train,) or (n_train, n_outputs)
        Their targets.
    threshold : float
        Stop when ``error(y_forget, predict(X_forget)) <= threshold``.
    {relearning}

    Returns
    -------
    n_steps : float
        Steps taken (0 if the threshold already holds), or ``inf`` if it was not
        reached within ``max_epochs``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import SGDRegressor
    >>> from regkit.unlearning import relearn_steps
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((500, 2))
    >>> y = X @ [2.0, -1.0]
    >>> def sgd(X, y):
    ...     return SGDRegressor(max_iter=5, tol=None, random_state=0).fit(X, y)
    >>> blank = sgd(0 * X[100:], y[100:])  # learnt nothing about X
    >>> steps = relearn_steps(blank, X[:100], y[:100], X, y, threshold=0.1, batch_size=50)
    >>> bool(0 < steps < np.inf)
    True
    >>> relearn_steps(sgd(X, y), X[:100], y[:100], X, y, threshold=0.1)  # knows it already
    0.0
    """
    step = partial_fit_step if relearn_step is None else relearn_step
    if relearn_step is None:
        _check_partial_fit(final_estimator(estimator))
    model = copy.deepcopy(estimator)
    if random_state is not None:
        seed_estimator(model, random_state)
    if error(y_forget, model.predict(X_forget)) <= threshold:
        return 0.0
    rng = np.random.default_rng(random_state)
    n_train = _num_samples(X_train)
    n_steps = 0
    for _ in range(max_epochs):
        order = rng.permutation(n_train)
        for start in range(0, n_train, batch_size):
            batch = order[start : start + batch_size]
            step(model, _safe_indexing(X_train, batch), _safe_indexing(y_train, batch))
            n_steps += 1
            if error(y_forget, model.predict(X_forget)) <= threshold:
                return float(n_steps)
    return np.inf


@fill_doc(relearning=_RELEARNING)
def anamnesis_index(
    unlearned,
    reference,
    original,
    X_forget,
    y_forget,
    X_train,
    y_train,
    *,
    alpha=0.05,
    relearn_step=None,
    batch_size=256,
    max_epochs=10,
    error=mean_absolute_error,
    random_state=0,
):
    """Anamnesis index (AIN): relearning time of the unlearned model over the retrained one's.

    From Chundawat et al. (zero-shot unlearning), used by Tarun et al. (ICML 2023):
    with ``tau = (1 + alpha) * error(original, forget rows)``,
    ``AIN = rt(unlearned) / rt(reference)``, where ``rt`` counts the mini-batch
    steps of training on the full data until the forget error is back to ``tau``
    (:func:`relearn_steps`). Near 1: the forgotten information returns as slowly
    as for a model that never saw it; much below 1: it was only hidden.

    Parameters
    ----------
    unlearned : fitted regressor or Pipeline
        The unlearned model (not modified).
    reference : fitted regressor or Pipeline
        The model retrained without the forget rows (not modified).
    original : fitted regressor or Pipeline
        The model before unlearning; sets the threshold (not modified).
    X_forget : array-like of shape (n_forget, n_features)
        Rows whose error is tracked: the forget rows, or held-out rows of the
        forgotten cohort.
    y_forget : array-like of shape (n_forget,) or (n_forget, n_outputs)
        Their targets.
    X_train : array-like of shape (n_train, n_features)
        The full training set (retain and forget rows).
    y_train : array-like of shape (n_train,) or (n_train, n_outputs)
        Its targets.
    alpha : float, default=0.05
        Slack of the threshold (the paper's value).
    {relearning}

    Returns
    -------
    ain : float
        ``rt(unlearned) / rt(reference)``. ``nan`` when both meet the threshold
        without training (``rt = 0``, as happens when the forget rows are like
        any others) or neither reaches it within ``max_epochs``; ``inf`` when the
        reference meets it without training and the unlearned model does not, or
        the reference reaches it within ``max_epochs`` and the unlearned model
        does not.

    Notes
    -----
    Deviation from the reference code: its relearning trains the models in place,
    and the notebook then reuses the already retrained-and-relearnt gold model for
    the next AIN, which corrupts every value after the first. Here both models
    are deep-copied, the batch order and the copies' own draws are seeded,
    and the arguments are never modified. The threshold is measured on the
    rows passed as ``X_forget``; the reference code uses held-out rows of the
    forgotten cohort, which a random deletion does not define.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import SGDRegressor
    >>> from regkit.unlearning import anamnesis_index
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((400, 2))
    >>> y = X @ [2.0, -1.0] + 5.0 * (X[:, 0] > 1)
    >>> forget = X[:, 0] > 1
    >>> def sgd(X, y):
    ...     return SGDRegressor(max_iter=20, tol=None, random_state=0).fit(X, y)
    >>> original, retrained = sgd(X, y), sgd(X[~forget], y[~forget])
    >>> ain = anamnesis_index(
    ...     retrained, retrained, original, X[forget], y[forget], X, y, batch_size=32
    ... )
    >>> float(ain)
    1.0
    """
    threshold = (1 + alpha) * error(y_forget, original.predict(X_forget))
    kwargs = {
        "threshold": threshold,
        "relearn_step": relearn_step,
        "batch_size": batch_size,
        "max_epochs": max_epochs,
        "error": error,
        "random_state": random_state,
    }
    steps = relearn_steps(unlearned, X_forget, y_forget, X_train, y_train, **kwargs)
    reference_steps = relearn_steps(reference, X_forget, y_forget, X_train, y_train, **kwargs)
    return _relearn_ratio(steps, reference_steps)


def _relearn_ratio(steps, reference_steps):
    # 0/0 and inf/inf are undefined (nan); x/0 is inf: the reference needed no step.
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.divide(steps, reference_steps))


def _check_partial_fit(final):
    if not callable(getattr(final, "partial_fit", None)):
        raise TypeError(
            f"{type(final).__name__} has no partial_fit, the default relearning step: "
            "pass relearn_step=callable(estimator, X_batch, y_batch) that trains it in "
            "place on one batch."
        )
