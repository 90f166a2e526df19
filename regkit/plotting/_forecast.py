"""Plot forecasts (history, forecast, actuals) and estimated AR coefficients."""

import numpy as np
import pandas as pd


def _as_series(values, name):
    if values is None:
        return None
    if isinstance(values, pd.DataFrame):
        values = values.iloc[:, 0]
    if isinstance(values, pd.Series):
        return values.astype(float)
    return pd.Series(np.asarray(values, dtype=np.float64).ravel(), name=name)


def _format_time_axis(ax):
    """Concise, non-overlapping date labels on a time x-axis (no-op for numbers)."""
    import matplotlib.dates as mdates

    if isinstance(ax.xaxis.get_major_formatter(), mdates.AutoDateFormatter):
        locator = mdates.AutoDateLocator(minticks=3, maxticks=7)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


class ForecastDisplay:
    """A forecast drawn after its history, with its interval and the actual values.

    Parameters
    ----------
    y_history : array-like or Series
        The observed series the forecast starts from.
    y_forecast : array-like or Series
        The forecast. An array without index is placed right after the history.
    y_true : array-like or Series or None, default=None
        The values that actually followed (same length and index as the forecast).
    y_interval : array-like of shape (horizon, 2) or DataFrame or None, default=None
        Lower and upper bounds of a prediction interval (columns ``lower`` and
        ``upper`` of :meth:`~regkit.forecasting.BaseForecaster.predict_interval`).
    coverage : float or None, default=None
        Nominal coverage of the interval (for the legend).
    model_name : str or None, default=None
        Legend entry of the forecast.

    Attributes
    ----------
    lines_ : dict of str to matplotlib Line2D
        ``"history"``, ``"forecast"`` and, with ``y_true``, ``"actual"``.
    band_ : matplotlib PolyCollection or None
        The interval band.
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure

    Examples
    --------
    >>> import numpy as np
    >>> from regkit.plotting import ForecastDisplay
    >>> display = ForecastDisplay(
    ...     y_history=np.arange(10.0), y_forecast=[10.0, 11.0], y_interval=[[9, 11], [9, 13]]
    ... )
    >>> display.y_forecast.index.tolist(), display.y_interval["upper"].tolist()
    ([10, 11], [11.0, 13.0])
    >>> display.plot()  # doctest: +SKIP
    """

    def __init__(
        self, *, y_history, y_forecast, y_true=None, y_interval=None, coverage=None, model_name=None
    ):
        self.y_history = _as_series(y_history, "history")
        forecast = _as_series(y_forecast, "forecast")
        if not isinstance(y_forecast, pd.Series | pd.DataFrame):
            start = len(self.y_history)
            if isinstance(self.y_history.index, pd.RangeIndex):
                start = self.y_history.index[-1] + 1 if len(self.y_history) else 0
            forecast.index = pd.RangeIndex(start, start + len(forecast))
        self.y_forecast = forecast
        true = _as_series(y_true, "actual")
        if true is not None and not isinstance(y_true, pd.Series | pd.DataFrame):
            true.index = forecast.index
        self.y_true = true
        self.y_interval = None
        if y_interval is not None:
            interval = pd.DataFrame(
                np.asarray(y_interval, dtype=np.float64), columns=["lower", "upper"]
            )
            if interval.shape != (len(forecast), 2):
                raise ValueError(
                    f"y_interval must have one (lower, upper) row per forecast step "
                    f"({len(forecast)}), got shape {interval.shape}."
                )
            interval.index = forecast.index
            self.y_interval = interval
        self.coverage = coverage
        self.model_name = model_name

    def plot(self, ax=None, *, n_history=None, **kwargs):
        """Draw history, forecast, interval and actuals.

        Parameters
        ----------
        ax : matplotlib Axes or None, default=None
            Axes to draw on; a new figure when None.
        n_history : int or None, default=None
            Show only the last ``n_history`` observations of the history.
        **kwargs
            Passed to the forecast's :meth:`matplotlib.axes.Axes.plot`.

        Returns
        -------
        self : ForecastDisplay
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(9, 4), layout="constrained")
        history = self.y_history if n_history is None else self.y_history.iloc[-n_history:]
        self.lines_ = {}
        (self.lines_["history"],) = ax.plot(history.index, history, color="0.3", label="history")
        if self.y_true is not None:
            (self.lines_["actual"],) = ax.plot(
                self.y_true.index, self.y_true, color="0.3", linestyle=":", label="actual"
            )
        style = {"color": "C1", "label": self.model_name or "forecast", **kwargs}
        (self.lines_["forecast"],) = ax.plot(self.y_forecast.index, self.y_forecast, **style)
        self.band_ = None
        if self.y_interval is not None:
            label = "interval" if self.coverage is None else f"{100 * self.coverage:g}% interval"
            self.band_ = ax.fill_between(
                self.y_interval.index,
                self.y_interval["lower"],
                self.y_interval["upper"],
                color=style["color"],
                alpha=0.25,
                linewidth=0,
                label=label,
            )
        ax.axvline(history.index[-1], color="0.7", linewidth=0.8)
        _format_time_axis(ax)
        ax.legend()
        self.ax_, self.figure_ = ax, ax.figure
        return self

    @classmethod
    def from_forecaster(
        cls,
        forecaster,
        fh,
        *,
        y_true=None,
        X=None,
        coverage=None,
        series=None,
        n_history=None,
        ax=None,
        **kwargs,
    ):
        """Forecast with a fitted forecaster and plot it (one series).

        Parameters
        ----------
        forecaster : fitted forecaster
            A regkit forecaster; its history (with its index) is drawn.
        fh : int or list of int
            Steps ahead (see :meth:`~regkit.forecasting.BaseForecaster.predict`).
        y_true : array-like or Series or None, default=None
            The actual values of those steps.
        X : array-like or None, default=None
            Future exogenous values, for a forecaster fitted with ``X``.
        coverage : float or None, default=None
            Also draw the prediction interval of this coverage.
        series : int or hashable or None, default=None
            For a forecaster of many series: which one (position or name; default
            the first).
        n_history : int or None, default=None
            Show only the last ``n_history`` observations.
        ax : matplotlib Axes or None, default=None
            Axes to draw on; a new figure when None.
        **kwargs
            Passed to :meth:`plot`.

        Returns
        -------
        display : ForecastDisplay
        """
        names = forecaster.series_names_
        if series is None:
            position = 0
        elif series in names:
            position = names.index(series)
        elif isinstance(series, int) and 0 <= series < len(names):
            position = series
        else:
            raise ValueError(f"series must be a position or one of {names}, got {series!r}.")
        history = _one_series(forecaster.get_history(), position, forecaster)
        forecast = _one_series(forecaster.predict(fh, X), position, forecaster)
        interval = None
        if coverage is not None:
            values, _ = forecaster._quantile_values(fh, [(1 - coverage) / 2, (1 + coverage) / 2], X)
            interval = values[:, position, :]
        display = cls(
            y_history=history,
            y_forecast=forecast,
            y_true=y_true,
            y_interval=interval,
            coverage=coverage,
            model_name=type(forecaster).__name__,
        )
        return display.plot(ax=ax, n_history=n_history, **kwargs)


def _one_series(values, position, forecaster):
    """Column ``position`` of a forecaster's output, as a Series with the time index."""
    if isinstance(values, pd.DataFrame) and not isinstance(values.index, pd.MultiIndex):
        return values.iloc[:, position]
    if isinstance(values, pd.Series) and isinstance(values.index, pd.MultiIndex):
        name = forecaster.series_names_[position]
        return values.xs(name, level=0)
    if isinstance(values, np.ndarray) and values.ndim == 2:
        return values[:, position]
    return values


