"""The PyTorch training engine shared by every neural estimator in regkit.

Subclass :class:`BaseNeuralRegressor`, supply ``_build_module`` and ``_loss``, and
the engine provides validation, target scaling, minibatching, optimisers and
schedules, early stopping, seeding, devices, progress bars, callbacks, history,
pickling and safe ``save``/``load``. :func:`run_epochs` is the training loop itself,
for runs with another loss, other batches or part of a network frozen
(:meth:`BaseNeuralRegressor.fine_tune` runs it on a copy of a fitted estimator).
"""

from regkit.nn._base import (
    ENGINE_ATTRIBUTES,
    ENGINE_PARAMETERS,
    BaseNeuralRegressor,
    TrainingData,
    weighted_mean,
)
from regkit.nn._device import resolve_device
from regkit.nn._loop import BatchSource, TensorBatches, TrainingRun, run_epochs
from regkit.nn._modules import ACTIVATIONS, Dropout, Linear, make_mlp, mlp_width
from regkit.nn._persistence import load_estimator, register_estimator
from regkit.nn._random import current_generator, make_generator, use_generator
from regkit.nn.invariant import batch_invariant, is_batch_invariant
from regkit.nn.losses import (
    SupReMixMixtures,
    cs_divergence,
    cs_ib_loss,
    cs_qmi,
    draw_supremix_mixtures,
    gaussian_gram,
    median_width,
    rnc_loss,
    supcon_loss,
    supremix_loss,
)
from regkit.nn.robustness import fgsm_perturb, fgsm_rmse

__all__ = [
    "ACTIVATIONS",
    "ENGINE_ATTRIBUTES",
    "ENGINE_PARAMETERS",
    "BaseNeuralRegressor",
    "BatchSource",
    "Dropout",
    "Linear",
    "SupReMixMixtures",
    "TensorBatches",
    "TrainingData",
    "TrainingRun",
    "batch_invariant",
    "cs_divergence",
    "cs_ib_loss",
    "cs_qmi",
    "current_generator",
    "draw_supremix_mixtures",
    "fgsm_perturb",
    "fgsm_rmse",
    "gaussian_gram",
    "is_batch_invariant",
    "load_estimator",
    "make_generator",
    "make_mlp",
    "median_width",
    "mlp_width",
    "register_estimator",
    "resolve_device",
    "rnc_loss",
    "run_epochs",
    "supcon_loss",
    "supremix_loss",
    "use_generator",
    "weighted_mean",
]
