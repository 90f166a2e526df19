"""Rolling-origin evaluation of forecasters (time-series cross-validation)."""

from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import mean_pinball_loss

from regkit.forecasting._horizon import resolve_horizon
from regkit.forecasting._metrics import (
    mean_absolute_scaled_error,
    symmetric_mean_absolute_percentage_error,
)
from regkit.forecasting._panel import on_grid, read_panel, regular_step


def _mae(y_true, y_pred):
    return float(np.mean(np.abs(y_true - y_pred)))


def _mse(y_true, y_pred):
    return float(np.mean((y_true - y_pred) ** 2))


def _rmse(y_true, y_pred):
    return float(np.sqrt(_mse(y_true, y_pred)))


def _mape(y_true, y_pred):
    return float(100 * np.mean(np.abs((y_true - y_pred) / y_true)))


# Metrics by name; "mase" also needs the training series (see _score_window).
METRICS = {
    "mae": _mae,
    "mse": _mse,
    "rmse": _rmse,
    "mape": _mape,
    "smape": symmetric_mean_absolute_percentage_error,
    "mase": None,
}
DEFAULT_SCORING = ("mae", "rmse", "mase", "smape")


def _check_scoring(scoring):
    """``{name: callable or None (mase)}`` from names, callables, or a dict of them."""
    if scoring is None:
        scoring = DEFAULT_SCORING
    if isinstance(scoring, str) or callable(scoring):
        scoring = [scoring]
    items = scoring.items() if isinstance(scoring, dict) else ((None, s) for s in scoring)
    metrics = {}
    for name, metric in items:
        if isinstance(metric, str):
            if metric not in METRICS:
                raise ValueError(
                    f"scoring name {metric!r} is unknown; use one of {sorted(METRICS)} or a "
                    "callable metric(y_true, y_pred) -> float."
                )
            metrics[name or metric] = METRICS[metric]
        elif callable(metric):
            metrics[name or getattr(metric, "__name__", "metric")] = metric
        else:
            raise TypeError(f"scoring must hold metric names or callables, got {metric!r}.")
    return metrics


def _check_coverages(coverage):
    if coverage is None:
        return []
    levels = [coverage] if isinstance(coverage, Real) else list(coverage)
    for level in levels:
        if isinstance(level, bool) or not isinstance(level, Real) or not 0 < level < 1:
            raise ValueError(f"coverage must be floats in (0, 1), got {coverage!r}.")
    return levels


def _cutoffs(n, n_steps, initial, step, n_windows, window, window_length):
    step = n_steps if step is None else step
    if not isinstance(step, Integral) or step < 1:
        raise ValueError(f"step must be an int >= 1, got {step!r}.")
    if initial is None:
        initial = n // 2 if n_windows is None else n - n_steps - step * (int(n_windows) - 1)
    cutoffs = list(range(int(initial), n - n_steps + 1, step))
    if n_windows is not None:
        cutoffs = cutoffs[: int(n_windows)]
    if initial < 2 or not cutoffs:
        raise ValueError(
            f"no backtest window fits: y has {n} times, initial = {initial}, "
            f"horizon = {n_steps} steps, step = {step}."
        )
    if window == "expanding":
        return [(0, c) for c in cutoffs]
    if window != "sliding":
        raise ValueError(f"window must be 'expanding' or 'sliding', got {window!r}.")
    length = int(initial) if window_length is None else int(window_length)
    if length < 2 or length > cutoffs[0]:
        raise ValueError(
            f"window_length must be in [2, initial = {initial}], got {window_length!r}."
        )
    return [(c - length, c) for c in cutoffs]


class _Rows:
    """Cut ``y`` and ``X`` (any layout) to time positions of the regular grid."""

    def __init__(self, y):
        panel = read_panel(y)
        self.panel, _ = on_grid(panel, regular_step(panel.index))
        self.y = y

    def take(self, data, start, stop):
        if data is None:
            return None
        times = None if self.panel.index is None else self.panel.index[start:stop]
        if isinstance(data, pd.Series | pd.DataFrame) and isinstance(data.index, pd.MultiIndex):
            return data[data.index.get_level_values(1).isin(times)]
        if isinstance(data, pd.Series | pd.DataFrame) and times is not None:
            return data[data.index.isin(times)]
        if isinstance(data, pd.Series | pd.DataFrame):
            return data.iloc[start:stop]
        return np.asarray(data)[start:stop]


