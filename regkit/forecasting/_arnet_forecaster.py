"""AR-Net as a forecaster: one global network for one or many series."""

import copy
from numbers import Integral

import numpy as np
import pandas as pd
from sklearn.utils._param_validation import Interval

from regkit.forecasting._arnet import (
    ARNET_DEFAULT_ENGINE,
    ARNET_PARAMETERS,
    ARNetRegressor,
)
from regkit.forecasting._window import (
    WINDOW_CONSTRAINTS,
    WINDOW_PARAMETERS,
    BaseWindowForecaster,
)
from regkit.nn import ENGINE_PARAMETERS
from regkit.utils import fill_doc, store_init_params


@fill_doc(
    arnet_parameters=ARNET_PARAMETERS,
    engine_parameters=ENGINE_PARAMETERS,
    engine_defaults=ARNET_DEFAULT_ENGINE,
    window_parameters=WINDOW_PARAMETERS,
)
class ARNetForecaster(BaseWindowForecaster):
    """AR-Net forecaster: a sparse auto-regressive network on the last ``n_lags`` values.

    Fits an :class:`ARNetRegressor` that predicts the next ``n_forecasts`` values
    from the last ``n_lags`` ones (plus regressors and seasonality features) and
    rolls it out recursively for longer horizons. Given many series (a wide or a
    long DataFrame, or a 2-D array), it trains **one global network** on the
    windows of all of them: each series is normalised by its own mean and
    standard deviation, the weights are shared, and ``id_embedding=True`` adds
    one-hot series indicators to the inputs (a per-series offset for the linear
    model, a learnt series embedding through the first hidden layer otherwise).

    Prediction intervals are split-conformal: a second network, fitted without
    the last ``calibration_size`` of the history, forecasts every origin in that
    held-out part; the quantiles of its residuals, for each step ahead and each
    series, are added to the final model's forecast. As ``update`` brings new
    observations, the final model's own out-of-sample residuals at the new
    origins replace the oldest held-out ones (a rolling window of the same
    size), so that the widths follow a model whose errors drift away from those
    of the held-out part. This needs no change to the
    network and no distributional assumption, and holds for any horizon that
    the held-out part spans; its price is a second fit. (Quantile heads trained
    with the pinball loss, NeuralProphet's alternative, calibrate on the training
    windows the network has fitted, which understate the error of a model that
    can over-fit, and need a head per level.)

    Parameters
    ----------
    n_lags : int, default=10
        AR order: how many past values each prediction sees.
    n_forecasts : int, default=1
        Values predicted at once (direct multi-step outputs); longer horizons are
        rolled out recursively, ``n_forecasts`` values per step.
    missing : {"raise", "interpolate", "ffill"}, default="raise"
        What to do with NaN in ``y`` (see :class:`BaseForecaster`).
    id_embedding : bool, default=False
        With many series, append one-hot series indicators to the inputs.

    {window_parameters}

    {arnet_parameters}

    {engine_parameters}

    Attributes
    ----------
    regressor_ : ARNetRegressor
        The fitted network on the windows (lags first, then lagged regressors,
        future regressors and seasonality at each step, then series indicators).
    coef_ : ndarray of shape (n_lags,) or (n_forecasts, n_lags)
        Linear AR-Net only: the AR coefficients, ``coef_[k-1]`` for lag ``k``
        (unit-free: the same in normalised and in data units).
    series_mean_, series_scale_ : ndarray of shape (n_series,)
        The per-series normalisation.
    seasonality_terms_ : list
        The seasonalities in use (name, period, unit, Fourier order).
    calibration_model_ : ARNetForecaster or None
        The network that calibrates the intervals.
    n_iter_, history_, best_epoch_, device_, regularization_strength_
        Those of ``regressor_``: epochs run, one record per epoch, ...
    y_ : ndarray of shape (n_times,) or (n_times, n_series)
        The history forecasts start from (grows with ``update``).

    See Also
    --------
    ARNetRegressor : The same model as a scikit-learn regressor on a lag matrix.
    AutoRegForecaster : Classic least-squares AR, the anchor.
    backtest : Rolling-origin evaluation.

    Notes
    -----
    {engine_defaults}

    ``update`` keeps the network (``update_params=False``): forecasts then
    start from the longer history, exactly as the recursion defines them.

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
    >>> list(model.predict_interval(2, coverage=0.8).columns)
    ['lower', 'upper']
    """

    # The regressor's parameters are checked here too, so that errors name the
    # forecaster the user built.
    _parameter_constraints = {
        **BaseWindowForecaster._parameter_constraints,
        **ARNetRegressor._parameter_constraints,
        **WINDOW_CONSTRAINTS,
        "n_lags": [Interval(Integral, 1, None, closed="left")],
        "n_forecasts": [Interval(Integral, 1, None, closed="left")],
        "id_embedding": ["boolean"],
    }

    def __init__(
        self,
        n_lags=10,
        n_forecasts=1,
        *,
        missing="raise",
        id_embedding=False,
        seasonality=None,
        lagged_regressors=(),
        calibration_size=0.2,
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

    # ------------------------------------------------------------ window hooks
    def _context_length(self):
        return self.n_lags

    def _block_size(self):
        return self.n_forecasts

    def _design(self, windows):
        """The regressor's input rows: lags (lag 1 first), lagged, known, series."""
        n = len(windows.past)
        parts = [windows.past[:, ::-1]]
        parts.append(windows.lagged[:, ::-1].transpose(0, 2, 1).reshape(n, -1))
        parts.append(windows.known.reshape(n, -1))
        if self.id_embedding and windows.n_series > 1:
            parts.append(np.eye(windows.n_series)[windows.series])
        return np.concatenate(parts, axis=1)

    def _fit_windows(self, windows):
        names = ARNetRegressor._get_param_names()
        regressor = ARNetRegressor(**{name: getattr(self, name) for name in names})
        self.regressor_ = regressor.fit(self._design(windows), self._window_targets(windows))
        # The history may grow afterwards (update keeps the network): remember its
        # length at fit, so that lag_rows rebuilds exactly the rows trained on.
        self._n_trained = int(windows.origins.max()) + self.n_forecasts

    def _window_targets(self, windows):
        return windows.target[:, 0] if self.n_forecasts == 1 else windows.target

    def _predict_windows(self, windows):
        prediction = self.regressor_.predict(self._design(windows))
        return prediction.reshape(len(windows.past), self.n_forecasts)

    # ------------------------------------------------------------ attributes
    def _fitted_regressor(self):
        if "regressor_" not in self.__dict__:
            raise AttributeError(f"This {type(self).__name__} is not fitted yet.")
        return self.regressor_

    @property
    def coef_(self):
        """AR coefficients of the linear AR-Net (``coef_[..., k-1]`` for lag ``k``)."""
        return self._fitted_regressor().coef_[..., : self.n_lags]

    @property
    def n_iter_(self):
        """Epochs run by the network."""
        return self._fitted_regressor().n_iter_

    @property
    def history_(self):
        """One record per epoch of the network's training (loss, seconds, ...)."""
        return self._fitted_regressor().history_

    @property
    def best_epoch_(self):
        """Epoch whose weights the network holds."""
        return self._fitted_regressor().best_epoch_

    @property
    def device_(self):
        """Device the network was trained on."""
        return self._fitted_regressor().device_

    @property
    def regularization_strength_(self):
        """The full sparsity lambda (0 without ``sparsity``)."""
        return self._fitted_regressor().regularization_strength_

    # ------------------------------------------------------------ unlearning
    def lag_rows(self, start=None, end=None, *, series=None):
        """The rows the network was trained on, and which of them touch a time range.

        Each training row of ``regressor_`` is one window of a series: ``n_lags``
        past values (and regressors) as inputs, the next ``n_forecasts`` values as
        targets, normalised as in ``fit``. A row *touches* the range when any of
        its ``n_lags + n_forecasts`` times lies in it. Unlearning the range from
        the network means forgetting the touching rows and keeping the others
        (see :func:`regkit.unlearning.unlearn_time_window`).

        Parameters
        ----------
        start, end : time label, int or None, default=None
            First and last time of the range, both included (time labels of a
            pandas history, as in ``y.loc[start:end]``, partial date strings
            too; positions for an array history). None leaves that side open.
        series : list of int or hashable, or None, default=None
            Only windows of these series touch the range (positions, or names);
            None: every series.

        Returns
        -------
        X : ndarray of shape (n_rows, n_inputs)
            The network's training inputs (rows origin by origin, series by
            series).
        y : ndarray of shape (n_rows,) or (n_rows, n_forecasts)
            Its training targets (normalised).
        touches : ndarray of shape (n_rows,), dtype=bool
            The rows whose window touches the range.

        Examples
        --------
        >>> import numpy as np
        >>> from regkit.forecasting import ARNetForecaster
        >>> y = np.sin(np.arange(60) / 3)
        >>> model = ARNetForecaster(n_lags=4, max_epochs=2, calibration_size=None).fit(y)
        >>> X, target, touches = model.lag_rows(30, 31)
        >>> X.shape, int(touches.sum())  # 56 windows of 5 times; 6 contain time 30 or 31
        ((56, 4), 6)
        """
        self._check_fitted()
        n = self._n_trained
        X = None if self._X is None else self._X[:n]
        known, lagged = self._inputs(X, 0, n, self._Y.shape[1])
        windows = self._training_windows(self, self._Y[:n], known, lagged)
        first, last = self._time_positions(start, end)
        touches = (windows.origins - self.n_lags <= last) & (
            windows.origins + self.n_forecasts - 1 >= first
        )
        if series is not None:
            wanted = [self._series_position(s) for s in np.atleast_1d(np.asarray(series, object))]
            touches &= np.isin(windows.series, wanted)
        return self._design(windows), self._window_targets(windows), touches

    def _time_positions(self, start, end):
        """Positions of the first and last history times in ``[start, end]``."""
        index, n = self._panel.index, len(self._Y)
        if index is None:
            first = 0 if start is None else int(start)
            last = n - 1 if end is None else int(end)
        else:
            span = index.slice_indexer(start, end)
            first, last = span.start or 0, (n if span.stop is None else span.stop) - 1
        if first > last:
            raise ValueError(
                f"the time range from {start!r} to {end!r} holds no time of the history."
            )
        return first, last

    def with_regressor(self, regressor):
        """A copy of this forecaster that forecasts with another fitted network.

        The copy keeps the history, the per-series normalisation and the
        seasonality terms, and predicts with ``regressor`` (for instance
        ``regressor_`` after unlearning the rows of :meth:`lag_rows`). It has no
        prediction intervals: the calibration model was trained on the same
        history, and its residuals are computed from the observed values, so it
        would keep what the network was asked to forget; refit to get intervals
        again.

        Parameters
        ----------
        regressor : ARNetRegressor
            Fitted on rows like those of :meth:`lag_rows` (same inputs and
            outputs); not copied.

        Returns
        -------
        forecaster : ARNetForecaster
            A new forecaster; this one is not modified.
        """
        self._check_fitted()
        if not isinstance(regressor, ARNetRegressor):
            raise TypeError(f"regressor must be an ARNetRegressor, got {type(regressor).__name__}.")
        current = self.regressor_
        shape = (getattr(regressor, "n_features_in_", None), getattr(regressor, "n_outputs_", None))
        if shape != (current.n_features_in_, current.n_outputs_):
            raise ValueError(
                f"regressor must be fitted with {current.n_features_in_} inputs and "
                f"{current.n_outputs_} outputs, like regressor_; got {shape}."
            )
        # Copy everything but the two networks: the new one is used as given.
        memo = {id(current): regressor, id(self.calibration_model_): None}
        memo[id(self._calibration)] = None
        forecaster = copy.deepcopy(self, memo)
        forecaster.calibration_model_, forecaster._calibration = None, None
        return forecaster

    # ------------------------------------------------------------ components
    def predict_components(self, series=0):
        """Additive parts of the one-step-ahead in-sample predictions (linear AR-Net).

        The prediction of the linear network is a sum over its inputs; grouped,
        in data units: ``baseline`` (the constant and the series' mean),
        ``autoregression`` (the lags), ``lagged_regressors``,
        ``future_regressors``, ``seasonality`` and ``series_id``. Their sum is
        :meth:`predict_in_sample`.

        Parameters
        ----------
        series : int or hashable, default=0
            The series (its position, or its name when it has one).

        Returns
        -------
        components : DataFrame of shape (n_times, n_components)
            Indexed like the history; NaN for the first ``n_lags`` times.
        """
        self._check_fitted()
        s = self._series_position(series)
        coef = np.atleast_2d(self.regressor_.coef_)[0]
        intercept = float(np.atleast_1d(self.regressor_.intercept_)[0])
        n = len(self._Y)
        context = self.n_lags
        windows = self._in_sample_windows()
        rows = self._design(windows)[windows.series == s]
        contributions = rows * coef
        groups = self._design_groups(windows)
        scale, mean = self.series_scale_[s], self.series_mean_[s]
        parts = {"baseline": np.full(len(rows), intercept * scale + mean)}
        for name, columns in groups.items():
            if len(columns):
                parts[name] = contributions[:, columns].sum(axis=1) * scale
        frame = pd.DataFrame(np.nan, index=range(n), columns=list(parts))
        for name, values in parts.items():
            frame.iloc[context:, frame.columns.get_loc(name)] = values
        if self._panel.index is not None:
            frame.index = self._panel.index
        return frame

    def _design_groups(self, windows):
        n_lagged = windows.lagged.shape[2] * self.n_lags
        n_user = len(self._split_exog()[1]) if self._X is not None else 0
        n_seasonal = windows.known.shape[2] - n_user
        block = self.n_forecasts
        start = self.n_lags
        groups = {"autoregression": np.arange(0, start)}
        groups["lagged_regressors"] = np.arange(start, start + n_lagged)
        start += n_lagged
        # Known inputs are laid out step by step: [user columns, seasonality] per step.
        user = [start + k * (n_user + n_seasonal) + j for k in range(block) for j in range(n_user)]
        seasonal = [
            start + k * (n_user + n_seasonal) + n_user + j
            for k in range(block)
            for j in range(n_seasonal)
        ]
        groups["future_regressors"] = np.array(user, dtype=int)
        groups["seasonality"] = np.array(seasonal, dtype=int)
        start += block * (n_user + n_seasonal)
        n_ids = windows.n_series if self.id_embedding and windows.n_series > 1 else 0
        groups["series_id"] = np.arange(start, start + n_ids)
        return groups

    def _series_position(self, series):
        names = self._panel.names
        if (
            isinstance(series, Integral)
            and not isinstance(series, bool)
            and 0 <= series < len(names)
        ):
            return int(series)
        if series in names:
            return names.index(series)
        raise ValueError(f"series must be a position or one of {names}, got {series!r}.")
