"""The one training engine that every neural estimator in regkit shares."""

import contextlib
import copy
import math
from abc import ABCMeta, abstractmethod
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import (
    _check_sample_weight,
    check_array,
    check_is_fitted,
    validate_data,
)

from regkit.nn._device import resolve_device
from regkit.nn._loop import TensorBatches, run_epochs
from regkit.nn._random import make_generator, use_generator
from regkit.nn._scaling import check_float32_columns, standardize, weighted_standardization
from regkit.nn.invariant import batch_invariant
from regkit.utils import check_numeric_target, fill_doc, store_init_params, validate_params

ENGINE_PARAMETERS = """
max_epochs : int, default=200
        Maximum number of passes over the training data.

    batch_size : int, default=128
        Rows per minibatch (capped at the number of training rows).

    learning_rate : float, default=1e-3
        Step size of the optimiser (the peak step size for ``lr_schedule="onecycle"``).

    weight_decay : float, default=0.0
        L2 penalty: coupled for Adam, decoupled for AdamW.

    optimizer : {"adam", "adamw"}, default="adam"
        The optimiser.

    lr_schedule : {"constant", "cosine", "onecycle"}, default="constant"
        Learning-rate schedule over the ``max_epochs * n_batches`` steps of ``fit``:
        constant, cosine decay to zero, or one-cycle (warm-up then annealing).
        ``partial_fit`` always steps at ``learning_rate``.

    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows, stop when the validation loss
        has not improved by ``tol`` for ``n_iter_no_change`` epochs, and restore the
        weights of the best epoch. When False, training stops when the training loss
        has not improved by ``tol`` for ``n_iter_no_change`` epochs, as in
        scikit-learn's ``MLPRegressor``.

    validation_fraction : float, default=0.1
        Share of rows held out for early stopping (ignored without it).

    n_iter_no_change : int or None, default=10
        Patience, in epochs, of the stopping rule. None turns the rule off: training
        runs all ``max_epochs`` (with early stopping, the best epoch's weights are
        still restored), as a fixed schedule such as ``"onecycle"`` wants. When the
        rule is on and ``max_epochs`` is reached first, ``fit`` emits a
        :class:`~sklearn.exceptions.ConvergenceWarning`.

    tol : float, default=1e-4
        Smallest decrease of the monitored loss that counts as an improvement.

    device : str, default="auto"
        ``"cpu"``, ``"cuda"``, ``"cuda:N"``, or ``"auto"`` (CUDA when available).

    verbose : int, default=0
        0 is silent; 1 shows a tqdm progress bar with the training and validation
        loss, opened and closed inside ``fit``.

    warm_start : bool, default=False
        When the network of the previous fit fits the data and the parameters
        (same number of features and targets, same architecture), continue training
        it, with the target scaling and input statistics of that first fit (as
        ``partial_fit`` does), and append to ``history_``; the optimiser starts
        afresh. Otherwise fit from scratch.

    callbacks : list of callable or None, default=None
        Each is called after every epoch as ``callback(estimator, record)`` with the
        epoch's ``history_`` record; a callback returning True stops training.

    random_state : int, RandomState instance or None, default=None
        Seeds the weight initialisation, dropout, minibatch order and validation
        split through a generator owned by the fit: the same seed gives bit-for-bit
        the same model on CPU, also when fits run in parallel threads. torch's and
        NumPy's global random states are neither used nor changed.
"""

ENGINE_ATTRIBUTES = """
module_ : torch.nn.Module
        The trained network (in evaluation mode).

    history_ : list of dict
        One record per epoch: ``epoch``, ``train_loss``, ``valid_loss`` (NaN
        without early stopping), ``seconds``, ``stage`` for epochs run under a
        named stage (``partial_fit``, ``fine_tune``...), and any
        estimator-specific entries.

    n_iter_ : int
        Number of epochs run (accumulated over warm starts and ``partial_fit``).

    best_epoch_ : int
        Epoch whose weights the model holds (the last one without early stopping).

    device_ : str
        Device the model was trained on.

    n_features_in_ : int
        Number of features seen during ``fit``.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features seen during ``fit``, when ``X`` had string column names.

    n_outputs_ : int
        Number of targets.
"""


