"""The one training engine that every neural estimator in regkit shares."""

import time
import warnings
from abc import ABCMeta, abstractmethod
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from regkit.exceptions import TrainingDivergedError, TrainingInterruptedWarning
from regkit.nn._device import resolve_device
from regkit.utils import check_random_seed, fill_doc, store_init_params, validate_params

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
        Learning-rate schedule over the ``max_epochs * n_batches`` steps: constant,
        cosine decay to zero, or one-cycle (warm-up then annealing).

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
        still restored), as a fixed schedule such as ``"onecycle"`` wants.

    tol : float, default=1e-4
        Smallest decrease of the monitored loss that counts as an improvement.

    device : str, default="auto"
        ``"cpu"``, ``"cuda"``, ``"cuda:N"``, or ``"auto"`` (CUDA when available).

    verbose : int, default=0
        0 is silent; 1 shows a tqdm progress bar with the training and validation
        loss, opened and closed inside ``fit``.

    warm_start : bool, default=False
        Reuse the weights of the previous fit as the starting point (the optimiser
        state and the target scaling are recomputed).

    callbacks : list of callable or None, default=None
        Each is called after every epoch as ``callback(estimator, record)`` with the
        epoch's ``history_`` record; a callback returning True stops training.

    random_state : int, RandomState instance or None, default=None
        Seeds the weight initialisation, dropout, minibatch order and validation
        split. The same seed gives bit-for-bit the same model on CPU. The global
        NumPy and torch random states are left untouched.
"""

ENGINE_ATTRIBUTES = """
module_ : torch.nn.Module
        The trained network (in evaluation mode).

    history_ : list of dict
        One record per epoch: ``epoch``, ``train_loss``, ``valid_loss`` (NaN
        without early stopping), ``seconds``, and any estimator-specific entries.

    n_iter_ : int
        Number of epochs run (accumulated over warm starts).

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


