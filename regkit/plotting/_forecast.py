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


class ForecastDisplay:
    """A forecast drawn after its history, with the actual values when known.

    Parameters
    ----------
    y_history : array-like or Series
        The observed series the forecast starts from.
    y_forecast : array-like or Series
        The forecast. An array without index is placed right after the history.
    y_true : array-like or Series or None, default=None
        The values that actually followed (same length and index as the forecast).
    model_name : str or None, default=None
        Legend entry of the forecast.

    Attributes
    ----------
    lines_ : dict of str to matplotlib Line2D
        ``"history"``, ``"forecast"`` and, with ``y_true``, ``"actual"``.
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure

    Examples
    --------
    >>> import numpy as np
    >>> from regkit.plotting import ForecastDisplay
    >>> display = ForecastDisplay(y_history=np.arange(10.0), y_forecast=[10.0, 11.0])
    >>> display.y_forecast.index.tolist()
    [10, 11]
    >>> display.plot()  # doctest: +SKIP
    """

    def __init__(self, *, y_history, y_forecast, y_true=None, model_name=None):
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
        self.model_name = model_name

    def plot(self, ax=None, *, n_history=None, **kwargs):
        """Draw history, forecast and actuals.

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
            _, ax = plt.subplots(figsize=(9, 4))
        history = self.y_history if n_history is None else self.y_history.iloc[-n_history:]
        self.lines_ = {}
        (self.lines_["history"],) = ax.plot(history.index, history, color="0.3", label="history")
        if self.y_true is not None:
            (self.lines_["actual"],) = ax.plot(
                self.y_true.index, self.y_true, color="0.3", linestyle=":", label="actual"
            )
        style = {"color": "C1", "label": self.model_name or "forecast", **kwargs}
        (self.lines_["forecast"],) = ax.plot(self.y_forecast.index, self.y_forecast, **style)
        ax.axvline(history.index[-1], color="0.7", linewidth=0.8)
        ax.legend()
        self.ax_, self.figure_ = ax, ax.figure
        return self

    @classmethod
    def from_forecaster(
        cls, forecaster, horizon, *, y_true=None, X=None, n_history=None, ax=None, **kwargs
    ):
        """Forecast ``horizon`` steps with a fitted forecaster and plot it.

        Parameters
        ----------
        forecaster : fitted forecaster
            A regkit forecaster; its history ``y_`` (with its index) is drawn.
        horizon : int
            Steps ahead.
        y_true : array-like or Series or None, default=None
            The actual values of those steps.
        X : array-like or None, default=None
            Future exogenous values, for a forecaster fitted with ``X``.
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
        display = cls(
            y_history=forecaster.get_history(),
            y_forecast=forecaster.predict(horizon, X),
            y_true=y_true,
            model_name=type(forecaster).__name__,
        )
        return display.plot(ax=ax, n_history=n_history, **kwargs)


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
            _, ax = plt.subplots(figsize=(8, 3.5))
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
