"""AR-Net as a forecaster: fit a series, predict its future."""

from numbers import Integral

import numpy as np
from sklearn.utils._param_validation import Interval

from regkit.forecasting._arnet import (
    ARNET_DEFAULT_ENGINE,
    ARNET_PARAMETERS,
    ARNetRegressor,
)
from regkit.forecasting._base import BaseForecaster
from regkit.forecasting._lags import lag_rows, lag_window, make_lag_features
from regkit.nn import ENGINE_PARAMETERS
from regkit.utils import fill_doc, store_init_params


@fill_doc(
    arnet_parameters=ARNET_PARAMETERS,
    engine_parameters=ENGINE_PARAMETERS,
    engine_defaults=ARNET_DEFAULT_ENGINE,
)
class ARNetForecaster(BaseForecaster):
    """AR-Net forecaster: a sparse auto-regressive network on the last ``n_lags`` values.

    Builds the lag matrix of the series (:func:`make_lag_features`), fits an
    :class:`ARNetRegressor` that predicts the next ``n_forecasts`` values at once,
    and rolls it out recursively for longer horizons. Takes an array, a Series or a
    one-column DataFrame and returns the same kind, with the future index.

    Parameters
    ----------
    n_lags : int, default=10
        AR order: how many past values each prediction sees.
    n_forecasts : int, default=1
        Values predicted at once (direct multi-step outputs); longer horizons are
        rolled out recursively, ``n_forecasts`` values per step.
    missing : {"raise", "interpolate", "ffill"}, default="raise"
        What to do with NaN in ``y``: raise, interpolate linearly, or carry the
        last value forward.

    {arnet_parameters}

    {engine_parameters}

    Attributes
    ----------
    regressor_ : ARNetRegressor
        The fitted regressor on the lag matrix.
    coef_ : ndarray of shape (n_lags,) or (n_forecasts, n_lags + ...)
        Linear AR-Net only: the AR coefficients, ``coef_[k-1]`` for lag ``k``.
    y_ : ndarray of shape (n_observations,)
        The history forecasts start from (grows with ``update``).
    n_exog_ : int
        Number of exogenous columns seen in ``fit``.

    See Also
    --------
    ARNetRegressor : The same model as a scikit-learn regressor on a lag matrix.
    AutoRegForecaster : Classic least-squares AR, the anchor.
    backtest : Rolling-origin evaluation.

    Notes
    -----
    {engine_defaults}

    Examples
    --------
    >>> import pandas as pd
    >>> from regkit.datasets import make_ar_process
    >>> from regkit.forecasting import ARNetForecaster
    >>> values = make_ar_process(600, {1: 0.6, 12: 0.3}, random_state=0)
    >>> y = pd.Series(values, index=pd.date_range("2000-01", periods=600, freq="MS"))
    >>> model = ARNetForecaster(n_lags=24, sparsity=0.1, random_state=0).fit(y)
    >>> forecast = model.predict(3)
    >>> [str(d.date()) for d in forecast.index]
    ['2050-01-01', '2050-02-01', '2050-03-01']
    >>> model.coef_[[0, 11]].round(1)
    array([0.6, 0.3])
    """

    # The regressor's parameters are checked here too, so that errors name the
    # forecaster the user built.
    _parameter_constraints = {
        **BaseForecaster._parameter_constraints,
        **ARNetRegressor._parameter_constraints,
        "n_lags": [Interval(Integral, 1, None, closed="left")],
        "n_forecasts": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        n_lags=10,
        n_forecasts=1,
        *,
        missing="raise",
        ar_layers=(),
        activation="relu",
        sparsity=None,
        c_lambda=0.05,
        c1=3.0,
        c2=3.0,
        reg_ramp=0.5,
        loss="squared_error",
        huber_delta=1.0,
        max_epochs="auto",
        batch_size="auto",
        learning_rate=1e-2,
        weight_decay=0.0,
        optimizer="adam",
        lr_schedule="onecycle",
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=None,
        tol=1e-4,
        device="auto",
        verbose=0,
        warm_start=False,
        callbacks=None,
        random_state=None,
    ):
        store_init_params(self, locals())

    def _make_regressor(self):
        names = ARNetRegressor._get_param_names()
        return ARNetRegressor(**{name: getattr(self, name) for name in names})

    def _min_history(self):
        return self.n_lags + self.n_forecasts

    def _block_size(self):
        return self.n_forecasts

    def _fit(self, y, X):
        features, targets = make_lag_features(y, self.n_lags, n_forecasts=self.n_forecasts, X=X)
        self.regressor_ = self._make_regressor().fit(features, targets)

    def _forecast_block(self, history, X_future):
        row = lag_window(history, self.n_lags)
        if X_future is not None:
            row = np.concatenate([row, X_future.ravel()])
        return np.atleast_1d(self.regressor_.predict(row[None, :])[0])

    def _predict_in_sample(self, history, X):
        if X is not None:
            return super()._predict_in_sample(history, X)
        fitted = np.full(len(history), np.nan)
        if len(history) > self.n_lags:
            prediction = self.regressor_.predict(lag_rows(history, self.n_lags))
            fitted[self.n_lags :] = prediction if prediction.ndim == 1 else prediction[:, 0]
        return fitted

    @property
    def coef_(self):
        """AR coefficients of the linear AR-Net (``coef_[k-1]`` for lag ``k``)."""
        if not hasattr(self, "regressor_"):
            raise AttributeError("coef_ is available once the forecaster is fitted.")
        return self.regressor_.coef_
