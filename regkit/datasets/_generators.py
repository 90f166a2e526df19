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


def make_seasonal_panel(
    n_series=1, n_weeks=8, *, weekly=True, ar=(0.6, -0.2), start="2024-01-01", random_state=None
):
    """Generate related hourly series with a daily cycle, a weekly one and AR noise.

    Series ``s`` is ``level_s + scale_s * (cycle_s + noise_s)``: a daily cycle
    ``3 sin(2 pi (hour - 7 - shift_s) / 24) + 1.2 cos(4 pi hour / 24)`` whose phase
    shifts by 0 to 3 hours from series to series; with ``weekly=True``, weekends
    are 2 units lower and their daily cycle half as deep; and stationary AR noise
    with coefficients ``ar`` and unit innovations. Levels are drawn from U(10,
    100) and scales from U(1, 10): the series share their dynamics, not their
    units, which is what a global model with per-series normalisation exploits.

    Parameters
    ----------
    n_series : int, default=1
        Number of series.
    n_weeks : int, default=8
        Length in weeks (168 hours each).
    weekly : bool, default=True
        Add the weekly pattern.
    ar : array-like of shape (p,), default=(0.6, -0.2)
        AR coefficients of the noise (see :func:`make_ar_process`).
    start : str or Timestamp, default="2024-01-01"
        First hour.
    random_state : int, RandomState instance or None, default=None
        Seed of the phases, levels, scales and noise.

    Returns
    -------
    panel : DataFrame of shape (168 * n_weeks, n_series)
        Columns ``series_0, series_1, ...``, an hourly DatetimeIndex.

    Examples
    --------
    >>> from regkit.datasets import make_seasonal_panel
    >>> panel = make_seasonal_panel(3, n_weeks=2, random_state=0)
    >>> panel.shape, panel.index.freqstr
    ((336, 3), 'h')
    """
    for name, value in (("n_series", n_series), ("n_weeks", n_weeks)):
        if not _is_int(value) or value < 1:
            raise ValueError(f"{name} must be an int >= 1, got {value!r}.")
    if not isinstance(weekly, (bool, np.bool_)):
        raise ValueError(f"weekly must be True or False, got {weekly!r}.")
    import pandas as pd

    rng = check_random_state(random_state)
    index = pd.date_range(start, periods=168 * int(n_weeks), freq="h")
    hour = index.hour.to_numpy()
    weekend = (index.day_of_week.to_numpy() >= 5).astype(float) if weekly else 0.0
    columns = {}
    for s in range(int(n_series)):
        shift = rng.randint(0, 4)
        daily = 3 * np.sin(2 * np.pi * (hour - 7 - shift) / 24) + 1.2 * np.cos(
            4 * np.pi * hour / 24
        )
        cycle = daily * (1 - 0.5 * weekend) - 2 * weekend
        noise = make_ar_process(len(index), ar, random_state=rng)
        level, scale = rng.uniform(10, 100), rng.uniform(1, 10)
        columns[f"series_{s}"] = level + scale * (cycle + noise)
    return pd.DataFrame(columns, index=index)
