"""Encode scalar targets as histograms over fixed bins, and read histograms back.

These are the pure functions behind :class:`~regkit.regression.HistogramRegressor`:
NumPy in, NumPy out, one target column at a time. A histogram lives on ``n_bins``
bins with increasing edges ``e_0 < ... < e_m`` (``m = n_bins``); bin ``i`` spans
``[e_{i-1}, e_i]`` and its centre is ``(e_{i-1} + e_i) / 2``.
"""

import numpy as np
from scipy.special import ndtr


def _check_edges(bin_edges):
    edges = np.asarray(bin_edges, dtype=np.float64)
    if edges.ndim != 1 or len(edges) < 2 or not np.all(np.diff(edges) > 0):
        raise ValueError(
            "bin_edges must be a 1-D array of at least 2 strictly increasing values, "
            f"got {bin_edges!r}."
        )
    return edges


def bin_centers(bin_edges):
    """Centres ``(e[i-1] + e[i]) / 2`` of the bins.

    The pseudocode of Farebrother et al. (2024, appendix A) subtracts the edges
    instead of adding them; that is a sign error (it gives minus half the bin
    widths), not an alternative convention.

    Parameters
    ----------
    bin_edges : array-like of shape (n_bins + 1,)
        Strictly increasing bin edges.

    Returns
    -------
    centers : ndarray of shape (n_bins,)

    Examples
    --------
    >>> from regkit.regression import bin_centers
    >>> bin_centers([0.0, 1.0, 3.0])
    array([0.5, 2. ])
    """
    edges = _check_edges(bin_edges)
    return (edges[:-1] + edges[1:]) / 2


def padded_support(y_min, y_max, n_bins, pad_bins):
    """Support ``(vmin, vmax)`` that holds ``[y_min, y_max]`` with ``pad_bins`` spare bins.

    The ``n_bins`` equal bins are sized so that ``pad_bins`` whole bins lie below
    ``y_min`` and above ``y_max``: ``width = (y_max - y_min) / (n_bins - 2 * pad_bins)``
    (the recipe of Imani et al., 2024). Half a bin puts the extremes on bin centres,
    where two-hot and one-hot targets decode exactly; a few standard deviations keep
    an HL-Gauss target's Gaussian inside the support, so that truncating it does not
    bias the decoded mean. A constant target gets a support of width 1 around it.

    Parameters
    ----------
    y_min, y_max : float
        Smallest and largest target.
    n_bins : int
        Number of bins; must exceed ``2 * pad_bins``.
    pad_bins : float
        Padding on each side, in bins.

    Returns
    -------
    vmin, vmax : float

    Examples
    --------
    >>> from regkit.regression import padded_support
    >>> padded_support(0.0, 9.0, n_bins=10, pad_bins=0.5)
    (-0.5, 9.5)
    """
    if not n_bins > 2 * pad_bins:
        raise ValueError(
            f"n_bins must exceed 2 * pad_bins = {2 * pad_bins:g} so that bins remain for "
            f"the targets themselves, got n_bins={n_bins}."
        )
    y_min, y_max = float(y_min), float(y_max)
    if y_max <= y_min:
        y_min, y_max = y_min - 0.5, y_max + 0.5
    pad = pad_bins * (y_max - y_min) / (n_bins - 2 * pad_bins)
    return y_min - pad, y_max + pad


def _column(y):
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D (one target column), got shape {y.shape}.")
    return y


def _normal_mass(lower, upper):
    """``Phi(upper) - Phi(lower)`` for ``lower <= upper``, accurate in both tails."""
    # Differences of CDF values near 1 cancel catastrophically; on the right of
    # zero, use the mirror-image difference of values near 0 instead.
    right = lower > 0
    return np.where(right, ndtr(-lower) - ndtr(-upper), ndtr(upper) - ndtr(lower))


def hl_gauss_encode(y, bin_edges, sigma):
    """HL-Gauss targets: bin masses of ``Normal(y, sigma**2)`` truncated to the support.

    ``p_i(y) = [Phi((e_i - y)/sigma) - Phi((e_{i-1} - y)/sigma)] / Z`` with ``Z`` the
    mass of the whole support ``[e_0, e_m]`` (Imani & White, 2018; Farebrother
    et al., 2024). Targets outside the support are clipped to it first: far away
    ``Z`` underflows to 0 and the unclipped formula divides 0 by 0.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Targets.
    bin_edges : array-like of shape (n_bins + 1,)
        Strictly increasing bin edges.
    sigma : float
        Standard deviation of the Gaussian, in the units of ``y`` (> 0).

    Returns
    -------
    probabilities : ndarray of shape (n_samples, n_bins)
        Non-negative rows that sum to 1.

    Examples
    --------
    >>> import numpy as np
    >>> from regkit.regression import hl_gauss_encode, histogram_mean
    >>> edges = np.linspace(-5.0, 5.0, 21)
    >>> p = hl_gauss_encode([0.3], edges, sigma=0.4)
    >>> round(float(p.sum()), 12), round(float(histogram_mean(p, edges)[0]), 6)
    (1.0, 0.3)
    """
    edges = _check_edges(bin_edges)
    if not sigma > 0:
        raise ValueError(f"sigma must be positive, got {sigma!r}.")
    y = np.clip(_column(y), edges[0], edges[-1])
    z = (edges[None, :] - y[:, None]) / sigma
    mass = _normal_mass(z[:, :-1], z[:, 1:])
    # Summing the bin masses (rather than Phi(z_m) - Phi(z_0)) makes rows sum to 1
    # to rounding; clipping keeps y inside, so the total is at least about 1/2.
    return mass / mass.sum(axis=1, keepdims=True)