def _score_window(metrics, actual, predicted, train, seasonal_period):
    observed = ~np.isnan(actual)
    scores = {"n_scored": int(observed.sum())}
    for name, metric in metrics.items():
        if not observed.any():
            scores[name] = np.nan
        elif metric is None:
            scores[name] = mean_absolute_scaled_error(
                actual[observed], predicted[observed], train, seasonal_period=seasonal_period
            )
        else:
            scores[name] = float(metric(actual[observed], predicted[observed]))
    return scores


def _score_intervals(coverages, actual, bounds):
    scores = {}
    observed = ~np.isnan(actual)
    y = actual[observed]
    for level in coverages:
        lower, upper = (b[observed] for b in bounds[level])
        tag = f"{100 * level:g}"
        scores[f"coverage_{tag}"] = (
            float(np.mean((y >= lower) & (y <= upper))) if len(y) else np.nan
        )
        scores[f"width_{tag}"] = float(np.mean(upper - lower)) if len(y) else np.nan
        alpha = (1 - level) / 2
        scores[f"pinball_{tag}"] = (
            0.5
            * (
                mean_pinball_loss(y, lower, alpha=alpha)
                + mean_pinball_loss(y, upper, alpha=1 - alpha)
            )
            if len(y)
            else np.nan
        )
    return scores


