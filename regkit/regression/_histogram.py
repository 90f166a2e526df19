"""Regression as classification over target bins: HL-Gauss, two-hot, one-hot."""

import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, StrOptions

from regkit.nn import (
    ENGINE_ATTRIBUTES,
    ENGINE_PARAMETERS,
    BaseNeuralRegressor,
    invariant,
    make_mlp,
    register_estimator,
    weighted_mean,
)
from regkit.regression._histogram_encoding import (
    histogram_quantiles,
    hl_gauss_encode,
    one_hot_encode,
    padded_support,
    two_hot_encode,
)
from regkit.regression._neural import (
    MLP_CONSTRAINTS,
    MLP_PARAMETERS,
    check_hidden_layer_sizes,
    mlp_spec,
)
from regkit.utils import fill_doc, store_init_params

# HL-Gauss with support="auto" keeps this many standard deviations of the Gaussian
# inside the support beyond the extreme targets (Imani et al., 2024 pad by 4 sigma):
# the truncated mass is then Phi(-4) ~ 3e-5 and the edge bias ~ 1e-4 bin widths.
_HL_GAUSS_PAD_SIGMAS = 4.0
_PRIOR_UNIFORM_SHARE = 0.05


def _check_support(support):
    if isinstance(support, str):
        return None
    try:
        vmin, vmax = (float(v) for v in support)
    except (TypeError, ValueError):
        raise ValueError(
            f"support must be 'auto' or a pair (vmin, vmax), got {support!r}."
        ) from None
    if not (np.isfinite(vmin) and np.isfinite(vmax) and vmin < vmax):
        raise ValueError(
            f"support must be 'auto' or a pair of finite numbers vmin < vmax, got {support!r}."
        )
    return vmin, vmax