@fill_doc(engine_parameters=ENGINE_PARAMETERS, engine_attributes=ENGINE_ATTRIBUTES)
class BaseNeuralRegressor(RegressorMixin, BaseEstimator, metaclass=ABCMeta):
    """Base class of regkit's neural regressors: one training loop, many hooks.

    A subclass supplies its network and its loss; the base does the rest
    (validation, target scaling, minibatching, optimisation, early stopping,
    seeding, devices, progress, callbacks, history, pickling and ``save``/``load``).

    Hooks, in the order ``fit`` calls them:

    - ``_build_module(n_features, n_outputs)``: return a fresh ``torch.nn.Module``.
    - ``_fit_target_encoder(y, sample_weight)`` / ``_encode_target(y)``: learn (on the
      training rows; ``sample_weight`` may be None) and apply the target transformation
      the loss sees (default: weighted standardisation per output).
    - ``_fit_input_encoder(X, sample_weight)``: learn what the network needs to know
      about its inputs, on the training rows (default: nothing).
    - ``_training_budget(n_train)``: ``(max_epochs, batch_size)`` of this fit
      (default: the parameters; a subclass may resolve ``"auto"`` values).
    - ``_loss(module, X, y, w)``: scalar training loss of a minibatch (``w`` is None
      without sample weights).
    - ``_epoch_extras(module, X, y)``: extra entries of an epoch's history record.
    - ``_predict_module(module, X)`` and ``_decode_prediction(output)``: turn the
      network's output into predictions in the units of ``y``; ``_decode_tensor``
      is the differentiable twin used by ``predict_tensor`` (override both, or
      neither).

    Parameters
    ----------
    {engine_parameters}

    Attributes
    ----------
    {engine_attributes}

    See Also
    --------
    regkit.regression.NeuralRegressor : The MSE-trained multilayer perceptron.

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
    >>> L1Regressor(max_epochs=5, random_state=0).fit(X, X[:, 0]).n_iter_
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

    def _predict_module(self, module, X):
        return module(X)

    def _fit_target_encoder(self, y, sample_weight):
        # Weighted moments: a row with weight 0 must not influence the model at all.
        self.y_mean_ = np.average(y, axis=0, weights=sample_weight)
        variance = np.average((y - self.y_mean_) ** 2, axis=0, weights=sample_weight)
        self.y_scale_ = np.where(variance > 0, np.sqrt(variance), 1.0)

    def _encode_target(self, y):
        return (y - self.y_mean_) / self.y_scale_

    def _decode_prediction(self, output):
        return output * self.y_scale_ + self.y_mean_

    def _epoch_extras(self, module, X, y):
        return {}

    def _fit_input_encoder(self, X, sample_weight):
        # Learn, on the training rows, what the network needs to know about its
        # inputs (a subclass may standardise them inside its module); default: nothing.
        pass

    def _training_budget(self, n_train):
        """``(max_epochs, batch_size)`` of this fit, for ``n_train`` training rows.

        A subclass may derive them from the data size (for ``"auto"`` parameters).
        """
        return self.max_epochs, min(self.batch_size, n_train)

    # ------------------------------------------------------------------- fit
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
        """
        validate_params(self)
        X, y = validate_data(self, X, y, multi_output=True, y_numeric=True, dtype=np.float64)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(
                sample_weight, X, dtype=np.float64, ensure_non_negative=True
            )
        self._y_1d = y.ndim == 1
        y = y.reshape(len(y), -1)
        self.n_outputs_ = y.shape[1]
        self.device_ = str(resolve_device(self.device))
        device = torch.device(self.device_)
        seed = check_random_seed(self.random_state)

        # fork_rng keeps the user's global torch state untouched while dropout and
        # initialisation draw from our seed.
        fork_devices = [device.index or 0] if device.type == "cuda" else []
        with torch.random.fork_rng(devices=fork_devices):
            torch.manual_seed(seed)
            generator = torch.Generator().manual_seed(seed)
            train_idx, valid_idx = self._split(len(X), generator)
            rows = train_idx.numpy()
            self._fit_target_encoder(
                y[rows], None if sample_weight is None else sample_weight[rows]
            )
            # Without a validation split every row trains: pass X itself, not a copy.
            self._fit_input_encoder(
                X if valid_idx is None else X[rows],
                None if sample_weight is None else sample_weight[rows],
            )
            target = self._encode_target(y)
            tensors = [torch.from_numpy(a.astype(np.float32)).to(device) for a in (X, target)]
            weights = (
                None
                if sample_weight is None
                else torch.as_tensor(sample_weight, dtype=torch.float32, device=device)
            )
            if not (self.warm_start and self._has_compatible_module(X.shape[1])):
                self.module_ = self._build_module(X.shape[1], self.n_outputs_)
                self.history_ = []
            self.module_.to(device)
            self._train(tensors, weights, train_idx, valid_idx, generator)
        self.module_.eval()
        return self

    def _has_compatible_module(self, n_features):
        return hasattr(self, "module_") and getattr(self, "_n_module_inputs", None) == (
            n_features,
            self.n_outputs_,
        )

    def _split(self, n_samples, generator):
        """Row indices of the training and validation parts (random order)."""
        if not self.early_stopping:
            return torch.arange(n_samples), None
        n_valid = int(np.ceil(self.validation_fraction * n_samples))
        if n_valid < 1 or n_samples - n_valid < 1:
            raise ValueError(
                f"early_stopping needs at least one training and one validation row; with "
                f"n_samples = {n_samples} and validation_fraction = "
                f"{self.validation_fraction} one part is empty."
            )
        perm = torch.randperm(n_samples, generator=generator)
        return perm[n_valid:].sort().values, perm[:n_valid].sort().values

    def _make_optimizer(self, n_steps):
        cls = torch.optim.AdamW if self.optimizer == "adamw" else torch.optim.Adam
        params = [p for p in self.module_.parameters() if p.requires_grad]
        optimizer = cls(params, lr=self.learning_rate, weight_decay=self.weight_decay)
        if self.lr_schedule == "cosine":
            scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=n_steps)
        elif self.lr_schedule == "onecycle":
            scheduler = torch.optim.lr_scheduler.OneCycleLR(
                optimizer, max_lr=self.learning_rate, total_steps=n_steps
            )
        else:
            scheduler = None
        return optimizer, scheduler

    def _train(self, tensors, weights, train_idx, valid_idx, generator):
        X, y = tensors
        device = X.device
        train_idx = train_idx.to(device)
        X_train, y_train = X[train_idx], y[train_idx]
        w_train = None if weights is None else weights[train_idx]
        if valid_idx is not None:
            valid_idx = valid_idx.to(device)
            valid = (X[valid_idx], y[valid_idx], None if weights is None else weights[valid_idx])
        n_train = len(X_train)
        max_epochs, batch_size = self._training_budget(n_train)
        n_batches = -(-n_train // batch_size)
        optimizer, scheduler = self._make_optimizer(max_epochs * n_batches)
        self._n_module_inputs = (X.shape[1], self.n_outputs_)

        monitor = "valid_loss" if valid_idx is not None else "train_loss"
        best_loss, best_state, stale = np.inf, None, 0
        first_epoch = len(self.history_) + 1
        self.best_epoch_ = first_epoch - 1
        bar = self._progress_bar(max_epochs)
        module = self.module_
        epoch = first_epoch - 1
        try:
            for epoch in range(first_epoch, first_epoch + max_epochs):
                start = time.perf_counter()
                module.train()
                # Sum losses on the device; one host sync per epoch keeps GPUs busy.
                total = torch.zeros((), device=device)
                order = torch.randperm(n_train, generator=generator).to(device)
                for begin in range(0, n_train, batch_size):
                    idx = order[begin : begin + batch_size]
                    wb = None if w_train is None else w_train[idx]
                    loss = self._loss(module, X_train[idx], y_train[idx], wb)
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    optimizer.step()
                    if scheduler is not None:
                        scheduler.step()
                    total += loss.detach() * len(idx)
                train_loss = total.item() / n_train
                if not np.isfinite(train_loss):
                    raise TrainingDivergedError(
                        f"The training loss became {train_loss} at epoch {epoch}: training "
                        f"diverged. Try a smaller learning_rate (now {self.learning_rate})."
                    )
                module.eval()
                valid_loss = (
                    np.nan
                    if valid_idx is None
                    else self._evaluate_loss(module, *valid, batch_size=batch_size)
                )
                record = {
                    "epoch": epoch,
                    "train_loss": train_loss,
                    "valid_loss": valid_loss,
                    "seconds": time.perf_counter() - start,
                }
                record.update(self._epoch_extras(module, X_train, y_train))
                self.history_.append(record)
                if bar is not None:
                    bar.set_postfix(loss=f"{train_loss:.4g}", valid_loss=f"{valid_loss:.4g}")
                    bar.update()

                current = record[monitor]
                if current < best_loss - self.tol:
                    stale = 0
                else:
                    stale += 1
                if current < best_loss:
                    best_loss = current
                    if valid_idx is not None:
                        best_state, self.best_epoch_ = _copy_state(module), epoch
                if valid_idx is None:
                    self.best_epoch_ = epoch
                stop_requested = any(
                    bool(callback(self, record)) for callback in (self.callbacks or [])
                )
                patience_over = self.n_iter_no_change is not None and (
                    stale >= self.n_iter_no_change
                )
                if stop_requested or patience_over:
                    break
        except KeyboardInterrupt:
            warnings.warn(
                f"Training interrupted at epoch {epoch}; keeping the "
                + ("best weights so far." if best_state is not None else "current weights."),
                TrainingInterruptedWarning,
                stacklevel=3,
            )
        finally:
            if bar is not None:
                bar.close()
        if best_state is not None:
            module.load_state_dict(best_state)
        self.n_iter_ = max(len(self.history_), 1)

    def _progress_bar(self, max_epochs):
        if not self.verbose:
            return None
        from tqdm.auto import tqdm

        return tqdm(total=max_epochs, desc=type(self).__name__, unit="epoch", leave=True)

    @torch.no_grad()
    def _evaluate_loss(self, module, X, y, w, batch_size):
        """Loss over many rows, computed in chunks and averaged by rows (or weights)."""
        total, norm = 0.0, 0.0
        step = min(batch_size, len(X))
        for begin in range(0, len(X), step):
            sl = slice(begin, begin + step)
            wb = None if w is None else w[sl]
            part = wb.sum().item() if wb is not None else len(X[sl])
            total += self._loss(module, X[sl], y[sl], wb).item() * part
            norm += part
        return total / norm if norm > 0 else np.nan

    # --------------------------------------------------------------- predict
    def _eval_chunks(self, X):
        """Put the module in evaluation mode; yield ``(rows, float32 tensor)`` chunks of ``X``.

        Chunks of ``_eval_batch_size`` rows bound the memory of a forward pass over
        many rows; every evaluation over NumPy inputs walks ``X`` this way.
        """
        self.module_.eval()
        device = next(self.module_.parameters()).device
        for begin in range(0, len(X), self._eval_batch_size):
            rows = slice(begin, begin + self._eval_batch_size)
            yield rows, torch.from_numpy(X[rows].astype(np.float32)).to(device)

    @torch.no_grad()
    def _forward_numpy(self, X):
        """Run ``_predict_module`` over ``X`` in chunks; return float64 NumPy output."""
        outputs = []
        for _, chunk in self._eval_chunks(X):
            # One row would take BLAS's matrix-vector path, which rounds differently
            # from the matrix-matrix one: a row's prediction would then depend on
            # whether it came alone. Two copies keep it on the matrix-matrix path.
            single = len(chunk) == 1
            output = self._predict_module(self.module_, chunk.repeat(2, 1) if single else chunk)
            outputs.append((output[:1] if single else output).double().cpu().numpy())
        return np.concatenate(outputs, axis=0)

    def predict(self, X):
        """Predict targets for ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Float64 predictions, shaped like the ``y`` seen in ``fit``.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        prediction = np.asarray(self._decode_prediction(self._forward_numpy(X)), dtype=np.float64)
        return prediction.ravel() if self._y_1d else prediction

    def predict_tensor(self, X):
        """Differentiable predictions, in the units of ``y``, for a tensor of inputs.

        For analyses that need gradients with respect to the inputs (adversarial
        perturbations, saliency): no validation, no chunking, no ``no_grad``. The
        network is used in whatever mode it is in (evaluation mode after ``fit``).

        Parameters
        ----------
        X : Tensor of shape (n_samples, n_features)
            Float32 inputs on the model's device.

        Returns
        -------
        y_pred : Tensor of shape (n_samples, n_outputs)
            Predictions; differentiable in ``X`` and in the weights.

        Raises
        ------
        NotImplementedError
            For an estimator that decodes its predictions with NumPy only (it
            overrides ``_decode_prediction`` but not ``_decode_tensor``).
        """
        check_is_fitted(self)
        return self._decode_tensor(self._predict_module(self.module_, X))

    def _decode_tensor(self, output):
        """``_decode_prediction`` for tensors; override it with ``_decode_prediction``."""
        if type(self)._decode_prediction is not BaseNeuralRegressor._decode_prediction:
            raise NotImplementedError(
                f"{type(self).__name__} decodes predictions with NumPy only: it defines "
                "_decode_prediction but no differentiable _decode_tensor."
            )
        scale, mean = (
            torch.as_tensor(a, dtype=output.dtype, device=output.device)
            for a in (self.y_scale_, self.y_mean_)
        )
        return output * scale + mean

    # ----------------------------------------------------------- persistence
    def __getstate__(self):
        state = super().__getstate__()
        module = state.get("module_")
        if module is not None and any(p.device.type != "cpu" for p in module.parameters()):
            # A model trained on a GPU must unpickle on a machine without one.
            import copy

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
        ValueError
            If the file is not a regkit model file, or holds another kind of estimator.
        """
        from regkit.nn._persistence import load_estimator

        return load_estimator(path, expected_class=cls)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


def _copy_state(module):
    return {key: value.detach().clone() for key, value in module.state_dict().items()}
