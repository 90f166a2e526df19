"""Unlearning a time window from a forecaster: forget the lag windows that touch it."""

from regkit.forecasting import ARNetForecaster


def unlearn_time_window(unlearner, forecaster, start=None, end=None, *, series=None):
    """Remove what a fitted AR-Net forecaster learnt from a time range of its history.

    The forecaster's network (``regressor_``) was trained on windows of the
    history: ``n_lags`` past values and the ``n_forecasts`` values after them.
    The windows with any time in ``[start, end]`` are the forget rows, the others
    the retain rows (:meth:`~regkit.forecasting.ARNetForecaster.lag_rows`); any
    unlearner removes the former from the network, and the forecaster is rebuilt
    around the new network
    (:meth:`~regkit.forecasting.ARNetForecaster.with_regressor`).

    Parameters
    ----------
    unlearner : Unlearner
        How to unlearn: :class:`RetrainUnlearner` (exact: the network refitted on
        the other windows), :class:`BlindspotUnlearner`, ...
    forecaster : ARNetForecaster
        Fitted; not modified.
    start, end : time label, int or None, default=None
        First and last time of the range, both included (labels of a pandas
        history, positions of an array one); None leaves that side open.
    series : list of int or hashable, or None, default=None
        Forget the range only in these series (positions or names); None: in
        every series.

    Returns
    -------
    forecaster : ARNetForecaster
        A new forecaster with the unlearned network, the same history and
        normalisation, and no prediction intervals.

    Raises
    ------
    ValueError
        If no window touches the range, or every window does (nothing would be
        left to learn from).
    TypeError
        If ``forecaster`` is not an :class:`~regkit.forecasting.ARNetForecaster`.

    Notes
    -----
    What is kept, and why:

    - **The history.** Forecasts start from the last ``n_lags`` observations,
      so the forecaster keeps its history, the range included; a range within
      the last ``n_lags`` times therefore still feeds the forecasts directly.
      Remove or overwrite the values themselves if the request covers them.
    - **The per-series normalisation** (mean and standard deviation of each
      series, range included) is kept, as the fitted preprocessing of a
      Pipeline is: the network reads its inputs as before.
    - **The prediction intervals are dropped.** The split-conformal calibration
      model was trained on the same history and its residuals come from the
      observed values, range included, so keeping it would keep the forgotten
      values' influence; unlearning it approximately would also break the
      guarantee, which holds for a model fitted the way the calibration model
      was. ``predict_interval`` then raises; refit for intervals.

    Examples
    --------
    >>> import numpy as np
    >>> from regkit.forecasting import ARNetForecaster
    >>> from regkit.unlearning import RetrainUnlearner, unlearn_time_window
    >>> y = np.sin(np.arange(80) / 3) + np.r_[np.zeros(40), 5 + np.zeros(5), np.zeros(35)]
    >>> model = ARNetForecaster(n_lags=4, max_epochs=30, random_state=0).fit(y)
    >>> forgot = unlearn_time_window(RetrainUnlearner(), model, 40, 44)
    >>> forgot.predict(3).shape, forgot.calibration_model_ is None
    ((3,), True)
    """
    if not isinstance(forecaster, ARNetForecaster):
        raise TypeError(
            "unlearn_time_window unlearns the network of an ARNetForecaster; got "
            f"{type(forecaster).__name__}."
        )
    X, y, touches = forecaster.lag_rows(start, end, series=series)
    if not touches.any():
        raise ValueError(
            f"no training window of the forecaster touches the range {start!r} to {end!r}: "
            "there is nothing to forget."
        )
    if touches.all():
        raise ValueError(
            f"every training window touches the range {start!r} to {end!r}: nothing would be "
            "left to learn from; fit a new forecaster instead."
        )
    regressor = unlearner.unlearn(
        forecaster.regressor_, X[touches], y[touches], X[~touches], y[~touches]
    )
    return forecaster.with_regressor(regressor)
