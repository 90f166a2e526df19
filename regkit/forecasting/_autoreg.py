"""statsmodels' AutoReg (conditional least squares) behind the forecaster interface."""

from numbers import Integral

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from regkit.forecasting._base import BaseForecaster
from regkit.forecasting._lags import lag_rows, lag_window
from regkit.utils import store_init_params


class AutoRegForecaster(BaseForecaster):
    """The classic AR(p) forecaster: :class:`statsmodels.tsa.ar_model.AutoReg`.

    Fits ``y[t] = c + sum_k coef[k-1] y[t-k] (+ exog)`` by ordinary least squares on
    the lag matrix (conditional maximum likelihood) with statsmodels, then
    forecasts with regkit's rollout, so that it shares ``update``,
    ``predict_in_sample`` and the index handling of every regkit forecaster: the
    anchor AR-Net is compared with.

    Parameters
    ----------
    n_lags : int, default=1
        AR order ``p``: all lags ``1..p``.
    trend : {"c", "n"}, default="c"
        With (``"c"``) or without (``"n"``) a constant.
    missing : {"raise", "interpolate", "ffill"}, default="raise"
        What to do with NaN in ``y`` (see :class:`BaseForecaster`).

    Attributes
    ----------
    coef_ : ndarray of shape (n_lags,)
        AR coefficients, ``coef_[k-1]`` for lag ``k``.
    intercept_ : float
        The constant (0 with ``trend="n"``).
    exog_coef_ : ndarray of shape (n_exog,)
        Coefficients of the exogenous columns.
    results_ : statsmodels AutoRegResults
        The fitted statsmodels results (summary, information criteria...).
    y_ : ndarray of shape (n_observations,)
        The history.

    Examples
    --------
    >>> from regkit.datasets import make_ar_process
    >>> from regkit.forecasting import AutoRegForecaster
    >>> y = make_ar_process(1000, [0.5, -0.3], random_state=0)
    >>> AutoRegForecaster(n_lags=2).fit(y).coef_.round(1)
    array([ 0.5, -0.3])
    """

    _parameter_constraints = {
        **BaseForecaster._parameter_constraints,
        "n_lags": [Interval(Integral, 1, None, closed="left")],
        "trend": [StrOptions({"c", "n"})],
    }

    def __init__(self, n_lags=1, *, trend="c", missing="raise"):
        store_init_params(self, locals())

    def _min_history(self):
        return self.n_lags + 1

    def _fit(self, y, X):
        from statsmodels.tsa.ar_model import AutoReg

        self.results_ = AutoReg(y, lags=self.n_lags, trend=self.trend, exog=X).fit()
        params = np.asarray(self.results_.params, dtype=np.float64)
        n_trend = 1 if self.trend == "c" else 0
        self.intercept_ = float(params[0]) if n_trend else 0.0
        self.coef_ = params[n_trend : n_trend + self.n_lags]
        self.exog_coef_ = params[n_trend + self.n_lags :]

    def _forecast_block(self, history, X_future):
        value = self.intercept_ + self.coef_ @ lag_window(history, self.n_lags)
        if X_future is not None:
            value += self.exog_coef_ @ X_future[0]
        return np.array([value])

    def _predict_in_sample(self, history, X):
        fitted = np.full(len(history), np.nan)
        fitted[self.n_lags :] = self.intercept_ + lag_rows(history, self.n_lags) @ self.coef_
        if X is not None:
            fitted[self.n_lags :] += X[self.n_lags :] @ self.exog_coef_
        return fitted
