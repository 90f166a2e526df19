"""The forecaster interface: ``fit(y, X=None)``, ``predict(horizon)``, ``update``."""

import inspect
from abc import ABCMeta, abstractmethod

import numpy as np
import pandas as pd
from sklearn.utils._param_validation import StrOptions, validate_parameter_constraints

from regkit.forecasting._lags import _as_exog, _as_series_values


def _regular_step(index):
    """The step of a regular index: a pandas offset, or an int for integer indexes."""
    if isinstance(index, pd.PeriodIndex):
        return index.freq
    if isinstance(index, pd.DatetimeIndex):
        freq = index.freq or (
            pd.DatetimeIndex(index, freq="infer").freq if len(index) >= 3 else None
        )
        if freq is None:
            raise ValueError(
                "y's DatetimeIndex has no regular frequency (index.freq is None and "
                "pandas cannot infer one); resample y to a regular grid, e.g. "
                "y.asfreq('D'), before fitting."
            )
        return freq
    if pd.api.types.is_integer_dtype(index.dtype):
        steps = np.unique(np.diff(np.asarray(index)))
        if len(index) < 2:
            return 1
        if len(steps) != 1 or steps[0] <= 0:
            raise ValueError(
                "y's integer index must be increasing with a constant step, got steps "
                f"{steps[:5].tolist()}."
            )
        return int(steps[0])
    raise TypeError(
        "y's index must be a DatetimeIndex, a PeriodIndex or an integer index, got "
        f"{type(index).__name__} of dtype {index.dtype}."
    )


def _future_index(index, step, horizon):
    """The ``horizon`` index labels that follow ``index``."""
    if isinstance(index, pd.PeriodIndex):
        return pd.period_range(index[-1] + 1, periods=horizon, freq=step)
    if isinstance(index, pd.DatetimeIndex):
        return pd.date_range(index[-1] + step, periods=horizon, freq=step, name=index.name)
    start = int(index[-1]) + step
    return pd.RangeIndex(start, start + step * horizon, step, name=index.name)


class _ParamsMixin:
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


