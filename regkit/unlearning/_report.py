"""Run unlearners and compare the models they give with the retrained reference."""

import time
import warnings

import numpy as np
import pandas as pd
from sklearn.metrics import mean_absolute_error, root_mean_squared_error

from regkit.unlearning._anamnesis import _relearn_ratio, relearn_steps
from regkit.unlearning._metrics import membership_inference, prediction_wasserstein
from regkit.unlearning._pipeline import final_estimator

REPORT_COLUMNS = (
    "seconds",
    "retain_mae",
    "retain_rmse",
    "forget_mae",
    "forget_rmse",
    "test_mae",
    "test_rmse",
    "forget_wasserstein",
    "mia_score",
    "mia_attack_accuracy",
    "ain",
)


def run_unlearners(
    estimator, unlearners, X_forget, y_forget, X_retain, y_retain, *, original="original"
):
    """Apply several unlearners to one fitted model and time each.

    Parameters
    ----------
    estimator : fitted regressor or Pipeline
        The model trained on retain and forget rows (not modified).
    unlearners : dict of str to Unlearner
        Name of each resulting model, and the unlearner that makes it.
    X_forget : array-like of shape (n_forget, n_features)
        Rows to forget.
    y_forget : array-like of shape (n_forget,) or (n_forget, n_outputs)
        Their targets.
    X_retain : array-like of shape (n_retain, n_features)
        Rows to keep.
    y_retain : array-like of shape (n_retain,) or (n_retain, n_outputs)
        Their targets.
    original : str, default="original"
        Name under which ``estimator`` itself is returned.

    Returns
    -------
    models : dict of str to estimator
        ``estimator`` under ``original``, then each unlearned model.
    seconds : dict of str to float
        Wall-clock seconds of each ``unlearn`` call.

    Examples
    --------
    >>> import numpy as np
    >>> from regkit.unlearning import (
    ...     ExactUnlearner, RetrainUnlearner, UnlearnableRidge, run_unlearners
    ... )
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.standard_normal((100, 3)), rng.standard_normal(100)
    >>> model = UnlearnableRidge().fit(X, y)
    >>> models, seconds = run_unlearners(
    ...     model,
    ...     {"retrain": RetrainUnlearner(), "exact": ExactUnlearner()},
    ...     X[:10], y[:10], X[10:], y[10:],
    ... )
    >>> sorted(models), sorted(seconds)
    (['exact', 'original', 'retrain'], ['exact', 'retrain'])
    >>> bool(np.allclose(models["exact"].coef_, models["retrain"].coef_))
    True
    """
    if original in unlearners:
        raise ValueError(
            f"unlearners has an entry named {original!r}, the name of the original "
            "model: rename it or pass another original=."
        )
    models, seconds = {original: estimator}, {}
    for name, unlearner in unlearners.items():
        start = time.perf_counter()
        models[name] = unlearner.unlearn(estimator, X_forget, y_forget, X_retain, y_retain)
        seconds[name] = time.perf_counter() - start
    return models, seconds