def backtest(
    forecaster,
    y,
    fh,
    *,
    X=None,
    initial=None,
    step=None,
    n_windows=None,
    window="expanding",
    window_length=None,
    refit=True,
    update_params=None,
    scoring=None,
    coverage=None,
    seasonal_period=1,
    return_forecasts=False,
):
    """Evaluate a forecaster on rolling origins (time-series cross-validation).

    At each origin (cutoff) ``c``, the forecaster is fitted on the times before
    ``c`` (a fresh :func:`~sklearn.base.clone`) or, with ``refit=False``, fitted
    once on the first window and then ``update``-d with the new observations;
    its forecast of the steps ``fh`` is scored against the values that
    followed. Works for every forecaster and for many series (one row of scores
    per origin and series). Missing actual values are left out of the scores
    (``n_scored`` counts the scored steps); missing training values are the
    forecaster's to handle (its ``missing`` parameter).

    Parameters
    ----------
    forecaster : BaseForecaster
        An unfitted regkit forecaster.
    y : array-like, Series or DataFrame
        One or many series, in any layout a forecaster takes.
    fh : int or list of int
        Steps ahead scored at each origin (``h``: steps ``1..h``; a list: those
        steps only, e.g. ``[1, 24, 168]``).
    X : array-like, Series or DataFrame or None, default=None
        Exogenous series aligned with ``y``.
    initial : int or None, default=None
        Length of the first training window. Default: what leaves room for
        ``n_windows`` origins (or half of the series when ``n_windows`` is None).
    step : int or None, default=None
        Distance between origins; default ``max(fh)``.
    n_windows : int or None, default=None
        Number of origins; default: as many as fit after ``initial``.
    window : {"expanding", "sliding"}, default="expanding"
        Train on all the past (expanding) or on the last ``window_length`` times
        only (sliding; needs ``refit=True``).
    window_length : int or None, default=None
        Length of a sliding window; default ``initial``.
    refit : bool, default=True
        Refit at every origin, or fit once and ``update`` afterwards.
    update_params : bool or None, default=None
        With ``refit=False``: whether each ``update`` re-estimates the
        parameters (None: the forecaster's default).
    scoring : str, callable, list or dict, default=None
        Metrics: names among ``"mae"``, ``"mse"``, ``"rmse"``, ``"mape"``,
        ``"smape"``, ``"mase"``, callables ``metric(y_true, y_pred) -> float``,
        or a dict ``{column name: name or callable}``. Default: MAE, RMSE, MASE
        and sMAPE.
    coverage : float, list of float or None, default=None
        Also score prediction intervals of these nominal coverages: the share of
        actual values inside (``coverage_80`` for 0.8), the mean width
        (``width_80``) and the mean pinball loss of the two bounds
        (``pinball_80``).
    seasonal_period : int, default=1
        Season length of the MASE scale.
    return_forecasts : bool, default=False
        Also return the forecasts, one row per origin, series and step.

    Returns
    -------
    scores : DataFrame
        One row per origin (and series): ``cutoff`` (the last training time),
        ``series`` (for many series), ``n_train``, ``n_scored``, the metrics
        and the interval scores.
    forecasts : DataFrame
        Only with ``return_forecasts=True``: columns ``cutoff``, ``series``,
        ``time``, ``step``, ``y_true``, ``y_pred`` and ``lower_80``/``upper_80``
        for each coverage.

    Examples
    --------
    >>> import numpy as np
    >>> from regkit.forecasting import NaiveForecaster, backtest
    >>> y = np.arange(20.0)
    >>> scores = backtest(NaiveForecaster(), y, fh=2, n_windows=3)
    >>> scores[["n_train", "mae"]]
       n_train  mae
    0       14  1.5
    1       16  1.5
    2       18  1.5
    """
    metrics = _check_scoring(scoring)
    coverages = _check_coverages(coverage)
    if isinstance(fh, pd.Index):
        raise TypeError("backtest's fh is relative: an int or a list of steps ahead.")
    steps, _ = resolve_horizon(fh, None, 1)
    rows = _Rows(y)
    values, index = rows.panel.values, rows.panel.index
    n_steps = int(steps[-1])
    windows = _cutoffs(len(values), n_steps, initial, step, n_windows, window, window_length)
    if window == "sliding" and not refit:
        raise ValueError("window='sliding' needs refit=True (an update only appends).")
    score_rows, forecast_rows, model = [], [], None
    for k, (start, cutoff) in enumerate(windows):
        if refit or model is None:
            model = clone(forecaster).fit(rows.take(y, start, cutoff), rows.take(X, start, cutoff))
        else:
            previous = windows[k - 1][1]
            model.update(
                rows.take(y, previous, cutoff),
                rows.take(X, previous, cutoff),
                update_params=update_params,
            )
        X_future = rows.take(X, cutoff, cutoff + n_steps)
        predicted = model._point_values(steps, X_future)[0]
        bounds = {
            level: model._quantile_values(steps, [(1 - level) / 2, (1 + level) / 2], X_future)[0]
            for level in coverages
        }
        label = cutoff - 1 if index is None else index[cutoff - 1]
        for s, name in enumerate(rows.panel.names):
            window_bounds = {level: (b[:, s, 0], b[:, s, 1]) for level, b in bounds.items()}
            actual = values[cutoff + steps - 1, s]
            row = {"cutoff": label, "series": name, "n_train": cutoff - start}
            train = values[start:cutoff, s]
            row.update(_score_window(metrics, actual, predicted[:, s], train, seasonal_period))
            row.update(_score_intervals(coverages, actual, window_bounds))
            score_rows.append(row)
            if return_forecasts:
                forecast_rows.extend(
                    _forecast_rows(
                        label, name, index, cutoff, steps, actual, predicted[:, s], window_bounds
                    )
                )
    scores = pd.DataFrame(score_rows)
    if len(rows.panel.names) == 1:
        scores = scores.drop(columns="series")
    if not return_forecasts:
        return scores
    return scores, pd.DataFrame(forecast_rows)


def _forecast_rows(label, name, index, cutoff, steps, actual, predicted, bounds):
    rows = []
    for j, h in enumerate(steps):
        position = cutoff + h - 1
        time = position if index is None else index[position]
        row = {"cutoff": label, "series": name, "time": time}
        row.update({"step": int(h), "y_true": actual[j], "y_pred": predicted[j]})
        for level, (lower, upper) in bounds.items():
            row[f"lower_{100 * level:g}"] = lower[j]
            row[f"upper_{100 * level:g}"] = upper[j]
        rows.append(row)
    return rows