class BaseForecaster(_ParamsMixin, metaclass=ABCMeta):
    """Base class of regkit's forecasters.

    Handles what every forecaster shares: the input kinds (array, Series,
    one-column DataFrame) and their index (regular dates, periods or integers),
    missing values, exogenous series, the future index of the forecast, appending
    observations (``update``), and the recursive rollout of horizons longer than
    what the model predicts at once.

    A subclass implements:

    - ``_fit(y, X)``: learn from the float series ``y`` (and ``X`` or None).
    - ``_forecast_block(history, X_future)``: the next ``_block_size()`` values
      after the float array ``history`` (``X_future`` holds their exogenous rows).
    - optionally ``_predict_in_sample(history, X)``: one-step-ahead fitted values
      (NaN where the model cannot predict); the default rolls ``_forecast_block``
      over the history, one origin at a time.
    - optionally ``_min_history()``: the fewest values ``fit`` and
      ``_forecast_block`` need (default 1).

    Every subclass has a ``missing`` parameter, ``{"raise", "interpolate",
    "ffill"}``: what to do with NaN in ``y``: raise a ValueError, fill by linear
    interpolation (the ends by the nearest value), or carry the last value forward
    (a leading gap takes the first value).

    Attributes
    ----------
    y_ : ndarray of shape (n_observations,)
        The history the forecaster predicts from (after filling; grows with
        ``update``).
    cutoff_ : index label or int
        The last time of the history.
    """

    _parameter_constraints = {
        "missing": [StrOptions({"raise", "interpolate", "ffill"})],
    }

    # ------------------------------------------------------------------ hooks
    @abstractmethod
    def _fit(self, y, X):
        """Learn from the float series ``y`` and the exogenous array ``X`` (or None)."""

    @abstractmethod
    def _forecast_block(self, history, X_future):
        """Return the ``_block_size()`` values that follow ``history``."""

    def _block_size(self):
        return 1

    def _min_history(self):
        return 1

    def _predict_in_sample(self, history, X):
        fitted = np.full(len(history), np.nan)
        start = self._min_history()
        for t in range(start, len(history)):
            X_next = None if X is None else X[t : t + self._block_size()]
            fitted[t] = self._forecast_block(history[:t], self._pad_exog(X_next))[0]
        return fitted

    # ------------------------------------------------------------ public API
    def fit(self, y, X=None):
        """Fit the forecaster to a series.

        Parameters
        ----------
        y : array-like of shape (n_observations,)
            A 1-D array, a Series or a one-column DataFrame. A pandas index must be
            regular (dates with a frequency, periods, or integers with a constant
            step); the forecast then carries the following labels.
        X : array-like of shape (n_observations, n_exog) or None, default=None
            Exogenous series aligned with ``y``; ``predict`` then needs their
            future values.

        Returns
        -------
        self : object
            The fitted forecaster.
        """
        self._validate_params()
        values, index, name = _as_series_values(y)
        self._kind = (
            "frame" if isinstance(y, pd.DataFrame) else "series" if index is not None else "array"
        )
        self._name = name
        self._index = index
        self._step = None if index is None else _regular_step(index)
        values = self._fill_missing(values)
        self._check_length(len(values))
        exog = None if X is None else _as_exog(X, len(values))[0]
        if exog is not None and not np.all(np.isfinite(exog)):
            raise ValueError("X contains NaN or infinity; fill it before fitting.")
        self.n_exog_ = 0 if exog is None else exog.shape[1]
        self._X = exog
        self.y_ = values
        self._fit(values, exog)
        return self

    def predict(self, horizon, X=None):
        """Forecast the next ``horizon`` values.

        Horizons longer than what the model predicts at once are rolled out
        recursively: each block of predictions is appended to the history and
        fed back as lags.

        Parameters
        ----------
        horizon : int
            Number of steps ahead, >= 1.
        X : array-like of shape (horizon, n_exog) or None, default=None
            Future exogenous values (required when ``fit`` had ``X``).

        Returns
        -------
        forecast : ndarray, Series or DataFrame of shape (horizon,)
            Float64, the same kind as the ``y`` given to ``fit``, with the future
            index for pandas input.
        """
        self._check_fitted()
        if isinstance(horizon, bool) or not isinstance(horizon, int | np.integer):
            raise TypeError(f"horizon must be an int >= 1, got {horizon!r}.")
        if horizon < 1:
            raise ValueError(f"horizon must be an int >= 1, got {horizon!r}.")
        X_future = self._check_future_exog(X, horizon)
        block = self._block_size()
        history = self.y_
        forecast = []
        while len(forecast) < horizon:
            done = len(forecast)
            X_next = None if X_future is None else X_future[done : done + block]
            values = np.asarray(self._forecast_block(history, self._pad_exog(X_next)), float)
            forecast.extend(values[: horizon - done])
            history = np.concatenate([history, values])
        forecast = np.asarray(forecast, dtype=np.float64)
        index = None if self._index is None else _future_index(self._index, self._step, horizon)
        return self._wrap(forecast, index)

    def predict_in_sample(self):
        """One-step-ahead predictions over the history.

        Returns
        -------
        fitted : ndarray, Series or DataFrame of shape (n_observations,)
            The prediction of each observation from the values before it; NaN
            where the history is too short (the first ``n_lags`` values of a lag
            model). Same kind and index as ``y_``.
        """
        self._check_fitted()
        fitted = np.asarray(self._predict_in_sample(self.y_, self._X), dtype=np.float64)
        return self._wrap(fitted, self._index)

    def update(self, y_new, X_new=None):
        """Append new observations to the history, without refitting.

        Parameters
        ----------
        y_new : array-like of shape (n_new,)
            Values that follow the history, of the same kind as in ``fit``; a
            pandas index must continue the fitted one.
        X_new : array-like of shape (n_new, n_exog) or None, default=None
            Their exogenous values (required when ``fit`` had ``X``).

        Returns
        -------
        self : object
        """
        self._check_fitted()
        values, index, _ = _as_series_values(y_new)
        if self._index is not None:
            if index is None:
                raise TypeError("y_new must be a pandas object, as the y given to fit.")
            expected = _future_index(self._index, self._step, len(values))
            if not expected.equals(pd.Index(index)):
                raise ValueError(
                    f"y_new's index must continue the history: expected it to start at "
                    f"{expected[0]!r} with step {self._step!r}, got {index[0]!r}."
                )
            self._index = self._index.append(expected)
        values = self._fill_missing(values, previous=self.y_[-1])
        if self.n_exog_:
            if X_new is None:
                raise ValueError("X_new is required: the forecaster was fitted with X.")
            self._X = np.vstack([self._X, _as_exog(X_new, len(values))[0]])
        self.y_ = np.concatenate([self.y_, values])
        return self

    def get_history(self):
        """The observed history (filled, with updates), as the kind given to ``fit``.

        Returns
        -------
        history : ndarray, Series or DataFrame of shape (n_observations,)
            ``y_`` with its index for pandas input.
        """
        self._check_fitted()
        return self._wrap(self.y_.copy(), self._index)

    @property
    def cutoff_(self):
        """The last time of the history (an int position for array input)."""
        self._check_fitted()
        return len(self.y_) - 1 if self._index is None else self._index[-1]

    # --------------------------------------------------------------- helpers
    def _validate_params(self):
        validate_parameter_constraints(
            self._parameter_constraints,
            self.get_params(deep=False),
            caller_name=type(self).__name__,
        )

    def _check_fitted(self):
        if not hasattr(self, "y_"):
            raise AttributeError(
                f"This {type(self).__name__} is not fitted yet; call fit(y) first."
            )

    def _check_length(self, n):
        needed = self._min_history()
        if n < needed:
            raise ValueError(
                f"y has {n} observations; {type(self).__name__} needs at least {needed} "
                "with these parameters."
            )

    def _fill_missing(self, values, previous=None):
        if not np.all(np.isfinite(values[~np.isnan(values)])):
            raise ValueError("y contains infinity; only NaN can be filled.")
        missing = np.isnan(values)
        if not missing.any():
            return values
        if self.missing == "raise":
            raise ValueError(
                f"y contains {int(missing.sum())} missing values (NaN); fill them first "
                "or pass missing='interpolate' or missing='ffill'."
            )
        series = pd.Series(values)
        if previous is not None:
            series = pd.concat([pd.Series([previous]), series], ignore_index=True)
        if self.missing == "interpolate":
            series = series.interpolate("linear", limit_direction="both")
        else:
            series = series.ffill().bfill()
        filled = series.to_numpy(dtype=np.float64)
        filled = filled if previous is None else filled[1:]
        if np.isnan(filled).any():
            raise ValueError("y has no observed value to fill its missing values from.")
        return filled

    def _check_future_exog(self, X, horizon):
        if not self.n_exog_:
            if X is not None:
                raise ValueError("X was given to predict, but the forecaster was fitted without X.")
            return None
        if X is None:
            raise ValueError(
                f"X is required: the forecaster was fitted with {self.n_exog_} exogenous "
                f"columns, so predict needs their {horizon} future rows."
            )
        exog = _as_exog(X, horizon)[0]
        if exog.shape[1] != self.n_exog_:
            raise ValueError(f"X must have {self.n_exog_} columns, got {exog.shape[1]}.")
        return exog

    def _pad_exog(self, X_block):
        # The last block of a rollout may reach past the horizon: repeat the last
        # known row for the steps that will be discarded.
        if X_block is None:
            return None
        missing = self._block_size() - len(X_block)
        if missing > 0:
            X_block = np.vstack([X_block, np.repeat(X_block[-1:], missing, axis=0)])
        return X_block

    def _wrap(self, values, index):
        if self._kind == "array":
            return values
        series = pd.Series(values, index=index, name=self._name)
        return series.to_frame() if self._kind == "frame" else series
