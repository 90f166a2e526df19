"""Reach the model at the end of a fitted Pipeline, and put a new one in its place."""

import copy

from sklearn.pipeline import Pipeline


def final_estimator(estimator):
    """The model a fitted (possibly nested) Pipeline ends with; ``estimator`` otherwise.

    Parameters
    ----------
    estimator : estimator
        A fitted estimator or Pipeline.

    Returns
    -------
    final : estimator
        The last step (recursively), the object itself, not a copy.
    """
    while isinstance(estimator, Pipeline):
        estimator = estimator.steps[-1][1]
    return estimator


def transform_to_final(estimator, X):
    """``X`` as the final model of ``estimator`` sees it (through every fitted step).

    Parameters
    ----------
    estimator : estimator
        A fitted estimator or Pipeline.
    X : array-like or DataFrame
        Input rows.

    Returns
    -------
    Xt : array-like
        ``X`` transformed by the preprocessing steps (``X`` itself without any).
    """
    while isinstance(estimator, Pipeline):
        if len(estimator.steps) > 1:
            X = estimator[:-1].transform(X)
        estimator = estimator.steps[-1][1]
    return X


def replace_final(estimator, new_final):
    """A copy of ``estimator`` ending with ``new_final``, its preprocessing kept as fitted.

    The preprocessing steps are deep copies, so the result shares no fitted state
    with ``estimator``.

    Parameters
    ----------
    estimator : estimator
        A fitted estimator or Pipeline.
    new_final : estimator
        The fitted model to put at the end.

    Returns
    -------
    new_estimator : estimator
        ``new_final`` itself when ``estimator`` is not a Pipeline.
    """
    if not isinstance(estimator, Pipeline):
        return new_final
    rebuilt = copy.copy(estimator)
    *preprocessing, (name, last) = estimator.steps
    rebuilt.steps = [(step_name, copy.deepcopy(step)) for step_name, step in preprocessing]
    rebuilt.steps.append((name, replace_final(last, new_final)))
    return rebuilt
