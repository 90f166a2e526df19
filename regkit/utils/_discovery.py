"""Find every public estimator that regkit defines."""

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

    found = {}
    for module in _public_modules():
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if (
                not cls.__module__.startswith("regkit.")
                or not issubclass(cls, BaseEstimator)
                or not callable(getattr(cls, "fit", None))
                or name.startswith(("_", "Base"))
                or inspect.isabstract(cls)
            ):
                continue
            found[name] = cls
    estimators = sorted(found.items())
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