def two_hot_encode(y, bin_edges):
    """Two-hot targets: ``y`` split between the two nearest bin centres.

    For ``c_k <= y <= c_{k+1}``, ``p_k = (c_{k+1} - y) / (c_{k+1} - c_k)`` and
    ``p_{k+1} = 1 - p_k``, so the histogram's mean is exactly ``y``. Targets below
    the first centre or above the last are clipped to it.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Targets.
    bin_edges : array-like of shape (n_bins + 1,)
        Strictly increasing bin edges.

    Returns
    -------
    probabilities : ndarray of shape (n_samples, n_bins)

    Examples
    --------
    >>> from regkit.regression import two_hot_encode
    >>> two_hot_encode([1.25], [0.0, 1.0, 2.0, 3.0])
    array([[0.25, 0.75, 0.  ]])
    """
    centers = bin_centers(bin_edges)
    y = np.clip(_column(y), centers[0], centers[-1])
    out = np.zeros((len(y), len(centers)))
    if len(centers) == 1:
        out[:] = 1.0
        return out
    k = np.clip(np.searchsorted(centers, y, side="right") - 1, 0, len(centers) - 2)
    upper = (y - centers[k]) / (centers[k + 1] - centers[k])
    rows = np.arange(len(y))
    out[rows, k] = 1.0 - upper
    out[rows, k + 1] += upper
    return out


def one_hot_encode(y, bin_edges):
    """One-hot targets: all mass on the bin that holds ``y``.

    Bins are closed on the left, the last one on both sides; targets outside the
    support are clipped to it. The histogram's mean is the bin centre, at most half
    a bin width from ``y``.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Targets.
    bin_edges : array-like of shape (n_bins + 1,)
        Strictly increasing bin edges.

    Returns
    -------
    probabilities : ndarray of shape (n_samples, n_bins)

    Examples
    --------
    >>> from regkit.regression import one_hot_encode
    >>> one_hot_encode([0.5, 3.0], [0.0, 1.0, 2.0, 3.0])
    array([[1., 0., 0.],
           [0., 0., 1.]])
    """
    edges = _check_edges(bin_edges)
    y = _column(y)
    k = np.clip(np.searchsorted(edges, y, side="right") - 1, 0, len(edges) - 2)
    out = np.zeros((len(y), len(edges) - 1))
    out[np.arange(len(y)), k] = 1.0
    return out


def histogram_mean(probabilities, bin_edges):
    """Mean ``sum_i p_i c_i`` of histograms over the bin centres ``c_i``.

    Parameters
    ----------
    probabilities : array-like of shape (..., n_bins)
        Histograms (the last axis sums to 1).
    bin_edges : array-like of shape (n_bins + 1,)
        Strictly increasing bin edges.

    Returns
    -------
    mean : ndarray of shape (...)

    Examples
    --------
    >>> from regkit.regression import histogram_mean
    >>> histogram_mean([[0.5, 0.5, 0.0]], [0.0, 1.0, 2.0, 3.0])
    array([1.])
    """
    return np.asarray(probabilities, dtype=np.float64) @ bin_centers(bin_edges)


