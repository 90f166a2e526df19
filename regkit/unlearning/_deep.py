"""What the deep unlearners share: the models they accept, their seeds, one fine-tuning run."""

from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils._param_validation import Interval

from regkit.nn import BaseNeuralRegressor
from regkit.unlearning._base import Unlearner
from regkit.utils import check_random_seed

# The parameters every deep unlearner has, with the reference code's values.
DEEP_PARAMETERS = """max_epochs : int, default={max_epochs}
        Epochs of unlearning ({epochs_source}).
    learning_rate : float, default=1e-3
        Adam's step size while unlearning (the reference code's). The estimator's
        ``optimizer`` and ``weight_decay`` are kept; the step size is constant
        (the reference creates a schedule but never steps it).
    batch_size : int, default=256
        Rows per minibatch (the reference code's).
    random_state : int, RandomState instance or None, default=None
        Seeds every draw of the unlearning (batch order, dropout{extra_draws}).
        None uses the estimator's own ``random_state`` when it is an int (so a
        seeded model unlearns reproducibly), and fresh entropy otherwise."""

_CONSTRAINTS = {
    "max_epochs": [Interval(Integral, 1, None, closed="left")],
    "learning_rate": [Interval(Real, 0, None, closed="neither")],
    "batch_size": [Interval(Integral, 1, None, closed="left")],
    "random_state": ["random_state"],
}


class DeepUnlearner(Unlearner):
    """Base of the unlearners that fine-tune a regkit neural regressor.

    They rely only on the public surface of :class:`~regkit.nn.BaseNeuralRegressor`:
    :meth:`~regkit.nn.BaseNeuralRegressor.encode_tensors` (rows as the network's
    loss sees them), the estimator's own loss ``_loss(module, X, y, w)`` and
    :meth:`~regkit.nn.BaseNeuralRegressor.fine_tune`, which trains a deep copy (the
    estimator is never modified). Any other estimator is refused with a
    ``TypeError``. Subclasses with no parameters of their own inherit
    ``__init__``.
    """

    _parameter_constraints = dict(_CONSTRAINTS)

    def __init__(self, *, max_epochs=5, learning_rate=1e-3, batch_size=256, random_state=None):
        self.max_epochs = max_epochs
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.random_state = random_state

    def _check_estimator(self, estimator):
        super()._check_estimator(estimator)
        if not isinstance(estimator, BaseNeuralRegressor):
            raise TypeError(
                f"{type(self).__name__} fine-tunes regkit neural regressors (subclasses of "
                f"regkit.nn.BaseNeuralRegressor, alone or at the end of a Pipeline); got "
                f"{type(estimator).__name__}, which regkit cannot fine-tune. Use "
                "RetrainUnlearner (any regressor) or ExactUnlearner instead."
            )

    def _seeds(self, estimator, n):
        """``n`` integer seeds for the stages of one unlearning run."""
        root = self.random_state
        if root is None and isinstance(estimator.random_state, Integral):
            root = estimator.random_state
        rng = np.random.default_rng(check_random_seed(root))
        return [int(seed) for seed in rng.integers(np.iinfo(np.int32).max, size=n)]

    def _fine_tune(self, estimator, loss, batches, seed):
        """A copy of ``estimator`` trained ``max_epochs`` epochs on ``batches`` with ``loss``."""
        return estimator.fine_tune(
            loss,
            batches,
            max_epochs=self.max_epochs,
            learning_rate=self.learning_rate,
            random_state=seed,
            stage="unlearn",
            lr_schedule="constant",
            n_iter_no_change=None,
        )


def encode_rows(estimator, rows):
    """``(X, y, w)`` tensors of :class:`~regkit.unlearning.Rows`, as the model's loss sees them."""
    return estimator.encode_tensors(rows.X, rows.y, rows.sample_weight)


def concat_rows(first, second):
    """Stack two ``(X, y, w)`` tensor triples; absent weights count as 1."""
    X = torch.cat([first[0], second[0]])
    y = torch.cat([first[1], second[1]])
    if first[2] is None and second[2] is None:
        return X, y, None
    weights = [
        torch.ones(len(part[0]), device=X.device) if part[2] is None else part[2]
        for part in (first, second)
    ]
    return X, y, torch.cat(weights)
