"""Synthetic data generators with a known ground truth."""

from numbers import Integral, Real

import numpy as np
from scipy.signal import lfilter, lfiltic
from sklearn.utils import check_random_state


def _is_int(value):
    return isinstance(value, Integral) and not isinstance(value, bool)


def _ar_coefficients(coef):
    if isinstance(coef, dict):
        if not coef or any(not _is_int(lag) or lag < 1 for lag in coef):
            raise ValueError(f"coef as a dict must map int lags >= 1 to values, got {coef!r}.")
        dense = np.zeros(int(max(coef)))
        for lag, value in coef.items():
            if not isinstance(value, Real) or isinstance(value, bool) or not np.isfinite(value):
                raise ValueError(f"coef[{lag}] must be a finite number, got {value!r}.")
            dense[int(lag) - 1] = value
        return dense
    try:
        dense = np.asarray(coef, dtype=float)
    except (TypeError, ValueError):
        dense = np.array([np.nan])
    if dense.ndim != 1 or dense.size == 0 or not np.all(np.isfinite(dense)):
        raise ValueError(
            "coef must be a non-empty 1-D array of finite AR coefficients (coef[0] is lag 1) "
            f"or a dict {{lag: value}}, got {coef!r}."
        )
    return dense


def make_ar_process(n_samples, coef, *, noise=1.0, burn_in=None, random_state=None):
    """Generate a stationary auto-regressive series AR(p) with Gaussian innovations.

    ``y[t] = sum_k coef[k-1] * y[t-k] + noise * e[t]`` with ``e[t] ~ N(0, 1)``.

    Parameters
    ----------
    n_samples : int
        Length of the returned series.
    coef : array-like of shape (p,) or dict
        AR coefficients, ``coef[0]`` for lag 1. A dict ``{lag: value}`` gives a sparse
        AR process: ``{1: 0.2, 2: 0.3, 3: -0.5}`` or ``{1: 0.5, 24: 0.3}``.
    noise : float, default=1.0
        Standard deviation of the innovations. With ``noise=0`` the series is the
        deterministic response to random start values, which decays to zero: pass
        a small ``burn_in`` to keep it informative.
    burn_in : int, default=None
        Steps simulated and dropped so that the series starts in its stationary
        regime; default ``10 * p + 100``. The start values ``y[-1], ..., y[-p]`` are
        standard normal.
    random_state : int, RandomState instance or None, default=None
        Seed of the innovations and of the start values.

    Returns
    -------
    y : ndarray of shape (n_samples,)

    Raises
    ------
    ValueError
        If the coefficients do not define a stationary process (a root of the
        characteristic polynomial on or inside the unit circle), or an argument is
        out of its range (``n_samples < 1``, ``noise < 0``, ``burn_in < 0``, a
        non-finite coefficient...).

    Examples
    --------
    >>> from regkit.datasets import make_ar_process
    >>> y = make_ar_process(500, {1: 0.2, 2: 0.3, 3: -0.5}, random_state=0)
    >>> y.shape
    (500,)
    """
    coef = _ar_coefficients(coef)
    if not _is_int(n_samples) or n_samples < 1:
        raise ValueError(f"n_samples must be an int >= 1, got {n_samples!r}.")
    if isinstance(noise, bool) or not isinstance(noise, Real) or not 0 <= noise < np.inf:
        raise ValueError(f"noise must be a finite number >= 0, got {noise!r}.")
    if burn_in is not None and (not _is_int(burn_in) or burn_in < 0):
        raise ValueError(f"burn_in must be None or an int >= 0, got {burn_in!r}.")
    p = coef.size
    # Stationary iff every root of z^p - c1 z^(p-1) - ... - cp lies inside the unit circle.
    roots = np.roots(np.r_[1.0, -coef])
    if roots.size and np.max(np.abs(roots)) >= 1.0:
        raise ValueError(
            "coef does not define a stationary AR process: the largest characteristic "
            f"root has modulus {np.max(np.abs(roots)):.3f} >= 1."
        )
    burn_in = 10 * p + 100 if burn_in is None else int(burn_in)
    rng = check_random_state(random_state)
    start = rng.standard_normal(p)  # y[-1], ..., y[-p]
    innovations = noise * rng.standard_normal(n_samples + burn_in)
    # An AR(p) series is white noise through the all-pole filter 1 / (1 - sum c_k z^-k);
    # lfilter runs that recursion in C, starting from the random past values.
    denominator = np.r_[1.0, -coef]
    y, _ = lfilter([1.0], denominator, innovations, zi=lfiltic([1.0], denominator, start))
    return y[burn_in:]
