"""Time-series forecasting: lag features, AR-Net, forecasters and backtesting.

Two faces of each model: a scikit-learn regressor on a lag matrix
(:class:`ARNetRegressor`, for Pipelines and grid searches with
:class:`~sklearn.model_selection.TimeSeriesSplit`) and a forecaster
(:class:`ARNetForecaster`: ``fit(y, X=None)``, ``predict(fh)``,
``predict_interval(fh, coverage)``, ``update``) that takes one or many series
(Series, wide or long DataFrame, array) and returns the same layout with the
future index. :class:`AutoTimesForecaster` forecasts with a frozen decoder-only
language model (SmolLM2, embedded, by default; ``transformers`` is imported only
when it fits).

Forecasters are not scikit-learn estimators (their ``fit`` takes a series, not
``X, y``), so the estimator checks do not apply to them; they still have
``get_params``/``set_params`` and work with :func:`sklearn.base.clone`.
"""

from regkit.forecasting._arnet import ARNetRegressor
from regkit.forecasting._arnet_forecaster import ARNetForecaster
from regkit.forecasting._autoreg import AutoRegForecaster
from regkit.forecasting._autotimes_forecaster import AutoTimesForecaster
from regkit.forecasting._backtest import backtest
from regkit.forecasting._base import BaseForecaster
from regkit.forecasting._lags import make_lag_features
from regkit.forecasting._metrics import (
    mean_absolute_scaled_error,
    symmetric_mean_absolute_percentage_error,
)
from regkit.forecasting._naive import NaiveForecaster
from regkit.forecasting._window import BaseWindowForecaster, Windows

__all__ = [
    "ARNetForecaster",
    "ARNetRegressor",
    "AutoRegForecaster",
    "AutoTimesForecaster",
    "BaseForecaster",
    "BaseWindowForecaster",
    "NaiveForecaster",
    "Windows",
    "backtest",
    "make_lag_features",
    "mean_absolute_scaled_error",
    "symmetric_mean_absolute_percentage_error",
]
