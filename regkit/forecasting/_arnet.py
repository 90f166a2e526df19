"""AR-Net: an auto-regressive model trained as a neural network, with sparse lags."""

import math
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted
from torch import nn

from regkit.nn import (
    ACTIVATIONS,
    ENGINE_ATTRIBUTES,
    ENGINE_PARAMETERS,
    BaseNeuralRegressor,
    invariant,
    make_mlp,
    register_estimator,
    weighted_mean,
)
from regkit.utils import fill_doc, store_init_params

ARNET_PARAMETERS = """
ar_layers : tuple of int, default=()
        Hidden layer sizes. ``()`` is the linear AR-Net of the paper, whose weights
        are the AR coefficients (see ``coef_``).

    activation : {"relu", "gelu", "silu", "tanh", "elu", "leaky_relu", "identity"}, \
default="relu"
        Non-linearity after each hidden layer (unused when ``ar_layers=()``).

    sparsity : float in (0, 1] or None, default=None
        Expected share ``s`` of lags with a non-zero coefficient (``3 / 50`` when 3
        of 50 lags matter). It sets the strength of the sparsity regulariser,
        ``lambda = c_lambda * (1 / s - 1)``; None (or 1) turns it off.

    c_lambda : float, default=0.05
        Scale of the regularisation strength (see ``sparsity``).

    c1, c2 : float, default=3.0
        Shape of the regulariser ``R(w) = mean(2 / (1 + exp(-c1 |w|^(1/c2))) - 1)``
        over the weights of the first layer (in standardised units): steep near
        zero, flat for large weights, so that small weights die and large ones are
        not shrunk.

    reg_ramp : float in [0, 1], default=0.5
        Share of the training steps over which lambda grows from 0 to its full
        value, quadratically, so that the fit first finds the signal.

    loss : {"squared_error", "huber"}, default="squared_error"
        Training loss on the standardised targets.

    huber_delta : float, default=1.0
        Threshold of the Huber loss, in standard deviations of the target.
"""

ARNET_DEFAULT_ENGINE = """
The engine parameters keep their meaning, with defaults chosen for AR-Net:
    ``max_epochs="auto"`` and ``batch_size="auto"`` derive the budget from the
    number of rows ``n`` (batches of about ``n / 100`` rows, a power of two between
    16 and 1024; about ``1500 / sqrt(n)`` epochs, between 10 and 200),
    ``learning_rate=1e-2`` with ``lr_schedule="onecycle"``, and
    ``n_iter_no_change=None`` so that the schedule runs to its end.
"""

ARNET_CONSTRAINTS = {
    "ar_layers": ["array-like"],
    "activation": [StrOptions(set(ACTIVATIONS))],
    "sparsity": [Interval(Real, 0, 1, closed="right"), None],
    "c_lambda": [Interval(Real, 0, None, closed="left")],
    "c1": [Interval(Real, 0, None, closed="neither")],
    "c2": [Interval(Real, 0, None, closed="neither")],
    "reg_ramp": [Interval(Real, 0, 1, closed="both")],
    "loss": [StrOptions({"squared_error", "huber"})],
    "huber_delta": [Interval(Real, 0, None, closed="neither")],
    "max_epochs": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
    "batch_size": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
}


def auto_budget(n_rows):
    """The ``"auto"`` ``(max_epochs, batch_size)`` of AR-Net for ``n_rows`` rows.

    Batches of about ``n_rows / 100`` rows (a power of two in [16, 1024]) and
    ``1500 / sqrt(n_rows)`` epochs (in [10, 200]): small data needs many epochs of
    small, noisy steps; large data gets large batches, which make a CPU epoch fast,
    and few epochs, as each has many steps whose gradient noise is already small.

    Parameters
    ----------
    n_rows : int
        Number of training rows.

    Returns
    -------
    max_epochs : int
    batch_size : int

    Examples
    --------
    >>> from regkit.forecasting._arnet import auto_budget
    >>> auto_budget(1_000), auto_budget(100_000)
    ((48, 16), (10, 1024))
    """
    batch_size = int(np.clip(2 ** math.ceil(math.log2(max(n_rows / 100, 1))), 16, 1024))
    batch_size = min(batch_size, n_rows)
    return int(np.clip(math.ceil(1500 / math.sqrt(n_rows)), 10, 200)), batch_size


