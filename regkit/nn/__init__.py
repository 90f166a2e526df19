"""The PyTorch training engine shared by every neural estimator in regkit.

Subclass :class:`BaseNeuralRegressor`, supply ``_build_module`` and ``_loss``, and
the engine provides validation, target scaling, minibatching, optimisers and
schedules, early stopping, seeding, devices, progress bars, callbacks, history,
pickling and safe ``save``/``load``.
"""

from regkit.nn._base import (
    ENGINE_ATTRIBUTES,
    ENGINE_PARAMETERS,
    BaseNeuralRegressor,
    weighted_mean,
)
from regkit.nn._device import resolve_device
from regkit.nn._modules import ACTIVATIONS, make_mlp, mlp_width
from regkit.nn._persistence import load_estimator
from regkit.nn.losses import (
    SupReMixMixtures,
    cs_divergence,
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
    "SupReMixMixtures",
    "cs_divergence",
    "cs_qmi",
    "draw_supremix_mixtures",
    "fgsm_perturb",
    "fgsm_rmse",
    "gaussian_gram",
    "load_estimator",
    "make_mlp",
    "median_width",
    "mlp_width",
    "resolve_device",
    "rnc_loss",
    "supcon_loss",
    "supremix_loss",
    "weighted_mean",
]
