r"""Supervised contrastive losses for regression: SupReMix, Rank-N-Contrast, SupCon.

Every loss takes a batch of embeddings ``z`` of shape ``(n, d)``, one row per
view of a sample, and scalar targets ``y`` of shape ``(n,)`` or ``(n, 1)``.

**Views.** Stack the views of a minibatch along the rows and repeat the targets:
with two augmented views ``z1, z2`` of ``B`` rows, pass
``z = torch.cat([z1, z2])`` (``2B`` rows) and ``y = torch.cat([y, y])`` (and
``sample_weight = torch.cat([w, w])``). The losses never need to know which rows
are views of which sample: rows with equal targets are positives of each other,
as in the reference code, so the two views of a row always are. Any number of
views works, and the order of the rows does not matter.

**Targets.** Label distances, label weights and the SupReMix mixing window are in
units of the standard deviation of ``y`` (of the batch, or ``target_scale``), so
the losses do not depend on the units of ``y``; with the batch's own scale they
are invariant to ``y -> a * y + b`` for every ``a > 0``. Targets never carry a
gradient.

**Randomness.** SupReMix draws its mixtures from the ``torch.Generator`` it is
given, never from the global random state, so that concurrent fits seeded
separately stay reproducible.
"""

import math
from numbers import Integral, Real
from typing import NamedTuple

import torch
import torch.nn.functional as F

from regkit.utils import fill_doc

__all__ = [
    "SupReMixMixtures",
    "draw_supremix_mixtures",
    "rnc_loss",
    "supcon_loss",
    "supremix_loss",
]

_DISTANCES = ("l1", "l2", None)

_BATCH_PARAMETERS = """
z : Tensor of shape (n, d)
        Embeddings, one row per view of a sample: for two views of ``B`` rows,
        ``torch.cat([z1, z2])`` (``2B`` rows). Rows with equal targets are
        positives of each other, so the views of a row always are.
    y : Tensor of shape (n,) or (n, 1)
        Targets, one per row of ``z``: ``torch.cat([y, y])`` for two views.
"""

_SAMPLE_WEIGHT = """
sample_weight : Tensor of shape (n,) or None, default=None
        Non-negative weight of each anchor's term; with two views, repeat the
        weights as the targets.
"""


class SupReMixMixtures(NamedTuple):
    r"""The mixtures of one SupReMix batch, as indices and mixing shares.

    A mixture is described by the rows it mixes and their shares, never by a
    stored vector or a stored label: :func:`supremix_loss` computes its score and
    its label from the same indices and shares, so each label stays with its
    mixture whatever the order of the rows. Draw one with
    :func:`draw_supremix_mixtures`, or build one by hand (tests, ablations).

    Parameters
    ----------
    negative_share : Tensor of shape (n, n) or None
        ``negative_share[i, k]`` is the anchor's share ``lambda_ik`` in the
        anchor-inclusive (hard negative) mixture
        ``lambda_ik * z_i + (1 - lambda_ik) * z_k``, in ``[0, 1]``. Entries where
        ``y_k == y_i`` (the diagonal among them) are not used. None: no negative
        mixtures.
    positive_below, positive_above : Tensor of shape (n, m), integer
        Row ``positive_below[i, t] = j`` and row ``positive_above[i, t] = k`` of the
        ``t``-th anchor-exclusive (hard positive) mixture of anchor ``i``, with
        ``y_j < y_i < y_k`` wherever its multiplicity is positive. Its share
        ``alpha = (y_k - y_i) / (y_k - y_j)`` is computed from the targets, so
        that its label ``alpha * y_j + (1 - alpha) * y_k`` is the anchor's.
    positive_multiplicity : Tensor of shape (n, m)
        How many mixtures of the reference loss each listed one stands for
        (non-negative; 0 marks padding). A hand-made list of every mixture has
        multiplicity 1; a sample of ``m`` out of ``N_i`` has ``N_i / m``.
    """

    negative_share: torch.Tensor | None
    positive_below: torch.Tensor
    positive_above: torch.Tensor
    positive_multiplicity: torch.Tensor


# ------------------------------------------------------------------ validation
def _check_positive(name, value):
    if isinstance(value, bool) or not isinstance(value, Real) or not 0 < value < math.inf:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}.")
    return float(value)


def _check_distance(distance):
    if distance not in _DISTANCES:
        raise ValueError(f"distance must be 'l1', 'l2' or None, got {distance!r}.")