def sparsity_penalty(weight, c1=3.0, c2=3.0, smoothing=1e-3):
    """The AR-Net regulariser ``R(w)``: mean of ``2 / (1 + exp(-c1 |w|^(1/c2))) - 1``.

    ``|w|^(1/c2)`` is smoothed as ``(w^2 + smoothing^2)^(1/(2 c2))`` (and ``R``
    rescaled so that ``R(0) = 0`` and ``R`` tends to 1): the paper's ``|w|^(1/3)``
    has an infinite slope at zero, whose gradient spikes inflate Adam's
    second-moment estimates and freeze the weights they hit away from zero.

    Parameters
    ----------
    weight : Tensor
        The weights (in standardised units).
    c1, c2 : float, default=3.0
        Steepness and exponent (the paper's values).
    smoothing : float, default=1e-3
        Width of the smoothed region around zero.

    Returns
    -------
    penalty : scalar Tensor
        In ``[0, 1)``; 0 when every weight is zero.

    Examples
    --------
    >>> import torch
    >>> from regkit.forecasting._arnet import sparsity_penalty
    >>> float(sparsity_penalty(torch.zeros(5)))
    0.0
    >>> round(float(sparsity_penalty(torch.tensor([10.0, 10.0]))), 3)
    0.996
    """
    root = (weight * weight + smoothing**2).pow(0.5 / c2)
    floor = 2.0 * torch.sigmoid(torch.tensor(c1 * smoothing ** (1.0 / c2))) - 1.0
    return ((2.0 * torch.sigmoid(c1 * root) - 1.0 - floor) / (1.0 - floor)).mean()


def least_squares_start(X, y, sample_weight, x_mean, x_scale, ridge=1e-6, chunk=65536):
    """Ridge-regularised least-squares weights of the linear AR-Net, in its units.

    Solves ``(G + ridge I) W.T = C`` for the weights ``W`` of the layer
    ``((X - x_mean) / x_scale) @ W.T + b``, where ``G`` and ``C`` are the
    weighted second moments of the standardised inputs and of inputs and
    targets, and ``b`` is the weighted mean of ``y``. ``G`` has a unit diagonal
    (zero for constant inputs, whose weights the ridge term sets to zero), so
    ``ridge`` is relative: it only resolves exact or near collinearity (lags of a
    smooth or trending series). The moments are accumulated over row blocks of
    ``chunk`` rows, in float64, so that no ``n_samples x n_features`` temporary
    is made.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples, n_outputs)
        Targets as the loss sees them (standardised).
    sample_weight : ndarray of shape (n_samples,) or None
    x_mean, x_scale : ndarray of shape (n_features,)
        The input standardisation.
    ridge : float, default=1e-6
        Ridge penalty relative to the unit diagonal of ``G``.
    chunk : int, default=65536
        Rows per block.

    Returns
    -------
    weight : ndarray of shape (n_outputs, n_features)
    bias : ndarray of shape (n_outputs,)

    Examples
    --------
    >>> import numpy as np
    >>> from regkit.forecasting._arnet import least_squares_start
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> y = 2.0 * X + 1.0
    >>> weight, bias = least_squares_start(X, y, None, X.mean(0), X.std(0))
    >>> weight.round(4), bias
    (array([[2.2361]]), array([4.]))
    """
    n_features, n_outputs = X.shape[1], y.shape[1]
    w = np.ones(len(X)) if sample_weight is None else np.asarray(sample_weight, np.float64)
    total = w.sum()
    gram = np.zeros((n_features, n_features))
    cross = np.zeros((n_features, n_outputs))
    for start in range(0, len(X), chunk):
        rows = slice(start, start + chunk)
        weighted = np.asarray(X[rows], np.float64) * w[rows, None]
        gram += weighted.T @ X[rows]
        cross += weighted.T @ y[rows]
    y_mean = (w @ y) / total
    gram = (gram / total - np.outer(x_mean, x_mean)) / np.outer(x_scale, x_scale)
    cross = (cross / total - np.outer(x_mean, y_mean)) / x_scale[:, None]
    weight = np.linalg.solve(gram + ridge * np.eye(n_features), cross)
    return weight.T, y_mean


