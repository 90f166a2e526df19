"""Parameter and input validation shared by every regkit estimator."""

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_random_state


def validate_params(estimator):
    """Check ``estimator.get_params()`` against its ``_parameter_constraints``.

    Uses scikit-learn's constraint language (``Interval``, ``StrOptions``, types...),
    so a bad value raises the same message a scikit-learn user knows, for instance
    ``The 'batch_size' parameter of NeuralRegressor must be an int in the range
    [1, inf). Got 0 instead.`` Call it at the start of ``fit``.

    Parameters
    ----------
    estimator : BaseEstimator
        An estimator with a ``_parameter_constraints`` class attribute.

    Raises
    ------
    sklearn.utils._param_validation.InvalidParameterError
        A subclass of ``ValueError`` and ``TypeError``, naming the parameter.

    Examples
    --------
    >>> from regkit.regression import NeuralRegressor
    >>> from regkit.utils import validate_params
    >>> validate_params(NeuralRegressor(batch_size=0))
    Traceback (most recent call last):
    ...
    sklearn.utils._param_validation.InvalidParameterError: The 'batch_size' parameter ...
    """
    # BaseEstimator._validate_params is the one supported entry point to the
    # constraint checker; keeping the call here means one place to adapt if it moves.
    estimator._validate_params()


def check_random_seed(random_state):
    """Turn ``random_state`` into a 31-bit integer seed (for torch, numba, dask...).

    Parameters
    ----------
    random_state : int, RandomState instance or None
        As everywhere in scikit-learn. ``None`` draws a fresh seed.

    Returns
    -------
    seed : int
        In ``[0, 2**31 - 1)``; the same ``random_state`` always gives the same seed.

    Examples
    --------
    >>> from regkit.utils import check_random_seed
    >>> check_random_seed(0) == check_random_seed(0)
    True
    """
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


def store_init_params(estimator, init_locals):
    """Store every ``__init__`` argument on ``estimator`` unchanged, under its own name.

    scikit-learn estimators must keep their constructor arguments as attributes with
    no validation or conversion. Call it as the whole body of ``__init__``::

        def __init__(self, alpha=1.0, *, max_iter=100):
            store_init_params(self, locals())

    Parameters
    ----------
    estimator : BaseEstimator
        The estimator being constructed.
    init_locals : dict
        ``locals()`` at the start of ``__init__``.

    Examples
    --------
    >>> from sklearn.base import BaseEstimator
    >>> from regkit.utils import store_init_params
    >>> class Model(BaseEstimator):
    ...     def __init__(self, alpha=1.0, *, max_iter=100):
    ...         store_init_params(self, locals())
    >>> Model(alpha=2.0).get_params()
    {'alpha': 2.0, 'max_iter': 100}
    """
    # The names are the signature's, as _get_param_names reads them, without
    # inspecting the signature at every construction (clone constructs often).
    for name, value in init_locals.items():
        if name not in ("self", "__class__"):
            setattr(estimator, name, value)


def check_numeric_target(y, input_name="y"):
    """Refuse targets that are not numbers, with an error that names them.

    scikit-learn's ``validate_data(..., y_numeric=True)`` converts only object
    arrays, and NumPy's own error (``could not convert string to float: 'a'``, or
    a failed ufunc loop for an array of strings) names neither the argument nor
    what was expected. Call it before ``validate_data`` in the ``fit`` of a
    regressor. Strings that spell numbers (``"1.5"``) are accepted, as NumPy
    converts them; sparse and other inputs are left to ``validate_data``.

    Parameters
    ----------
    y : array-like
        Targets.
    input_name : str, default="y"
        Name of the argument, for the message.

    Raises
    ------
    ValueError
        If ``y`` holds values that are not numbers (strings, objects).

    Examples
    --------
    >>> from regkit.utils import check_numeric_target
    >>> check_numeric_target([0.5, 1.0])
    >>> check_numeric_target(["low", "high"])
    Traceback (most recent call last):
    ...
    ValueError: y must hold numbers (the targets of a regression), got values of dtype <U4 ...
    """
    if sp.issparse(y) or hasattr(y, "__dask_graph__"):
        return
    try:
        array = np.asarray(y)
    except (TypeError, ValueError):  # ragged or exotic: validate_data names the problem
        return
    if array.dtype.kind not in "OUSV" or array.size == 0:
        return
    try:
        array.astype(np.float64)
    except (TypeError, ValueError):
        example = next(value for value in array.ravel().tolist() if not _is_number(value))
        raise ValueError(
            f"{input_name} must hold numbers (the targets of a regression), got values of "
            f"dtype {array.dtype} such as {example!r}."
        ) from None


def _is_number(value):
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True
