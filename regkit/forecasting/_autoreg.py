"""statsmodels' AutoReg (conditional least squares) behind the forecaster interface."""

from numbers import Integral

import numpy as np
from scipy.stats import norm
from sklearn.utils._param_validation import Interval, StrOptions

from regkit.forecasting._base import BaseForecaster
from regkit.forecasting._lags import lag_rows
from regkit.forecasting._scale import exponents
from regkit.utils import store_init_params


class AutoRegForecaster(BaseForecaster):
    """The classic AR(p) forecaster: :class:`statsmodels.tsa.ar_model.AutoReg`.

    Fits ``y[t] = c + sum_k coef[k-1] y[t-k] (+ exog)`` by ordinary least squares
    on the lag matrix (conditional maximum likelihood) with statsmodels, one
    model per series. Forecasts are the AR recursion, and prediction intervals
    statsmodels' own (Gaussian, from the model's MA(infinity) representation
    and its residual variance ``sigma2``), computed from the fitted
    coefficients so that they also hold after ``update``. It shares the
    interface of every regkit forecaster: the anchor AR-Net is compared with.

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
    sigma_ : float or ndarray of shape (n_series,)
        Standard deviation of the one-step errors (statsmodels' ``sqrt(sigma2)``).
    results_ : list of statsmodels AutoRegResults
        The fitted statsmodels results, one per series (summary, information
        criteria...). They are fitted to the series and to each exogenous column
        divided by the power of two of its largest magnitude, so that any finite
        scale fits (see Notes): the AR coefficients are the same, the constant,
        the exogenous coefficients and ``sigma2`` are those in these units;
        ``intercept_``, ``exog_coef_`` and ``sigma_`` are in the data's units.
    y_ : ndarray of shape (n_times,) or (n_times, n_series)
        The history.

    Notes
    -----
    Scale: statsmodels solves on the data as given, so the squares of a series
    near 1e160 overflow, and an exogenous column much larger than the series
    (1e12 times and more) falls below the pseudo-inverse's tolerance and is
    silently dropped. Dividing each series and each exogenous column by a power
    of two first is exact and removes both problems.

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

        # statsmodels solves on the data as given: squares of a series near 1e160
        # overflow, and an exogenous column far larger than the lags is cut off by
        # the pseudo-inverse's tolerance (a silently wrong fit). Each series and each
        # exogenous column is divided by a power of two (exact) and the parameters
        # are scaled back.
        y_exp = exponents(Y)  # (n_series,)
        x_exp = None if X is None else exponents(X)  # (n_series, n_exog)
        self.results_ = [
            AutoReg(
                np.ldexp(Y[:, s], -y_exp[s]),
                lags=self.n_lags,
                trend=self.trend,
                exog=None if X is None else np.ldexp(X[:, s], -x_exp[s]),
            ).fit()
            for s in range(Y.shape[1])
        ]
        params = np.array([np.asarray(r.params, dtype=np.float64) for r in self.results_])
        n_trend = 1 if self.trend == "c" else 0
        intercept = params[:, 0] if n_trend else np.zeros(len(params))
        coef = params[:, n_trend : n_trend + self.n_lags]
        exog_coef = params[:, n_trend + self.n_lags :]
        sigma = np.sqrt([r.sigma2 for r in self.results_])
        with np.errstate(over="ignore"):
            intercept, sigma = np.ldexp(intercept, y_exp), np.ldexp(sigma, y_exp)
            if x_exp is not None:
                exog_coef = np.ldexp(exog_coef, y_exp[:, None] - x_exp)
        if not np.all(np.isfinite(exog_coef)):
            raise ValueError(
                "The coefficients of the exogenous columns are beyond the float64 range: "
                "X is too small relative to y; rescale X."
            )
        squeeze = self._panel.squeeze
        self.intercept_ = float(intercept[0]) if squeeze else intercept
        self.coef_ = coef[0] if squeeze else coef
        self.exog_coef_ = exog_coef[0] if squeeze else exog_coef
        self.sigma_ = float(sigma[0]) if squeeze else sigma

    def _predict(self, n_steps, X_future):
        coef = np.atleast_2d(self.coef_)
        intercept = np.atleast_1d(self.intercept_)
        exog_coef = np.atleast_2d(self.exog_coef_)
        # Lags, newest first, of every series; forecasts are fed back in.
        lags = self._Y[::-1][: self.n_lags].T.copy()
        forecast = np.empty((n_steps, len(coef)))
        for h in range(n_steps):
            value = intercept + np.einsum("sk,sk->s", coef, lags)
            if X_future is not None:
                value = value + np.einsum("se,se->s", exog_coef, X_future[h])
            forecast[h] = value
            lags = np.concatenate([value[:, None], lags[:, :-1]], axis=1)
        return forecast

    def _predict_quantiles(self, n_steps, X_future, quantiles):
        # The h-step error of an AR(p) forecast is sum_{j<h} psi_j e[t+h-j], with
        # the MA(infinity) weights psi of the fitted coefficients: variance
        # sigma^2 * sum_{j<h} psi_j^2, as statsmodels' AutoReg.get_prediction.
        coef = np.atleast_2d(self.coef_)
        psi = np.zeros((n_steps, len(coef)))
        psi[0] = 1.0
        for j in range(1, n_steps):
            k = min(j, self.n_lags)
            psi[j] = np.einsum("sk,ks->s", coef[:, :k], psi[j - 1 :: -1][:k])
        se = np.atleast_1d(self.sigma_) * np.sqrt(np.cumsum(psi**2, axis=0))
        point = self._predict(n_steps, X_future)
        return point[:, :, None] + se[:, :, None] * norm.ppf(quantiles)

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
