"""SupReMix: contrastive pretraining for regression, then a probe or fine-tuning."""

from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_array, check_is_fitted, column_or_1d
from torch import nn

from regkit.nn import (
    ENGINE_ATTRIBUTES,
    ENGINE_PARAMETERS,
    BaseNeuralRegressor,
    Linear,
    TensorBatches,
    batch_invariant,
    current_generator,
    make_mlp,
    register_estimator,
    rnc_loss,
    run_epochs,
    supcon_loss,
    supremix_loss,
    weighted_mean,
)
from regkit.regression._augmentation import TABULAR_AUGMENTATIONS, TabularViews, checked_view
from regkit.regression._neural import (
    MLP_CONSTRAINTS,
    MLP_PARAMETERS,
    check_hidden_layer_sizes,
    mlp_spec,
)
from regkit.utils import fill_doc, store_init_params

# The reference codes' temperatures: SupReMix's on AgeDB (also used for SupCon), RNC's.
DEFAULT_TEMPERATURE = {"supremix": 0.5, "supcon": 0.5, "rnc": 2.0}
# "SupCR" is the name for the SupCon-for-regression baseline (not RNC, whose
# paper was first titled "Supervised Contrastive Regression").
LOSS_ALIASES = {"supcr": "supcon"}


class SupReMixNetwork(nn.Module):
    """Encoder, projection head and probe of :class:`SupReMixRegressor`.

    Parameters
    ----------
    n_features, n_outputs : int
        Input and output widths.
    hidden_layer_sizes : tuple of int
        Hidden layers of the encoder, before the embedding layer.
    embedding_size : int
        Width of the embedding (the encoder's last layer, after its activation).
    projection_size : int
        Width of the projection head's output, where the contrastive loss is taken.
    activation : str
        Hidden non-linearity.
    dropout : float
        Dropout after each activation of the encoder.
    """

    def __init__(
        self,
        n_features,
        n_outputs,
        hidden_layer_sizes,
        embedding_size,
        projection_size,
        activation,
        dropout,
    ):
        super().__init__()
        self.encoder = make_mlp(
            n_features,
            (*hidden_layer_sizes, embedding_size),
            activation=activation,
            dropout=dropout,
        )
        self.projection = make_mlp(
            embedding_size, (embedding_size,), n_outputs=projection_size, activation=activation
        )
        self.probe = Linear(embedding_size, n_outputs)

    def project(self, X):
        """Projection-head output of ``X``: what the contrastive loss compares."""
        return self.projection(self.encoder(X))

    def forward(self, X):
        return self.probe(self.encoder(X))


def _check_beta(beta):
    values = tuple(beta)
    if len(values) != 2 or not all(
        isinstance(v, Real) and not isinstance(v, bool) and 0 < v < np.inf for v in values
    ):
        raise ValueError(f"beta must be a pair (a, b) of positive finite numbers, got {beta!r}.")
    return tuple(float(v) for v in values)


