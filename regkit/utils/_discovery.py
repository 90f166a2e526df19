"""Find every public estimator and forecaster that regkit defines."""

import importlib
import inspect
import pkgutil

from sklearn.base import BaseEstimator

# Packages whose estimators need an optional extra; they are skipped when it is missing.
_OPTIONAL_IMPORT_ERRORS = (ImportError,)


def _public_modules():
    import regkit

    for info in pkgutil.walk_packages(regkit.__path__, prefix="regkit."):
        parts = info.name.split(".")
        if any(part.startswith("_") for part in parts[1:]) or parts[1] in {"tests", "cli"}:
            continue
        try:
            yield importlib.import_module(info.name)
        except _OPTIONAL_IMPORT_ERRORS:
            continue


def _public_classes(keep):
    """``(name, class)`` of the public regkit classes for which ``keep(class)`` holds."""
    found = {}
    for module in _public_modules():
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if (
                cls.__module__.startswith("regkit.")
                and not name.startswith(("_", "Base"))
                and not inspect.isabstract(cls)
                and keep(cls)
            ):
                found[name] = cls
    return sorted(found.items())


def all_estimators(type_filter=None):
    """List every public regkit estimator class.

    A class counts when it is exported by a public regkit module, derives from
    :class:`sklearn.base.BaseEstimator`, has a ``fit`` method, is not abstract and
    its name does not start with an underscore or ``Base``. (Unlearners are
    scikit-learn style objects without ``fit``: not listed.) Modules that need a
    missing optional extra are skipped.

    Parameters
    ----------
    type_filter : {"regressor", "classifier", "transformer"} or None, default=None
        Keep only estimators of that kind.

    Returns
    -------
    estimators : list of (str, type)
        ``(name, class)`` pairs sorted by name.

    Examples
    --------
    >>> from regkit.utils import all_estimators
    >>> names = [name for name, _ in all_estimators()]
    >>> "NeuralRegressor" in names
    True
    """
    from sklearn.base import is_classifier, is_regressor

    estimators = _public_classes(
        lambda cls: issubclass(cls, BaseEstimator) and callable(getattr(cls, "fit", None))
    )
    if type_filter is None:
        return estimators
    checks = {
        "regressor": lambda c: is_regressor(c()),
        "classifier": lambda c: is_classifier(c()),
        "transformer": lambda c: hasattr(c, "transform"),
    }
    if type_filter not in checks:
        raise ValueError(
            f"type_filter must be one of {sorted(checks)} or None, got {type_filter!r}."
        )
    return [(name, cls) for name, cls in estimators if checks[type_filter](cls)]


def all_forecasters():
    """List every public regkit forecaster class.

    A class counts when it is exported by a public regkit module, derives from
    :class:`regkit.forecasting.BaseForecaster`, is not abstract and its name does
    not start with an underscore or ``Base``. Forecasters take ``fit(y, X=None)``
    and are not scikit-learn estimators, so :func:`all_estimators` does not list
    them. Modules that need a missing optional extra are skipped.

    Returns
    -------
    forecasters : list of (str, type)
        ``(name, class)`` pairs sorted by name.

    Examples
    --------
    >>> from regkit.utils import all_forecasters
    >>> names = [name for name, _ in all_forecasters()]
    >>> "NaiveForecaster" in names
    True
    """
    # Imported here: regkit.utils sits below regkit.forecasting.
    from regkit.forecasting import BaseForecaster

    return _public_classes(lambda cls: issubclass(cls, BaseForecaster))
