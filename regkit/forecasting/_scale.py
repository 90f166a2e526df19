"""Statistics of series at any finite scale: exact power-of-two units.

Dividing by a power of two is exact in floating point, so a statistic computed on
``values / 2**e`` and multiplied back by ``2**e`` is the statistic of ``values``
to rounding, while its squares and sums stay far from overflow (series near
1e160 and beyond) and underflow (near 1e-160 and below).
"""

import numpy as np


def exponents(values, axis=0):
    """Exponent ``e`` of the largest magnitude along ``axis`` (``2**(e-1) <= max < 2**e``).

    0 where every value is 0 (or there are none).
    """
    values = np.asarray(values, dtype=np.float64)
    peak = np.max(np.abs(values), axis=axis, initial=0.0)
    return np.frexp(peak)[1].astype(np.int64)


def scaled_mean(values, axis=0):
    """Mean along ``axis`` of finite values, without overflow of the sum."""
    e = exponents(values, axis)
    return np.ldexp(np.mean(np.ldexp(values, -np.expand_dims(e, axis)), axis=axis), e)


def root_mean_square(values, axis=0, ddof=0):
    """``sqrt(sum(values**2) / (n - ddof))`` along ``axis``, exact at any finite scale."""
    e = exponents(values, axis)
    unit = np.ldexp(values, -np.expand_dims(e, axis))
    n = np.shape(values)[axis]
    return np.ldexp(np.sqrt(np.sum(unit**2, axis=axis) / max(n - ddof, 1)), e)
