"""Baseline forecasters: last value, seasonal naive, mean and drift."""

from numbers import Integral

import numpy as np
from scipy.stats import norm
from sklearn.utils._param_validation import Interval, StrOptions

from regkit.forecasting._base import BaseForecaster
from regkit.forecasting._scale import root_mean_square, scaled_mean
from regkit.utils import store_init_params


class NaiveForecaster(BaseForecaster):
    """Naive forecasts: repeat the last value (or season), the mean, or the drift.

    The baselines every forecaster must beat, and the yardstick of the mean
    absolute scaled error (MASE). Many series are forecast each on its own.

    Prediction intervals are the standard Gaussian ones (Hyndman and
    Athanasopoulos, *Forecasting: Principles and Practice*, 3rd ed., section
    5.5), with ``sigma`` estimated from the in-sample residuals in ``fit``:

    - last value: ``sigma_h = sigma * sqrt(h)``; seasonal naive with period
      ``m``: ``sigma * sqrt(floor((h - 1) / m) + 1)``; ``sigma^2`` is the mean
      squared residual ``y[t] - y[t-m]``;
    - mean: ``sigma * sqrt(1 + 1 / T)``, ``sigma`` the standard deviation of the
      ``T`` observations (``ddof=1``);
    - drift: ``sigma * sqrt(h * (1 + h / T))``, ``sigma^2`` the sum of squared
      residuals ``y[t] - y[t-1] - slope`` over ``T - 2``.

    Parameters
    ----------
    strategy : {"last", "mean", "drift"}, default="last"
        ``"last"`` repeats the last observed season (the last value when
        ``seasonal_period=1``: the random-walk forecast); ``"mean"`` predicts the
        mean of the history; ``"drift"`` extends the line through the first and
        last observations.
    seasonal_period : int, default=1
        Season length ``m`` for ``strategy="last"``: ``y[t+h]`` is forecast by the
        value one (or more) seasons before (12 for monthly data with a yearly
        cycle). Ignored by the other strategies.
    missing : {"raise", "interpolate", "ffill"}, default="raise"
        What to do with NaN in ``y`` (see :class:`BaseForecaster`).

    Attributes
    ----------
    sigma_ : float or ndarray of shape (n_series,)
        The residual standard deviation of the intervals.
    y_ : ndarray of shape (n_times,) or (n_times, n_series)
        The history.

    See Also
    --------
    ARNetForecaster : A learnt auto-regressive forecaster.

    Examples
    --------
    >>> import numpy as np
    >>> from regkit.forecasting import NaiveForecaster
    >>> y = np.array([1.0, 2.0, 3.0, 10.0, 20.0, 30.0])
    >>> NaiveForecaster(seasonal_period=3).fit(y).predict(4)
    array([10., 20., 30., 10.])
    >>> NaiveForecaster(strategy="drift").fit(y).predict(2)
    array([35.8, 41.6])
    """

    _parameter_constraints = {
        **BaseForecaster._parameter_constraints,
        "strategy": [StrOptions({"last", "mean", "drift"})],
        "seasonal_period": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(self, strategy="last", *, seasonal_period=1, missing="raise"):
        store_init_params(self, locals())

    def _period(self):
        return self.seasonal_period if self.strategy == "last" else 1

    def _min_history(self):
        return {"last": self.seasonal_period + 1, "mean": 2, "drift": 3}[self.strategy]

    def _fit(self, Y, X):
        n = len(Y)
        # Root mean squares in power-of-two units: squares of a series near 1e160
        # would overflow (infinite intervals), near 1e-160 underflow (empty ones).
        if self.strategy == "last":
            m = self.seasonal_period
            sigma = root_mean_square(Y[m:] - Y[:-m])
        elif self.strategy == "mean":
            sigma = root_mean_square(Y - scaled_mean(Y), ddof=1)
        else:
            slope = (Y[-1] - Y[0]) / (n - 1)
            residuals = np.diff(Y, axis=0) - slope
            sigma = root_mean_square(residuals, ddof=1)
        self.sigma_ = float(sigma[0]) if self._panel.squeeze else sigma

    def _predict(self, n_steps, X_future):
        Y = self._Y
        n = len(Y)
        h = np.arange(1, n_steps + 1)
        if self.strategy == "last":
            m = self.seasonal_period
            return Y[n - m + (h - 1) % m]
        if self.strategy == "mean":
            return np.repeat(scaled_mean(Y)[None, :], n_steps, axis=0)
        slope = (Y[-1] - Y[0]) / (n - 1)
        return Y[-1] + h[:, None] * slope

    def _sigma_h(self, n_steps):
        h = np.arange(1, n_steps + 1, dtype=np.float64)
        T = len(self._Y)
        if self.strategy == "last":
            factor = np.sqrt(np.floor((h - 1) / self.seasonal_period) + 1)
        elif self.strategy == "mean":
            factor = np.full(n_steps, np.sqrt(1 + 1 / T))
        else:
            factor = np.sqrt(h * (1 + h / T))
        return factor[:, None] * np.atleast_1d(self.sigma_)[None, :]

    def _predict_quantiles(self, n_steps, X_future, quantiles):
        point = self._predict(n_steps, X_future)
        return point[:, :, None] + self._sigma_h(n_steps)[:, :, None] * norm.ppf(quantiles)

    def _predict_in_sample(self):
        Y = self._Y
        n = len(Y)
        fitted = np.full(Y.shape, np.nan)
        if self.strategy == "last":
            m = self.seasonal_period
            fitted[m:] = Y[:-m]
        elif self.strategy == "mean":
            fitted[1:] = np.cumsum(Y, axis=0)[:-1] / np.arange(1, n)[:, None]
        else:
            t = np.arange(2, n)[:, None]
            fitted[2:] = Y[1:-1] + (Y[1:-1] - Y[0]) / (t - 1)
        return fitted
