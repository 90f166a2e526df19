"""statsmodels' AutoReg (conditional least squares) behind the forecaster interface."""

from numbers import Integral

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from regkit.forecasting._base import BaseForecaster
from regkit.forecasting._lags import lag_rows
from regkit.utils import store_init_params


class AutoRegForecaster(BaseForecaster):
    """The classic AR(p) forecaster: :class:`statsmodels.tsa.ar_model.AutoReg`.

    Fits ``y[t] = c + sum_k coef[k-1] y[t-k] (+ exog)`` by ordinary least squares
    on the lag matrix (conditional maximum likelihood), one model per series,
    and forecasts with statsmodels, whose prediction intervals (Gaussian, from
    the model's MA representation) are those of :meth:`predict_interval`. It
    shares the interface of every regkit forecaster: the anchor AR-Net is
    compared with.

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
    coef_ : ndarray of shape (n_lags,) or (n_series, n_lags)
        AR coefficients, ``coef_[..., k-1]`` for lag ``k``.
    intercept_ : float or ndarray of shape (n_series,)
        The constant (0 with ``trend="n"``).
    exog_coef_ : ndarray of shape (n_exog,) or (n_series, n_exog)
        Coefficients of the exogenous columns.
    results_ : list of statsmodels AutoRegResults
        The fitted statsmodels results, one per series (summary, information
        criteria...).
    y_ : ndarray of shape (n_times,) or (n_times, n_series)
        The history.

    Notes
    -----
    ``update`` re-estimates the coefficients on the whole history by default
    (``update_params=True``), so that it equals a new ``fit``; with
    ``update_params=False`` the coefficients are kept and the forecasts start
    from the longer history.

    Examples
    --------
    >>> from regkit.datasets import make_ar_process
    >>> from regkit.forecasting import AutoRegForecaster
    >>> y = make_ar_process(1000, [0.5, -0.3], random_state=0)
    >>> model = AutoRegForecaster(n_lags=2).fit(y)
    >>> model.coef_.round(1)
    array([ 0.5, -0.3])
    >>> model.predict_interval(2, coverage=0.9).shape
    (2, 2)
    """

    _parameter_constraints = {
        **BaseForecaster._parameter_constraints,
        "n_lags": [Interval(Integral, 1, None, closed="left")],
        "trend": [StrOptions({"c", "n"})],
    }

    def __init__(self, n_lags=1, *, trend="c", missing="raise"):
        store_init_params(self, locals())

    def _min_history(self):
        return self.n_lags + 2

    def _fit(self, Y, X):
        from statsmodels.tsa.ar_model import AutoReg

        self.results_ = [
            AutoReg(Y[:, s], lags=self.n_lags, trend=self.trend, exog=_column(X, s)).fit()
            for s in range(Y.shape[1])
        ]
        self._n_fit = len(Y)
        params = np.array([np.asarray(r.params, dtype=np.float64) for r in self.results_])
        n_trend = 1 if self.trend == "c" else 0
        squeeze = self._panel.squeeze
        intercept = params[:, 0] if n_trend else np.zeros(len(params))
        self.intercept_ = float(intercept[0]) if squeeze else intercept
        coef = params[:, n_trend : n_trend + self.n_lags]
        exog_coef = params[:, n_trend + self.n_lags :]
        self.coef_ = coef[0] if squeeze else coef
        self.exog_coef_ = exog_coef[0] if squeeze else exog_coef

    def _current_results(self, s):
        """Results on the current history (the fitted coefficients, applied)."""
        if len(self._Y) == self._n_fit:
            return self.results_[s]
        return self.results_[s].apply(self._Y[:, s], exog=_column(self._X, s), refit=False)

    def _predictions(self, n_steps, X_future):
        n = len(self._Y)
        return [
            self._current_results(s).get_prediction(
                start=n, end=n + n_steps - 1, exog_oos=_column(X_future, s)
            )
            for s in range(self._Y.shape[1])
        ]

    def _predict(self, n_steps, X_future):
        return np.column_stack([p.predicted_mean for p in self._predictions(n_steps, X_future)])

    def _predict_quantiles(self, n_steps, X_future, quantiles):
        out = []
        for p in self._predictions(n_steps, X_future):
            z = p.dist.ppf(quantiles, *p.dist_args)
            out.append(np.asarray(p.predicted_mean)[:, None] + np.asarray(p.se_mean)[:, None] * z)
        return np.stack(out, axis=1)

    def _predict_in_sample(self):
        Y = self._Y
        fitted = np.full(Y.shape, np.nan)
        coef = np.atleast_2d(self.coef_)
        intercept = np.atleast_1d(self.intercept_)
        exog_coef = np.atleast_2d(self.exog_coef_)
        for s in range(Y.shape[1]):
            fitted[self.n_lags :, s] = intercept[s] + lag_rows(Y[:, s], self.n_lags) @ coef[s]
            if self._X is not None:
                fitted[self.n_lags :, s] += self._X[self.n_lags :, s] @ exog_coef[s]
        return fitted


def _column(X, s):
    return None if X is None else X[:, s]