def _check_generator(generator):
    if generator is None:
        # A private generator seeded from the operating system: never the global one.
        generator = torch.Generator()
        generator.seed()
        return generator
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator)}.")
    return generator


def _embeddings(z, normalize):
    if not isinstance(z, torch.Tensor) or not z.is_floating_point() or z.ndim != 2:
        raise TypeError(
            f"z must be a floating-point tensor of shape (n, d), got "
            f"{type(z).__name__} {tuple(getattr(z, 'shape', ()))}."
        )
    if len(z) < 2:
        raise ValueError(f"z must hold at least 2 rows to contrast, got {len(z)}.")
    return F.normalize(z, dim=1) if normalize else z


def _targets(y, n=None):
    """Targets as a float64 vector on the CPU (they never carry a gradient)."""
    y = torch.as_tensor(y).detach()
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1 or (n is not None and len(y) != n):
        expected = "(n,) or (n, 1)" if n is None else f"({n},) or ({n}, 1), one per row of z"
        raise ValueError(f"y must have shape {expected}, got {tuple(y.shape)}.")
    y = y.to("cpu", torch.float64)
    if not torch.isfinite(y).all():
        raise ValueError("y must be finite (no NaN or infinity).")
    return y


def _sample_weight(sample_weight, n, z):
    if sample_weight is None:
        return torch.ones(n, dtype=z.dtype, device=z.device)
    weight = torch.as_tensor(sample_weight).detach().to(z.device, z.dtype).reshape(-1)
    if len(weight) != n:
        raise ValueError(
            f"sample_weight must have one entry per row of z ({n}), got {len(weight)}."
        )
    if not (torch.isfinite(weight) & (weight >= 0)).all():
        raise ValueError("sample_weight must be finite and non-negative.")
    return weight


# --------------------------------------------------------------------- targets
def _standardize(y, target_scale):
    """Targets in standard-deviation units, centred; exactly 0 when y is constant."""
    centred = y - y.mean()
    if target_scale is not None:
        return centred / _check_positive("target_scale", target_scale)
    peak = centred.abs().max()
    if peak == 0:
        return centred
    unit = centred / peak  # no overflow in the squares at any finite scale
    return unit / unit.square().mean().sqrt()


def _label_ids(y):
    """Integer ids, equal exactly where the targets are equal."""
    return torch.unique(y, return_inverse=True)[1]


def _log_label_weight(delta, distance):
    """``log w`` of the distance-magnifying weight ``w = 1 + |delta|`` or ``1 + delta^2``."""
    if distance is None:
        return torch.zeros_like(delta)
    return torch.log1p(delta.abs() if distance == "l1" else delta.square())


# -------------------------------------------------------------------- mixtures
def _beta(shape, a, b, generator):
    """Beta(a, b) draws as a ratio of two Gamma draws, from ``generator`` only."""
    options = {"dtype": torch.float64, "device": generator.device}
    # torch.distributions cannot take a generator; its Gamma sampler can.
    x = torch._standard_gamma(torch.full(shape, a, **options), generator=generator)
    y = torch._standard_gamma(torch.full(shape, b, **options), generator=generator)
    total = x + y
    # Both draws underflow to 0 only for tiny a and b: fall back on the mean share.
    return torch.where(total > 0, x / total, a / (a + b))


def _draw_positive_pairs(u, window, m, generator):
    """``m`` pairs per anchor, uniform over ``u_i - window < u_j < u_i < u_k < u_i + window``.

    The admissible pairs of an anchor are a product of two ranges of the sorted
    targets, so ``j`` and ``k`` are drawn independently, each uniformly in its range.
    """
    n, device = len(u), generator.device
    u = u.to(device)
    order = torch.argsort(u, stable=True)
    ranked = u[order]
    start_below = torch.searchsorted(ranked, u - window, side="right")
    end_below = torch.searchsorted(ranked, u, side="left")
    start_above = torch.searchsorted(ranked, u, side="right")
    end_above = torch.searchsorted(ranked, u + window, side="left")

    def pick(start, count):
        offset = torch.rand(n, m, generator=generator, dtype=torch.float64, device=device)
        offset = (offset * count[:, None]).long().minimum((count[:, None] - 1).clamp_min(0))
        return order[(start[:, None] + offset).clamp_max(n - 1)]  # clamped rows go unused

    n_below, n_above = end_below - start_below, end_above - start_above
    below, above = pick(start_below, n_below), pick(start_above, n_above)
    multiplicity = (n_below * n_above).to(torch.float64)[:, None].expand(n, m) / max(m, 1)
    return below, above, multiplicity.contiguous()


