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
from regkit.regression._histogram_calibration import (
    calibrated_interval,
    conformal_half_width,
    conformity_scores,
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
    MSE-trained model does not have; :meth:`predict_interval` is calibrated on
    rows held out of training (``calibration_fraction``).

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
        1.102) but its own (uncalibrated) de-blurred 90% intervals covered 87% there, against 95 /
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

    calibration_fraction : float in (0, 1) or None, default=0.1
        Share of the rows held out of training to calibrate
        :meth:`predict_interval` by split-conformal prediction, so that its
        intervals hold their coverage on unseen rows even when the network
        over-fits (its own histogram is then too narrow). With
        ``early_stopping=True`` the early-stopping validation rows calibrate
        instead and no further row is held out. ``None`` trains on every row
        (every non-validation row) and leaves the intervals uncalibrated.

    {engine_parameters}

    Attributes
    ----------
    {engine_attributes}

    bin_edges_ : ndarray of shape (n_outputs, n_bins + 1)
        Bin edges of each output's histogram, in the units of ``y``.

    sigma_ : ndarray of shape (n_outputs,)
        HL-Gauss standard deviation of each output (NaN for the other encodings).

    target_range_ : ndarray of shape (n_outputs, 2)
        Range of each output that intervals stay in: the training targets' range
        with ``support="auto"``, the support otherwise.

    calibration_scores_ : ndarray of shape (n_calibration, n_outputs, 2) or None
        Conformity scores of the held-out rows with positive weight, for the
        de-blurred and the blurred histogram (last axis); None without
        calibration.

    calibration_weights_ : ndarray of shape (n_calibration,) or None
        Their sample weights (ones without ``sample_weight``).

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

    Calibration. A network trained to low cross-entropy on its training rows
    predicts histograms narrower than the spread on unseen rows, so their
    quantiles under-cover (81% for a nominal 90% on a large real data set at the
    default budget). :meth:`predict_interval` is therefore calibrated by
    split-conformal prediction on held-out rows (``calibration_fraction``, or the
    early-stopping validation rows): the conformity score of a held-out row is
    ``|F(y) - 1/2|``, ``F`` its predicted (de-blurred) distribution function
    (distributional conformal prediction, Chernozhukov et al., 2021), adjusted at
    the edges of the target range so that it is exactly the smallest interval of
    the family that holds ``y`` (nested conformal prediction, Gupta et al., 2022).
    It was chosen over conformalised quantile regression (an additive shift of
    fixed quantiles, Romano et al., 2019) and over temperature scaling: it
    calibrates every coverage level from one vector of scores, rescales the
    interval with the predicted spread (heteroscedastic targets keep adaptive
    widths), keeps ends inside the target range and a point mass at its edge
    (exact zeros) a point mass, and has the finite-sample guarantee that
    temperature scaling lacks. With early stopping the validation rows both
    choose the epoch and calibrate; that reuse is slightly optimistic in theory.

    References
    ----------
    Imani, E. and White, M. (2018). Improving regression performance with
    distributional losses. ICML.

    Farebrother, J. et al. (2024). Stop regressing: training value functions via
    classification for scalable deep RL. ICML.

    Imani, E., Luedemann, K., Scholnick-Hughes, S., Elelimy, E. and White, M.
    (2024). Investigating the histogram loss in regression. arXiv:2402.13425.

    Chernozhukov, V., Wuthrich, K. and Zhu, Y. (2021). Distributional conformal
    prediction. PNAS 118(48).

    Gupta, C., Kuchibhotla, A. K. and Ramdas, A. (2022). Nested conformal
    prediction and quantile out-of-bag ensemble methods. Pattern Recognition 127.

    Examples
    --------
    >>> import numpy as np
    >>> from regkit.regression import HistogramRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(-2, 2, size=(600, 1))
    >>> y = np.sin(2 * X[:, 0]) + 0.1 * rng.standard_normal(600)
    >>> model = HistogramRegressor(
    ...     hidden_layer_sizes=(32,), n_bins=30, max_epochs=60, learning_rate=1e-2,
    ...     random_state=0,
    ... ).fit(X[:400], y[:400])
    >>> model.score(X[400:], y[400:]) > 0.9
    True
    >>> lower, upper = model.predict_interval(X[400:], coverage=0.9).T
    >>> covered = np.mean((lower <= y[400:]) & (y[400:] <= upper))  # 0.915
    >>> bool(0.85 < covered < 0.95)
    True
    """

    _parameter_constraints = {
        **BaseNeuralRegressor._parameter_constraints,
        **MLP_CONSTRAINTS,
        "target_encoding": [StrOptions({"hl_gauss", "two_hot", "one_hot"})],
        "n_bins": [Interval(Integral, 2, None, closed="left")],
        "sigma_ratio": [Interval(Real, 0, None, closed="neither")],
        "support": [StrOptions({"auto"}), tuple, list],
        "backbone": [callable, None],
        "calibration_fraction": [Interval(Real, 0, 1, closed="neither"), None],
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
        calibration_fraction=0.1,
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
            self.target_range_ = np.column_stack([rows.min(axis=0), rows.max(axis=0)])
        else:
            supports = [support] * y.shape[1]
            self.target_range_ = np.array(supports, dtype=np.float64)
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

    # ---------------------------------------------------------- calibration
    def _split(self, n_samples, sample_weight, generator):
        train, valid = super()._split(n_samples, sample_weight, generator)
        # Early stopping's validation rows calibrate too; otherwise hold rows out.
        if valid is not None or self.calibration_fraction is None:
            return train, valid
        n_held = int(np.ceil(self.calibration_fraction * n_samples))
        if n_samples - n_held < 1:  # a single row trains; no row is left to calibrate
            return train, None
        perm = torch.randperm(n_samples, generator=generator).numpy()
        train = np.sort(perm[n_held:])
        if sample_weight is not None and not sample_weight[train].sum() > 0:
            raise ValueError(
                "every training row has sample_weight 0, so the training loss is undefined; "
                f"give the rows left after calibration_fraction = {self.calibration_fraction} "
                "some weight."
            )
        return train, None

    def _snap_reach(self):
        """Per output, how far from an edge of the target range an interval end snaps to it.

        The network smears a point mass over about a bin (two-hot, one-hot) or the
        encoding's Gaussian (HL-Gauss); an end within that distance means the edge.
        """
        width = self.bin_edges_[:, 1] - self.bin_edges_[:, 0]
        reach = np.maximum(width, 2 * self.sigma_) if self.target_encoding == "hl_gauss" else width
        return np.minimum(reach, np.diff(self.target_range_, axis=1)[:, 0] / 2)

    def _blur(self, deblur):
        if deblur and self.target_encoding == "hl_gauss":
            return self.sigma_
        return np.zeros(len(self.bin_edges_))

    def _fit_held_out(self, X, y, sample_weight):
        self.calibration_scores_ = self.calibration_weights_ = None
        if self.calibration_fraction is None:
            return
        weights = np.ones(len(X)) if sample_weight is None else sample_weight
        X, y, weights = X[weights > 0], y[weights > 0], weights[weights > 0]
        if len(X) == 0:
            warnings.warn(
                "No held-out row with positive weight is left to calibrate the intervals: "
                "predict_interval returns the whole target range. Use more rows, or a larger "
                "calibration_fraction (validation_fraction with early stopping).",
                UserWarning,
                stacklevel=3,
            )
        # X is validated already (predict's validation would warn about feature names).
        probabilities = self._probabilities(self._forward(X)).cpu().numpy() if len(X) else None
        reach = self._snap_reach()
        scores = np.zeros((len(X), self.n_outputs_, 2))
        for j, edges in enumerate(self.bin_edges_):
            for d, blur in enumerate((self._blur(True)[j], 0.0)):
                if len(X):
                    scores[:, j, d] = conformity_scores(
                        probabilities[:, j], edges, y[:, j], blur, *self.target_range_[j], reach[j]
                    )
        self.calibration_scores_, self.calibration_weights_ = scores, weights

    def _forget_held_out(self):
        # partial_fit and fine_tune change the network: the scores no longer describe it.
        self.calibration_scores_ = self.calibration_weights_ = None

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
        """Central prediction interval, calibrated on rows the network did not train on.

        With ``calibration_fraction`` set (the default) the interval is the
        split-conformal one of the nested family ``[Q(1/2 - t), Q(1/2 + t)]``,
        ``Q`` the row's quantile function (:meth:`predict_quantiles`), with ends
        within ``max(bin width, 2 sigma_)`` of an edge of the target range
        (``target_range_``) moved onto it: the half-width ``t`` is the conformal
        quantile of the held-out rows' conformity scores (see the user guide). On
        rows exchangeable with the training rows it covers at least ``coverage``
        of the targets on average, and at most
        ``coverage + 1 / (n_calibration + 1)`` when no scores tie. Ends never leave
        the target range, and a point mass at an edge (the zeros of a
        non-negative target) stays one. Without calibration (after
        ``partial_fit`` or ``fine_tune``, or with ``calibration_fraction=None``)
        it is ``[Q((1 - coverage) / 2), Q((1 + coverage) / 2)]``, the network's
        own interval, which is over-confident when the network over-fits.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.
        coverage : float, default=0.9
            Probability mass of the interval, in ``(0, 1)``.
        deblur : bool, default=True
            HL-Gauss only: ``Q`` is de-blurred (see :meth:`predict_quantiles`);
            ``False`` calibrates the blurred histogram's quantiles instead.

        Returns
        -------
        interval : ndarray of shape (n_samples, 2) or (n_samples, n_outputs, 2)
            Lower and upper ends on the last axis. The whole target range where
            too few held-out rows exist for ``coverage``.
        """
        if not (isinstance(coverage, Real) and 0 < coverage < 1):
            raise ValueError(f"coverage must be a number in (0, 1), got {coverage!r}.")
        if not isinstance(deblur, (bool, np.bool_)):
            raise TypeError(f"deblur must be a bool, got {deblur!r}.")
        scores = getattr(self, "calibration_scores_", None)
        if scores is None:
            return self.predict_quantiles(
                X, [(1 - coverage) / 2, (1 + coverage) / 2], deblur=deblur
            )
        probabilities = self._predict_probabilities(X)
        reach, blur, column = self._snap_reach(), self._blur(deblur), 0 if deblur else 1
        interval = np.stack(
            [
                calibrated_interval(
                    probabilities[:, j],
                    edges,
                    float(blur[j]),
                    conformal_half_width(
                        scores[:, j, column], self.calibration_weights_, float(coverage)
                    ),
                    *self.target_range_[j],
                    reach[j],
                )
                for j, edges in enumerate(self.bin_edges_)
            ],
            axis=1,
        )
        return interval[:, 0] if self._y_1d else interval
