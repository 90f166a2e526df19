"""Forecast accuracy metrics that scikit-learn does not have."""

import numpy as np


def _as_float(*arrays):
    return [np.asarray(a, dtype=np.float64).ravel() for a in arrays]


def mean_absolute_scaled_error(y_true, y_pred, y_train, *, seasonal_period=1):
    """Mean absolute scaled error (Hyndman and Koehler, 2006).

    The mean absolute error of the forecast divided by the in-sample mean absolute
    error of the seasonal naive forecast on the training series: below 1, the
    forecast beats (seasonal) naive.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (horizon,)
        Actual and forecast values.
    y_train : array-like of shape (n_train,)
        The series the forecast was made from (longer than ``seasonal_period``).
    seasonal_period : int, default=1
        Season length of the naive scale (1: the random walk).

    Returns
    -------
    mase : float

    Examples
    --------
    >>> from regkit.forecasting import mean_absolute_scaled_error
    >>> float(mean_absolute_scaled_error([5.0, 6.0], [4.0, 6.0], [1.0, 2.0, 3.0, 4.0]))
    0.5
    """
    y_true, y_pred, y_train = _as_float(y_true, y_pred, y_train)
    m = int(seasonal_period)
    if len(y_train) <= m:
        raise ValueError(
            f"y_train needs more than seasonal_period = {m} values, got {len(y_train)}."
        )
    # Missing training values (NaN) drop out of the naive scale.
    scale = np.nanmean(np.abs(y_train[m:] - y_train[:-m]))
    return float(np.mean(np.abs(y_true - y_pred)) / scale) if scale > 0 else np.inf


def symmetric_mean_absolute_percentage_error(y_true, y_pred):
    """Symmetric mean absolute percentage error, in percent (0 to 200).

    ``100 * mean(2 |y - yhat| / (|y| + |yhat|))``, a term being 0 where both are 0.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n,)
        Actual and forecast values.

    Returns
    -------
    smape : float

    Examples
    --------
    >>> from regkit.forecasting import symmetric_mean_absolute_percentage_error
    >>> float(symmetric_mean_absolute_percentage_error([100.0, 0.0], [110.0, 0.0]))
    4.761904761904762
    """
    y_true, y_pred = _as_float(y_true, y_pred)
    denominator = np.abs(y_true) + np.abs(y_pred)
    ratio = np.divide(
        2 * np.abs(y_true - y_pred),
        denominator,
        out=np.zeros_like(denominator),
        where=denominator > 0,
    )
    return float(100 * ratio.mean())
