"""The epoch loop that every neural estimator in regkit trains with.

:func:`run_epochs` owns what any training run needs: minibatches from a batch
source, optimiser steps and learning-rate schedules, the training-mode switch (frozen
parts stay in evaluation mode), the progress bar, ``history_`` records, the stopping
rule with best-weight restore, callbacks, Ctrl-C, divergence checks and the
:class:`~sklearn.exceptions.ConvergenceWarning`. What it trains on and for what is
given as arguments: a loss callable, a batch source, the parameters to optimise.
``fit``, ``partial_fit`` and ``fine_tune`` of :class:`BaseNeuralRegressor` are thin
callers; so are two-stage fits and fine-tuning with another loss.
"""

import math
import time
import warnings
from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning

from regkit.exceptions import TrainingDivergedError, TrainingInterruptedWarning
from regkit.nn._random import use_generator

__all__ = ["BatchSource", "TensorBatches", "TrainingRun", "run_epochs"]

# Engine parameters a single run may override (the others are the estimator's).
RUN_SETTINGS = (
    "max_epochs",
    "learning_rate",
    "weight_decay",
    "lr_schedule",
    "n_iter_no_change",
    "tol",
)

# A run has diverged when an epoch's mean loss exceeds its first minibatch's loss (at
# least 1 in absolute value) this many times. Losses of a network that is learning
# go down, or up by small factors (a schedule's warm-up, noise, the start of
# fine-tuning on other data); a step size that blows the weights up multiplies the
# loss by far more than a million within an epoch (learning_rate=1e6 on an MLP: by
# 1e20 and more), while float32 arithmetic still has room for it.
DIVERGENCE_FACTOR = 1e6


class BatchSource(ABC):
    """What :func:`run_epochs` trains on: minibatches, reshuffled every epoch.

    Any object with the two methods below is a batch source (``isinstance`` checks
    for them, as :class:`collections.abc.Sized` does for ``__len__``); subclassing
    this class is optional. Each minibatch is a tuple; the loss is called as
    ``loss(module, *batch)``, and the epoch's loss is the mean of the minibatch
    losses weighted by the number of rows of the first tensor of each tuple.

    See Also
    --------
    TensorBatches : Shuffled minibatches of the rows of a few tensors.
    """

    @abstractmethod
    def __len__(self):
        """Number of minibatches per epoch (the length of a learning-rate schedule)."""

    @abstractmethod
    def batches(self, generator):
        """Yield one epoch of minibatches.

        Parameters
        ----------
        generator : torch.Generator
            The run's generator: every random draw (order, sampling,
            augmentation) should use it, so that runs are reproducible.

        Yields
        ------
        batch : tuple
            Arguments of the loss after the module.
        """

    @classmethod
    def __subclasshook__(cls, other):
        if cls is BatchSource:
            methods = ("__len__", "batches")
            return all(any(name in vars(base) for base in other.__mro__) for name in methods)
        return NotImplemented


