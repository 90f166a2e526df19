"""Plot the additive components of a linear AR-Net's predictions."""

import pandas as pd

from regkit.plotting._forecast import _format_time_axis


class ForecastComponentsDisplay:
    """One panel per additive component of a forecaster's in-sample predictions.

    The linear AR-Net's one-step prediction is a sum: a baseline, the
    auto-regression on the lags, the lagged and future regressors, the
    seasonality features and the series indicators
    (:meth:`~regkit.forecasting.ARNetForecaster.predict_components`). Drawn one
    above the other, they show what each part of the model contributes, as
    NeuralProphet's components plot does.

    Parameters
    ----------
    components : DataFrame
        One column per component, indexed by time.

    Attributes
    ----------
    axes_ : ndarray of matplotlib Axes
        One per component.
    lines_ : dict of str to matplotlib Line2D
    figure_ : matplotlib Figure

    Examples
    --------
    >>> import pandas as pd
    >>> from regkit.plotting import ForecastComponentsDisplay
    >>> parts = pd.DataFrame({"baseline": [1.0, 1.0], "seasonality": [0.5, -0.5]})
    >>> ForecastComponentsDisplay(components=parts).components.shape
    (2, 2)
    >>> ForecastComponentsDisplay(components=parts).plot()  # doctest: +SKIP
    """

    def __init__(self, *, components):
        if not isinstance(components, pd.DataFrame) or components.shape[1] == 0:
            raise ValueError("components must be a DataFrame with one column per component.")
        self.components = components

    def plot(self, *, n_history=None, figure_kw=None):
        """Draw each component in its own panel, sharing the time axis.

        Parameters
        ----------
        n_history : int or None, default=None
            Show only the last ``n_history`` times.
        figure_kw : dict or None, default=None
            Passed to :func:`matplotlib.pyplot.subplots`.

        Returns
        -------
        self : ForecastComponentsDisplay
        """
        import matplotlib.pyplot as plt

        parts = self.components if n_history is None else self.components.iloc[-n_history:]
        n = parts.shape[1]
        kw = {"figsize": (9, 1.8 * n + 0.6), "sharex": True, "layout": "constrained"}
        figure, axes = plt.subplots(n, 1, squeeze=False, **{**kw, **(figure_kw or {})})
        self.lines_ = {}
        for ax, name in zip(axes[:, 0], parts.columns, strict=True):
            (self.lines_[name],) = ax.plot(parts.index, parts[name], color="C0")
            ax.set_ylabel(name.replace("_", " "), rotation=0, ha="right", va="center")
        _format_time_axis(axes[-1, 0])
        self.axes_, self.figure_ = axes[:, 0], figure
        return self

    @classmethod
    def from_forecaster(cls, forecaster, *, series=0, n_history=None, **kwargs):
        """Components of a fitted linear AR-Net forecaster's in-sample predictions.

        Parameters
        ----------
        forecaster : ARNetForecaster
            Fitted, linear (``ar_layers=()``).
        series : int or hashable, default=0
            Which series, for many series (position or name).
        n_history : int or None, default=None
            Show only the last ``n_history`` times.
        **kwargs
            Passed to :meth:`plot`.

        Returns
        -------
        display : ForecastComponentsDisplay
        """
        components = forecaster.predict_components(series=series).dropna()
        return cls(components=components).plot(n_history=n_history, **kwargs)