def unlearning_report(
    models,
    X_forget,
    y_forget,
    X_retain,
    y_retain,
    X_test,
    y_test,
    *,
    reference="retrain",
    original="original",
    seconds=None,
    relearn_step=None,
    ain_batch_size=256,
    ain_max_epochs=10,
    ain_alpha=0.05,
    mia_samples=2000,
    random_state=0,
):
    """Every unlearning metric of several models, side by side with the reference.

    The protocol of Tarun et al. (ICML 2023): the retrained model (``reference``)
    is the target for every column; a good unlearner lands close to it, not at
    the extremes.

    Parameters
    ----------
    models : dict of str to fitted regressor
        The models to compare, for instance from :func:`run_unlearners`; must
        contain ``reference`` (and ``original`` for the AIN).
    X_forget : array-like of shape (n_forget, n_features)
        The forgotten training rows.
    y_forget : array-like of shape (n_forget,) or (n_forget, n_outputs)
        Their targets.
    X_retain : array-like of shape (n_retain, n_features)
        The remaining training rows.
    y_retain : array-like of shape (n_retain,) or (n_retain, n_outputs)
        Their targets.
    X_test : array-like of shape (n_test, n_features)
        Rows no model was trained on.
    y_test : array-like of shape (n_test,) or (n_test, n_outputs)
        Their targets.
    reference : str, default="retrain"
        Name of the model retrained without the forget rows.
    original : str or None, default="original"
        Name of the model before unlearning (sets the AIN threshold); None or a
        name not in ``models`` leaves the ``ain`` column NaN.
    seconds : dict of str to float or None, default=None
        Time each model took (the ``seconds`` of :func:`run_unlearners`); missing
        names get NaN.
    relearn_step : callable or None, default=None
        Relearning step of the AIN, ``step(estimator, X_batch, y_batch)``; None:
        :func:`partial_fit_step`. Models that cannot relearn (no ``partial_fit``
        and no ``relearn_step``) get NaN, with a warning.
    ain_batch_size : int, default=256
        Rows per relearning step.
    ain_max_epochs : int, default=10
        Relearning passes before giving up.
    ain_alpha : float, default=0.05
        Slack of the AIN threshold.
    mia_samples : int, default=2000
        Rows per class of the membership-inference attack.
    random_state : int, default=0
        Seed of the attack's draws and of the relearning batches.

    Returns
    -------
    report : pandas.DataFrame
        One row per model (index ``model``), columns ``seconds``, ``retain_mae``,
        ``retain_rmse``, ``forget_mae``, ``forget_rmse``, ``test_mae``,
        ``test_rmse``, ``forget_wasserstein`` (distance of the forget-row
        predictions to the reference's, :func:`prediction_wasserstein`),
        ``mia_score`` and ``mia_attack_accuracy`` (:func:`membership_inference`,
        members: retain rows, non-members: test rows) and ``ain``
        (:func:`anamnesis_index`, relearning on retain and forget rows).
        ``report.attrs`` holds ``reference`` and ``original``.

    See Also
    --------
    regkit.plotting.UnlearningDisplay : Plot a report.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import SGDRegressor
    >>> from regkit.unlearning import RetrainUnlearner, run_unlearners, unlearning_report
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((600, 3))
    >>> y = X @ [1.0, -1.0, 0.5] + rng.standard_normal(600)
    >>> forget, retain, test = slice(0, 50), slice(50, 400), slice(400, None)
    >>> model = SGDRegressor(random_state=0).fit(X[:400], y[:400])
    >>> models, seconds = run_unlearners(
    ...     model, {"retrain": RetrainUnlearner()}, X[forget], y[forget], X[retain], y[retain]
    ... )
    >>> report = unlearning_report(
    ...     models, X[forget], y[forget], X[retain], y[retain], X[test], y[test],
    ...     seconds=seconds,
    ... )
    >>> list(report.index)
    ['original', 'retrain']
    >>> float(report.loc["retrain", "forget_wasserstein"])
    0.0
    """
    if reference not in models:
        raise ValueError(
            f"reference={reference!r} is not one of the models {sorted(models)}: pass the "
            "name of the model retrained without the forget rows."
        )
    seconds = {} if seconds is None else dict(seconds)
    unknown = sorted(set(seconds) - set(models))
    if unknown:
        raise ValueError(f"seconds has entries for unknown models {unknown}.")
    rows = {}
    for name, model in models.items():
        rows[name] = {
            "seconds": float(seconds.get(name, np.nan)),
            **_errors("retain", model, X_retain, y_retain),
            **_errors("forget", model, X_forget, y_forget),
            **_errors("test", model, X_test, y_test),
            "forget_wasserstein": prediction_wasserstein(model, models[reference], X_forget),
        }
        attack = membership_inference(
            model,
            X_forget,
            y_forget,
            X_retain,
            y_retain,
            X_test,
            y_test,
            n_samples=mia_samples,
            random_state=random_state,
        )
        rows[name]["mia_score"] = attack.score
        rows[name]["mia_attack_accuracy"] = attack.attack_accuracy
    ain = _anamnesis_column(
        models,
        reference,
        original,
        (X_forget, y_forget, X_retain, y_retain),
        relearn_step=relearn_step,
        batch_size=ain_batch_size,
        max_epochs=ain_max_epochs,
        alpha=ain_alpha,
        random_state=random_state,
    )
    for name in models:
        rows[name]["ain"] = ain[name]
    report = pd.DataFrame.from_dict(rows, orient="index", columns=list(REPORT_COLUMNS))
    report.index.name = "model"
    report.attrs.update(reference=reference, original=original)
    return report


def _errors(prefix, model, X, y):
    predicted = model.predict(X)
    return {
        f"{prefix}_mae": float(mean_absolute_error(y, predicted)),
        f"{prefix}_rmse": float(root_mean_squared_error(y, predicted)),
    }


def _anamnesis_column(models, reference, original, data, *, alpha, relearn_step, **kwargs):
    """AIN of every model; the reference's relearning time is measured once."""
    nan = dict.fromkeys(models, np.nan)
    if original is None or original not in models:
        return nan
    X_forget, y_forget, X_retain, y_retain = data
    X_train, y_train = _concat_rows(X_retain, X_forget), _concat_rows(y_retain, y_forget)
    cannot = [
        name
        for name, model in models.items()
        if relearn_step is None
        and not callable(getattr(final_estimator(model), "partial_fit", None))
    ]
    if cannot:
        warnings.warn(
            f"AIN left NaN for {cannot}: no partial_fit to relearn with; pass relearn_step.",
            UserWarning,
            stacklevel=3,
        )
    if reference in cannot:
        return nan
    threshold = (1 + alpha) * mean_absolute_error(y_forget, models[original].predict(X_forget))

    def steps(model):
        return relearn_steps(
            model,
            X_forget,
            y_forget,
            X_train,
            y_train,
            threshold=threshold,
            relearn_step=relearn_step,
            **kwargs,
        )

    reference_steps = steps(models[reference])
    ain = {}
    for name, model in models.items():
        if name in cannot:
            ain[name] = np.nan
        else:
            own = reference_steps if name == reference else steps(model)
            ain[name] = _relearn_ratio(own, reference_steps)
    return ain


def _concat_rows(first, second):
    if isinstance(first, pd.DataFrame | pd.Series):
        return pd.concat([first, second], ignore_index=True)
    return np.concatenate([np.asarray(first), np.asarray(second)])