class TensorBatches:
    """Shuffled minibatches of the rows of a few tensors (the standard batch source).

    Parameters
    ----------
    *tensors : Tensor or None
        Tensors with the same number of rows (on the training device); None stays
        None in every minibatch (for absent sample weights).
    batch_size : int
        Rows per minibatch (the last one may be smaller).
    shuffle : bool, default=True
        Draw a new order of the rows every epoch.

    Examples
    --------
    >>> import torch
    >>> from regkit.nn import TensorBatches, make_generator
    >>> source = TensorBatches(torch.arange(5.0), None, batch_size=2)
    >>> len(source)
    3
    >>> batches = list(source.batches(make_generator(0)))
    >>> [len(X) for X, w in batches], batches[0][1]
    ([2, 2, 1], None)
    >>> sorted(torch.cat([X for X, w in batches]).tolist())
    [0.0, 1.0, 2.0, 3.0, 4.0]
    """

    def __init__(self, *tensors, batch_size, shuffle=True):
        present = [t for t in tensors if t is not None]
        if not present:
            raise ValueError("TensorBatches needs at least one tensor.")
        self.n_rows = len(present[0])
        if any(len(t) != self.n_rows for t in present):
            raise ValueError(
                f"tensors have different numbers of rows: {[len(t) for t in present]}."
            )
        if self.n_rows < 1:
            raise ValueError("TensorBatches needs at least one row.")
        if batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}.")
        self.tensors = tensors
        self.batch_size = min(int(batch_size), self.n_rows)
        self.shuffle = shuffle
        self._device = present[0].device

    def __len__(self):
        return -(-self.n_rows // self.batch_size)

    def batches(self, generator):
        """Yield one epoch of minibatches (tuples like ``tensors``).

        Parameters
        ----------
        generator : torch.Generator
            Draws the order of the rows.

        Yields
        ------
        batch : tuple of Tensor or None
        """
        if self.shuffle:
            order = torch.randperm(self.n_rows, generator=generator).to(self._device)
        else:
            order = torch.arange(self.n_rows, device=self._device)
        for begin in range(0, self.n_rows, self.batch_size):
            rows = order[begin : begin + self.batch_size]
            yield tuple(None if t is None else t[rows] for t in self.tensors)


@dataclass
class TrainingRun:
    """What one call of :func:`run_epochs` did.

    Parameters
    ----------
    epochs : int
        Epochs run (complete ones; an interrupted epoch is not counted).
    stop_reason : str
        ``"max_epochs"``, ``"no_improvement"`` (the stopping rule), ``"callback"``
        or ``"interrupted"`` (Ctrl-C).
    best_epoch : int
        Epoch (numbered as in ``history_``) whose weights the module holds.
    optimizer : torch.optim.Optimizer
        The optimiser, to continue with in a later run (``partial_fit`` does).
    """

    epochs: int
    stop_reason: str
    best_epoch: int
    optimizer: torch.optim.Optimizer


def make_optimizer(name, params, learning_rate, weight_decay):
    """The optimiser named by an estimator's ``optimizer`` parameter."""
    cls = torch.optim.AdamW if name == "adamw" else torch.optim.Adam
    return cls(params, lr=learning_rate, weight_decay=weight_decay)


def _make_scheduler(schedule, optimizer, learning_rate, n_steps):
    if schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=n_steps)
    if schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=learning_rate, total_steps=n_steps
        )
    return None


def set_training_mode(module):
    """Put ``module`` in training mode, except its frozen parts.

    A submodule that holds parameters, none of them trainable
    (``requires_grad=False``), stays in evaluation mode with everything inside it:
    a frozen backbone keeps its dropout off and its normalisation statistics fixed
    while the layers around it train.
    """
    module.train()
    for sub in module.modules():
        parameters = list(sub.parameters())
        if parameters and not any(p.requires_grad for p in parameters):
            sub.eval()


def _settings(estimator, overrides):
    unknown = set(overrides) - set(RUN_SETTINGS)
    if unknown:
        raise TypeError(
            f"run_epochs got unknown settings {sorted(unknown)}; it accepts {list(RUN_SETTINGS)}."
        )
    settings = {name: getattr(estimator, name) for name in RUN_SETTINGS}
    settings.update(overrides)
    if not (isinstance(settings["max_epochs"], int) and settings["max_epochs"] >= 1):
        raise ValueError(f"max_epochs must be a positive int, got {settings['max_epochs']!r}.")
    return settings


class _StoppingRule:
    """Patience on a monitored loss; keeps the best weights when asked to."""

    def __init__(self, patience, tol, keep_best):
        self.patience, self.tol, self.keep_best = patience, tol, keep_best
        self.best, self.best_state, self.best_epoch, self.stale = math.inf, None, None, 0

    def update(self, value, epoch, module):
        self.stale = 0 if value < self.best - self.tol else self.stale + 1
        if value < self.best:
            self.best = value
            if self.keep_best:
                self.best_state = {k: v.detach().clone() for k, v in module.state_dict().items()}
                self.best_epoch = epoch
        if not self.keep_best:
            self.best_epoch = epoch

    @property
    def exhausted(self):
        return self.patience is not None and self.stale >= self.patience


def _diverged(problem, epoch, learning_rate):
    return TrainingDivergedError(
        f"{problem} at epoch {epoch}: training diverged. Try a smaller learning_rate (now "
        f"{learning_rate})."
    )


def _check_loss(loss, reference, epoch, learning_rate):
    if not (math.isfinite(loss) and abs(loss) <= DIVERGENCE_FACTOR * max(abs(reference), 1.0)):
        raise _diverged(
            f"The training loss became {loss:.4g} (it started at {reference:.4g})",
            epoch,
            learning_rate,
        )


def _progress_bar(estimator, max_epochs, stage):
    if not estimator.verbose:
        return None
    from tqdm.auto import tqdm

    description = type(estimator).__name__ + ("" if stage is None else f" [{stage}]")
    return tqdm(total=max_epochs, desc=description, unit="epoch", leave=True)