def _draw_mixtures(u, window, beta, n_positive, negatives, generator):
    window = _check_positive("window", window)
    if not (isinstance(beta, tuple | list) and len(beta) == 2):
        raise ValueError(f"beta must be a pair (a, b) of positive numbers, got {beta!r}.")
    a, b = (_check_positive("beta", value) for value in beta)
    if isinstance(n_positive, bool) or not isinstance(n_positive, Integral) or n_positive < 0:
        raise ValueError(f"n_positive_mixtures must be a non-negative int, got {n_positive!r}.")
    generator = _check_generator(generator)
    n = len(u)
    share = _beta((n, n), a, b, generator) if negatives else None
    return SupReMixMixtures(share, *_draw_positive_pairs(u, window, int(n_positive), generator))


def draw_supremix_mixtures(
    y,
    *,
    window=0.5,
    beta=(2.0, 8.0),
    n_positive_mixtures=32,
    negative_mixtures=True,
    target_scale=None,
    generator=None,
):
    r"""Draw the hard-negative and hard-positive mixtures of a SupReMix batch.

    :func:`supremix_loss` calls this when it is not given mixtures; call it
    yourself to inspect a draw or to reuse it.

    - **Negatives (anchor-inclusive)**: one mixture per anchor ``i`` and row
      ``k`` with ``y_k != y_i``, with the anchor's share
      ``lambda_ik ~ Beta(a, b)`` drawn independently per pair (all of them, as
      in the reference code; they cost ``O(n^2)``).
    - **Positives (anchor-exclusive)**: the admissible pairs of anchor ``i`` are
      the ``N_i`` pairs of rows ``(j, k)`` with
      ``u_i - window < u_j < u_i < u_k < u_i + window`` in standardised targets
      ``u``; ``m = n_positive_mixtures`` of them are drawn uniformly with
      replacement, each standing for ``N_i / m`` mixtures of the reference loss.

    Parameters
    ----------
    y : Tensor of shape (n,) or (n, 1)
        Targets of the batch, one per row of the embeddings (repeated per view).
    window : float, default=0.5
        Half-width of the hard-positive window, in standard deviations of ``y``.
    beta : tuple of (float, float), default=(2.0, 8.0)
        Parameters ``(a, b)`` of the Beta law of the anchor's share in a negative
        mixture.
    n_positive_mixtures : int, default=32
        Hard positives drawn per anchor; 0 draws none.
    negative_mixtures : bool, default=True
        Whether to draw the hard negatives.
    target_scale : float or None, default=None
        Standard deviation defining the units of ``window``; None uses the
        population standard deviation of ``y``.
    generator : torch.Generator or None, default=None
        Source of every random draw (the draws happen on its device). None uses
        a fresh generator seeded by the operating system, not the global one.

    Returns
    -------
    mixtures : SupReMixMixtures
        The draw, on the generator's device.

    Examples
    --------
    >>> import torch
    >>> from regkit.nn import draw_supremix_mixtures
    >>> y = torch.tensor([0.0, 1.0, 2.0, 3.0])
    >>> mixtures = draw_supremix_mixtures(
    ...     y, window=1.5, n_positive_mixtures=2, generator=torch.Generator().manual_seed(0)
    ... )
    >>> mixtures.negative_share.shape
    torch.Size([4, 4])
    >>> mixtures.positive_below[1:3].tolist(), mixtures.positive_above[1:3].tolist()
    ([[0, 0], [1, 1]], [[2, 2], [3, 3]])
    >>> mixtures.positive_multiplicity.sum(dim=1).tolist()
    [0.0, 1.0, 1.0, 0.0]
    """
    u = _standardize(_targets(y), target_scale)
    return _draw_mixtures(u, window, beta, n_positive_mixtures, negative_mixtures, generator)