def histogram_quantiles(probabilities, bin_edges, q, blur_sigma=0.0):
    """Quantiles of histograms whose mass is spread evenly inside each bin.

    The cumulative distribution is piecewise linear between the edges, so each
    quantile is found by linear interpolation inside the bin where the cumulative
    mass reaches ``q``. The result is non-decreasing in ``q``; ``q = 0`` and
    ``q = 1`` give the ends of the support.

    With ``blur_sigma > 0`` the histograms are taken to estimate a distribution
    blurred by ``Normal(0, blur_sigma**2)`` (what a network trained on HL-Gauss
    targets predicts), and the quantiles are de-blurred by a location-scale
    correction: each is moved towards the histogram's mean ``mu`` by the factor
    ``sqrt(s**2 / v)``, where ``v`` is the variance of the blurred distribution and
    ``s**2 = v - blur_sigma**2`` the variance left once the blur is removed
    (convolving with a Gaussian keeps the mean and adds its variance). ``v`` is
    the histogram's variance about its centres less Sheppard's correction
    ``sum_i p_i w_i**2 / 12`` for grouping into bins of widths ``w_i``. ``s**2`` is
    kept at least ``sum_i p_i w_i**2 / 12``, the variance of one bin's uniform mass
    (the narrowest distribution a histogram holds), so that a histogram no wider
    than the blur does not collapse to a point; the correction never widens. It
    is exact for a Gaussian and keeps the quantiles non-decreasing in ``q``.

    Parameters
    ----------
    probabilities : array-like of shape (n_samples, n_bins)
        Histograms (rows are renormalised to sum to 1).
    bin_edges : array-like of shape (n_bins + 1,)
        Strictly increasing bin edges.
    q : array-like of shape (n_quantiles,)
        Quantile levels in ``[0, 1]``.
    blur_sigma : float, default=0.0
        Standard deviation of the Gaussian blur to remove, in the units of the
        edges; 0 returns the histograms' own quantiles.

    Returns
    -------
    quantiles : ndarray of shape (n_samples, n_quantiles)

    Examples
    --------
    >>> from regkit.regression import histogram_quantiles
    >>> histogram_quantiles([[0.25, 0.5, 0.25]], [0.0, 1.0, 2.0, 3.0], [0.5, 0.875])
    array([[1.5, 2.5]])
    >>> histogram_quantiles(
    ...     [[0.25, 0.5, 0.25]], [0.0, 1.0, 2.0, 3.0], [0.5, 0.875], blur_sigma=0.5
    ... ).round(3)
    array([[1.5  , 2.132]])
    """
    edges = _check_edges(bin_edges)
    p = np.asarray(probabilities, dtype=np.float64)
    q = np.atleast_1d(np.asarray(q, dtype=np.float64))
    if p.ndim != 2 or p.shape[1] != len(edges) - 1:
        raise ValueError(
            f"probabilities must have shape (n_samples, {len(edges) - 1}), got {p.shape}."
        )
    if q.ndim != 1 or not np.all((q >= 0) & (q <= 1)):
        raise ValueError(f"q must be quantile levels in [0, 1], got {q!r}.")
    if not (np.isfinite(blur_sigma) and blur_sigma >= 0):
        raise ValueError(f"blur_sigma must be a finite number >= 0, got {blur_sigma!r}.")
    cdf = np.concatenate([np.zeros((len(p), 1)), np.cumsum(p, axis=1)], axis=1)
    total = cdf[:, -1:]
    cdf /= total
    # k = number of cumulative values below q: bin k - 1 is where the mass reaches q,
    # and it has positive mass because cdf[k - 1] < q <= cdf[k].
    k = np.clip((cdf[:, None, :] < q[None, :, None]).sum(axis=2), 1, len(edges) - 1)
    lower = np.take_along_axis(cdf, k - 1, axis=1)
    upper = np.take_along_axis(cdf, k, axis=1)
    width = np.where(upper > lower, upper - lower, 1.0)
    fraction = np.clip((q[None, :] - lower) / width, 0.0, 1.0)
    quantiles = edges[k - 1] + fraction * (edges[k] - edges[k - 1])
    if blur_sigma == 0:
        return quantiles
    return _deblur(quantiles, p / total, edges, blur_sigma)


def unit_scale(edges):
    """Midpoint and half-width of the support, computed without overflow.

    ``(v - mid) / half`` maps the support onto ``[-1, 1]``; moments computed in
    those units neither overflow nor cancel, whatever the scale of the target.
    """
    return edges[0] / 2 + edges[-1] / 2, edges[-1] / 2 - edges[0] / 2


def deblur_location_scale(p, edges, blur_sigma):
    """Mean and shrink factor of the location-scale de-blurring, per histogram.

    The de-blurred quantile of a histogram of mean ``mu`` is
    ``mu + factor * (q - mu)``, ``q`` its blurred quantile (see
    :func:`histogram_quantiles`); ``0 < factor <= 1``.
    """
    mid, half = unit_scale(edges)
    unit_edges = (edges / 2 - mid / 2) / (half / 2)
    centers = bin_centers(unit_edges)
    mean = p @ centers
    within_bin = p @ (np.diff(unit_edges) ** 2 / 12)
    # Sheppard-corrected variance about the mean (two passes: no cancellation).
    blurred = np.einsum("ij,ij->i", p, (centers[None, :] - mean[:, None]) ** 2) - within_bin
    sharp = np.maximum(blurred - (blur_sigma / half) ** 2, within_bin)
    factor = np.sqrt(np.clip(sharp / np.maximum(blurred, np.finfo(float).tiny), 0.0, 1.0))
    return mid + half * mean, factor


def _deblur(quantiles, p, edges, blur_sigma):
    """Shrink quantiles towards the mean by the location-scale de-blurring factor."""
    mean, factor = deblur_location_scale(p, edges, blur_sigma)
    return mean[:, None] + factor[:, None] * (quantiles - mean[:, None])
