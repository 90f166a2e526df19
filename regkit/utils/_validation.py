"""Parameter validation shared by every regkit estimator."""

import numpy as np
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
    for name in estimator._get_param_names():
        setattr(estimator, name, init_locals[name])