def _checked_mixtures(mixtures, u):
    """Validate ``mixtures`` against the targets; return it with the positive shares ``alpha``."""
    if not isinstance(mixtures, SupReMixMixtures):
        raise TypeError(f"mixtures must be a SupReMixMixtures or None, got {type(mixtures)}.")
    n = len(u)
    if any(t is None for t in mixtures[1:]):
        raise ValueError("only mixtures.negative_share may be None.")
    share, below, above, multiplicity = (
        None if t is None else torch.as_tensor(t).detach().cpu() for t in mixtures
    )
    if share is not None and (share.shape != (n, n) or not ((share >= 0) & (share <= 1)).all()):
        raise ValueError(f"mixtures.negative_share must be ({n}, {n}) with entries in [0, 1].")
    shapes = {below.shape, above.shape, multiplicity.shape}
    if len(shapes) > 1 or below.ndim != 2 or len(below) != n:
        raise ValueError(f"the positive fields of mixtures must all have shape ({n}, m).")
    if below.is_floating_point() or above.is_floating_point():
        raise ValueError("mixtures.positive_below and positive_above must hold row indices.")
    used = multiplicity > 0
    if not (torch.isfinite(multiplicity) & (multiplicity >= 0)).all():
        raise ValueError("mixtures.positive_multiplicity must be finite and non-negative.")
    inside = (below >= 0) & (below < n) & (above >= 0) & (above < n)
    if not inside[used].all():
        raise ValueError(f"mixtures hold row indices outside [0, {n}).")
    below, above = below.where(used, 0), above.where(used, 0)
    low, high, anchor = u[below], u[above], u[:, None]
    if not ((low < anchor) & (anchor < high))[used].all():
        raise ValueError(
            "every positive mixture must bracket its anchor: mix a row below and a row above it."
        )
    alpha = torch.where(used, (high - anchor) / (high - low).where(used, 1.0), 0.0)
    return SupReMixMixtures(share, below, above, multiplicity.to(torch.float64)), alpha


# ---------------------------------------------------------------- loss pieces
class _Batch(NamedTuple):
    """What the SupCon-type losses need of one batch, on the device of ``z``."""

    z: torch.Tensor  # (n, d) embeddings (normalised if asked)
    u: torch.Tensor  # (n,) standardised targets, in the dtype of z
    ids: torch.Tensor  # (n,) equal where the targets are equal
    weight: torch.Tensor  # (n,) anchor weights


def _batch(z, y, normalize, target_scale, sample_weight):
    z = _embeddings(z, normalize)
    y = _targets(y, len(z))
    u = _standardize(y, target_scale)
    move = {"device": z.device}
    return _Batch(
        z,
        u.to(dtype=z.dtype, **move),
        _label_ids(y).to(**move),
        _sample_weight(sample_weight, len(z), z),
    ), u


def _batch_terms(batch, temperature, distance):
    """Weighted batch logits of the denominator and the sum and count of positive scores."""
    z, u, ids, _ = batch
    scores = z @ z.T / temperature
    self_pair = torch.eye(len(z), dtype=torch.bool, device=z.device)
    label_gap = u[None, :] - u[:, None]
    logits = (scores + _log_label_weight(label_gap, distance)).masked_fill(self_pair, -math.inf)
    positive = (ids[:, None] == ids[None, :]) & ~self_pair
    positive_sum = torch.where(positive, scores, 0).sum(dim=1)
    return logits, positive_sum, positive.sum(dim=1).to(z.dtype)


def _anchor_mean(log_denominator, positive_sum, positive_count, weight):
    """Weighted mean of ``log D_i - mean positive score`` over anchors with a positive."""
    has_positive = positive_count > 0
    per_anchor = log_denominator - positive_sum / positive_count.where(has_positive, 1)
    return _weighted_mean(per_anchor, weight.where(has_positive, 0))


def _weighted_mean(values, weight):
    """``sum(weight * values) / sum(weight)``; 0, still attached to the graph, when no weight."""
    return (values * weight).sum() / weight.sum().clamp_min(torch.finfo(weight.dtype).tiny)


