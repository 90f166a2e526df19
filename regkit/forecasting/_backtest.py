"""Rolling-origin evaluation of forecasters."""

from numbers import Integral

import numpy as np
import pandas as pd
from sklearn.base import clone

from regkit.forecasting._lags import _as_series_values
from regkit.forecasting._metrics import (
    mean_absolute_scaled_error,
    symmetric_mean_absolute_percentage_error,
)


def backtest(
    forecaster,
    y,
    horizon,
    *,
    X=None,
    initial=None,
    step=None,
    n_windows=None,
    refit=True,
    seasonal_period=1,
):
    """Evaluate a forecaster on rolling origins (time-series cross-validation).

    At each origin (cutoff) ``c``, the forecaster is fitted on ``y[:c]`` (a fresh
    :func:`~sklearn.base.clone`), or, with ``refit=False``, fitted once on the
    first window and then only ``update``-d; it forecasts ``horizon`` values, which
    are scored against ``y[c:c+horizon]``.

    Parameters
    ----------
    forecaster : forecaster
        An unfitted regkit forecaster (anything with ``fit(y, X)``, ``predict``,
        ``update`` and ``get_params``).
    y : array-like of shape (n_observations,)
        The series (array, Series or one-column DataFrame).
    horizon : int
        Steps ahead of each forecast.
    X : array-like of shape (n_observations, n_exog) or None, default=None
        Exogenous series, aligned with ``y``.
    initial : int or None, default=None
        Length of the first training window. Default: what leaves room for
        ``n_windows`` forecasts (or half of the series when ``n_windows`` is None).
    step : int or None, default=None
        Distance between origins; default ``horizon``.
    n_windows : int or None, default=None
        Number of origins; default: as many as fit after ``initial``.
    refit : bool, default=True
        Refit at every origin, or fit once and ``update`` afterwards.
    seasonal_period : int, default=1
        Season length of the MASE scale.

    Returns
    -------
    scores : DataFrame
        One row per origin: ``cutoff`` (the last training time), ``n_train``,
        ``mae``, ``rmse``, ``mase``, ``smape``.

    Examples
    --------
    >>> import numpy as np
    >>> from regkit.forecasting import NaiveForecaster, backtest
    >>> y = np.arange(20.0)
    >>> scores = backtest(NaiveForecaster(), y, horizon=2, n_windows=3)
    >>> scores[["n_train", "mae"]]
       n_train  mae
    0       14  1.5
    1       16  1.5
    2       18  1.5
    """
    values, index, _ = _as_series_values(y)
    n = len(values)
    if not isinstance(horizon, Integral) or horizon < 1:
        raise ValueError(f"horizon must be an int >= 1, got {horizon!r}.")
    step = horizon if step is None else int(step)
    if step < 1:
        raise ValueError(f"step must be >= 1, got {step!r}.")
    if initial is None:
        initial = n // 2 if n_windows is None else n - horizon - step * (int(n_windows) - 1)
    initial = int(initial)
    cutoffs = list(range(initial, n - horizon + 1, step))
    if n_windows is not None:
        cutoffs = cutoffs[: int(n_windows)]
    if initial < 2 or not cutoffs:
        raise ValueError(
            f"no backtest window fits: y has {n} values, initial = {initial}, "
            f"horizon = {horizon}, step = {step}."
        )

    def part(data, rows):
        if data is None:
            return None
        return data.iloc[rows] if hasattr(data, "iloc") else np.asarray(data)[rows]

    rows = []
    model = None
    for k, cutoff in enumerate(cutoffs):
        if refit or model is None:
            model = clone(forecaster).fit(part(y, slice(0, cutoff)), part(X, slice(0, cutoff)))
        else:
            previous = cutoffs[k - 1]
            model.update(part(y, slice(previous, cutoff)), part(X, slice(previous, cutoff)))
        future = slice(cutoff, cutoff + horizon)
        forecast = np.asarray(model.predict(horizon, part(X, future)), dtype=float).ravel()
        actual = values[future]
        rows.append(
            {
                "cutoff": cutoff - 1 if index is None else index[cutoff - 1],
                "n_train": cutoff,
                "mae": float(np.mean(np.abs(actual - forecast))),
                "rmse": float(np.sqrt(np.mean((actual - forecast) ** 2))),
                "mase": mean_absolute_scaled_error(
                    actual, forecast, values[:cutoff], seasonal_period=seasonal_period
                ),
                "smape": symmetric_mean_absolute_percentage_error(actual, forecast),
            }
        )
    return pd.DataFrame(rows)