class ARCoefficientsDisplay:
    """Estimated AR coefficients by lag, against the true ones when known.

    Parameters
    ----------
    coef : array-like of shape (n_lags,)
        Estimated coefficients, ``coef[k-1]`` for lag ``k``.
    true_coef : array-like or dict or None, default=None
        True coefficients (dense, or ``{lag: value}``), e.g. those given to
        :func:`~regkit.datasets.make_ar_process`.
    model_name : str or None, default=None
        Legend entry of the estimate.

    Attributes
    ----------
    stem_ : matplotlib StemContainer
        The estimated coefficients.
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure

    Examples
    --------
    >>> from regkit.plotting import ARCoefficientsDisplay
    >>> display = ARCoefficientsDisplay(coef=[0.19, 0.31, -0.5, 0.0], true_coef={1: 0.2})
    >>> display.true_coef.tolist()
    [0.2, 0.0, 0.0, 0.0]
    >>> display.plot()  # doctest: +SKIP
    """

    def __init__(self, *, coef, true_coef=None, model_name=None):
        self.coef = np.asarray(coef, dtype=np.float64)
        if self.coef.ndim != 1:
            raise ValueError(
                f"coef must be 1-D (one value per lag), got shape {self.coef.shape}; for a "
                "multi-step model pass one row, e.g. coef_[0]."
            )
        if isinstance(true_coef, dict):
            dense = np.zeros(max(len(self.coef), max(true_coef)))
            for lag, value in true_coef.items():
                dense[int(lag) - 1] = value
            true_coef = dense
        self.true_coef = None if true_coef is None else np.asarray(true_coef, dtype=np.float64)
        self.model_name = model_name

    def plot(self, ax=None, **kwargs):
        """Draw the coefficients by lag.

        Parameters
        ----------
        ax : matplotlib Axes or None, default=None
            Axes to draw on; a new figure when None.
        **kwargs
            Passed to :meth:`matplotlib.axes.Axes.stem`.

        Returns
        -------
        self : ARCoefficientsDisplay
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(8, 3.5), layout="constrained")
        lags = np.arange(1, len(self.coef) + 1)
        self.stem_ = ax.stem(lags, self.coef, label=self.model_name or "estimated", **kwargs)
        if self.true_coef is not None:
            true_lags = np.arange(1, len(self.true_coef) + 1)
            nonzero = self.true_coef != 0
            ax.scatter(
                true_lags[nonzero],
                self.true_coef[nonzero],
                marker="x",
                s=60,
                color="C3",
                zorder=3,
                label="true",
            )
        ax.axhline(0, color="0.6", linewidth=0.8)
        ax.set(xlabel="lag", ylabel="coefficient")
        ax.legend()
        self.ax_, self.figure_ = ax, ax.figure
        return self

    @classmethod
    def from_estimator(cls, estimator, *, true_coef=None, output=0, ax=None, **kwargs):
        """Plot the ``coef_`` of a fitted linear AR model.

        Parameters
        ----------
        estimator : fitted estimator or forecaster
            Has ``coef_`` (``ARNetRegressor``, ``ARNetForecaster``,
            ``AutoRegForecaster``...).
        true_coef : array-like or dict or None, default=None
            True coefficients to compare with.
        output : int, default=0
            Row of a multi-output ``coef_`` (the step ahead, 0 for one step).
        ax : matplotlib Axes or None, default=None
            Axes to draw on; a new figure when None.
        **kwargs
            Passed to :meth:`plot`.

        Returns
        -------
        display : ARCoefficientsDisplay
        """
        coef = np.asarray(estimator.coef_)
        if coef.ndim == 2:
            coef = coef[output]
        n_lags = getattr(estimator, "n_lags", None)
        if n_lags is not None:
            coef = coef[:n_lags]  # drop exogenous columns
        display = cls(coef=coef, true_coef=true_coef, model_name=type(estimator).__name__)
        return display.plot(ax=ax, **kwargs)
