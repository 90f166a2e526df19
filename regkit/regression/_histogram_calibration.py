"""Split-conformal calibration of a predicted histogram's central intervals.

The intervals form one nested family per row, indexed by a half-width ``t`` in
probability: ``I_t = [snap(Q(1/2 - t)), snap(Q(1/2 + t))]``, where ``Q`` is the
row's (de-blurred) quantile function and ``snap`` moves an end that lies within
``reach`` of an edge of the target range ``[low, high]`` onto that edge (for
``t >= 1/2``, ``I_t = [low, high]``). The conformity score of a calibration row is
the smallest ``t`` whose interval holds its target (Gupta, Kuchibhotla and
Ramdas, 2022, "nested conformal prediction"); away from the edges it is
``|F(y) - 1/2|``, ``F`` the row's predicted distribution function (the score of
distributional conformal prediction, Chernozhukov, Wuthrich and Zhu, 2021). The
conformal quantile of the scores gives ``t`` for any coverage, so one vector of
scores per output calibrates every coverage level.

Snapping keeps a point mass at an edge of the range (the exact zeros of a
non-negative target) a point mass: the network smears it over a few bins, and an
end inside that smear means the atom. Because the scores are those of the snapped
family, snapping never costs the coverage guarantee; it only decides the shape.
"""

import numpy as np

from regkit.regression._histogram_encoding import deblur_location_scale, histogram_quantiles


def histogram_cdf(probabilities, bin_edges, y, blur_sigma=0.0):
    """Distribution function of each row's histogram at ``y`` (one value per row).

    Mass is spread evenly inside each bin, as in :func:`histogram_quantiles`, whose
    quantiles this inverts; with ``blur_sigma > 0`` it is the distribution function
    of the de-blurred (location-scale corrected) histogram.
    """
    p = probabilities / probabilities.sum(axis=1, keepdims=True)
    y = np.asarray(y, dtype=np.float64)
    if blur_sigma > 0:
        mean, factor = deblur_location_scale(p, bin_edges, blur_sigma)
        y = mean + (y - mean) / factor
    cdf = np.concatenate([np.zeros((len(p), 1)), np.cumsum(p, axis=1)], axis=1)
    k = np.clip(np.searchsorted(bin_edges, y, side="right") - 1, 0, len(bin_edges) - 2)
    rows = np.arange(len(p))
    fraction = np.clip((y - bin_edges[k]) / (bin_edges[k + 1] - bin_edges[k]), 0.0, 1.0)
    return np.clip(cdf[rows, k] + fraction * p[rows, k], 0.0, 1.0)


def snap_to_range(values, low, high, reach):
    """Ends within ``reach`` of ``low`` or ``high`` move onto that edge (monotone)."""
    return np.where(values < low + reach, low, np.where(values > high - reach, high, values))


def conformity_scores(probabilities, bin_edges, y, blur_sigma, low, high, reach):
    """Smallest half-width ``t`` of the nested interval family that holds each target.

    Targets outside ``[low, high]`` are never held: their score is ``inf``.
    """
    u = histogram_cdf(probabilities, bin_edges, np.clip(y, low + reach, high - reach), blur_sigma)
    # The lower end holds y once Q(1/2 - t) <= y (always at the upper edge), the
    # upper end once Q(1/2 + t) >= y (always at the lower edge).
    below = np.where(y >= high, 1.0, u)
    above = np.where(y <= low, 0.0, u)
    scores = np.maximum(np.maximum(0.5 - below, above - 0.5), 0.0)
    return np.where((y < low) | (y > high), np.inf, scores)


def conformal_half_width(scores, weights, coverage):
    """Split-conformal quantile of the scores: the half-width ``t`` for ``coverage``.

    The ``ceil(coverage * (n + 1))``-th smallest score of ``n`` (the weighted
    analogue with ``weights``); ``inf`` when that rank exceeds ``n``.
    """
    order = np.argsort(scores, kind="stable")
    cumulative = np.cumsum(weights[order])
    n = len(scores)
    if n == 0:
        return np.inf
    # cumulative / total >= coverage * (n + 1) / n, without dividing (exact for unit weights).
    rank = np.searchsorted(cumulative * n, coverage * (n + 1) * cumulative[-1], side="left")
    return np.inf if rank >= n else float(scores[order[rank]])


def calibrated_interval(probabilities, bin_edges, blur_sigma, half_width, low, high, reach):
    """Ends of the nested interval of half-width ``half_width`` for each row."""
    if not half_width < 0.5:
        return np.tile([low, high], (len(probabilities), 1)).astype(np.float64)
    levels = [0.5 - half_width, 0.5 + half_width]
    ends = histogram_quantiles(probabilities, bin_edges, levels, blur_sigma=blur_sigma)
    return snap_to_range(ends, low, high, reach)