# ---------------------------------------------------------------------- losses
@fill_doc(batch_parameters=_BATCH_PARAMETERS, sample_weight=_SAMPLE_WEIGHT)
def supcon_loss(
    z, y, *, temperature=0.5, distance="l1", normalize=True, target_scale=None, sample_weight=None
):
    r"""Supervised contrastive (SupCon) loss for regression, with label-distance weights.

    The loss that SupReMix builds on (:func:`supremix_loss` without mixtures):
    rows with equal targets are positives, every other row is a negative
    weighted by how far its target is from the anchor's. With scores
    :math:`s_{ik} = z_i^\top z_k / \tau`, positives
    :math:`P(i) = \{k \ne i : y_k = y_i\}`, standardised targets :math:`u` and
    weights :math:`w(\delta) = 1 + |\delta|` (``"l1"``) or :math:`1 + \delta^2`
    (``"l2"``),

    .. math::

        \ell_i = \log \sum_{k \ne i} w(u_k - u_i)\, e^{s_{ik}}
                 - \frac{1}{|P(i)|} \sum_{p \in P(i)} s_{ip},
        \qquad
        L = \frac{\sum_i c_i \ell_i}{\sum_i c_i},

    the mean running over the anchors with at least one positive (with two or
    more views, all of them), weighted by ``sample_weight`` :math:`c_i`. With
    ``distance=None`` every weight is 1: the SupCon loss of Khosla et al. (2020)
    with the targets as classes. Cost: ``O(n^2 d)`` time, ``O(n^2)`` memory:
    at ``n = 1024`` rows (``B = 512`` with two views), ``d = 128``, float32, the
    tensors that the loss and its backward pass allocate peak at 24 MB (measured),
    within the bound of 20 ``n x n`` float32 matrices (84 MB) that the tests check.

    Deviations from the reference code (``SupConLoss_v2`` of SupReMix): label
    distances are in standard deviations of ``y`` (the reference uses raw units,
    so its weights change with the units of the target); anchors without a
    positive are left out of the mean instead of producing NaN.

    Parameters
    ----------
    {batch_parameters}
    temperature : float, default=0.5
        Temperature :math:`\tau` of the scores.
    distance : {"l1", "l2"} or None, default="l1"
        Label-distance weighting of the negatives; None for none.
    normalize : bool, default=True
        Project the rows of ``z`` onto the unit sphere first (cosine scores), as
        the reference projection head does.
    target_scale : float or None, default=None
        Standard deviation defining the units of the label distances; None uses
        the population standard deviation of ``y`` in the batch (the loss is then
        invariant to ``y -> a * y + b``, ``a > 0``).
    {sample_weight}

    Returns
    -------
    loss : scalar Tensor
        Differentiable with respect to ``z``; 0 when no anchor has a positive.

    Examples
    --------
    >>> import math, torch
    >>> from regkit.nn import supcon_loss
    >>> z = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]], requires_grad=True)
    >>> y = torch.tensor([0.0, 0.0, 1.0, 1.0])  # two rows, two views each
    >>> loss = supcon_loss(z, y, temperature=1.0)
    >>> round(loss.item(), 4), round(math.log(math.e + 3 + 3) - 1, 4)  # by hand
    (1.1654, 1.1654)
    >>> loss.backward()
    """
    temperature = _check_positive("temperature", temperature)
    _check_distance(distance)
    batch, _ = _batch(z, y, normalize, target_scale, sample_weight)
    logits, positive_sum, positive_count = _batch_terms(batch, temperature, distance)
    return _anchor_mean(torch.logsumexp(logits, dim=1), positive_sum, positive_count, batch.weight)


def _mixture_logits(batch, mixtures, alpha, temperature, distance):
    """Denominator logits of the mixtures and the sum and count of positive-mixture scores.

    A mixture's score with its anchor is the same mixture of the anchor's scores
    with the rows mixed (the dot product is linear), so no mixture vector is ever
    formed. Mixtures carry no gradient (as in the reference code): only the
    anchor's side of ``z @ z.detach().T`` does.
    """
    z, u, ids, _ = batch
    scores = z @ z.detach().T / temperature
    to_device = {"device": z.device, "dtype": z.dtype}
    logits = []
    if mixtures.negative_share is not None:
        share = mixtures.negative_share.to(**to_device)
        negative = share * scores.diagonal()[:, None] + (1 - share) * scores
        # The mixture's label minus the anchor's: (1 - share) * (u_k - u_i).
        gap = (1 - share) * (u[None, :] - u[:, None])
        same = ids[:, None] == ids[None, :]
        logits.append((negative + _log_label_weight(gap, distance)).masked_fill(same, -math.inf))
    below, above = (t.to(z.device) for t in mixtures[1:3])
    multiplicity, alpha = mixtures.positive_multiplicity.to(**to_device), alpha.to(**to_device)
    positive = alpha * scores.gather(1, below) + (1 - alpha) * scores.gather(1, above)
    # A positive mixture's label is the anchor's: weight 1, log-weight 0.
    logits.append(positive + torch.log(multiplicity))
    return logits, (multiplicity * positive).sum(dim=1), multiplicity.sum(dim=1)


