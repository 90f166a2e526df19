"""Forecasters that learn from windows of the past: roll-out, normalisation, conformal intervals."""

from abc import abstractmethod
from dataclasses import dataclass, replace
from numbers import Integral, Real

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from sklearn.base import clone
from sklearn.utils._param_validation import Interval

from regkit.forecasting._base import BaseForecaster
from regkit.forecasting._conformal import conformal_quantiles
from regkit.forecasting._panel import future_index
from regkit.forecasting._seasonality import fourier_features, resolve_seasonality

WINDOW_PARAMETERS = """
seasonality : None, "auto", str, number, list or dict, default=None
        Fourier seasonality features derived from the time index and fed to the
        model as inputs known in advance: ``"daily"``, ``"weekly"``, ``"yearly"``
        (calendar periods, for dates), a period in steps (e.g. ``24``), a list of
        those, a dict ``{period: Fourier order}`` (default orders 6, 3, 6, and 3
        for periods in steps), or ``"auto"``: the calendar periods that the data
        frequency resolves and the history spans twice. At the highest order
        the data resolve, the Fourier terms of a period span the same space as
        one-hot calendar dummies (e.g. day of week for daily data, order 3).

    lagged_regressors : list of str or int, default=()
        Columns of ``X`` known only up to the forecast origin (past-only
        regressors, such as a measured temperature): the model sees their last
        ``n_lags`` values, and ``predict`` does not need their future. Horizons
        then reach at most ``n_forecasts`` steps (the model predicts them
        directly; a recursive roll-out would need the regressors' future). The
        other columns of ``X`` are known in advance (future regressors). Integers
        name the columns ``x0, x1, ...`` of an array ``X``.

    calibration_size : float in (0, 1), int or None, default=0.2
        The last observations held out to calibrate prediction intervals (a
        share of the history, or a count). A second model is fitted on the
        history before them; its forecasts from every origin in the held-out
        part give the residuals of each step ahead, whose conformal quantiles
        are the interval widths of the final model (fitted on the whole
        history). After ``update`` (without refitting), the final model's
        residuals at the new origins replace the oldest ones, so that the
        widths follow the recent errors. None fits one model and gives no
        intervals.
"""

WINDOW_CONSTRAINTS = {
    "seasonality": [None, str, Real, list, tuple, dict],
    "lagged_regressors": [list, tuple],
    "calibration_size": [
        Interval(Real, 0, 1, closed="neither"),
        Interval(Integral, 1, None, closed="left"),
        None,
    ],
}

# Calibration origins kept per series (evenly spaced, the last one included).
MAX_CALIBRATION_ORIGINS = 1000


@dataclass
class Windows:
    """A batch of forecast windows, the unit window models learn from and predict.

    Parameters
    ----------
    past : ndarray of shape (n, context_length)
        The normalised values before each forecast origin, oldest first.
    series : ndarray of shape (n,)
        The series (0 .. n_series - 1) each window belongs to.
    known : ndarray of shape (n, block_size, n_known)
        Inputs known in advance (future regressors, seasonality features) at the
        times to predict.
    lagged : ndarray of shape (n, context_length, n_lagged)
        Past-only regressors at the times of ``past``.
    target : ndarray of shape (n, block_size) or None
        The normalised values to predict (training windows only).
    n_series : int
        Number of series of the forecaster (for per-series inputs).
    origins : ndarray of shape (n,)
        Position of each window's first predicted step, counted from the start
        of the history (``len(history)`` for a forecast); the forecaster's
        ``_time_labels(positions)`` turns positions into time labels (for models
        that embed timestamps).
    """

    past: np.ndarray
    series: np.ndarray
    known: np.ndarray
    lagged: np.ndarray
    target: np.ndarray | None
    n_series: int
    origins: np.ndarray


def location_scale(Y):
    """Mean and standard deviation of each column, exact at any finite scale.

    The columns are divided by their largest magnitude first, so that squares
    neither overflow (values near 1e160 and beyond) nor underflow (near 1e-160
    and below). A constant column (spread below 1e-12 of its level) gets scale 1.
    """
    peak = np.max(np.abs(Y), axis=0)
    peak = np.where(peak > 0, peak, 1.0)
    unit = Y / peak
    mean, spread = unit.mean(axis=0), unit.std(axis=0)
    scale = np.where(spread > 1e-12 * np.abs(mean), spread * peak, 1.0)
    return mean * peak, scale


