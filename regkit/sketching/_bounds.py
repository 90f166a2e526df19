"""How many sketch rows a coordinate-wise (l-inf) accuracy needs, and the radius m rows give.

The radius is ``(eps / sqrt(d)) * ||A x* - b||_2 * ||A^+||_2``. For a Gaussian sketch
``eps`` follows from a short proof (``U^T r = 0`` makes ``SU`` and ``Sr``
independent; a union bound over the d coordinates and Gordon's bound on
``sigma_min(SU)``): with probability at least ``1 - delta``,

    eps(m) = sqrt(2 d ln(4d/delta) / m) / (1 - sqrt(d/m) - sqrt(2 ln(2/delta) / m)).

Other sketches reuse this formula times their calibrated ``linf_constant`` (measured,
not proven). The theorem of Song, Ye, Yin and Zhang (ICML 2023) asks for
``m = O(eps^-2 d log^3(n/delta))`` rows with an unspecified constant, which exceeds n
at practical sizes; this formula is what regkit uses instead.
"""

import math
from numbers import Integral, Real

import numpy as np
import scipy.linalg

from regkit.sketching._operators import get_sketch

__all__ = ["linf_radius", "sketch_size"]


def _check(name, value, low, high=math.inf, integral=False):
    kind = Integral if integral else Real
    if isinstance(value, bool) or not isinstance(value, kind) or not low < value < high:
        expected = "an int" if integral else "a number"
        raise ValueError(f"{name} must be {expected} in ({low}, {high}), got {value!r}.")


def gaussian_linf_eps(n_sketch_rows, n_features, delta):
    """The proven Gaussian ``eps(m)`` (``inf`` when m rows are too few for the bound)."""
    m, d = n_sketch_rows, n_features
    if m <= d:
        return math.inf
    denominator = 1.0 - math.sqrt(d / m) - math.sqrt(2.0 * math.log(2.0 / delta) / m)
    if denominator <= 0:
        return math.inf
    return math.sqrt(2.0 * d * math.log(4.0 * d / delta) / m) / denominator


def _linf_constant(sketch):
    cls = get_sketch(sketch)
    if isinstance(sketch, cls):  # an instance may carry its own calibration
        return sketch.linf_constant, cls
    return cls.linf_constant, cls


def sketch_size(n, d, eps=0.5, delta=0.01, sketch="gaussian"):
    """Rows m so that sketch-and-solve is within the l-inf radius w.p. ``1 - delta``.

    The smallest m with ``C * eps_gauss(m) <= eps`` where ``C`` is the sketch's
    ``linf_constant``: 1 and proven for :class:`GaussianSketch`; calibrated from
    measurements (incoherent, coherent and spiky-residual problems, 300 seeds) for
    the Rademacher, SRHT and sparse-sign sketches. CountSketch has no l-inf
    guarantee on coherent matrices at any useful m, so it raises.

    Parameters
    ----------
    n : int
        Rows of A. The result is capped at ``n``: ``m == n`` means no sketch smaller
        than the data reaches ``eps``, and the data should be solved exactly.
    d : int
        Columns of A.
    eps : float, default=0.5
        Target: ``||x' - x*||_inf <= (eps / sqrt(d)) ||r||_2 ||A^+||_2``.
    delta : float, default=0.01
        Failure probability.
    sketch : str, BaseSketch subclass or instance, default="gaussian"
        The sketch whose constant ``linf_constant`` scales the Gaussian bound.

    Returns
    -------
    m : int

    Examples
    --------
    >>> from regkit.sketching import sketch_size
    >>> sketch_size(2**20, 50, eps=0.5, delta=0.01)
    5368
    >>> sketch_size(1000, 50, eps=0.5, delta=0.01)
    1000
    """
    _check("n", n, 0, integral=True)
    _check("d", d, 0, integral=True)
    _check("eps", eps, 0)
    _check("delta", delta, 0, 1)
    constant, cls = _linf_constant(sketch)
    if not math.isfinite(constant):
        raise ValueError(
            f"{cls.__name__} carries no l-inf guarantee (coherent rows collide); "
            "give the number of rows yourself (n_sketch_rows) or pick a dense sketch."
        )
    target = eps / constant
    high = 2 * d + 2
    while gaussian_linf_eps(high, d, delta) > target:
        high *= 2
        if high > 4 * n:
            return int(n)
    low = d  # eps(low) > target
    while high - low > 1:
        middle = (low + high) // 2
        if gaussian_linf_eps(middle, d, delta) <= target:
            high = middle
        else:
            low = middle
    return int(min(high, n))