@fill_doc(batch_parameters=_BATCH_PARAMETERS, sample_weight=_SAMPLE_WEIGHT)
def supremix_loss(
    z,
    y,
    *,
    temperature=0.5,
    window=0.5,
    beta=(2.0, 8.0),
    distance="l1",
    n_positive_mixtures=32,
    negative_mixtures=True,
    normalize=True,
    target_scale=None,
    sample_weight=None,
    generator=None,
    mixtures=None,
):
    r"""SupReMix loss: supervised contrast for regression with mixup-made hard pairs.

    "Mixup Your Own Pairs" (Wu et al., arXiv 2309.16633) adds two kinds of
    mixtures of embeddings to the contrast set of each anchor :math:`i` of the
    label-weighted SupCon loss (:func:`supcon_loss`):

    - hard **negatives** (anchor-inclusive) :math:`\lambda z_i + (1-\lambda) z_k`
      for every row with :math:`y_k \ne y_i`, :math:`\lambda \sim
      \mathrm{Beta}(a, b)`, labelled :math:`\lambda u_i + (1-\lambda) u_k`;
    - hard **positives** (anchor-exclusive) :math:`\alpha z_j + (1-\alpha) z_k`
      for rows with :math:`u_i - \varepsilon < u_j < u_i < u_k < u_i +
      \varepsilon`, :math:`\alpha = (u_k - u_i)/(u_k - u_j)`, whose label
      :math:`\alpha u_j + (1-\alpha) u_k` is the anchor's.

    Here :math:`u` are the targets in standard deviations and :math:`\varepsilon`
    is ``window``. With scores :math:`s_{ia} = z_i^\top a / \tau`, positives
    :math:`P(i)` (rows with the anchor's target, and the positive mixtures),
    contrast set :math:`A(i)` (every other row and every mixture) and weights
    :math:`w_{ia} = 1 + |u_a - u_i|` (``"l1"``) or :math:`1 + (u_a - u_i)^2`
    (``"l2"``), :math:`u_a` the label of :math:`a`:

    .. math::

        \ell_i = -\frac{1}{|P(i)|} \sum_{p \in P(i)}
                 \Big[ s_{ip} - \log \sum_{a \in A(i)} w_{ia}\, e^{s_{ia}} \Big],
        \qquad L = \frac{\sum_i c_i \ell_i}{\sum_i c_i},

    over the anchors with a positive, weighted by ``sample_weight``
    :math:`c_i`. Mixtures are built from embeddings detached from the graph
    (as in the reference code): the gradient reaches them through their anchors
    only. Every negative mixture is used; of the :math:`N_i` positive pairs of
    anchor :math:`i` (:math:`O(n^2)` of them), ``n_positive_mixtures`` = ``m``
    are drawn, each counted :math:`N_i / m` times in both sums, so that both
    sums estimate the full ones without bias.

    Memory is ``O(n^2 + n m)`` scalars besides ``z``: no mixture vector is ever
    formed, since a mixture's score is the same mixture of the anchor's scores.
    At ``n = 1024`` rows (``B = 512`` with two views), ``d = 128``, ``m = 32``,
    float32, the tensors that the draw, the loss and its backward pass allocate
    peak at 52 MB (measured), within the bound of 20 ``n x n`` float32 matrices
    (84 MB) that the tests check; the reference code's dense ``n^3 x d`` mixture
    tensor would take 550 GB. Time is ``O(n^2 (d + 1) + n m)``; drawing the
    ``n^2`` Beta shares is the largest single part on a CPU.

    Deviations from the reference code (``mixing_func``, ``compress_mixtures``,
    ``SupConLoss_v2`` in Dingyijiang1/Mixup-Your-Own-Pairs):

    - a mixture's label is computed from the same indices and share as the
      mixture itself; the reference sorts the mixture labels separately from the
      mixtures, so the weights meet the wrong mixtures;
    - no dense ``(2B)^3 x d`` mixture tensor (8.6 GB at ``B = 128``): scores come
      from the ``n x n`` matrix ``z z^T``, and the positive pairs are sampled
      (the reference uses every pair);
    - label distances and the window are in standard deviations of ``y``, not
      raw units, so the loss does not depend on the units of the target;
    - one log-sum-exp over batch rows and mixtures; the reference stabilises the
      two blocks with different maxima, which rescales every mixture term of an
      anchor by ``exp(max_batch - max_mixture)`` (its padded mixtures, rows of
      -1, enter that maximum);
    - the ``"l2"`` weight of a mixture is :math:`1 + (u_a - u_i)^2`; the
      reference adds the 1 inside the square for mixtures only;
    - a positive mixture's label is the anchor's exactly (weight 1), not its
      rounded interpolation;
    - the default Beta(2, 8) is what the reference code draws by default (its
      help text says Beta(5, 5)); random draws come from ``generator`` only;
    - anchors without any positive are left out instead of producing NaN.

    Parameters
    ----------
    {batch_parameters}
    temperature : float, default=0.5
        Temperature :math:`\tau` (the reference uses 0.5 on AgeDB, 0.3 on
        IMDB-WIKI, 0.1 on STS-B).
    window : float, default=0.5
        Half-width :math:`\varepsilon` of the hard-positive window, in standard
        deviations of ``y`` (the reference's 5 years on AgeDB and 1.0 on STS-B
        are 0.32 and 0.67 training standard deviations).
    beta : tuple of (float, float), default=(2.0, 8.0)
        Parameters ``(a, b)`` of the Beta law of the anchor's share in a hard
        negative (mean ``a / (a + b)``).
    distance : {"l1", "l2"} or None, default="l1"
        Label-distance weighting; None weights every term 1.
    n_positive_mixtures : int, default=32
        Hard positives drawn per anchor; 0 turns them off.
    negative_mixtures : bool, default=True
        Whether to add the hard negatives.
    normalize : bool, default=True
        Project the rows of ``z`` onto the unit sphere first (the reference's
        projection head does); mixtures are not re-normalised.
    target_scale : float or None, default=None
        Standard deviation defining the units of distances and window; None
        uses the population standard deviation of ``y`` in the batch (the loss
        is then invariant to ``y -> a * y + b``, ``a > 0``). Pass the training
        set's to keep the units fixed across batches.
    {sample_weight}
    generator : torch.Generator or None, default=None
        Source of the mixture draws; pass a seeded one for reproducibility.
        None uses a fresh generator seeded by the operating system.
    mixtures : SupReMixMixtures or None, default=None
        Use these mixtures instead of drawing them (``window``, ``beta``,
        ``n_positive_mixtures``, ``negative_mixtures`` and ``generator`` are
        then unused); see :func:`draw_supremix_mixtures`.

    Returns
    -------
    loss : scalar Tensor
        Differentiable with respect to ``z``; 0 when no anchor has a positive.

    See Also
    --------
    supcon_loss : The same loss without mixtures.
    rnc_loss : Rank-N-Contrast, the ranking-based alternative.

    Examples
    --------
    >>> import torch
    >>> from regkit.nn import supremix_loss
    >>> g = torch.Generator().manual_seed(0)
    >>> x, y = torch.randn(16, 3, generator=g), torch.randn(16, generator=g)
    >>> encoder = torch.nn.Linear(3, 8)
    >>> views = torch.cat([x + 0.1 * torch.randn(16, 3, generator=g) for _ in range(2)])
    >>> loss = supremix_loss(encoder(views), torch.cat([y, y]), generator=g)
    >>> loss.backward()
    >>> encoder.weight.grad.shape
    torch.Size([8, 3])

    With no mixtures it is :func:`supcon_loss`:

    >>> from regkit.nn import supcon_loss
    >>> z = torch.randn(32, 8, generator=g)
    >>> a = supremix_loss(z, torch.cat([y, y]), n_positive_mixtures=0, negative_mixtures=False)
    >>> bool(torch.isclose(a, supcon_loss(z, torch.cat([y, y]))))
    True
    """
    temperature = _check_positive("temperature", temperature)
    _check_distance(distance)
    batch, u = _batch(z, y, normalize, target_scale, sample_weight)
    if mixtures is None:
        mixtures = _draw_mixtures(
            u, window, beta, n_positive_mixtures, negative_mixtures, generator
        )
    mixtures, alpha = _checked_mixtures(mixtures, u)
    logits, positive_sum, positive_count = _batch_terms(batch, temperature, distance)
    mixture_logits, mixture_sum, mixture_count = _mixture_logits(
        batch, mixtures, alpha, temperature, distance
    )
    log_denominator = torch.logsumexp(torch.cat([logits, *mixture_logits], dim=1), dim=1)
    return _anchor_mean(
        log_denominator, positive_sum + mixture_sum, positive_count + mixture_count, batch.weight
    )