def _check_ar_layers(ar_layers):
    sizes = tuple(ar_layers)
    if not all(isinstance(s, Integral) and s >= 1 for s in sizes):
        raise ValueError(f"ar_layers must be a sequence of positive ints, got {sizes!r}.")
    return sizes


class _StandardizedLinear(nn.Module):
    """A linear layer on standardised inputs, ``((X - mean) / scale) @ W.T + b``.

    The standardisation is folded into the weights at each call, which costs
    ``O(n_features * n_outputs)`` instead of ``O(batch * n_features)``: with
    hundreds of lags it is what keeps an epoch as cheap as the matrix product.
    ``weight`` is in standardised units (what the regulariser acts on).
    """

    def __init__(self, linear, mean, scale):
        super().__init__()
        self.weight, self.bias = linear.weight, linear.bias
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32))
        self.register_buffer("scale", torch.as_tensor(scale, dtype=torch.float32))

    def forward(self, X):
        weight = self.weight / self.scale
        if invariant.is_batch_invariant():
            bias = self.bias - invariant.linear(self.mean, weight)
            return invariant.linear(X, weight, bias)
        return nn.functional.linear(X, weight, self.bias - weight @ self.mean)


@register_estimator
@fill_doc(
    arnet_parameters=ARNET_PARAMETERS,
    engine_parameters=ENGINE_PARAMETERS,
    engine_defaults=ARNET_DEFAULT_ENGINE,
    engine_attributes=ENGINE_ATTRIBUTES,
)
class ARNetRegressor(BaseNeuralRegressor):
    """AR-Net: auto-regression fitted as a neural network, with a sparsity prior.

    The regressor face of AR-Net (Triebe, Laptev and Rajagopal, 2019): it fits a
    lag matrix such as :func:`make_lag_features` builds (``X[:, k-1]`` = lag ``k``)
    to one or several targets (``n_forecasts`` steps ahead, as columns of ``y``).
    With ``ar_layers=()`` the network is one linear layer, whose weights are the AR
    coefficients (``coef_``); the paper's regulariser, weighted by
    ``lambda = c_lambda * (1 / sparsity - 1)`` and ramped in during training,
    drives the coefficients of irrelevant lags to zero, so that the order can be
    over-specified (hundreds of lags) at a cost linear in the number of lags.

    The inputs and targets are standardised inside the model, so the regulariser's
    constants need no tuning to the scale of the data, and the coefficients it
    acts on are, for lags of a stationary series, the AR coefficients themselves.
    With early stopping, the validation rows are the last ones (the most recent,
    for a lag matrix in time order) rather than a random subset.

    Parameters
    ----------
    {arnet_parameters}

    {engine_parameters}

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_outputs, n_features)
        Linear AR-Net only: the weights in the units of ``X`` and ``y``;
        ``coef_[k-1]`` is the coefficient of lag ``k`` for a lag matrix.

    intercept_ : float or ndarray of shape (n_outputs,)
        Linear AR-Net only: the constant term.

    regularization_strength_ : float
        The full lambda (0 without ``sparsity``).

    x_mean_, x_scale_ : ndarray of shape (n_features,)
        Input standardisation learnt on the training rows.

    y_mean_, y_scale_ : ndarray of shape (n_outputs,)
        Target standardisation.

    {engine_attributes}

    See Also
    --------
    ARNetForecaster : The forecaster face: fit a series, predict its future.
    make_lag_features : Build the lag matrix.

    Notes
    -----
    {engine_defaults}

    Deviations from the paper: ``|w|`` in the regulariser is smoothed near zero
    (see :func:`~regkit.forecasting._arnet.sparsity_penalty`), which lets Adam settle
    irrelevant weights at zero instead of freezing them where a gradient spike
    left them; lambda's default scale ``c_lambda=0.05`` is larger than the
    reference code's 0.01-0.02 because, with the smoothing, it recovers sparse
    lags at n = 1000 without hurting n = 100000 (see ``benchmarks/bench_arnet.py``);
    the training recipe (Adam with a one-cycle schedule, an automatic budget, a
    quadratic lambda ramp over the first half) is the reference code's, which the
    paper leaves unspecified.

    The linear AR-Net (``ar_layers=()``) does not start from the random
    initialisation of the paper but from the least-squares AR fit on the
    training rows (ridge-regularised by ``1e-6`` in standardised units, which only
    matters for collinear lags; see
    :func:`~regkit.forecasting._arnet.least_squares_start`). Without the
    regulariser this start is already the minimum of the training loss, and
    training only refines it (for the Huber loss) or moves off it by the
    optimiser's noise; with it, training starts from the unpenalised optimum and
    the ramped-in penalty removes the lags it does not need. From a random start,
    the budget of Adam steps is not enough for ill-conditioned lag matrices (the
    lags of a smooth or trending series, such as monthly CO2, are nearly
    collinear): training stopped far from the least-squares fit, with a training
    error several times larger and forecasts twice as far off (see
    ``benchmarks/bench_forecasting.py``). Networks with hidden layers keep the
    random initialisation.

    References
    ----------
    O. Triebe, N. Laptev, R. Rajagopal. "AR-Net: A simple Auto-Regressive Neural
    Network for time-series", arXiv:1911.12436, 2019.

    Examples
    --------
    >>> from regkit.datasets import make_ar_process
    >>> from regkit.forecasting import ARNetRegressor, make_lag_features
    >>> y = make_ar_process(2000, [0.5, -0.3], random_state=0)
    >>> X_lags, target = make_lag_features(y, n_lags=2)
    >>> model = ARNetRegressor(random_state=0).fit(X_lags, target)
    >>> model.coef_.round(1)
    array([ 0.5, -0.3])
    """

    _parameter_constraints = {**BaseNeuralRegressor._parameter_constraints, **ARNET_CONSTRAINTS}
    # Standard deviations below this are treated as constant inputs (scaled by 1).
    _min_scale = 1e-12

    def __init__(
        self,
        ar_layers=(),
        *,
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

    # ----------------------------------------------------------------- engine
    # Lag-matrix rows are in time order: validate on the most recent ones, as a
    # forecast would be used, instead of on rows interleaved with training rows.
    _validation_rows = "last"
    # Share of the regulariser applied at the current step (see _on_train_step):
    # outside fit (partial_fit, fine-tuning) it is applied in full.
    _ramp = 1.0

    def _training_budget(self, n_train):
        auto_epochs, auto_batch = auto_budget(n_train)
        max_epochs = auto_epochs if self.max_epochs == "auto" else self.max_epochs
        batch_size = auto_batch if self.batch_size == "auto" else min(self.batch_size, n_train)
        return max_epochs, batch_size

    def _on_train_step(self, step, n_steps):
        # lambda grows quadratically over the first reg_ramp share of fit's steps.
        ramp_steps = self.reg_ramp * n_steps
        self._ramp = 1.0 if ramp_steps <= 0 else min(1.0, step / ramp_steps) ** 2

    def _module_spec(self, n_features, n_outputs):
        return (
            *super()._module_spec(n_features, n_outputs),
            _check_ar_layers(self.ar_layers),
            self.activation,
        )

    def _fit_input_encoder(self, X, sample_weight):
        # One pass without n_samples x n_features temporaries (the lag matrix of a
        # long series with many lags is large); float64 keeps E[x^2] - E[x]^2 exact
        # enough for any series whose spread is not 1e-6 of its level.
        w = np.ones(len(X)) if sample_weight is None else sample_weight
        total = w.sum()
        self.x_mean_ = (w @ X) / total
        variance = np.einsum("i,ij,ij->j", w, X, X) / total - self.x_mean_**2
        scale = np.sqrt(np.maximum(variance, 0.0))
        self.x_scale_ = np.where(scale > self._min_scale, scale, 1.0)

    def _fit_encoders(self, X, y, sample_weight):
        super()._fit_encoders(X, y, sample_weight)
        self._least_squares_start = None
        if len(_check_ar_layers(self.ar_layers)) == 0:
            self._least_squares_start = least_squares_start(
                X, self._encode_target(y), sample_weight, self.x_mean_, self.x_scale_
            )

    def _initialize_module(self, module, y, sample_weight):
        # The linear AR-Net starts at the least-squares fit (see Notes); the
        # solution is used once and not kept on the fitted estimator.
        start = self.__dict__.pop("_least_squares_start", None)
        if start is not None:
            weight, bias = start
            with torch.no_grad():
                module[0].weight.copy_(torch.as_tensor(weight, dtype=torch.float32))
                module[0].bias.copy_(torch.as_tensor(bias, dtype=torch.float32))

    def _build_module(self, n_features, n_outputs):
        network = make_mlp(
            n_features,
            _check_ar_layers(self.ar_layers),
            n_outputs=n_outputs,
            activation=self.activation,
        )
        network[0] = _StandardizedLinear(network[0], self.x_mean_, self.x_scale_)
        return network

    def _full_lambda(self):
        sparsity = 1.0 if self.sparsity is None else self.sparsity
        return float(self.c_lambda * (1.0 / sparsity - 1.0))

    @property
    def regularization_strength_(self):
        """The full lambda of the sparsity regulariser (0 without ``sparsity``)."""
        check_is_fitted(self)
        return self._full_lambda()

    def _loss(self, module, X, y, w):
        residual = module(X) - y
        if self.loss == "huber":
            per_row = nn.functional.huber_loss(
                residual, torch.zeros_like(residual), reduction="none", delta=self.huber_delta
            ).mean(dim=1)
        else:
            per_row = torch.square(residual).mean(dim=1)
        loss = weighted_mean(per_row, w)
        lam = self._full_lambda()
        if module.training and lam > 0:
            loss = loss + lam * self._ramp * sparsity_penalty(module[0].weight, self.c1, self.c2)
        return loss

    def _epoch_extras(self, module, X, y):
        if self._full_lambda() <= 0:
            return {}
        with torch.no_grad():
            penalty = sparsity_penalty(module[0].weight, self.c1, self.c2).item()
        return {"regularization": penalty}

    # ------------------------------------------------------------ coefficients
    def _linear_layer(self):
        if not hasattr(self, "module_"):
            raise AttributeError("coef_ is available once the estimator is fitted.")
        if len(tuple(self.ar_layers)) > 0:
            raise AttributeError(
                "coef_ exists only for the linear AR-Net (ar_layers=()); this model has "
                f"hidden layers {tuple(self.ar_layers)}."
            )
        return self.module_[0]

    @property
    def coef_(self):
        """Linear AR-Net weights in data units; ``coef_[..., k-1]`` is lag ``k``."""
        weight = self._linear_layer().weight.detach().cpu().double().numpy()
        coef = weight * self.y_scale_[:, None] / self.x_scale_[None, :]
        return coef[0] if self._y_1d else coef

    @property
    def intercept_(self):
        """Linear AR-Net constant term in data units."""
        bias = self._linear_layer().bias.detach().cpu().double().numpy()
        coef = np.atleast_2d(self.coef_)
        intercept = self.y_mean_ + self.y_scale_ * bias - coef @ self.x_mean_
        return float(intercept[0]) if self._y_1d else intercept