def weighted_mean(values, weights=None):
    """Mean of per-sample ``values``, weighted by ``weights`` when given.

    Parameters
    ----------
    values : Tensor of shape (n,)
        Per-sample losses.
    weights : Tensor of shape (n,) or None
        Non-negative sample weights; None weights every sample equally.

    Returns
    -------
    mean : scalar Tensor

    Examples
    --------
    >>> import torch
    >>> from regkit.nn import weighted_mean
    >>> weighted_mean(torch.tensor([1.0, 3.0]), torch.tensor([3.0, 1.0]))
    tensor(1.5000)
    """
    if weights is None:
        return values.mean()
    return (values * weights).sum() / weights.sum()


@dataclass
class TrainingData:
    """The rows a fit trains on, encoded as the loss sees them, on the training device.

    ``fit`` builds it and passes it to the ``_train`` hook.

    Parameters
    ----------
    X, y : Tensor
        Training inputs (float32) and encoded targets (``_encode_target``).
    sample_weight : Tensor or None
        Training weights.
    X_valid, y_valid, sample_weight_valid : Tensor or None
        The early-stopping rows (None without early stopping).
    generator : torch.Generator
        The fit's generator (see :func:`regkit.nn.make_generator`).
    """

    X: torch.Tensor
    y: torch.Tensor
    sample_weight: torch.Tensor | None
    X_valid: torch.Tensor | None
    y_valid: torch.Tensor | None
    sample_weight_valid: torch.Tensor | None
    generator: torch.Generator


# Outputs beyond this many times sqrt(n) times the encoded targets' range diverged.
_OUTPUT_BOUND = 100.0


def _to_tensor(array, device):
    return None if array is None else torch.from_numpy(array.astype(np.float32)).to(device)


def _copy_state(module):
    return {key: value.detach().clone() for key, value in module.state_dict().items()}