# ------------------------------------------------------------------------ RNC
def _pairwise_distances(z):
    """Euclidean distances between rows, with a zero gradient where two rows coincide.

    One matmul (``|a|^2 + |b|^2 - 2 a.b``) on rows centred first, to keep the
    cancellation small: ``O(n^2)`` memory, where differences would take ``O(n^2 d)``.
    """
    z = z - z.detach().mean(dim=0)
    norms = z.square().sum(dim=1)
    squared = (norms[:, None] + norms[None, :] - 2 * z @ z.T).clamp_min(0)
    apart = squared > 0
    return torch.where(apart, squared.where(apart, 1).sqrt(), 0)


@fill_doc(batch_parameters=_BATCH_PARAMETERS, sample_weight=_SAMPLE_WEIGHT)
def rnc_loss(z, y, *, temperature=2.0, normalize=False, sample_weight=None):
    r"""Rank-N-Contrast (RNC) loss: contrast every pair against the rows ranked farther.

    Zha, Cao, Son, Yang and Katabi (NeurIPS 2023, arXiv 2210.01189, first
    titled "Supervised Contrastive Regression", SupCR): for each anchor
    :math:`i` and each other row :math:`j`, row :math:`j` is the positive and the
    negatives are the rows whose targets are at least as far from the anchor's,

    .. math::

        \ell_{ij} = -\log \frac{e^{s_{ij}}}
                    {\sum_{k \ne i,\; |y_k - y_i| \ge |y_j - y_i|} e^{s_{ik}}},
        \qquad s_{ij} = -\lVert z_i - z_j \rVert_2 / \tau,

        L = \frac{\sum_i c_i \frac{1}{n-1} \sum_{j \ne i} \ell_{ij}}{\sum_i c_i},

    with anchor weights :math:`c_i` (``sample_weight``; with none, the mean over
    all :math:`n(n-1)` pairs, as in the reference). Ties count as "at least as
    far" (rows with equal label distances share a denominator). The loss depends
    on the targets only through the order of these distances, so it is invariant
    to ``y -> a * y + b`` for every ``a != 0``.

    Computed by sorting each anchor's row by label distance: every denominator
    is a suffix of the sorted row, one reverse log-cumulative-sum-exp gives them
    all, in ``O(n^2 log n)`` time and ``O(n^2)`` memory (the reference loops over
    the ``n - 1`` positions, ``O(n^3)`` time, keeping an ``n x n`` mask per
    position for the backward pass). The value is the reference's. At
    ``n = 1024`` rows, ``d = 128``, float32, the loss and its backward pass
    allocate at most 73 MB at a time (measured; the tests check a bound of 24
    ``n x n`` float32 matrices, 101 MB); label distances are float64 so that
    ties are exact.

    Parameters
    ----------
    {batch_parameters}
    temperature : float, default=2.0
        Temperature :math:`\tau` (the reference's default).
    normalize : bool, default=False
        Project the rows of ``z`` onto the unit sphere first (the reference uses
        the raw encoder features).
    {sample_weight}

    Returns
    -------
    loss : scalar Tensor
        Differentiable with respect to ``z``.

    Examples
    --------
    >>> import math, torch
    >>> from regkit.nn import rnc_loss
    >>> z = torch.tensor([[0.0], [1.0], [3.0]], requires_grad=True)
    >>> y = torch.tensor([0.0, 1.0, 3.0])
    >>> loss = rnc_loss(z, y, temperature=1.0)
    >>> loss.backward()
    >>> by_hand = (math.log(1 + math.e**-2) + 2 * math.log(1 + math.e**-1)) / 6  # 6 pairs
    >>> round(loss.item(), 4), round(by_hand, 4)
    (0.1256, 0.1256)

    Embeddings ordered as their targets lose less than reversed ones:

    >>> bool(rnc_loss(z.flip(0), y, temperature=1.0) > loss)
    True
    """
    temperature = _check_positive("temperature", temperature)
    z = _embeddings(z, normalize)
    n = len(z)
    weight = _sample_weight(sample_weight, n, z)
    # Label distances in float64 (ties are compared exactly) on z's device.
    y = _targets(y, n).to(z.device)
    gaps = (y[None, :] - y[:, None]).abs()
    gaps.fill_diagonal_(-1.0)  # the anchor sorts first and is dropped
    order = torch.argsort(gaps, dim=1, stable=True)[:, 1:]
    ranked_gaps = gaps.gather(1, order)
    ranked_scores = (-_pairwise_distances(z) / temperature).gather(1, order)
    # tail[i, t] = log sum over the rows ranked t and after (at least as far in label).
    tail = torch.logcumsumexp(ranked_scores.flip(1), dim=1).flip(1)
    first_tie = torch.searchsorted(ranked_gaps, ranked_gaps, side="left")
    return _weighted_mean((tail.gather(1, first_tie) - ranked_scores).mean(dim=1), weight)