def run_epochs(
    estimator,
    module,
    loss,
    batches,
    *,
    generator,
    params=None,
    optimizer=None,
    validation=None,
    extras=None,
    check=None,
    on_step=None,
    stage=None,
    **settings,
):
    """Train ``module`` for up to ``max_epochs`` epochs: the loop behind every ``fit``.

    Each epoch puts ``module`` in training mode (:func:`set_training_mode`: frozen
    parts stay in evaluation mode), draws the minibatches of ``batches`` with
    ``generator``, and for each calls ``loss(module, *batch)``, backpropagates
    and steps the optimiser (and the schedule). Then it checks for divergence,
    evaluates ``validation`` in evaluation mode, appends a record to
    ``estimator.history_``, updates the progress bar, applies the stopping rule and
    calls the estimator's callbacks. Everything random inside (batch order,
    dropout, noise drawn by regkit layers) comes from ``generator``.

    Parameters
    ----------
    estimator : object
        Owner of the run. It must have the engine parameters as attributes
        (``optimizer``, ``weight_decay``, ``learning_rate``, ``lr_schedule``,
        ``max_epochs``, ``n_iter_no_change``, ``tol``, ``callbacks``,
        ``verbose``) and a list ``history_``, to which the run appends one record
        per epoch; ``n_iter_`` (epochs in ``history_``) and ``best_epoch_`` are set.
        Callbacks are called as ``callback(estimator, record)``.
    module : torch.nn.Module
        The network to train, on its training device.
    loss : callable
        ``loss(module, *batch) -> scalar Tensor`` for one minibatch.
    batches : BatchSource
        The minibatches (for instance :class:`TensorBatches`).
    generator : torch.Generator
        CPU generator of the run (see :func:`make_generator`).
    params : iterable of Parameter, optional
        What the optimiser updates. Default: the parameters of ``module`` with
        ``requires_grad=True``.
    optimizer : torch.optim.Optimizer, optional
        An optimiser to continue with (its parameters and step size are used, no
        schedule); default: a new one from the estimator's ``optimizer`` and
        ``weight_decay`` with the run's ``learning_rate`` and ``lr_schedule``.
    validation : callable, optional
        ``validation(module) -> float``, evaluated after each epoch in evaluation
        mode without gradients. When given, it is the monitored loss and the
        weights of its best epoch are restored at the end; otherwise the training
        loss is monitored and the last weights are kept.
    extras : callable, optional
        ``extras(module) -> dict`` of additional entries for each epoch's record.
    check : callable, optional
        ``check(module) -> str or None``, after each epoch in evaluation mode
        without gradients: a message means the run diverged (for instance the
        network's outputs left any plausible range) and raises
        :class:`~regkit.exceptions.TrainingDivergedError` with it.
    on_step : callable, optional
        ``on_step(step, n_steps)`` before each optimiser step (``step`` from 1, of
        ``n_steps = max_epochs * len(batches)`` planned).
    stage : str, optional
        Recorded as ``"stage"`` in each record and shown on the progress bar:
        several runs (pretraining, then a probe) can share one ``history_``.
    **settings
        Engine parameters for this run only: ``max_epochs``, ``learning_rate``,
        ``weight_decay``, ``lr_schedule``, ``n_iter_no_change`` (None: no stopping
        rule and no convergence warning) and ``tol``.

    Returns
    -------
    run : TrainingRun
        Epochs run, why it stopped, the best epoch and the optimiser.

    Raises
    ------
    TrainingDivergedError
        When an epoch's loss is not finite or exceeds a million times its first
        minibatch's loss (at least 1), or ``check`` reports a problem. The module
        and ``history_`` then hold the failed epoch's state: callers that must
        stay usable run on a copy (``fine_tune``) or restore (``fit``,
        ``partial_fit``).

    Warns
    -----
    ConvergenceWarning
        When ``max_epochs`` is reached while the stopping rule has not fired (the
        monitored loss improved by more than ``tol`` within the last
        ``n_iter_no_change`` epochs).
    TrainingInterruptedWarning
        On Ctrl-C: the epoch under way is dropped, the best (or current) weights
        are kept and the run returns normally.

    Examples
    --------
    >>> import torch
    >>> from regkit.nn import TensorBatches, make_generator, run_epochs
    >>> from regkit.regression import NeuralRegressor
    >>> X = torch.randn(64, 2, generator=make_generator(0)); y = X[:, :1] * 3
    >>> model = NeuralRegressor((8,), max_epochs=5).fit(X.numpy(), y.numpy().ravel())
    >>> def l1_loss(module, X, y):
    ...     return (module(X) - y).abs().mean()
    >>> X_t, y_t, _ = model.encode_tensors(X.numpy(), y.numpy().ravel())
    >>> run = run_epochs(model, model.module_, l1_loss, TensorBatches(X_t, y_t, batch_size=16),
    ...                  generator=make_generator(0), max_epochs=3, n_iter_no_change=None,
    ...                  stage="l1")
    >>> run.epochs, [record["stage"] for record in model.history_[-3:]]
    (3, ['l1', 'l1', 'l1'])
    """
    settings = _settings(estimator, settings)
    max_epochs, learning_rate = settings["max_epochs"], settings["learning_rate"]
    n_steps = max_epochs * len(batches)
    if optimizer is None:
        trainable = (
            [p for p in module.parameters() if p.requires_grad] if params is None else params
        )
        optimizer = make_optimizer(
            estimator.optimizer, list(trainable), learning_rate, settings["weight_decay"]
        )
        scheduler = _make_scheduler(settings["lr_schedule"], optimizer, learning_rate, n_steps)
    else:
        scheduler = None
    history = estimator.history_
    first_epoch = len(history) + 1
    rule = _StoppingRule(settings["n_iter_no_change"], settings["tol"], validation is not None)
    monitor = "valid_loss" if validation is not None else "train_loss"
    stop_reason, epoch, step, reference = "max_epochs", first_epoch - 1, 0, None
    bar = _progress_bar(estimator, max_epochs, stage)
    try:
        with use_generator(generator):
            for epoch in range(first_epoch, first_epoch + max_epochs):
                start = time.perf_counter()
                set_training_mode(module)
                # Losses stay on the device: one host synchronisation per epoch.
                values, sizes = [], []
                for batch in batches.batches(generator):
                    step += 1
                    if on_step is not None:
                        on_step(step, n_steps)
                    value = loss(module, *batch)
                    optimizer.zero_grad(set_to_none=True)
                    value.backward()
                    optimizer.step()
                    if scheduler is not None:
                        scheduler.step()
                    if reference is None:
                        reference = value.item()
                    values.append(value.detach())
                    sizes.append(len(batch[0]))
                weights = torch.tensor(sizes, dtype=values[0].dtype, device=values[0].device)
                train_loss = (torch.stack(values) @ weights).item() / sum(sizes)
                _check_loss(train_loss, reference, epoch, learning_rate)
                module.eval()
                record = {"epoch": epoch, "train_loss": train_loss, "valid_loss": np.nan}
                with torch.no_grad():
                    problem = None if check is None else check(module)
                    if problem is not None:
                        raise _diverged(problem, epoch, learning_rate)
                    if validation is not None:
                        record["valid_loss"] = float(validation(module))
                if stage is not None:
                    record["stage"] = stage
                record["seconds"] = time.perf_counter() - start
                if extras is not None:
                    record.update(extras(module))
                history.append(record)
                estimator.n_iter_ = len(history)
                if bar is not None:
                    bar.set_postfix(
                        loss=f"{train_loss:.4g}", valid_loss=f"{record['valid_loss']:.4g}"
                    )
                    bar.update()
                rule.update(record[monitor], epoch, module)
                if any(bool(callback(estimator, record)) for callback in estimator.callbacks or []):
                    stop_reason = "callback"
                    break
                if rule.exhausted:
                    stop_reason = "no_improvement"
                    break
    except KeyboardInterrupt:
        stop_reason = "interrupted"
        warnings.warn(
            f"Training interrupted at epoch {epoch}; keeping the "
            + ("best weights so far." if rule.best_state is not None else "current weights."),
            TrainingInterruptedWarning,
            stacklevel=2,
        )
    finally:
        if bar is not None:
            bar.close()
    module.eval()
    if rule.best_state is not None:
        module.load_state_dict(rule.best_state)
    best_epoch = rule.best_epoch if rule.best_epoch is not None else len(history)
    estimator.n_iter_ = len(history)
    estimator.best_epoch_ = best_epoch
    epochs = len(history) - first_epoch + 1
    if stop_reason == "max_epochs" and settings["n_iter_no_change"] is not None:
        warnings.warn(
            f"{type(estimator).__name__} stopped at max_epochs={max_epochs} while its "
            f"{monitor} was still improving (by more than tol={settings['tol']} within the "
            f"last n_iter_no_change={settings['n_iter_no_change']} epochs). Increase "
            "max_epochs, or set n_iter_no_change=None for a fixed number of epochs.",
            ConvergenceWarning,
            stacklevel=2,
        )
    return TrainingRun(epochs, stop_reason, best_epoch, optimizer)