@fill_doc(engine_parameters=ENGINE_PARAMETERS, engine_attributes=ENGINE_ATTRIBUTES)
class BaseNeuralRegressor(RegressorMixin, BaseEstimator, metaclass=ABCMeta):
    """Base class of regkit's neural regressors: one training loop, explicit hooks.

    A subclass supplies its network and its loss; the base does the rest
    (validation, target scaling, minibatching, optimisation, early stopping,
    seeding, devices, progress, callbacks, history, pickling and ``save``/``load``).

    ``fit`` runs three stages. **Prepare**: validate, draw the validation split,
    fit the target and input encoders and build the network (or, with
    ``warm_start``, keep the previous ones), and encode the rows as tensors.
    **Train**: ``_train`` runs :func:`regkit.nn.run_epochs`, the loop that every
    training run shares. **Finish**: the network is left in evaluation mode. If
    anything fails, the estimator is restored to its state before the call (a
    first ``fit`` that fails leaves it unfitted). ``partial_fit`` runs one epoch on
    the given rows with the encoders of its first call; :meth:`fine_tune` trains a
    copy with another loss on other batches.

    Hooks. A subclass must define the first two; the others have defaults.

    - ``_build_module(n_features, n_outputs)``: return a new ``torch.nn.Module``.
      Called inside :func:`~regkit.nn.use_generator`: built from
      :class:`~regkit.nn.Linear`, :class:`~regkit.nn.Dropout` and
      :func:`~regkit.nn.make_mlp`, its initialisation is seeded by
      ``random_state`` and its predictions are batch-invariant. ``load`` calls it
      (through ``_rebuild_module``) to get a network to fill.
    - ``_loss(module, X, y, w)``: scalar loss of a minibatch (``y`` encoded, ``w``
      None without sample weights); also the validation loss.

    Then, in the order ``fit`` calls them:

    - ``_module_spec(n_features, n_outputs)``: what the architecture depends on;
      ``warm_start`` reuses the network only when it is unchanged (default: the
      two sizes; subclasses add their architecture parameters).
    - ``_fit_target_encoder(y, sample_weight)`` then ``_encode_target(y)``: learn
      on the training rows (``sample_weight`` may be None), and apply, the target
      transformation the loss sees (default: weighted standardisation per output,
      exact at any finite scale). Skipped, like the next two, when the network is
      reused (``warm_start``, later ``partial_fit`` calls).
    - ``_fit_input_encoder(X, sample_weight)``: learn what the network needs to
      know about its inputs, on the training rows (default: nothing).
    - ``_build_module``, then ``_initialize_module(module, y, sample_weight)``:
      data-dependent initialisation of the fresh network, given the encoded
      training targets (default: nothing).
    - ``_train(data)``: the training stage, given a :class:`TrainingData`. The
      default runs :func:`~regkit.nn.run_epochs` once with ``_loss`` and a
      divergence check of the network's outputs, calling, in turn,
      ``_training_budget(n_train)`` (``(max_epochs, batch_size)``; a subclass may
      resolve ``"auto"``), ``_on_train_step(step, n_steps)`` before each
      optimiser step (for schedules inside the loss, such as AR-Net's regulariser
      ramp), ``_loss``, and ``_epoch_extras(module, X, y)`` after each epoch
      (extra entries of its history record). A two-stage model overrides
      ``_train`` and runs ``run_epochs`` twice, each run with its own loss,
      parameters and ``stage`` name. ``partial_fit`` runs one epoch with
      ``_loss`` instead.
    - ``_fit_held_out(X, y, sample_weight)``: after training, learn from the rows
      that did not train (``y`` 2-D in its own units, ``sample_weight`` may be
      None; possibly no rows): the early-stopping validation rows and any row a
      subclass's ``_split`` keeps out of both parts (default: nothing). Not called
      by ``partial_fit``.
    - ``_forget_held_out()``: drop what ``_fit_held_out`` learned, because the
      network has changed since: called after ``partial_fit`` and on the copy
      that :meth:`fine_tune` trains (default: nothing).

    And to predict (``predict``, ``predict_tensor``, the distribution methods):

    - ``_predict_module(module, X)``: the network's output for a float32 tensor
      (default: ``module(X)``).
    - ``_decode(output)``: turn that output into float64 predictions in the units
      of ``y``, in torch, so that ``predict`` (under ``no_grad``) and the
      differentiable ``predict_tensor`` share one decoder. It runs under
      :func:`~regkit.nn.batch_invariant`: sums and exponentials over the outputs of
      a row should use :mod:`regkit.nn.invariant`.

    Class attributes: ``_validation_rows`` (``"random"``, or ``"last"`` for rows in
    time order) chooses the early-stopping rows; ``_eval_batch_size`` bounds the
    rows of one forward pass at prediction time.

    Parameters
    ----------
    {engine_parameters}

    Attributes
    ----------
    {engine_attributes}

    See Also
    --------
    regkit.regression.NeuralRegressor : The MSE-trained multilayer perceptron.
    regkit.nn.run_epochs : The training loop, for other losses and batch sources.

    Examples
    --------
    >>> import torch
    >>> from regkit.nn import BaseNeuralRegressor, make_mlp, weighted_mean
    >>> class L1Regressor(BaseNeuralRegressor):
    ...     def _build_module(self, n_features, n_outputs):
    ...         return make_mlp(n_features, (16,), n_outputs=n_outputs)
    ...     def _loss(self, module, X, y, w):
    ...         return weighted_mean((module(X) - y).abs().mean(dim=1), w)
    >>> X = torch.randn(64, 2).numpy()
    >>> L1Regressor(max_epochs=5, n_iter_no_change=None, random_state=0).fit(X, X[:, 0]).n_iter_
    5
    """

    _parameter_constraints = {
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "optimizer": [StrOptions({"adam", "adamw"})],
        "lr_schedule": [StrOptions({"constant", "cosine", "onecycle"})],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left"), None],
        "tol": [Interval(Real, 0, None, closed="left")],
        "device": [str],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "callbacks": [list, None],
        "random_state": ["random_state"],
    }

    # Rows per forward pass at prediction and validation time (bounds memory).
    _eval_batch_size = 8192
    # Which rows early stopping holds out: "random", or "last" (for rows in time order).
    _validation_rows = "random"

    def __init__(
        self,
        *,
        max_epochs=200,
        batch_size=128,
        learning_rate=1e-3,
        weight_decay=0.0,
        optimizer="adam",
        lr_schedule="constant",
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        device="auto",
        verbose=0,
        warm_start=False,
        callbacks=None,
        random_state=None,
    ):
        # Subclasses with parameters of their own list all of them in their own
        # __init__ (scikit-learn reads parameters from the signature) and store them
        # with the same one-liner.
        store_init_params(self, locals())

    # ------------------------------------------------------------------ hooks
    @abstractmethod
    def _build_module(self, n_features, n_outputs):
        """Return a new network for ``n_features`` inputs and ``n_outputs`` targets."""

    @abstractmethod
    def _loss(self, module, X, y, w):
        """Return the scalar loss of one minibatch."""

    def _module_spec(self, n_features, n_outputs):
        return (int(n_features), int(n_outputs))

    def _fit_target_encoder(self, y, sample_weight):
        # Weighted moments: a row with weight 0 must not influence the model at all.
        self.y_mean_, self.y_scale_ = weighted_standardization(y, sample_weight)

    def _encode_target(self, y):
        return standardize(y, self.y_mean_, self.y_scale_)

    def _fit_input_encoder(self, X, sample_weight):
        pass

    def _initialize_module(self, module, y, sample_weight):
        pass

    def _training_budget(self, n_train):
        """``(max_epochs, batch_size)`` of this fit, for ``n_train`` training rows."""
        return self.max_epochs, min(self.batch_size, n_train)

    def _on_train_step(self, step, n_steps):
        pass

    def _fit_held_out(self, X, y, sample_weight):
        pass

    def _forget_held_out(self):
        pass

    def _epoch_extras(self, module, X, y):
        return {}

    def _predict_module(self, module, X):
        return module(X)

    def _decode(self, output):
        scale, mean = (
            torch.as_tensor(a, dtype=torch.float64, device=output.device)
            for a in (self.y_scale_, self.y_mean_)
        )
        return output.to(torch.float64) * scale + mean

    def _train(self, data):
        max_epochs, batch_size = self._training_budget(len(data.X))
        validation = None
        if data.X_valid is not None:

            def validation(module):
                return self._evaluate_loss(
                    module, data.X_valid, data.y_valid, data.sample_weight_valid, batch_size
                )

        run_epochs(
            self,
            self.module_,
            self._loss,
            TensorBatches(data.X, data.y, data.sample_weight, batch_size=batch_size),
            generator=data.generator,
            validation=validation,
            extras=lambda module: self._epoch_extras(module, data.X, data.y),
            check=self._output_check(data.X, data.y),
            on_step=self._on_train_step,
            max_epochs=max_epochs,
        )

    def _output_check(self, X, y):
        """A divergence check of the network's outputs on a few training rows.

        The encoded targets the outputs are trained to match are bounded: a
        standardised target lies within ``sqrt(n)`` standard deviations of the mean
        (Samuelson's inequality), a histogram within [0, 1]. Outputs beyond
        ``_OUTPUT_BOUND * sqrt(n)`` times the largest encoded target mean that the
        weights have blown up, even when the loss is bounded (CS-IB's kernel loss
        saturates instead of exploding).
        """
        rows = torch.linspace(0, len(X) - 1, min(len(X), 256), device=X.device).round().long()
        sample = X[rows]
        bound = _OUTPUT_BOUND * math.sqrt(len(X)) * max(1.0, float(y.abs().max()))

        def check(module):
            largest = float(self._predict_module(module, sample).abs().max())
            if largest <= bound:
                return None
            return (
                f"The network's outputs on training rows reached {largest:.4g} (the encoded "
                f"targets are at most {float(y.abs().max()):.4g})"
            )

        return check

    # ------------------------------------------------------------- fit stages
    def fit(self, X, y, sample_weight=None):
        """Train the network.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows in the loss.

        Returns
        -------
        self : object
            The fitted estimator.

        Raises
        ------
        TrainingDivergedError
            When the loss explodes; the estimator is then as it was before the call.
        """
        with self._restore_on_error():
            validate_params(self)
            X, y, sample_weight = self._validate_training_data(X, y, sample_weight, reset=True)
            self.device_ = str(resolve_device(self.device))
            generator = make_generator(self.random_state)
            train, valid = self._split(len(X), sample_weight, generator)
            # When every row trains, use X itself, not a copy.
            rows = slice(None) if len(train) == len(X) else train
            w_train = None if sample_weight is None else sample_weight[rows]
            spec = self._module_spec(X.shape[1], self.n_outputs_)
            reuse = self.warm_start and getattr(self, "_module_built_for", None) == spec
            if reuse:
                self.module_.to(torch.device(self.device_))
            else:
                self._fit_encoders(X[rows], y[rows], w_train)
            y_train = self._encode_target(y[rows])
            if not reuse:
                self._new_module(X.shape[1], y_train, w_train, generator)
            valid_part = (None, None, None)
            if valid is not None:
                w_valid = None if sample_weight is None else sample_weight[valid]
                valid_part = self._tensors(X[valid], self._encode_target(y[valid]), w_valid)
            data = TrainingData(
                *self._tensors(X[rows], y_train, w_train), *valid_part, generator=generator
            )
            self._train(data)
            held_out = np.setdiff1d(np.arange(len(X)), train, assume_unique=True)
            self._fit_held_out(
                X[held_out], y[held_out], None if sample_weight is None else sample_weight[held_out]
            )
            # The optimiser and random stream of partial_fit restart after a fit.
            self.__dict__.pop("_optimizer", None)
            self.__dict__.pop("_generator_state", None)
        return self

    def partial_fit(self, X, y, sample_weight=None):
        """Train for one epoch on the given rows.

        The first call prepares the model from its rows (target scaling, input
        statistics, network), as ``fit`` does; later calls keep them, and keep the
        optimiser's state, so that a stream of calls continues one training run
        (scikit-learn's convention); each call steps at the current
        ``learning_rate`` and ``weight_decay``. No validation split is held out, no learning
        rate schedule applies and no stopping rule is checked. Records are tagged
        ``stage="partial_fit"``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets; the number of targets must match the first call.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows in the loss.

        Returns
        -------
        self : object
            The estimator.

        Raises
        ------
        TrainingDivergedError
            When the loss explodes; the estimator is then as it was before the call.
        """
        first = not hasattr(self, "module_")
        with self._restore_on_error():
            if first:
                validate_params(self)
            X, y, sample_weight = self._validate_training_data(X, y, sample_weight, reset=first)
            if "_generator_state" in vars(self):
                generator = torch.Generator()
                generator.set_state(torch.from_numpy(self._generator_state.copy()))
            else:
                generator = make_generator(self.random_state)
            if first:
                self.device_ = str(resolve_device(self.device))
                self._fit_encoders(X, y, sample_weight)
            y_encoded = self._encode_target(y)
            if first:
                self._new_module(X.shape[1], y_encoded, sample_weight, generator)
            X_t, y_t, w_t = self._tensors(X, y_encoded, sample_weight)
            _, batch_size = self._training_budget(len(X))
            optimizer = getattr(self, "_optimizer", None)
            if optimizer is not None:  # set_params between calls takes effect
                for group in optimizer.param_groups:
                    group.update(lr=self.learning_rate, weight_decay=self.weight_decay)
            run = run_epochs(
                self,
                self.module_,
                self._loss,
                TensorBatches(X_t, y_t, w_t, batch_size=batch_size),
                generator=generator,
                optimizer=optimizer,
                stage="partial_fit",
                max_epochs=1,
                lr_schedule="constant",
                n_iter_no_change=None,
            )
            self._optimizer = run.optimizer
            self._generator_state = generator.get_state().numpy().copy()
            self._forget_held_out()
        return self

    def fine_tune(
        self,
        loss,
        batches,
        *,
        max_epochs,
        learning_rate=None,
        params=None,
        validation=None,
        reinitialize=False,
        random_state=None,
        stage="fine_tune",
        **settings,
    ):
        """A copy of this fitted estimator, trained further with another loss and data.

        The way for library code (unlearning, a second training stage...) to run
        the engine's loop on a fitted model: the copy keeps this estimator's target
        scaling, input statistics, device and callbacks, and its ``history_``
        gains records tagged ``stage``. This estimator is never modified.

        Parameters
        ----------
        loss : callable
            ``loss(module, *batch) -> scalar Tensor``, the batches being what
            ``batches`` yields. ``self._loss`` is this estimator's own loss.
        batches : BatchSource
            Minibatches, for instance a :class:`~regkit.nn.TensorBatches` of
            tensors from :meth:`encode_tensors` (or a source mixing several).
        max_epochs : int
            Epochs to run (the stopping rule may end the run earlier).
        learning_rate : float, default=None
            Step size; None uses the estimator's ``learning_rate``.
        params : callable, default=None
            ``params(module)`` returns the parameters to train (of the copy's
            module); None trains every parameter with ``requires_grad=True``.
        validation : callable, default=None
            ``validation(module) -> float``, the monitored loss (its best epoch's
            weights are kept); None monitors the training loss.
        reinitialize : bool, default=False
            Train a freshly built network (seeded by ``random_state``) instead of
            the fitted one; the encoders are kept and ``history_`` starts anew.
        random_state : int, RandomState instance or None, default=None
            Seeds this run's batch order and dropout; None uses the estimator's.
        stage : str, default="fine_tune"
            Name recorded in ``history_`` and shown on the progress bar.
        **settings
            Other engine parameters for this run: ``lr_schedule``,
            ``weight_decay``, ``n_iter_no_change`` (None runs all ``max_epochs``)
            and ``tol``.

        Returns
        -------
        estimator : same type as self
            The trained copy.

        Examples
        --------
        >>> import numpy as np
        >>> import torch
        >>> from regkit.nn import TensorBatches
        >>> from regkit.regression import NeuralRegressor
        >>> X = np.random.default_rng(0).standard_normal((100, 2)); y = X[:, 0]
        >>> model = NeuralRegressor((8,), max_epochs=5, random_state=0).fit(X, y)
        >>> def l1(module, X, y, w):
        ...     return (module(X) - y).abs().mean()
        >>> tuned = model.fine_tune(l1, TensorBatches(*model.encode_tensors(X, y),
        ...                         batch_size=32), max_epochs=2, n_iter_no_change=None)
        >>> tuned.n_iter_ - model.n_iter_, tuned.history_[-1]["stage"]
        (2, 'fine_tune')
        """
        check_is_fitted(self)
        tuned = copy.deepcopy(self)
        tuned.__dict__.pop("_optimizer", None)
        tuned._forget_held_out()
        generator = make_generator(tuned.random_state if random_state is None else random_state)
        if reinitialize:
            with use_generator(generator):
                module = tuned._build_module(tuned.n_features_in_, tuned.n_outputs_)
            tuned.module_ = module.to(torch.device(tuned.device_))
            tuned.history_ = []
        if learning_rate is not None:
            settings["learning_rate"] = learning_rate
        run_epochs(
            tuned,
            tuned.module_,
            loss,
            batches,
            generator=generator,
            params=None if params is None else params(tuned.module_),
            validation=validation,
            stage=stage,
            max_epochs=max_epochs,
            **settings,
        )
        return tuned

    def encode_tensors(self, X, y=None, sample_weight=None):
        """Rows as the fitted network and its loss see them: tensors on its device.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs), default=None
            Targets, encoded with the fitted target encoder (scaling, histograms...).
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights.

        Returns
        -------
        X : Tensor of shape (n_samples, n_features)
            Float32 inputs.
        y : Tensor or None
            Encoded float32 targets (None without ``y``).
        sample_weight : Tensor or None
            Float32 weights (None without them).
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        check_float32_columns(X, getattr(self, "feature_names_in_", None), check_underflow=False)
        if y is not None:
            check_numeric_target(y)
            y = check_array(y, ensure_2d=False, dtype=np.float64, input_name="y")
            y = y.reshape(len(y), -1)
            if len(y) != len(X) or y.shape[1] != self.n_outputs_:
                raise ValueError(
                    f"y must have shape ({len(X)}, {self.n_outputs_}) or ({len(X)},), "
                    f"got {y.shape}."
                )
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
        return self._tensors(X, None if y is None else self._encode_target(y), sample_weight)

    # ---------------------------------------------------------- fit internals
    def _validate_training_data(self, X, y, sample_weight, reset):
        check_numeric_target(y)
        X, y = validate_data(
            self, X, y, reset=reset, multi_output=True, y_numeric=True, dtype=np.float64
        )
        check_float32_columns(X, getattr(self, "feature_names_in_", None))
        if sample_weight is not None:
            sample_weight = _check_sample_weight(
                sample_weight, X, dtype=np.float64, ensure_non_negative=True
            )
        y_2d = y.reshape(len(y), -1)
        if reset:
            self._y_1d = y.ndim == 1
            self.n_outputs_ = y_2d.shape[1]
        elif y_2d.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y has {y_2d.shape[1]} target(s) but {type(self).__name__} was first "
                f"fitted with {self.n_outputs_}."
            )
        return X, y_2d, sample_weight

    def _fit_encoders(self, X, y, sample_weight):
        """Learn the target and input encoders on the training rows."""
        self._fit_target_encoder(y, sample_weight)
        self._fit_input_encoder(X, sample_weight)

    def _new_module(self, n_features, y_encoded, sample_weight, generator):
        """Build, initialise and place a fresh network; start a new history."""
        with use_generator(generator):
            module = self._build_module(n_features, self.n_outputs_)
        self._initialize_module(module, y_encoded, sample_weight)
        self.module_ = module.to(torch.device(self.device_))
        self._module_built_for = self._module_spec(n_features, self.n_outputs_)
        self.history_ = []

    def _tensors(self, X, y_encoded, sample_weight):
        device = torch.device(self.device_)
        return (
            _to_tensor(X, device),
            _to_tensor(y_encoded, device),
            _to_tensor(sample_weight, device),
        )

    def _split(self, n_samples, sample_weight, generator):
        """Row indices of the training and validation parts (None: no validation).

        A subclass may hold rows out of both parts; they reach ``_fit_held_out``.
        """
        if not self.early_stopping:
            return np.arange(n_samples), None
        n_valid = int(np.ceil(self.validation_fraction * n_samples))
        if n_valid < 1 or n_samples - n_valid < 1:
            raise ValueError(
                f"early_stopping needs at least one training and one validation row; with "
                f"n_samples = {n_samples} and validation_fraction = "
                f"{self.validation_fraction} one part is empty."
            )
        if self._validation_rows == "last":
            train, valid = np.arange(n_samples - n_valid), np.arange(n_samples - n_valid, n_samples)
        else:
            perm = torch.randperm(n_samples, generator=generator).numpy()
            train, valid = np.sort(perm[n_valid:]), np.sort(perm[:n_valid])
        if sample_weight is not None:
            for name, rows in (("validation", valid), ("training", train)):
                if not sample_weight[rows].sum() > 0:
                    raise ValueError(
                        f"early_stopping: every {name} row has sample_weight 0, so the "
                        f"{name} loss is undefined. Give the {name} rows (validation_fraction"
                        f" = {self.validation_fraction}) some weight, or shuffle the rows."
                    )
        return train, valid

    @contextlib.contextmanager
    def _restore_on_error(self):
        """Leave the estimator as it was before the block if the block raises.

        Attributes are restored from a shallow copy; what training changes in place
        (the network's weights, ``history_``, the optimiser) is copied first.
        """
        saved = dict(vars(self))
        module = saved.get("module_")
        weights = None if module is None else _copy_state(module)
        history = list(saved.get("history_", []))
        optimizer = saved.get("_optimizer")
        optimizer_state = None if optimizer is None else copy.deepcopy(optimizer.state_dict())
        try:
            yield
        except BaseException:
            vars(self).clear()
            vars(self).update(saved)
            if module is not None:
                module.load_state_dict(weights)
            if "history_" in saved:
                saved["history_"][:] = history
            if optimizer is not None:
                optimizer.load_state_dict(optimizer_state)
            raise

    @torch.no_grad()
    def _evaluate_loss(self, module, X, y, w, batch_size):
        """Loss over many rows, computed in chunks and averaged by rows (or weights)."""
        total, norm = 0.0, 0.0
        step = min(batch_size, len(X))
        for begin in range(0, len(X), step):
            sl = slice(begin, begin + step)
            wb = None if w is None else w[sl]
            part = wb.sum().item() if wb is not None else len(X[sl])
            if part > 0:
                total += self._loss(module, X[sl], y[sl], wb).item() * part
                norm += part
        return total / norm

    # --------------------------------------------------------------- predict
    def _eval_chunks(self, X):
        """Put the module in evaluation mode; yield ``(rows, float32 tensor)`` chunks of ``X``.

        Chunks of ``_eval_batch_size`` rows bound the memory of a forward pass over
        many rows; every evaluation over NumPy inputs walks ``X`` this way.
        """
        self.module_.eval()
        device = torch.device(self.device_)
        for begin in range(0, len(X), self._eval_batch_size):
            rows = slice(begin, begin + self._eval_batch_size)
            yield rows, torch.from_numpy(X[rows].astype(np.float32)).to(device)

    def _check_predict_input(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        check_float32_columns(X, getattr(self, "feature_names_in_", None), check_underflow=False)
        return X

    @torch.no_grad()
    def _forward(self, X):
        """The network's output for NumPy ``X``, batch-invariant, in chunks (a tensor)."""
        with batch_invariant():
            outputs = [
                self._predict_module(self.module_, chunk) for _, chunk in self._eval_chunks(X)
            ]
        return torch.cat(outputs)

    def predict(self, X):
        """Predict targets for ``X``.

        Each row's prediction depends on that row only, bit for bit, whatever the
        other rows and the CPU (see :func:`~regkit.nn.batch_invariant`).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Float64 predictions, shaped like the ``y`` seen in ``fit``.
        """
        X = self._check_predict_input(X)
        with torch.no_grad(), batch_invariant():
            prediction = self._decode(self._forward(X)).cpu().numpy()
        return prediction.ravel() if self._y_1d else prediction

    def predict_tensor(self, X):
        """Differentiable predictions, in the units of ``y``, for a tensor of inputs.

        For analyses that need gradients with respect to the inputs (adversarial
        perturbations, saliency): no validation, no chunking, no ``no_grad``. The
        network is used in whatever mode it is in (evaluation mode after ``fit``),
        with the same batch-invariant arithmetic and decoder as :meth:`predict`, so
        the two agree bit for bit.

        Parameters
        ----------
        X : Tensor of shape (n_samples, n_features)
            Float32 inputs on the model's device.

        Returns
        -------
        y_pred : Tensor of shape (n_samples, n_outputs)
            Float64 predictions; differentiable in ``X`` and in the weights.
        """
        check_is_fitted(self)
        with batch_invariant():
            return self._decode(self._predict_module(self.module_, X))

    # ----------------------------------------------------------- persistence
    def __getstate__(self):
        state = super().__getstate__()
        # The optimiser of partial_fit holds references to the weights; it is not
        # part of the model (partial_fit after unpickling starts a new one).
        state.pop("_optimizer", None)
        module = state.get("module_")
        if module is not None and any(p.device.type != "cpu" for p in module.parameters()):
            # A model trained on a GPU must unpickle on a machine without one.
            state["module_"] = copy.deepcopy(module).to("cpu")
        return state

    def save(self, path):
        """Save the fitted estimator to ``path`` (one safetensors file).

        The weights are stored as safetensors and the parameters and fitted
        attributes as JSON in the file's header: loading it never unpickles or runs
        anything from the file.

        Parameters
        ----------
        path : str or path-like
            File to write (conventionally ``*.safetensors``).

        Returns
        -------
        path : str
        """
        from regkit.nn._persistence import save_estimator

        return save_estimator(self, path)

    @classmethod
    def load(cls, path):
        """Load an estimator written by :meth:`save`.

        Parameters
        ----------
        path : str or path-like
            A file written by :meth:`save`.

        Returns
        -------
        estimator : instance of ``cls`` (or a subclass)
            Fitted, on CPU.

        Raises
        ------
        regkit.exceptions.ModelFileError
            If the file is not a valid regkit model file, or holds another kind of
            estimator.
        """
        from regkit.nn._persistence import load_estimator

        return load_estimator(path, expected_class=cls)

    def _rebuild_module(self):
        """A network shaped like the fitted one, for ``load`` to fill."""
        return self._build_module(self.n_features_in_, self.n_outputs_)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