class BaseWindowForecaster(BaseForecaster):
    """Base of forecasters that map a window of the past to the next steps.

    Implements the hooks of :class:`BaseForecaster` for a model that, from the
    last ``_context_length()`` values of a series (normalised per series: minus
    its mean, over its standard deviation, both learnt in ``fit``), predicts the
    next ``_block_size()`` values. It builds the training windows of every
    series (one global model for many series), rolls the model out recursively
    for longer horizons, adds seasonality features, handles lagged (past-only)
    and future (known) regressors, and derives conformal prediction intervals
    from rolling-origin residuals of each step ahead on a held-out calibration
    part (see ``calibration_size``).

    Subclass contract. A window forecaster has the parameters ``seasonality``,
    ``lagged_regressors`` and ``calibration_size`` (documented by
    ``WINDOW_PARAMETERS``, constrained by ``WINDOW_CONSTRAINTS``) and
    implements:

    - ``_context_length()`` and ``_block_size()``;
    - ``_fit_windows(windows)``: learn from a :class:`Windows` batch with
      targets (normalised units);
    - ``_predict_windows(windows) -> (n, block_size)``: predict the next steps
      of each window (normalised units);
    - optionally ``_forecast_windows(windows, n_steps) -> (n, n_steps)``: the
      whole horizon (default: ``_predict_windows`` rolled out block by block).

    ``windows.origins`` and ``_time_labels(positions)`` give the time of each
    step (for models that embed timestamps). The hooks are called on a clone
    too (the calibration model), so they must keep their state on ``self``
    only. ``update`` keeps the parameters by default
    (``update_params=False``): the model forecasts from the longer history.
    """

    _update_params_default = False

    @abstractmethod
    def _context_length(self):
        """Number of past values a window holds."""

    @abstractmethod
    def _block_size(self):
        """Number of values predicted at once."""

    @abstractmethod
    def _fit_windows(self, windows):
        """Learn from training windows (normalised units)."""

    @abstractmethod
    def _predict_windows(self, windows):
        """Predict the next ``_block_size()`` values of each window: (n, block)."""

    def _min_history(self):
        return self._context_length() + self._block_size()

    def _lagged_columns(self):
        names = [f"x{c}" if isinstance(c, Integral) else str(c) for c in self.lagged_regressors]
        return names

    # ---------------------------------------------------------------- inputs
    def _split_exog(self):
        """Column indices of the lagged and the known exogenous columns."""
        lagged = set(self._lagged_columns())
        names = self.exog_names_
        return (
            [j for j, n in enumerate(names) if n in lagged],
            [j for j, n in enumerate(names) if n not in lagged],
        )

    def _seasonal(self, start, stop):
        """Seasonality features at history positions ``start .. stop - 1``: (n, n_features)."""
        positions = np.arange(start, stop)
        calendar = self._panel.index is not None and self.seasonality_terms_
        labels = self._time_labels(positions) if calendar else None
        return fourier_features(self.seasonality_terms_, labels, positions)

    def _inputs(self, X, start, stop, n_series):
        """Known inputs (n, S, K) and lagged inputs (n, S, L) at positions start..stop-1."""
        n = stop - start
        seasonal = self._seasonal(start, stop)
        seasonal = np.broadcast_to(seasonal[:, None, :], (n, n_series, seasonal.shape[1]))
        if X is None:
            return seasonal, np.empty((n, n_series, 0))
        lagged_cols, known_cols = self._split_exog()
        known = np.concatenate([X[:, :, known_cols], seasonal], axis=2)
        return known, X[:, :, lagged_cols]

    def _extend_known(self, known, n_extra):
        """``known`` inputs (n, S, K) followed by ``n_extra`` rows past the history.

        Those rows feed only predictions whose targets lie past the history (the
        last origins of a block, or steps without an actual value): seasonality is
        exact there, other future regressors repeat their last row.
        """
        n, n_series = known.shape[:2]
        extra = self._inputs(None, n, n + n_extra, n_series)[0]
        n_user = known.shape[2] - extra.shape[2]
        if n_user:
            extra = np.concatenate(
                [np.repeat(known[-1:, :, :n_user], n_extra, axis=0), extra], axis=2
            )
        return np.concatenate([known, extra], axis=0)

    def _in_sample_windows(self):
        """Windows at every origin ``n_lags .. n - 1`` of the history (no targets)."""
        context, block = self._context_length(), self._block_size()
        n, n_series = self._Y.shape
        known, lagged = self._inputs(self._X, 0, n, n_series)
        known = self._extend_known(known, block - 1)
        Z = self._normalise(self, np.vstack([self._Y, np.zeros((block - 1, n_series))]))
        lagged = np.vstack([lagged, np.zeros((block - 1, *lagged.shape[1:]))])
        return self._windows(Z, known, lagged, np.arange(context, n), with_target=False)

    def _normalise(self, model, Y):
        return (Y - model.series_mean_) / model.series_scale_

    # --------------------------------------------------------------- fitting
    def _fit(self, Y, X):
        self.seasonality_terms_ = resolve_seasonality(self.seasonality, self._panel.index, len(Y))
        known, lagged = self._inputs(X, 0, len(Y), Y.shape[1])
        self._train(self, Y, known, lagged)
        self.calibration_model_, self._calibration = None, None
        n_calibration = self._n_calibration(len(Y))
        if n_calibration:
            start = len(Y) - n_calibration
            model = clone(self)
            self._train(model, Y[:start], known[:start], lagged[:start])
            self.calibration_model_ = model
            self._calibration = (start, Y.copy(), known, lagged, {})

    def _n_calibration(self, n):
        size = self.calibration_size
        if size is None:
            return 0
        count = int(np.ceil(size * n)) if isinstance(size, float) else int(size)
        # The calibration model needs a history of its own.
        return count if 1 <= count <= n - self._min_history() else 0

    def _train(self, model, Y, known, lagged):
        model.series_mean_, model.series_scale_ = location_scale(Y)
        model.seasonality_terms_ = self.seasonality_terms_
        # The time grid, for models that embed the times of their windows
        # (``_time_labels``): the calibration model is a clone that never saw ``fit``.
        model._panel, model._step = self._panel, self._step
        model._fit_windows(self._training_windows(model, Y, known, lagged))

    def _training_windows(self, model, Y, known, lagged):
        """The windows ``model`` (fitted on ``Y``) learns from: every complete one."""
        Z = self._normalise(model, Y)
        context, block = self._context_length(), self._block_size()
        n_origins = len(Y) - context - block + 1
        origins = np.arange(context, context + n_origins)
        return self._windows(Z, known, lagged, origins, with_target=True)

    def _windows(self, Z, known, lagged, origins, *, with_target):
        """Windows of every series at every origin (rows: origin-major)."""
        context, block = self._context_length(), self._block_size()
        n_series = Z.shape[1]
        span = context + block
        # views[t, s, j] = Z[t + j, s]: the window that starts at time t.
        views = sliding_window_view(Z, span, axis=0)
        starts = origins - context
        past = views[starts, :, :context].reshape(-1, context)
        target = views[starts, :, context:].reshape(-1, block) if with_target else None
        known_views = sliding_window_view(known, block, axis=0)  # (t, S, K, block)
        n_rows = len(origins) * n_series
        known_rows = known_views[origins].transpose(0, 1, 3, 2).reshape(n_rows, block, -1)
        lagged_views = sliding_window_view(lagged, context, axis=0)
        lagged_rows = lagged_views[starts].transpose(0, 1, 3, 2).reshape(n_rows, context, -1)
        series = np.tile(np.arange(n_series), len(origins))
        starts = np.repeat(origins, n_series)
        return Windows(past, series, known_rows, lagged_rows, target, n_series, starts)

    # ------------------------------------------------------------ predicting
    def _check_reach(self, n_steps):
        if n_steps > self._block_size() and self.lagged_regressors:
            raise ValueError(
                f"with lagged regressors {list(self.lagged_regressors)}, forecasts reach at "
                f"most {self._block_size()} steps ahead (the steps predicted at once); their "
                f"future values are unknown, so {n_steps} steps cannot be rolled out. Raise "
                "the number of steps predicted at once, or pass them as future regressors."
            )

    def _forecast_windows(self, windows, n_steps):
        """Forecast ``n_steps`` normalised values after each window: (n, n_steps).

        ``windows.known`` holds the known inputs of all ``n_steps`` steps. The
        default rolls ``_predict_windows`` out block by block, feeding each block
        back as the newest past values; a model that forecasts many steps itself
        (a KV-cached LLM) overrides this.
        """
        context, block = self._context_length(), self._block_size()
        past, pieces, done = windows.past, [], 0
        while done < n_steps:
            future = windows.known[:, done : done + block]
            if future.shape[1] < block:  # steps past the horizon are discarded
                pad = np.repeat(future[:, -1:], block - future.shape[1], axis=1)
                future = np.concatenate([future, pad], axis=1)
            step = replace(windows, past=past, known=future, origins=windows.origins + done)
            values = np.asarray(self._predict_windows(step), dtype=np.float64)
            pieces.append(values.reshape(len(past), block))
            past = np.concatenate([past, pieces[-1]], axis=1)[:, -context:]
            done += block
        return np.concatenate(pieces, axis=1)[:, :n_steps]

    def _time_labels(self, positions):
        """Time labels of history positions (past the history: the future grid)."""
        index = self._panel.index
        positions = np.asarray(positions, dtype=np.int64)
        if index is None or positions.size == 0:
            return positions if index is None else index[:0]
        n = len(index)
        future = future_index(index, self._step, max(int(positions.max()) - n + 1, 1))
        return index.append(future)[positions]

    def _future_inputs(self, X_future, n_steps):
        """Known inputs of steps 1..n_steps: (n_steps, S, K)."""
        n = len(self._Y)
        return self._inputs(X_future, n, n + n_steps, self._Y.shape[1])[0]

    def _predict(self, n_steps, X_future):
        self._check_reach(n_steps)
        context = self._context_length()
        n_series = self._Y.shape[1]
        past = self._normalise(self, self._Y[-context:]).T
        known = self._future_inputs(X_future, n_steps).transpose(1, 0, 2)
        n = len(self._Y)
        X_context = None if self._X is None else self._X[-context:]
        lagged = self._inputs(X_context, n - context, n, n_series)[1].transpose(1, 0, 2)
        origins = np.full(n_series, len(self._Y))
        windows = Windows(past, np.arange(n_series), known, lagged, None, n_series, origins)
        Z = self._forecast_windows(windows, n_steps)
        return Z.T * self.series_scale_ + self.series_mean_

    def _predict_in_sample(self):
        context, block = self._context_length(), self._block_size()
        n, n_series = self._Y.shape
        fitted = np.full((n, n_series), np.nan)
        if n <= context:
            return fitted
        values = np.asarray(self._predict_windows(self._in_sample_windows()), dtype=np.float64)
        values = values.reshape(n - context, n_series, block)
        fitted[context:] = values[:, :, 0] * self.series_scale_ + self.series_mean_
        return fitted

    # ------------------------------------------------------------- intervals
    def _predict_quantiles(self, n_steps, X_future, quantiles):
        if self.calibration_model_ is None:
            raise ValueError(
                f"{type(self).__name__} has no calibration model for intervals: fit it with "
                "calibration_size set (a share or count of held-out observations), on a "
                "history long enough to fit a model without them."
            )
        point = self._predict(n_steps, X_future)
        residuals = self._calibration_residuals(n_steps)
        offsets = np.stack([conformal_quantiles(r, quantiles) for r in residuals])
        empty = np.isnan(offsets).any(axis=(1, 2))
        if empty.any():
            raise ValueError(
                f"the calibration part has no {int(np.argmax(empty)) + 1}-step-ahead residual "
                f"({self._calibration[0]} of {len(self._calibration[1])} observations are "
                "used for training); raise calibration_size."
            )
        return point[:, :, None] + offsets

    def _calibration_residuals(self, n_steps):
        """Out-of-sample residuals of each step ahead: one (m, S) array per step.

        The calibration model's forecasts from the held-out origins, followed,
        once ``update`` has added observations, by the final model's forecasts
        from the origins after ``fit`` (none of them saw the values they
        forecast). Each step keeps its ``m`` most recent residuals, ``m`` being
        the number of held-out origins: a rolling window, so that the interval
        widths follow the errors of the model as it is used (a trend that the
        model misses widens them) instead of staying those of the held-out part.
        """
        start, Y, known, lagged, cache = self._calibration
        n_fit, n_now = len(Y), len(self._Y)
        if n_steps not in cache:
            origins = np.arange(max(start, self._context_length()), n_fit)
            if len(origins) > MAX_CALIBRATION_ORIGINS:
                keep = np.linspace(len(origins) - 1, 0, MAX_CALIBRATION_ORIGINS)
                origins = origins[np.sort(keep.round().astype(int))]
            forecast = self._origin_forecasts(
                self.calibration_model_, Y, known, lagged, origins, n_steps
            )
            cache[n_steps] = (origins, forecast)
        origins, forecast = cache[n_steps]
        n_kept = len(origins)
        if n_now > n_fit:
            later, later_forecast = self._later_forecasts(n_fit, n_steps, cache)
            origins = np.concatenate([origins, later])
            forecast = np.concatenate([forecast, later_forecast])
        residuals = []
        for k in range(n_steps):
            observed = np.flatnonzero(origins + k < n_now)[-n_kept:]
            residuals.append(self._Y[origins[observed] + k] - forecast[observed, :, k])
        return residuals

    def _later_forecasts(self, n_fit, n_steps, cache):
        """The final model's forecasts from the origins after ``fit``, kept across updates.

        A forecast from an origin at least ``n_steps`` before the previous end of
        the history is unchanged by ``update`` (its inputs were all observed
        then), so only the newer origins are forecast again: each update costs
        the forecasts of its new origins, not of all of them.
        """
        n_now, n_series = self._Y.shape
        empty = (n_fit, np.empty(0, dtype=int), np.empty((0, n_series, n_steps)))
        n_done, done, done_forecast = cache.get(("later", n_steps), empty)
        if n_done != n_now or not len(done):
            first = max(n_fit, n_now - MAX_CALIBRATION_ORIGINS)
            start = max(first, n_done - n_steps + 1)
            keep = (done >= first) & (done < start)
            known, lagged = self._inputs(self._X, 0, n_now, n_series)
            new = np.arange(start, n_now)
            forecast = self._origin_forecasts(self, self._Y, known, lagged, new, n_steps)
            cache[("later", n_steps)] = (
                n_now,
                np.concatenate([done[keep], new]),
                np.concatenate([done_forecast[keep], forecast]),
            )
        _, origins, forecast = cache[("later", n_steps)]
        return origins, forecast

    def _origin_forecasts(self, model, Y, known, lagged, origins, n_steps):
        """``model``'s forecasts from each origin of ``Y``, in data units: (n, S, n_steps)."""
        context = self._context_length()
        n_series = Y.shape[1]
        known_all = self._extend_known(known, n_steps)
        Z = self._normalise(model, Y)
        past = sliding_window_view(Z, context, axis=0)[origins - context].reshape(-1, context)
        known_rows = sliding_window_view(known_all, n_steps, axis=0)[origins]
        n_rows = len(origins) * n_series
        known_rows = known_rows.transpose(0, 1, 3, 2).reshape(n_rows, n_steps, -1)
        lagged_rows = sliding_window_view(lagged, context, axis=0)[origins - context]
        lagged_rows = lagged_rows.transpose(0, 1, 3, 2).reshape(n_rows, context, -1)
        series = np.tile(np.arange(n_series), len(origins))
        starts = np.repeat(origins, n_series)
        windows = Windows(past, series, known_rows, lagged_rows, None, n_series, starts)
        forecast = model._forecast_windows(windows, n_steps)
        forecast = forecast.reshape(len(origins), n_series, n_steps)
        return forecast * model.series_scale_[None, :, None] + model.series_mean_[None, :, None]
