"""``get_params``/``set_params``/``repr`` for forecasters, which are not estimators."""

import inspect


class ParamsMixin:
    """``get_params``/``set_params``/``repr`` for objects that are not estimators.

    Forecasters take ``fit(y, X=None)`` and are not scikit-learn estimators (the
    estimator checks would fail on that signature), but :func:`sklearn.base.clone`
    and grid-like code only need these methods.
    """

    @classmethod
    def _get_param_names(cls):
        signature = inspect.signature(cls.__init__)
        return sorted(
            name
            for name, p in signature.parameters.items()
            if name != "self" and p.kind != p.VAR_KEYWORD
        )

    def get_params(self, deep=True):
        """Parameters of this forecaster.

        Parameters
        ----------
        deep : bool, default=True
            Also return the parameters of parameters that have ``get_params``
            (as ``name__param``).

        Returns
        -------
        params : dict
        """
        params = {}
        for name in self._get_param_names():
            value = getattr(self, name)
            params[name] = value
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                params.update({f"{name}__{k}": v for k, v in value.get_params().items()})
        return params

    def set_params(self, **params):
        """Set parameters (``name`` or ``name__param`` for nested ones).

        Parameters
        ----------
        **params : dict
            New values.

        Returns
        -------
        self : object
        """
        valid = self._get_param_names()
        for key, value in params.items():
            name, _, sub = key.partition("__")
            if name not in valid:
                raise ValueError(
                    f"Invalid parameter {name!r} for {type(self).__name__}; valid "
                    f"parameters are {valid}."
                )
            if sub:
                getattr(self, name).set_params(**{sub: value})
            else:
                setattr(self, name, value)
        return self

    def __repr__(self):
        defaults = {
            name: p.default for name, p in inspect.signature(type(self).__init__).parameters.items()
        }
        changed = []
        for name, value in self.get_params(deep=False).items():
            default = defaults.get(name, inspect.Parameter.empty)
            try:
                same = bool(value == default)
            except (TypeError, ValueError):
                same = value is default
            if not same:
                changed.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(changed)})"