def linf_radius(
    n_sketch_rows, n_features, delta=0.01, *, residual_norm=1.0, sigma_min=1.0, sketch="gaussian"
):
    """Coordinate-wise error radius of sketch-and-solve with m rows.

    ``C * eps_gauss(m) / sqrt(d) * residual_norm / sigma_min``: with probability at
    least ``1 - delta`` every coordinate of the sketched solution is within this
    distance of the exact least-squares solution (proven for the Gaussian sketch,
    ``C = 1``; measured for the others, ``C = linf_constant``; ``inf`` for
    CountSketch and for m too small for the bound).

    Parameters
    ----------
    n_sketch_rows : int
        Sketch size m.
    n_features : int
        Columns d of A.
    delta : float, default=0.01
        Failure probability.
    residual_norm : float or ndarray, default=1.0
        ``||A x* - b||_2`` (one per target for multi-output b): finite and >= 0.
    sigma_min : float, default=1.0
        Smallest singular value of A (``1 / ||A^+||_2``): finite and > 0.
    sketch : str, BaseSketch subclass or instance, default="gaussian"
        The sketch whose constant ``linf_constant`` scales the Gaussian bound.

    Returns
    -------
    radius : float or ndarray

    Examples
    --------
    >>> from regkit.sketching import linf_radius
    >>> round(linf_radius(5368, 50, 0.01) * 50**0.5, 3)  # eps reached by 5368 rows
    0.5
    >>> linf_radius(100, 50, 0.01, sketch="count")
    inf
    """
    _check("n_sketch_rows", n_sketch_rows, 0, integral=True)
    _check("n_features", n_features, 0, integral=True)
    _check("delta", delta, 0, 1)
    _check("sigma_min", sigma_min, 0)
    try:
        residual = np.asarray(residual_norm, dtype=float)
    except (TypeError, ValueError):
        residual = np.array(np.nan)
    if residual.ndim > 1 or not np.all(np.isfinite(residual) & (residual >= 0)):
        raise ValueError(
            "residual_norm must be a finite number >= 0 or a 1-D array of them, "
            f"got {residual_norm!r}."
        )
    constant, _ = _linf_constant(sketch)
    eps = constant * gaussian_linf_eps(n_sketch_rows, n_features, delta)
    if math.isfinite(eps):
        radius = eps / math.sqrt(n_features) * residual / sigma_min
    else:  # no bound, whatever the residual
        radius = np.full(residual.shape, math.inf)
    return float(radius) if radius.ndim == 0 else radius


def equilibrated_linf_radius(
    n_sketch_rows, delta, sketch, R_eq, residual, x_exponents, y_exponents
):
    """The l-inf radius, in data units, of a sketch-and-solve fit solved equilibrated.

    The sketched problem was solved for ``A D^-1`` and ``b / 2**y`` with
    ``D = diag(2**x_exponents)``; its solution maps back as
    ``x_j = x'_j 2**y / D_j``. The bound behind :func:`linf_radius` holds coordinate
    by coordinate: ``|x_j - x*_j| <= (eps / sqrt(d)) ||r|| ||e_j^T A^+||``, and for
    *every* diagonal ``D``, ``||e_j^T A^+|| = ||e_j^T (A D^-1)^+|| / D_j <=
    ||(A D^-1)^+|| / D_j``. Two choices of ``D`` are used: the column equilibration
    (tight for columns of very different scales) and one common power of two for
    all columns (the textbook radius ``(eps / sqrt(d)) ||r|| / sigma_min(A)``). Each
    coordinate gets the smaller of its two bounds; the radius is the largest.

    Parameters
    ----------
    n_sketch_rows : int
    delta : float
    sketch : BaseSketch
    R_eq : ndarray of shape (d, d)
        Triangular factor of the equilibrated sketch ``S A D^-1``.
    residual : ndarray of shape (k,)
        Residual norms of the equilibrated sketched problem.
    x_exponents, y_exponents : ndarray of int
        ``log2`` of ``D`` and of the scales of the targets.

    Returns
    -------
    radius : ndarray of shape (k,)
    """
    d = len(x_exponents)
    scale = linf_radius(n_sketch_rows, d, delta, sketch=sketch)  # eps / sqrt(d)
    if not math.isfinite(scale):
        return np.full(len(residual), np.inf)
    top = int(x_exponents.max())
    with np.errstate(under="ignore", over="ignore", divide="ignore"):
        common_R = np.ldexp(R_eq, x_exponents - top)
        sigma_eq = scipy.linalg.svdvals(R_eq, check_finite=False)[-1]
        sigma_common = scipy.linalg.svdvals(common_R, check_finite=False)[-1]
        # (d, k): one bound per coordinate and target, for each choice of D.
        per_column = np.ldexp(
            scale * residual / sigma_eq, y_exponents[None, :] - x_exponents[:, None]
        )
        common = np.ldexp(scale * residual / sigma_common, y_exponents - top)
        radius = np.minimum(per_column, common[None, :]).max(axis=0)
    return np.where(residual == 0, 0.0, radius)