@register_estimator
@fill_doc(
    engine_parameters=ENGINE_PARAMETERS,
    engine_attributes=ENGINE_ATTRIBUTES,
    mlp_parameters=MLP_PARAMETERS,
)
class HistogramRegressor(BaseNeuralRegressor):
    """Neural regressor trained by cross-entropy against a histogram of the target.

    The target range is cut into ``n_bins`` equal bins; the network outputs one
    logit per bin (per output), trained with cross-entropy against a target
    histogram instead of with squared error (Imani & White, 2018; Farebrother et
    al., 2024, "Stop Regressing"). ``predict`` returns the mean of the predicted
    histogram; :meth:`predict_distribution`, :meth:`predict_quantiles` and
    :meth:`predict_interval` expose the whole predictive distribution, which an
    MSE-trained model does not have.

    Target encodings, for a target ``y`` and bin edges ``e_0 < ... < e_m``:

    - ``"hl_gauss"``: bin masses of ``Normal(y, sigma**2)`` truncated to the
      support and renormalised, ``sigma = sigma_ratio * bin width``;
    - ``"two_hot"``: ``y`` shared between its two neighbouring bin centres (the
      histogram's mean is exactly ``y``);
    - ``"one_hot"``: the bin holding ``y`` (plain classification).

    Parameters
    ----------
    {mlp_parameters}

    target_encoding : {"hl_gauss", "two_hot", "one_hot"}, default="hl_gauss"
        How a target becomes the histogram the network is trained to predict.

    n_bins : int, default=50
        Number of bins per output. Imani & White (2018) use 100; with the default
        ``sigma_ratio``, 50 smooths more (see ``sigma_ratio``), which gave lower
        RMSE in ``benchmarks/bench_histogram.py``.

    sigma_ratio : float, default=0.75
        HL-Gauss only: the Gaussian's standard deviation over the bin width. 0.75
        is the value attributed to Farebrother et al. (2024) and used by several
        implementations (about 6 bins receive mass); Imani & White (2018) use 1,
        Imani et al. (2024) and ``hl-gauss-pytorch`` 2. What matters is the
        absolute ``sigma`` (``sigma_``), set by ``sigma_ratio`` and ``n_bins``
        together: with the ``"auto"`` support, 0.75 with 50 bins and 1.5 with 100
        bins give the same ``sigma``, 1/59 of the targets' range. On randhie, fair
        and Friedman #1 (3 seeds, medians; MSE network 4.244 / 2.073 / 1.120 RMSE)
        that ``sigma`` gave 4.235 / 2.066 / 1.103 with 50 bins and 4.240 / 2.067 /
        1.105 with 100; half of it (0.75 with 100 bins) lost on Friedman #1
        (1.126), twice it (1.5 with 50 bins) gained little more (4.231 / 2.065 /
        1.102) but its de-blurred 90% intervals covered 87% there, against 95 /
        95 / 89% for the default. Larger ``sigma`` smooths the targets more and
        blurs the predicted distribution more; :meth:`predict_quantiles` removes
        the blur.

    support : "auto" or tuple (vmin, vmax), default="auto"
        Range covered by the bins. ``"auto"`` takes the training targets' range
        and pads it, so that the extreme targets decode without bias: by half a
        bin for two-hot and one-hot (the extremes fall on bin centres), by 4
        standard deviations for HL-Gauss (the Gaussian is not truncated). A pair
        ``(vmin, vmax)`` is used as given, for every output. Targets outside the
        support are clipped to it, with a warning for a given support (with
        ``"auto"`` only early-stopping validation rows can lie outside).

    backbone : callable or None, default=None
        ``None`` builds the multilayer perceptron of
        :class:`~regkit.regression.NeuralRegressor` from ``hidden_layer_sizes``,
        ``activation`` and ``dropout``. Otherwise a factory
        ``backbone(n_features, n_logits)`` returning a :class:`torch.nn.Module`
        that maps ``(batch, n_features)`` inputs to ``(batch, n_logits)`` logits,
        with ``n_logits = n_outputs * n_bins`` (output-major). An estimator with a
        custom backbone pickles (if the factory does) but cannot be ``save``-d.
        The default network's output bias starts at the log of the training
        targets' marginal histogram (mixed with 5% uniform mass), so that it starts
        by predicting the marginal distribution, as an MSE model on standardised
        targets starts near their mean; a custom backbone keeps its own
        initialisation.

    {engine_parameters}

    Attributes
    ----------
    {engine_attributes}

    bin_edges_ : ndarray of shape (n_outputs, n_bins + 1)
        Bin edges of each output's histogram, in the units of ``y``.

    sigma_ : ndarray of shape (n_outputs,)
        HL-Gauss standard deviation of each output (NaN for the other encodings).

    See Also
    --------
    NeuralRegressor : The same network trained with mean squared error.

    Notes
    -----
    Deviations from the published pseudocode: bin centres are
    ``(e[i-1] + e[i]) / 2`` (the appendix code of Farebrother et al. has a sign
    error); targets are clipped to the support before encoding, so the loss stays
    finite however far out a target lies (the unclipped normaliser underflows to 0
    and the loss becomes NaN); and the ``"auto"`` support is padded so that the
    targets at the edges are not biased inwards. An addition: with HL-Gauss the
    network learns the target's distribution convolved with
    ``Normal(0, sigma_**2)``, whose quantiles over-cover; :meth:`predict_quantiles` and
    :meth:`predict_interval` de-blur them (``deblur=True``) by a location-scale
    correction (see :func:`histogram_quantiles`), while
    :meth:`predict_distribution` returns the blurred histogram as predicted.
    The encoded targets of the training set are held in memory
    (``n_samples * n_outputs * n_bins`` floats).

    References
    ----------
    Imani, E. and White, M. (2018). Improving regression performance with
    distributional losses. ICML.

    Farebrother, J. et al. (2024). Stop regressing: training value functions via
    classification for scalable deep RL. ICML.

    Imani, E., Luedemann, K., Scholnick-Hughes, S., Elelimy, E. and White, M.
    (2024). Investigating the histogram loss in regression. arXiv:2402.13425.

    Examples
    --------
    >>> import numpy as np
    >>> from regkit.regression import HistogramRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(-2, 2, size=(300, 1))
    >>> y = np.sin(2 * X[:, 0]) + 0.1 * rng.standard_normal(300)
    >>> model = HistogramRegressor(
    ...     hidden_layer_sizes=(32,), n_bins=30, max_epochs=60, learning_rate=1e-2,
    ...     random_state=0,
    ... ).fit(X, y)
    >>> model.score(X, y) > 0.9
    True
    >>> model.predict_interval(X[:2], coverage=0.9).shape
    (2, 2)
    """

    _parameter_constraints = {
        **BaseNeuralRegressor._parameter_constraints,
        **MLP_CONSTRAINTS,
        "target_encoding": [StrOptions({"hl_gauss", "two_hot", "one_hot"})],
        "n_bins": [Interval(Integral, 2, None, closed="left")],
        "sigma_ratio": [Interval(Real, 0, None, closed="neither")],
        "support": [StrOptions({"auto"}), tuple, list],
        "backbone": [callable, None],
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        *,
        activation="relu",
        dropout=0.0,
        target_encoding="hl_gauss",
        n_bins=50,
        sigma_ratio=0.75,
        support="auto",
        backbone=None,
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

    # ---------------------------------------------------------------- hooks
    def _build_module(self, n_features, n_outputs):
        n_logits = n_outputs * self.n_bins
        if self.backbone is not None:
            module = self.backbone(n_features, n_logits)
            if not isinstance(module, torch.nn.Module):
                raise TypeError(
                    "backbone must return a torch.nn.Module, got "
                    f"{type(module).__name__} from backbone({n_features}, {n_logits})."
                )
            return module
        return make_mlp(
            n_features,
            check_hidden_layer_sizes(self.hidden_layer_sizes),
            n_outputs=n_logits,
            activation=self.activation,
            dropout=self.dropout,
        )

    def _module_spec(self, n_features, n_outputs):
        # A warm start must also keep the number of bins the network was built for.
        architecture = mlp_spec(self) if self.backbone is None else ("backbone",)
        return (*super()._module_spec(n_features, n_outputs), self.n_bins, *architecture)

    def _initialize_module(self, module, y, sample_weight):
        # Start from the marginal histogram of the training targets, as an MSE model
        # on standardised targets starts near their mean: a uniform start predicts
        # the middle of the support, far from a skewed target's mass. A custom
        # backbone keeps its own initialisation.
        if self.backbone is not None:
            return
        if sample_weight is not None and not np.sum(sample_weight) > 0:
            sample_weight = None
        marginal = np.average(y, axis=0, weights=sample_weight)
        # A little uniform mass keeps every logit finite and every bin reachable.
        mixed = (1 - _PRIOR_UNIFORM_SHARE) * marginal + _PRIOR_UNIFORM_SHARE / self.n_bins
        with torch.no_grad():
            module[-1].bias.copy_(torch.as_tensor(np.log(mixed), dtype=torch.float32))

    def _pad_bins(self):
        if self.target_encoding == "hl_gauss":
            return _HL_GAUSS_PAD_SIGMAS * self.sigma_ratio
        return 0.5

    def _fit_target_encoder(self, y, sample_weight):
        support = _check_support(self.support)
        if support is None:
            # Rows with weight 0 must not stretch the bins.
            rows = (
                y
                if sample_weight is None or not np.any(sample_weight > 0)
                else y[sample_weight > 0]
            )
            supports = [
                padded_support(lo, hi, self.n_bins, self._pad_bins())
                for lo, hi in zip(rows.min(axis=0), rows.max(axis=0))
            ]
        else:
            supports = [support] * y.shape[1]
        self.bin_edges_ = np.array([np.linspace(lo, hi, self.n_bins + 1) for lo, hi in supports])
        width = self.bin_edges_[:, 1] - self.bin_edges_[:, 0]
        self.sigma_ = (
            self.sigma_ratio * width
            if self.target_encoding == "hl_gauss"
            else np.full(y.shape[1], np.nan)
        )

    def _encode_target(self, y):
        lower, upper = self.bin_edges_[:, 0], self.bin_edges_[:, -1]
        outside = (y < lower) | (y > upper)
        # An "auto" support holds every training target, so only early-stopping
        # validation rows can fall outside it; they enter the validation loss only.
        if outside.any() and not isinstance(self.support, str):
            warnings.warn(
                f"{int(outside.sum())} target value(s) lie outside the support "
                f"{[(float(a), float(b)) for a, b in zip(lower, upper)]} and were clipped "
                "to it; widen `support` to keep them.",
                UserWarning,
                stacklevel=4,
            )
        columns = []
        for j, edges in enumerate(self.bin_edges_):
            if self.target_encoding == "hl_gauss":
                columns.append(hl_gauss_encode(y[:, j], edges, self.sigma_[j]))
            elif self.target_encoding == "two_hot":
                columns.append(two_hot_encode(y[:, j], edges))
            else:
                columns.append(one_hot_encode(y[:, j], edges))
        return np.concatenate(columns, axis=1)

    def _logits(self, module, X):
        return module(X).reshape(len(X), self.n_outputs_, self.bin_edges_.shape[1] - 1)

    def _loss(self, module, X, y, w):
        log_p = torch.log_softmax(self._logits(module, X), dim=-1)
        target = y.reshape(log_p.shape)
        cross_entropy = -(target * log_p).sum(dim=-1).mean(dim=1)
        return weighted_mean(cross_entropy, w)

    def _probabilities(self, output):
        """Predicted histograms (float64, batch-invariant) from the network's logits."""
        logits = output.to(torch.float64).reshape(len(output), *self.bin_edges_[:, 1:].shape)
        return invariant.softmax(logits)

    def _decode(self, output):
        edges = self.bin_edges_
        centers = torch.as_tensor(
            (edges[:, :-1] + edges[:, 1:]) / 2, dtype=torch.float64, device=output.device
        )
        return invariant.tree_sum(self._probabilities(output) * centers)

    # ---------------------------------------------------- distribution API
    @torch.no_grad()
    def _predict_probabilities(self, X):
        X = self._check_predict_input(X)
        return self._probabilities(self._forward(X)).cpu().numpy()

    def predict_distribution(self, X):
        """Predicted histogram of the target for each row of ``X``.

        This is the network's output as trained: with HL-Gauss targets it estimates
        the target's conditional distribution blurred by ``Normal(0, sigma_**2)``
        (the encoding's Gaussian), hence wider than the target's own by about
        ``sigma_``. :meth:`predict_quantiles` and :meth:`predict_interval` remove
        that blur by default.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        bin_edges : ndarray of shape (n_bins + 1,) or (n_outputs, n_bins + 1)
            Bin edges, in the units of ``y`` (one row per output for a 2-D ``y``).
        probabilities : ndarray of shape (n_samples, n_bins) or \
(n_samples, n_outputs, n_bins)
            Probability of each bin; the last axis sums to 1.
        """
        probabilities = self._predict_probabilities(X)
        if self._y_1d:
            return self.bin_edges_[0].copy(), probabilities[:, 0]
        return self.bin_edges_.copy(), probabilities

    def predict_quantiles(self, X, q, deblur=True):
        """Quantiles of the predicted distribution (mass spread evenly within bins).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.
        q : float or array-like of shape (n_quantiles,)
            Quantile levels in ``[0, 1]``.
        deblur : bool, default=True
            HL-Gauss only: remove the encoding's Gaussian blur from the predicted
            histogram, whose variance exceeds the target's by ``sigma_**2``. The
            quantiles are moved towards the predicted mean by the location-scale
            factor of :func:`histogram_quantiles` (exact for Gaussian noise). With
            ``False`` they are the quantiles of :meth:`predict_distribution`'s
            histogram, which over-cover. Two-hot and one-hot have no blur.

        Returns
        -------
        quantiles : ndarray
            Shaped like ``predict(X)`` for a scalar ``q``, with a trailing axis of
            length ``n_quantiles`` otherwise. Non-decreasing in ``q``.
        """
        q_array = np.asarray(q, dtype=np.float64)
        if q_array.ndim > 1 or not np.all((q_array >= 0) & (q_array <= 1)):
            raise ValueError(f"q must be a level or a 1-D array of levels in [0, 1], got {q!r}.")
        if not isinstance(deblur, (bool, np.bool_)):
            raise TypeError(f"deblur must be a bool, got {deblur!r}.")
        probabilities = self._predict_probabilities(X)
        blur = self.sigma_ if deblur and self.target_encoding == "hl_gauss" else None
        quantiles = np.stack(
            [
                histogram_quantiles(
                    probabilities[:, j],
                    edges,
                    np.atleast_1d(q_array),
                    blur_sigma=0.0 if blur is None else float(blur[j]),
                )
                for j, edges in enumerate(self.bin_edges_)
            ],
            axis=1,
        )
        if self._y_1d:
            quantiles = quantiles[:, 0]
        return quantiles[..., 0] if q_array.ndim == 0 else quantiles

    def predict_interval(self, X, coverage=0.9, deblur=True):
        """Central prediction interval of the predicted distribution.

        The ends are the ``(1 - coverage) / 2`` and ``(1 + coverage) / 2`` quantiles
        of :meth:`predict_quantiles`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.
        coverage : float, default=0.9
            Probability mass of the interval, in ``(0, 1)``.
        deblur : bool, default=True
            HL-Gauss only: remove the encoding's Gaussian blur (see
            :meth:`predict_quantiles`); ``False`` gives the wider interval of the
            blurred histogram.

        Returns
        -------
        interval : ndarray of shape (n_samples, 2) or (n_samples, n_outputs, 2)
            Lower and upper ends on the last axis.
        """
        if not (isinstance(coverage, Real) and 0 < coverage < 1):
            raise ValueError(f"coverage must be a number in (0, 1), got {coverage!r}.")
        return self.predict_quantiles(X, [(1 - coverage) / 2, (1 + coverage) / 2], deblur=deblur)
