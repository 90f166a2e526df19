"""Baseline forecasters: last value, seasonal naive, mean and drift."""

from numbers import Integral

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from regkit.forecasting._base import BaseForecaster
from regkit.utils import store_init_params


class NaiveForecaster(BaseForecaster):
    """Naive forecasts: repeat the last value (or season), the mean, or the drift.

    The baselines every forecaster must beat, and the yardstick of the mean
    absolute scaled error (MASE).

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
    y_ : ndarray of shape (n_observations,)
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

    def _fit(self, y, X):
        pass  # the history is the model

    def _block_size(self):
        return self.seasonal_period if self.strategy == "last" else 1

    def _min_history(self):
        return {"last": self.seasonal_period, "mean": 1, "drift": 2}[self.strategy]

    def _forecast_block(self, history, X_future):
        if self.strategy == "last":
            return history[-self.seasonal_period :]
        if self.strategy == "mean":
            return np.array([history.mean()])
        slope = (history[-1] - history[0]) / (len(history) - 1)
        return np.array([history[-1] + slope])

    def _predict_in_sample(self, history, X):
        if self.strategy != "last":
            return super()._predict_in_sample(history, X)
        m = self.seasonal_period
        return np.concatenate([np.full(m, np.nan), history[:-m]])