@register_estimator
@fill_doc(
    engine_parameters=ENGINE_PARAMETERS,
    engine_attributes=ENGINE_ATTRIBUTES,
    mlp_parameters=MLP_PARAMETERS,
)
class SupReMixRegressor(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseNeuralRegressor):
    """Supervised contrastive regression with mixup-made hard pairs (SupReMix).

    Training has two stages (Wu et al., "Mixup Your Own Pairs", arXiv 2309.16633):

    1. **Pretraining** (``stage="pretrain"`` in ``history_``): an encoder and a
       projection head learn embeddings in which rows are ordered like their
       targets. Each minibatch of ``B`` rows is augmented twice (``augment``),
       the ``2B`` views are projected, and a supervised contrastive loss is
       minimised (``loss``): :func:`~regkit.nn.supremix_loss` contrasts each
       anchor with the other rows, with hard negatives (mixtures of the anchor
       and another row) and hard positives (mixtures of a row below and a row
       above the anchor whose interpolated target is the anchor's), all weighted
       by label distance.
    2. **Probe** (``head="linear"``, ``stage="probe"``): the projection head is
       dropped, the encoder frozen, and a linear layer on the embeddings is
       trained with the squared error; or **fine-tuning** (``head="finetune"``,
       ``stage="finetune"``): encoder and linear layer are trained together.

    ``transform`` returns the embeddings, so the fitted estimator is also a
    feature step in a :class:`~sklearn.pipeline.Pipeline`.

    Targets are standardised by the engine before either stage, so ``window``
    and the label-distance weights are in standard deviations of the training
    targets, the same in every minibatch. The Rank-N-Contrast loss and the
    label-weighted SupCon loss are built in as baselines that share the network,
    augmentations, budget and probe.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(128,)
        Hidden layers of the encoder, before its embedding layer.

    embedding_size : int, default=64
        Width of the embedding, the encoder's last layer (after its activation):
        what the probe and ``transform`` see.

    projection_size : int, default=32
        Output width of the projection head (``embedding_size`` wide hidden
        layer, then this), on which the contrastive loss is taken.

    activation : {"relu", "gelu", "silu", "tanh", "elu", "leaky_relu", "identity"}, \
default="relu"
        Non-linearity after each layer of the encoder and the head's hidden layer.

    dropout : float, default=0.0
        Dropout probability after each activation of the encoder (while the
        encoder trains).

    loss : {"supremix", "rnc", "supcon", "supcr"}, default="supremix"
        Contrastive loss of the pretraining stage: SupReMix
        (:func:`~regkit.nn.supremix_loss`), Rank-N-Contrast
        (:func:`~regkit.nn.rnc_loss`, on raw projections, not normalised), or
        the label-weighted SupCon loss (:func:`~regkit.nn.supcon_loss`, SupReMix
        without mixtures). ``"supcr"`` is an alias of ``"supcon"``, the issue's
        name for this baseline; note that the RNC paper was first titled
        "Supervised Contrastive Regression" (SupCR).

    head : {"linear", "finetune"}, default="linear"
        Second stage: a linear probe on the frozen encoder, or fine-tuning of
        encoder and linear layer together.

    temperature : float or None, default=None
        Temperature of the contrastive loss; None uses the reference codes'
        values, 0.5 for SupReMix and SupCon and 2.0 for RNC.

    window : float, default=0.5
        Half-width of the hard-positive window of SupReMix, in standard
        deviations of the training targets (the reference's 5 years on AgeDB
        is about 0.3).

    beta : tuple of (float, float), default=(2.0, 8.0)
        Parameters of the Beta law of the anchor's share in a hard negative of
        SupReMix (what the reference code draws).

    distance : {"l1", "l2"} or None, default="l1"
        Label-distance weighting of SupReMix and SupCon: weights
        ``1 + |u_a - u_i|`` or ``1 + (u_a - u_i)^2`` in standardised targets;
        None weights every term 1.

    n_positive_mixtures : int, default=32
        Hard positives of SupReMix drawn per anchor; 0 turns them off.

    augment : {"gaussian", "feature_dropout", "gaussian+feature_dropout"}, \
callable or None, default="gaussian+feature_dropout"
        How the two views of a row are made. ``"gaussian"`` adds Gaussian noise
        of ``augment_noise`` training standard deviations to each feature;
        ``"feature_dropout"`` replaces each feature, with probability
        ``augment_dropout``, by its training mean; the default does both. A
        callable ``augment(X_batch, generator) -> view`` receives a float32
        tensor of shape ``(B, n_features)`` on the training device and must
        return a floating-point tensor of the same shape and device, drawing any
        randomness from ``generator`` (a :class:`torch.Generator`), so that fits
        stay reproducible. None uses the rows themselves (the two views are
        equal).

    augment_noise : float, default=0.1
        Noise standard deviation of ``"gaussian"``, in feature standard
        deviations.

    augment_dropout : float, default=0.1
        Probability of ``"feature_dropout"`` replacing a feature.

    pretrain_epochs : int, default=100
        Epochs of contrastive pretraining (all of them run: there is no stopping
        rule for this stage); 0 skips it.

    pretrain_learning_rate : float, default=1e-3
        Step size of the pretraining stage.

    {engine_parameters}

    Attributes
    ----------
    {engine_attributes}

        Records of both stages share ``history_``: ``stage`` is ``"pretrain"``,
        then ``"probe"`` or ``"finetune"``, and epochs are numbered on across
        the stages (``train_loss`` is the contrastive loss in pretraining, the
        squared error of the standardised targets afterwards).

    y_mean_, y_scale_ : ndarray of shape (1,)
        Mean and standard deviation used to standardise the target.

    feature_mean_, feature_scale_ : ndarray of shape (`n_features_in_`,)
        Training means and standard deviations of the features (0 for a
        constant feature), the scales of the built-in augmentations.

    See Also
    --------
    regkit.nn.supremix_loss : The pretraining loss, for any encoder.
    regkit.regression.NeuralRegressor : The same encoder trained with MSE alone.

    Notes
    -----
    ``max_epochs``, ``learning_rate`` and the stopping rule (``n_iter_no_change``,
    ``tol``, ``early_stopping``) apply to the second stage; ``batch_size``,
    ``optimizer``, ``weight_decay`` and ``lr_schedule`` to both. With early
    stopping, the validation rows take part in neither stage. In pretraining a
    row's ``sample_weight`` weights its terms as an anchor, and rows of weight 0
    are left out altogether; the second stage weights the squared error.

    ``partial_fit`` runs one epoch of the second stage only (no pretraining):
    after ``fit`` it continues the probe (or the fine-tuning); from scratch, a
    linear probe is trained on the untrained encoder.

    Only a single target is supported: the contrastive losses compare scalar
    labels.

    Deviations from the reference code, besides those of the losses (listed in
    :func:`~regkit.nn.supremix_loss`):

    - the network is a multilayer perceptron for tabular data, with tabular
      augmentations (noise and feature dropout), where the reference trains a
      ResNet-50 on images with image augmentations;
    - the projection head has no batch normalisation (regkit's networks compute
      each row's output independently of the batch);
    - ``window`` and the label weights are in standard deviations of the
      training targets, not in raw units;
    - the probe is trained by the engine (Adam at ``learning_rate``, the batch
      size and stopping rule of the estimator) instead of with Adam at 0.1 with
      batch 16 and step decays;
    - pretraining runs at a constant ``pretrain_learning_rate`` (or
      ``lr_schedule``) instead of dividing it by 10 at epoch 80.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from regkit.regression import SupReMixRegressor
    >>> X, y = make_regression(n_samples=300, n_features=5, noise=1.0, random_state=0)
    >>> model = SupReMixRegressor((32,), embedding_size=16, pretrain_epochs=10,
    ...                           pretrain_learning_rate=1e-2, max_epochs=100,
    ...                           learning_rate=1e-2, n_iter_no_change=None, random_state=0)
    >>> model.fit(X, y).score(X, y) > 0.9
    True
    >>> model.transform(X[:3]).shape
    (3, 16)
    >>> model.get_feature_names_out()[:2].tolist()
    ['supremixregressor0', 'supremixregressor1']
    >>> sorted({record["stage"] for record in model.history_})
    ['pretrain', 'probe']
    """

    _parameter_constraints = {
        **BaseNeuralRegressor._parameter_constraints,
        **MLP_CONSTRAINTS,
        "embedding_size": [Interval(Integral, 1, None, closed="left")],
        "projection_size": [Interval(Integral, 1, None, closed="left")],
        "loss": [StrOptions({*DEFAULT_TEMPERATURE, *LOSS_ALIASES})],
        "head": [StrOptions({"linear", "finetune"})],
        "temperature": [Interval(Real, 0, None, closed="neither"), None],
        "window": [Interval(Real, 0, None, closed="neither")],
        "beta": [tuple, list],
        "distance": [StrOptions({"l1", "l2"}), None],
        "n_positive_mixtures": [Interval(Integral, 0, None, closed="left")],
        "augment": [StrOptions(set(TABULAR_AUGMENTATIONS)), callable, None],
        "augment_noise": [Interval(Real, 0, None, closed="left")],
        "augment_dropout": [Interval(Real, 0, 1, closed="left")],
        "pretrain_epochs": [Interval(Integral, 0, None, closed="left")],
        "pretrain_learning_rate": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(
        self,
        hidden_layer_sizes=(128,),
        *,
        embedding_size=64,
        projection_size=32,
        activation="relu",
        dropout=0.0,
        loss="supremix",
        head="linear",
        temperature=None,
        window=0.5,
        beta=(2.0, 8.0),
        distance="l1",
        n_positive_mixtures=32,
        augment="gaussian+feature_dropout",
        augment_noise=0.1,
        augment_dropout=0.1,
        pretrain_epochs=100,
        pretrain_learning_rate=1e-3,
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

    # ---------------------------------------------------------------- network
    def _build_module(self, n_features, n_outputs):
        module = SupReMixNetwork(
            n_features,
            n_outputs,
            check_hidden_layer_sizes(self.hidden_layer_sizes),
            self.embedding_size,
            self.projection_size,
            self.activation,
            self.dropout,
        )
        self._freeze_for_head(module)
        return module

    def _module_spec(self, n_features, n_outputs):
        return (
            *super()._module_spec(n_features, n_outputs),
            *mlp_spec(self),
            int(self.embedding_size),
            int(self.projection_size),
        )

    def _freeze_for_head(self, module):
        """Leave trainable what the supervised stage trains: the encoder only when fine-tuning.

        ``partial_fit``, ``fine_tune`` and a loaded model then train what ``fit``'s
        second stage trains.
        """
        module.encoder.requires_grad_(self.head == "finetune")

    @property
    def _n_features_out(self):
        # Read from the network (NotFittedError, an AttributeError, before fit), not
        # from embedding_size, which set_params may have changed since.
        check_is_fitted(self, "module_")
        return self.module_.probe.in_features

    # ------------------------------------------------------------------ data
    def _validate_training_data(self, X, y, sample_weight, reset):
        # A single target (the contrastive losses compare scalar labels); a column
        # vector is accepted with scikit-learn's DataConversionWarning.
        if y is not None:
            y = check_array(y, ensure_2d=False, dtype=None, ensure_all_finite=False, input_name="y")
            if y.ndim == 2 and y.shape[1] != 1:
                raise ValueError(
                    f"{type(self).__name__} supports a single target (its contrastive losses "
                    f"compare scalar labels); y has {y.shape[1]} columns."
                )
            y = column_or_1d(y, warn=True)
        return super()._validate_training_data(X, y, sample_weight, reset)

    def _fit_input_encoder(self, X, sample_weight):
        # The scales of the built-in augmentations (float64; X is finite and
        # within float32's range, so squares cannot overflow).
        self.feature_mean_ = np.average(X, axis=0, weights=sample_weight)
        self.feature_scale_ = np.sqrt(
            np.average((X - self.feature_mean_) ** 2, axis=0, weights=sample_weight)
        )

    # ---------------------------------------------------------------- losses
    def _loss(self, module, X, y, w):
        return weighted_mean(torch.square(module(X) - y).mean(dim=1), w)

    def _contrastive_objective(self):
        """The pretraining loss as ``objective(z, y, w, generator) -> scalar``."""
        name = LOSS_ALIASES.get(self.loss, self.loss)
        temperature = DEFAULT_TEMPERATURE[name] if self.temperature is None else self.temperature
        if name == "rnc":
            return lambda z, y, w, g: rnc_loss(z, y, temperature=temperature, sample_weight=w)
        # Targets are standardised already: a fixed scale keeps the units of the
        # window and the weights the same in every minibatch.
        options = {"temperature": temperature, "distance": self.distance, "target_scale": 1.0}
        if name == "supcon":
            return lambda z, y, w, g: supcon_loss(z, y, sample_weight=w, **options)
        options.update(
            window=self.window,
            beta=_check_beta(self.beta),
            n_positive_mixtures=self.n_positive_mixtures,
        )
        return lambda z, y, w, g: supremix_loss(z, y, sample_weight=w, generator=g, **options)

    def _augmentation(self, device):
        if callable(self.augment):
            return self.augment
        if self.augment is None:
            return lambda X, generator: X
        noise, dropout = TABULAR_AUGMENTATIONS[self.augment]
        mean, scale = (
            torch.as_tensor(a, dtype=torch.float32, device=device)
            for a in (self.feature_mean_, self.feature_scale_)
        )
        return TabularViews(
            mean,
            scale,
            self.augment_noise if noise else 0.0,
            self.augment_dropout if dropout else 0.0,
        )

    def _pretraining_loss(self, device):
        """``loss(module, X, y, w)`` of a minibatch: two views, one contrastive loss."""
        objective, augment = self._contrastive_objective(), self._augmentation(device)

        def loss(module, X, y, w):
            generator = current_generator(X.device)
            views = torch.cat([checked_view(augment, X, generator) for _ in range(2)])
            return objective(
                module.project(views),
                torch.cat([y, y]),
                None if w is None else torch.cat([w, w]),
                generator,
            )

        return loss

    # ---------------------------------------------------------------- stages
    def _train(self, data):
        _, batch_size = self._training_budget(len(data.X))
        loss = self._pretraining_loss(data.X.device)  # validates the loss settings first
        module = self.module_
        if self.pretrain_epochs > 0:
            rows = slice(None) if data.sample_weight is None else data.sample_weight > 0
            batches = TensorBatches(
                data.X[rows],
                data.y[rows],
                None if data.sample_weight is None else data.sample_weight[rows],
                batch_size=batch_size,
            )
            module.encoder.requires_grad_(True)
            module.probe.requires_grad_(False)
            try:
                run_epochs(
                    self,
                    module,
                    loss,
                    batches,
                    generator=data.generator,
                    stage="pretrain",
                    max_epochs=self.pretrain_epochs,
                    learning_rate=self.pretrain_learning_rate,
                    n_iter_no_change=None,
                )
            finally:
                module.probe.requires_grad_(True)
                self._freeze_for_head(module)
        module.zero_grad(set_to_none=True)
        self._train_head(data, batch_size)

    def _train_head(self, data, batch_size):
        """The supervised stage: squared error through the probe (and the encoder)."""
        validation = None
        if data.X_valid is not None:

            def validation(module):
                return self._evaluate_loss(
                    module, data.X_valid, data.y_valid, data.sample_weight_valid, batch_size
                )

        module = self.module_
        run_epochs(
            self,
            module,
            self._loss,
            TensorBatches(data.X, data.y, data.sample_weight, batch_size=batch_size),
            generator=data.generator,
            params=[
                p
                for part in (module.encoder, module.probe)
                for p in part.parameters()
                if p.requires_grad
            ],
            validation=validation,
            check=self._output_check(data.X, data.y),
            stage="probe" if self.head == "linear" else "finetune",
            max_epochs=self.max_epochs,
        )

    # ------------------------------------------------------------- estimator
    def partial_fit(self, X, y, sample_weight=None):
        """Train the second stage for one epoch on the given rows (no pretraining).

        After ``fit``, continues the probe (``head="linear"``) or the fine-tuning;
        from scratch, the first call builds the network, and a linear probe trains
        on the untrained encoder. See :meth:`BaseNeuralRegressor.partial_fit
        <regkit.nn.BaseNeuralRegressor.partial_fit>`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs.
        y : array-like of shape (n_samples,)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows in the loss.

        Returns
        -------
        self : object
            The estimator.
        """
        if hasattr(self, "module_"):  # head may have been changed by set_params
            self._freeze_for_head(self.module_)
        return super().partial_fit(X, y, sample_weight)

    def transform(self, X):
        """Embeddings of ``X``: the encoder's output, as the probe sees it.

        Each row's embedding depends on that row only, bit for bit, as
        predictions do (see :func:`~regkit.nn.batch_invariant`).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        embeddings : ndarray of shape (n_samples, embedding_size)
            Float64 embeddings.
        """
        X = self._check_predict_input(X)
        with torch.no_grad(), batch_invariant():
            parts = [self.module_.encoder(chunk) for _, chunk in self._eval_chunks(X)]
        return torch.cat(parts).to(torch.float64).cpu().numpy()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = False
        tags.target_tags.single_output = True
        return tags
