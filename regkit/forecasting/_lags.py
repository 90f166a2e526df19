"""Turn a time series into a supervised problem: a lag matrix and its targets."""

from numbers import Integral

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view


def _check_count(value, name, minimum):
    if not isinstance(value, Integral) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}.")
    return int(value)


def make_lag_features(y, n_lags, *, n_forecasts=1, X=None, dropna=False):
    """Build the lag matrix and the targets of a direct multi-step forecaster.

    Row ``i`` stands for the forecast origin ``t = n_lags + i``: its features are the
    lags ``y[t-1], y[t-2], ..., y[t-n_lags]`` (lag 1 first, so that a linear model's
    ``coef_[k-1]`` is the AR coefficient of lag ``k``), followed by the exogenous
    columns of ``X`` at the forecast times ``t, ..., t+n_forecasts-1`` (covariates
    known in advance, such as calendar features); its targets are
    ``y[t], ..., y[t+n_forecasts-1]``.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        The series: a 1-D array, a Series or a one-column DataFrame.
    n_lags : int
        Number of past values per row (the AR order), >= 1.
    n_forecasts : int, default=1
        Number of future values per row (the outputs of a direct forecaster), >= 1.
    X : array-like of shape (n_samples, n_exog) or None, default=None
        Exogenous series aligned with ``y``.
    dropna : bool, default=False
        Drop the rows whose features or targets contain NaN. By default NaN is
        passed through, so that the caller decides (regkit's estimators reject it).

    Returns
    -------
    features : ndarray or DataFrame of shape (n_rows, n_lags + n_exog * n_forecasts)
        ``n_rows = n_samples - n_lags - n_forecasts + 1``. A DataFrame, with columns
        ``lag_1, ..., lag_p`` and ``{column}_t+{k}``, when ``y`` is a pandas object;
        its index holds the time of each row's first target.
    targets : ndarray or Series/DataFrame of shape (n_rows,) or (n_rows, n_forecasts)
        One column per step ahead (``step_1, ...``); 1-D when ``n_forecasts == 1``.

    Raises
    ------
    ValueError
        If ``y`` is shorter than ``n_lags + n_forecasts`` or not one series, or
        ``X`` does not have one row per value of ``y``.

    Examples
    --------
    >>> import numpy as np
    >>> from regkit.forecasting import make_lag_features
    >>> features, targets = make_lag_features(np.arange(6.0), n_lags=2)
    >>> features
    array([[1., 0.],
           [2., 1.],
           [3., 2.],
           [4., 3.]])
    >>> targets
    array([2., 3., 4., 5.])
    """
    n_lags = _check_count(n_lags, "n_lags", 1)
    n_forecasts = _check_count(n_forecasts, "n_forecasts", 1)
    values, index, name = _as_series_values(y)
    n_samples = len(values)
    n_rows = n_samples - n_lags - n_forecasts + 1
    if n_rows < 1:
        raise ValueError(
            f"y has {n_samples} values; n_lags + n_forecasts = {n_lags + n_forecasts} "
            "needs at least that many to make one training row."
        )
    # Window w holds y[w], ..., y[w+n_lags+n_forecasts-1]: past first, future last.
    windows = sliding_window_view(values, n_lags + n_forecasts)[:n_rows]
    features = np.ascontiguousarray(windows[:, :n_lags][:, ::-1])
    targets = np.ascontiguousarray(windows[:, n_lags:])
    columns = [f"lag_{k}" for k in range(1, n_lags + 1)]
    if X is not None:
        exog, exog_names = _as_exog(X, n_samples)
        # Row i needs X[t], ..., X[t+n_forecasts-1] with t = n_lags + i.
        blocks = [exog[n_lags + k : n_lags + k + n_rows] for k in range(n_forecasts)]
        features = np.hstack([features, *blocks])
        columns += [f"{col}_t+{k}" for k in range(n_forecasts) for col in exog_names]
    if dropna:
        keep = ~(np.isnan(features).any(axis=1) | np.isnan(targets).any(axis=1))
    else:
        keep = slice(None)
    features, targets = features[keep], targets[keep]
    if n_forecasts == 1:
        targets = targets[:, 0]
    if index is None:
        return features, targets
    row_index = index[n_lags : n_lags + n_rows][keep]
    features = pd.DataFrame(features, index=row_index, columns=columns)
    if targets.ndim == 1:
        targets = pd.Series(targets, index=row_index, name=name)
    else:
        step_names = [f"step_{k}" for k in range(1, n_forecasts + 1)]
        targets = pd.DataFrame(targets, index=row_index, columns=step_names)
    return features, targets


def _as_series_values(y):
    """Return ``(float values, index or None, name)`` of a 1-D series."""
    index, name = None, None
    if isinstance(y, pd.DataFrame):
        if y.shape[1] != 1:
            raise ValueError(
                f"y must be one series; got a DataFrame with {y.shape[1]} columns "
                "(pass the others as X)."
            )
        index, name = y.index, y.columns[0]
        y = y.iloc[:, 0]
    elif isinstance(y, pd.Series):
        index, name = y.index, y.name
    try:
        values = np.asarray(y, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"y must hold numbers, got {type(y).__name__}: {exc}") from exc
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1:
        raise ValueError(f"y must be one series (1-D), got shape {values.shape}.")
    return values, index, name


def _as_exog(X, n_samples):
    names = [str(c) for c in X.columns] if isinstance(X, pd.DataFrame) else None
    exog = np.asarray(X, dtype=np.float64)
    if exog.ndim == 1:
        exog = exog[:, None]
    if exog.ndim != 2 or len(exog) != n_samples:
        raise ValueError(
            f"X must have one row per value of y ({n_samples}), got shape {exog.shape}."
        )
    if names is None:
        names = [f"x{j}" for j in range(exog.shape[1])]
    return exog, names


def lag_rows(values, n_lags):
    """Lag rows of every origin ``t = n_lags, ..., len(values) - 1`` (lag 1 first)."""
    windows = sliding_window_view(np.asarray(values, dtype=np.float64), n_lags)
    return np.ascontiguousarray(windows[:-1, ::-1])
