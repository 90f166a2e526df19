"""The forecaster interface: ``fit(y, X)``, ``predict(fh)``, intervals, ``update``."""

from abc import ABCMeta, abstractmethod
from contextlib import contextmanager
from dataclasses import replace
from numbers import Real

import numpy as np
import pandas as pd
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import StrOptions, validate_parameter_constraints

from regkit.forecasting._exog import check_finite, read_exog
from regkit.forecasting._horizon import HORIZON_DOC, horizon_doc, resolve_horizon
from regkit.forecasting._panel import (
    future_index,
    on_grid,
    read_panel,
    regular_step,
    wrap,
    wrap_columns,
)
from regkit.forecasting._params import ParamsMixin
from regkit.utils import fill_doc


@fill_doc(horizon=HORIZON_DOC)
class BaseForecaster(ParamsMixin, metaclass=ABCMeta):
    """Base class of regkit's forecasters: everything but the model.

    The base owns what every forecaster shares, so that a model only learns and
    predicts on float arrays:

    - **input kinds**: one series (1-D array, Series, one-column DataFrame) or
      many (2-D array, a wide DataFrame with one column per series, or a long
      Series/DataFrame indexed by ``(series id, time)``); forecasts come back in
      the same layout, with the future time labels (pandas in, pandas out);
    - **the time grid**: dates with a frequency (inferred when the index lacks
      one, missing dates become missing values), periods, or integers with a
      constant step; a decreasing or duplicated index is an error;
    - **missing values** (the ``missing`` parameter) and exogenous series
      (``X``: finite, aligned on the time labels, columns matched by name);
    - **the horizon** ``fh`` (a count, a list of steps, or future labels);
    - **atomic calls**: ``fit`` and ``update`` validate everything before they
      change anything, and a failure leaves the forecaster as it was;
    - **intervals**: ``predict_quantiles`` and ``predict_interval`` turn the
      model's quantiles into the output layout.

    Subclass contract. A forecaster implements, on the validated history
    ``self._Y`` (float64, shape ``(n_times, n_series)``, no NaN) and exogenous
    values ``self._X`` (float64, shape ``(n_times, n_series, n_exog)``, or
    None):

    - ``_fit(Y, X)``: learn from the history (called by ``fit``, and by
      ``update`` when it re-estimates the parameters);
    - ``_predict(n_steps, X_future) -> (n_steps, n_series)``: point forecasts of
      steps ``1..n_steps`` after the history (``X_future``: shape ``(n_steps,
      n_series, n_exog)``, NaN in lagged-only columns, or None);
    - ``_predict_quantiles(n_steps, X_future, quantiles) -> (n_steps, n_series,
      n_quantiles)``;
    - ``_predict_in_sample() -> (n_times, n_series)``: one-step-ahead fitted
      values, NaN where the model cannot predict;
    - optionally ``_update(Y_new, X_new)`` (default: nothing: the base has
      already appended the observations to the history), ``_min_history()``
      (default 1), ``_lagged_columns()`` (names of exogenous columns known only
      up to the present; default none) and ``_update_params_default`` (class
      attribute: whether ``update`` re-estimates the parameters by default).

    Window models (AR-Net, an LLM forecaster) subclass
    :class:`BaseWindowForecaster` instead, which implements the hooks above
    from two smaller ones: fit on windows, and predict the next steps of a
    batch of windows; it adds recursive roll-out, per-series normalisation,
    seasonality features, lagged regressors and conformal intervals.

    Every forecaster has a ``missing`` parameter, ``{"raise", "interpolate",
    "ffill"}``: what to do with NaN in ``y`` (and with times missing from its
    grid): raise a ValueError, fill by linear interpolation (the ends by the
    nearest value), or carry the last value forward (a leading gap takes the
    first value). Exogenous values are never filled.

    Forecasters are not scikit-learn estimators (``fit`` takes a series, not
    ``X, y``); they have ``get_params``/``set_params`` and work with
    :func:`sklearn.base.clone`.

    Attributes
    ----------
    y_ : ndarray of shape (n_times,) or (n_times, n_series)
        The history forecasts start from (after filling; grows with ``update``).
    cutoff_ : index label or int
        The last time of the history.
    n_series_ : int
        Number of series.
    series_names_ : list
        Their names (columns of a wide frame, ids of a long one).
    n_exog_ : int
        Number of exogenous columns seen in ``fit``.
    exog_names_ : list of str
        Their names (``x0, x1, ...`` for arrays).

    Notes
    -----
    The horizon parameter of ``predict``:

    {horizon}
    """

    _parameter_constraints = {
        "missing": [StrOptions({"raise", "interpolate", "ffill"})],
    }
    # Whether ``update`` re-estimates the parameters when not told: True for
    # models whose fit is cheap and exact (the statistical ones).
    _update_params_default = True

    # ------------------------------------------------------------------ hooks
    @abstractmethod
    def _fit(self, Y, X):
        """Learn from ``Y`` (n_times, n_series) and ``X`` (n_times, n_series, n_exog) or None."""

    @abstractmethod
    def _predict(self, n_steps, X_future):
        """Point forecasts of steps 1..n_steps: shape (n_steps, n_series)."""

    @abstractmethod
    def _predict_quantiles(self, n_steps, X_future, quantiles):
        """Quantile forecasts: shape (n_steps, n_series, len(quantiles))."""

    @abstractmethod
    def _predict_in_sample(self):
        """One-step-ahead fitted values over the history: shape (n_times, n_series)."""

    def _update(self, Y_new, X_new):
        """React to new observations appended to the history (default: nothing)."""

    def _min_history(self):
        return 1

    def _lagged_columns(self):
        return []

    # ------------------------------------------------------------ public API
    def fit(self, y, X=None):
        """Fit the forecaster to one or many series.

        Parameters
        ----------
        y : array-like, Series or DataFrame
            One series (1-D array, Series, one-column DataFrame) or many (2-D
            array or wide DataFrame with one column per series, or a long
            Series/DataFrame with a MultiIndex ``(series id, time)``). A pandas
            time index must be increasing and regular (dates with a frequency,
            periods, or integers with a constant step).
        X : array-like, Series or DataFrame or None, default=None
            Exogenous series aligned with ``y`` (on its time labels for pandas
            input): wide (shared by every series), long (per series, indexed like
            a long ``y``) or a 3-D array ``(n_times, n_series, n_exog)``.
            ``predict`` then needs the future values of the columns that are not
            lagged regressors.

        Returns
        -------
        self : object
            The fitted forecaster.
        """
        self._validate_params()
        panel, step = self._read_history(y)
        exog, spec = None, None
        if X is not None:
            exog, spec = read_exog(
                X, n_rows=len(panel.values), panel_names=panel.names, labels=panel.index
            )
            check_finite(exog, range(spec.n_columns), "X")
        with self._atomic():
            self._panel, self._step, self._exog_spec = panel, step, spec
            self._Y, self._X = panel.values, exog
            self._check_lagged_columns()
            self._fit(self._Y, self._X)
        return self

    @fill_doc(horizon=horizon_doc(8))
    def predict(self, fh, X=None):
        """Forecast the steps of the horizon ``fh``.

        Parameters
        ----------
        {horizon}
        X : array-like, Series or DataFrame or None, default=None
            Future exogenous values, one row per step ``1..max(fh)`` (aligned on
            the future time labels for pandas input); required when ``fit`` had
            ``X`` with columns that are not lagged regressors.

        Returns
        -------
        forecast : ndarray, Series or DataFrame
            Float64, in the layout of the ``y`` given to ``fit``, indexed by the
            future times for pandas input.
        """
        point, labels = self._point_values(fh, X)
        return wrap(self._panel, point, labels)

    @fill_doc(horizon=horizon_doc(8))
    def predict_quantiles(self, fh, quantiles=(0.05, 0.95), X=None):
        """Forecast quantiles of the future values.

        Parameters
        ----------
        {horizon}
        quantiles : float or sequence of float, default=(0.05, 0.95)
            Levels in (0, 1).
        X : array-like, Series or DataFrame or None, default=None
            Future exogenous values (see :meth:`predict`).

        Returns
        -------
        quantiles : ndarray or DataFrame
            One column per level (an array ``(n_steps, n_levels)`` for a 1-D array
            ``y``); for a wide ``y``, columns ``(series, level)``; for a long
            ``y``, rows ``(series id, time)``.
        """
        levels = _check_levels(quantiles)
        values, labels = self._quantile_values(fh, levels, X)
        return wrap_columns(self._panel, values, labels, levels)

    @fill_doc(horizon=horizon_doc(8))
    def predict_interval(self, fh, coverage=0.9, X=None):
        """Forecast a central prediction interval.

        Parameters
        ----------
        {horizon}
        coverage : float, default=0.9
            Nominal probability that the future value falls in the interval: the
            bounds are the ``(1 - coverage) / 2`` and ``(1 + coverage) / 2``
            quantiles.
        X : array-like, Series or DataFrame or None, default=None
            Future exogenous values (see :meth:`predict`).

        Returns
        -------
        interval : ndarray or DataFrame
            Columns ``lower`` and ``upper`` (laid out as in
            :meth:`predict_quantiles`).
        """
        if isinstance(coverage, bool) or not isinstance(coverage, Real) or not 0 < coverage < 1:
            raise ValueError(f"coverage must be a float in (0, 1), got {coverage!r}.")
        levels = [(1 - coverage) / 2, (1 + coverage) / 2]
        values, labels = self._quantile_values(fh, levels, X)
        return wrap_columns(self._panel, values, labels, ["lower", "upper"])

    def predict_in_sample(self):
        """One-step-ahead predictions over the history.

        Returns
        -------
        fitted : ndarray, Series or DataFrame
            The prediction of each observation from the values before it; NaN
            where the history is too short (e.g. the first ``n_lags`` values of a
            lag model). Same layout and index as the history.
        """
        self._check_fitted()
        fitted = np.asarray(self._predict_in_sample(), dtype=np.float64)
        return wrap(self._panel, fitted, self._panel.index)

    def update(self, y_new, X_new=None, *, update_params=None):
        """Append new observations to the history.

        Everything is validated first: a failed update changes nothing.

        Parameters
        ----------
        y_new : array-like, Series or DataFrame
            Values that follow the history, in the layout given to ``fit`` (the
            same series; a pandas index continues the fitted grid).
        X_new : array-like, Series or DataFrame or None, default=None
            Their exogenous values (required when ``fit`` had ``X``).
        update_params : bool or None, default=None
            Re-estimate the parameters on the whole history (as a new ``fit``
            would), or keep them and forecast from the longer history. None: the
            forecaster's default (re-estimate for the statistical forecasters,
            keep for the neural ones).

        Returns
        -------
        self : object
        """
        self._check_fitted()
        Y_new, index_new = self._read_update(y_new)
        X_add = None
        if self._exog_spec is None:
            if X_new is not None:
                raise ValueError("X_new was given, but the forecaster was fitted without X.")
        else:
            if X_new is None:
                raise ValueError("X_new is required: the forecaster was fitted with X.")
            X_add, _ = read_exog(
                X_new,
                n_rows=len(Y_new),
                panel_names=self._panel.names,
                labels=index_new,
                spec=self._exog_spec,
                what="X_new",
            )
            check_finite(X_add, range(self._exog_spec.n_columns), "X_new")
        refit = self._update_params_default if update_params is None else bool(update_params)
        with self._atomic():
            self._Y = np.vstack([self._Y, Y_new])
            self._X = None if X_add is None else np.concatenate([self._X, X_add])
            self._panel = _replace(self._panel, self._Y, _append(self._panel.index, index_new))
            if refit:
                self._fit(self._Y, self._X)
            else:
                self._update(Y_new, X_add)
        return self

    def get_history(self):
        """The observed history (filled, with updates), in the layout given to ``fit``.

        Returns
        -------
        history : ndarray, Series or DataFrame
            ``y_`` with its time index for pandas input.
        """
        self._check_fitted()
        return wrap(self._panel, self._Y, self._panel.index)

    @property
    def y_(self):
        """The history: shape (n_times,) for one series, (n_times, n_series) for many."""
        self._check_fitted()
        return self._Y[:, 0].copy() if self._panel.squeeze else self._Y.copy()

    @property
    def cutoff_(self):
        """The last time of the history (an int position for array input)."""
        self._check_fitted()
        index = self._panel.index
        return len(self._Y) - 1 if index is None else index[-1]

    @property
    def n_series_(self):
        """Number of series."""
        self._check_fitted()
        return self._Y.shape[1]

    @property
    def series_names_(self):
        """Names of the series (columns of a wide frame, ids of a long one)."""
        self._check_fitted()
        return list(self._panel.names)

    @property
    def n_exog_(self):
        """Number of exogenous columns seen in ``fit``."""
        self._check_fitted()
        return 0 if self._exog_spec is None else self._exog_spec.n_columns

    @property
    def exog_names_(self):
        """Names of the exogenous columns seen in ``fit``."""
        self._check_fitted()
        return [] if self._exog_spec is None else list(self._exog_spec.names)

    # --------------------------------------------------------------- helpers
    @contextmanager
    def _atomic(self):
        """Restore every attribute if the block fails (state is replaced, never mutated)."""
        saved = dict(self.__dict__)
        try:
            yield
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(saved)
            raise

    def _validate_params(self):
        validate_parameter_constraints(
            self._parameter_constraints,
            self.get_params(deep=False),
            caller_name=type(self).__name__,
        )

    def _check_fitted(self):
        if "_Y" not in self.__dict__:
            # NotFittedError is both a ValueError and an AttributeError (scikit-learn's).
            raise NotFittedError(
                f"This {type(self).__name__} is not fitted yet; call fit(y) first."
            )

    def _read_history(self, y):
        panel = read_panel(y)
        if len(panel.values) == 0:
            raise ValueError(f"y has no observations; {type(self).__name__} needs a history.")
        step = regular_step(panel.index)
        panel, gaps = on_grid(panel, step)
        panel.values = self._fill_missing(panel.values, gaps=gaps)
        needed = self._min_history()
        if len(panel.values) < needed:
            raise ValueError(
                f"y has {len(panel.values)} observations per series; "
                f"{type(self).__name__} needs at least {needed} with these parameters."
            )
        return panel, step

    def _read_update(self, y_new):
        panel = read_panel(y_new, what="y_new")
        old = self._panel
        if (panel.layout == "array") != (old.layout == "array"):
            raise TypeError(
                f"y_new must be laid out as the y given to fit ({old.layout}), got {panel.layout}."
            )
        if panel.n_series != len(old.names) or set(map(str, panel.names)) != set(
            map(str, old.names)
        ):
            raise ValueError(
                f"y_new must hold the series seen in fit {old.names}, got {panel.names}."
            )
        order = [list(map(str, panel.names)).index(str(n)) for n in old.names]
        values = panel.values[:, order]
        if old.index is None:
            return self._fill_missing(values, previous=self._Y[-1]), None
        if panel.index is None:
            raise TypeError("y_new must be a pandas object, as the y given to fit.")
        if not (panel.index.is_unique and panel.index.is_monotonic_increasing):
            raise ValueError("y_new's time index must be increasing, without duplicates.")
        steps, _ = _new_steps(panel.index, old.index, self._step)
        grid = np.full((int(steps[-1]), values.shape[1]), np.nan)
        grid[steps - 1] = values
        index_new = future_index(old.index, self._step, int(steps[-1]))
        gaps = int(steps[-1]) - len(steps)
        return self._fill_missing(grid, previous=self._Y[-1], gaps=gaps), index_new

    def _fill_missing(self, values, previous=None, gaps=0):
        if np.isinf(values).any():
            raise ValueError("y contains infinity; only NaN can be filled.")
        missing = np.isnan(values)
        if not missing.any():
            return values
        if self.missing == "raise":
            where = f", of which {gaps} are times missing from the grid" if gaps else ""
            raise ValueError(
                f"y contains {int(missing.sum())} missing values (NaN){where}; fill them "
                "first or pass missing='interpolate' or missing='ffill'."
            )
        frame = pd.DataFrame(values)
        if previous is not None:
            frame = pd.concat([pd.DataFrame(previous[None, :]), frame], ignore_index=True)
        if self.missing == "interpolate":
            frame = frame.interpolate("linear", limit_direction="both")
        else:
            frame = frame.ffill().bfill()
        filled = frame.to_numpy(dtype=np.float64)
        filled = filled if previous is None else filled[1:]
        if np.isnan(filled).any():
            raise ValueError("a series of y has no observed value to fill its missing values from.")
        return filled

    def _check_lagged_columns(self):
        lagged = self._lagged_columns()
        known = self.exog_names_
        unknown = [name for name in lagged if name not in known]
        if unknown:
            raise ValueError(
                f"lagged regressors {unknown} are not columns of X (its columns: {known})."
            )

    def _future_exog(self, X, n_steps):
        spec = self._exog_spec
        if spec is None:
            if X is not None:
                raise ValueError("X was given to predict, but the forecaster was fitted without X.")
            return None
        lagged = set(self._lagged_columns())
        known = [name for name in spec.names if name not in lagged]
        if X is None:
            if known:
                raise ValueError(
                    f"X is required: the forecaster was fitted with exogenous columns "
                    f"{known} known in advance, so predict needs their {n_steps} future rows."
                )
            return np.full((n_steps, self._Y.shape[1], spec.n_columns), np.nan)
        index = self._panel.index
        labels = None if index is None else future_index(index, self._step, n_steps)
        values, _ = read_exog(
            X,
            n_rows=n_steps,
            panel_names=self._panel.names,
            labels=labels,
            spec=spec,
            required=known,
        )
        check_finite(values, [spec.names.index(name) for name in known], "X")
        return values

    def _point_values(self, fh, X):
        """Point forecasts (len(steps), n_series) and their labels (the layout-free core)."""
        self._check_fitted()
        steps, labels = resolve_horizon(fh, self._panel.index, self._step)
        X_future = self._future_exog(X, int(steps[-1]))
        point = np.asarray(self._predict(int(steps[-1]), X_future), dtype=np.float64)
        return point[steps - 1], labels

    def _quantile_values(self, fh, levels, X):
        self._check_fitted()
        steps, labels = resolve_horizon(fh, self._panel.index, self._step)
        X_future = self._future_exog(X, int(steps[-1]))
        values = self._predict_quantiles(int(steps[-1]), X_future, np.asarray(levels))
        # Quantiles estimated separately may cross; sorting restores their order.
        return np.sort(np.asarray(values, dtype=np.float64)[steps - 1], axis=2), labels


def _check_levels(quantiles):
    levels = np.atleast_1d(np.asarray(quantiles, dtype=np.float64))
    if levels.ndim != 1 or not len(levels) or not np.all((levels > 0) & (levels < 1)):
        raise ValueError(f"quantiles must be levels in (0, 1), got {quantiles!r}.")
    return [float(q) for q in levels]


def _new_steps(new_index, index, step):
    try:
        return resolve_horizon(pd.Index(new_index), index, step)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"y_new's index must continue the history after {index[-1]!r} on its grid "
            f"(step {step!r}): {exc}"
        ) from exc


def _append(index, new):
    return None if index is None else index.append(new)


def _replace(panel, values, index):
    return replace(panel, values=values, index=index)
