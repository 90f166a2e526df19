"""The MSE-trained multilayer perceptron every deep regressor is compared with."""

from numbers import Integral, Real

import torch
from sklearn.utils._param_validation import Interval, StrOptions

from regkit.nn import (
    ACTIVATIONS,
    ENGINE_ATTRIBUTES,
    ENGINE_PARAMETERS,
    BaseNeuralRegressor,
    make_mlp,
    register_estimator,
    weighted_mean,
)
from regkit.utils import fill_doc, store_init_params

MLP_PARAMETERS = """
hidden_layer_sizes : tuple of int, default=(100,)
        Width of each hidden layer of the multilayer perceptron.

    activation : {"relu", "gelu", "silu", "tanh", "elu", "leaky_relu", "identity"}, \
default="relu"
        Non-linearity after each hidden layer.

    dropout : float, default=0.0
        Dropout probability after each hidden activation (training only).
"""

MLP_CONSTRAINTS = {
    "hidden_layer_sizes": ["array-like"],
    "activation": [StrOptions(set(ACTIVATIONS))],
    "dropout": [Interval(Real, 0, 1, closed="left")],
}


def check_hidden_layer_sizes(hidden_layer_sizes, name="hidden_layer_sizes"):
    """Return ``hidden_layer_sizes`` as a tuple of positive ints, or raise ValueError.

    ``name`` is the parameter the error message names.
    """
    sizes = tuple(hidden_layer_sizes)
    if not all(isinstance(s, Integral) and s >= 1 for s in sizes):
        raise ValueError(f"{name} must be a sequence of positive ints, got {hidden_layer_sizes!r}.")
    return sizes


def mlp_spec(estimator):
    """The architecture parameters of an estimator built on :func:`make_mlp`."""
    return (
        check_hidden_layer_sizes(estimator.hidden_layer_sizes),
        estimator.activation,
        float(estimator.dropout),
    )


@register_estimator
@fill_doc(
    engine_parameters=ENGINE_PARAMETERS,
    engine_attributes=ENGINE_ATTRIBUTES,
    mlp_parameters=MLP_PARAMETERS,
)
class NeuralRegressor(BaseNeuralRegressor):
    """Multilayer perceptron regressor trained with mean squared error.

    The baseline of regkit's deep regressors: the same network as
    :class:`sklearn.neural_network.MLPRegressor`, trained by regkit's PyTorch
    engine (Adam, minibatches, optional early stopping with best-weight restore,
    standardised targets, GPU support, reproducible seeds). Every other deep
    regressor in :mod:`regkit.regression` is benchmarked against it with the same
    backbone and budget.

    Parameters
    ----------
    {mlp_parameters}

    {engine_parameters}

    Attributes
    ----------
    {engine_attributes}

    y_mean_, y_scale_ : ndarray of shape (n_outputs,)
        Mean and standard deviation used to standardise the targets.

    See Also
    --------
    sklearn.neural_network.MLPRegressor : The scikit-learn equivalent (NumPy, CPU).

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from regkit.regression import NeuralRegressor
    >>> X, y = make_regression(n_samples=200, n_features=5, noise=1.0, random_state=0)
    >>> model = NeuralRegressor(hidden_layer_sizes=(32,), max_epochs=50, random_state=0)
    >>> model.fit(X, y).score(X, y) > 0.9
    True
    """

    _parameter_constraints = {**BaseNeuralRegressor._parameter_constraints, **MLP_CONSTRAINTS}

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        *,
        activation="relu",
        dropout=0.0,
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
        store_init_params(self, locals())

    def _build_module(self, n_features, n_outputs):
        return make_mlp(
            n_features,
            check_hidden_layer_sizes(self.hidden_layer_sizes),
            n_outputs=n_outputs,
            activation=self.activation,
            dropout=self.dropout,
        )

    def _module_spec(self, n_features, n_outputs):
        return (*super()._module_spec(n_features, n_outputs), *mlp_spec(self))

    def _loss(self, module, X, y, w):
        if w is None:  # the mean over rows of the mean over outputs, fused
            return torch.nn.functional.mse_loss(module(X), y)
        return weighted_mean(torch.square(module(X) - y).mean(dim=1), w)
