"""Inputs the networks can represent, and targets standardised at any finite scale."""

import numpy as np

_FLOAT32 = np.finfo(np.float32)
# Spreads below this (for values scaled to [1, 2)) are rounding errors of the mean.
_ROUNDING_SPREAD = 64 * np.finfo(np.float64).eps


def _column_name(j, feature_names):
    return f"column {feature_names[j]!r}" if feature_names is not None else f"column {j}"


def check_float32_columns(X, feature_names=None, *, check_underflow=True):
    """Refuse input columns that float32, the networks' precision, cannot represent.

    A column whose largest magnitude exceeds float32's range would become infinite;
    a column with non-zero values all below float32's smallest normal number
    (1.2e-38) would become zeros or lose its precision. Both are data problems, not
    training problems: the error names the column and the remedy.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Finite float64 inputs.
    feature_names : ndarray of str or None, default=None
        Names for the message.
    check_underflow : bool, default=True
        Also refuse columns that would underflow (at prediction time a tiny column
        is harmless: it is close to zero).

    Raises
    ------
    ValueError
        Naming the first offending column.
    """
    if X.size == 0:
        return
    # Two reductions instead of np.abs(X): no temporary the size of X.
    largest = np.maximum(np.max(X, axis=0), -np.min(X, axis=0))
    over = np.flatnonzero(largest > _FLOAT32.max)
    if over.size:
        j = over[0]
        raise ValueError(
            f"X {_column_name(j, feature_names)} has values up to {largest[j]:.3g}, beyond the "
            f"float32 range (+-{_FLOAT32.max:.3g}) in which the network computes. Rescale it, "
            "for example with sklearn.preprocessing.StandardScaler in a pipeline."
        )
    if check_underflow:
        under = np.flatnonzero((largest > 0) & (largest < _FLOAT32.tiny))
        if under.size:
            j = under[0]
            raise ValueError(
                f"X {_column_name(j, feature_names)} has no value larger than {largest[j]:.3g} in "
                f"magnitude: in float32, in which the network computes, values below "
                f"{_FLOAT32.tiny:.3g} become zeros or lose their precision. Rescale it, for "
                "example with sklearn.preprocessing.StandardScaler in a pipeline."
            )


def _power_of_two_below(values):
    """``2**floor(log2(v))`` for each positive ``v`` (1 where ``v`` is 0)."""
    _, exponent = np.frexp(values)
    return np.where(values > 0, np.ldexp(1.0, exponent - 1), 1.0)


def weighted_standardization(y, sample_weight=None):
    """Weighted mean and standard deviation of each column, exact at any finite scale.

    The moments are computed on ``y`` divided by a power of two close to the
    column's largest magnitude, which is exact (no rounding) and keeps every square
    far from overflow and underflow; they are then scaled back, again exactly. So
    ``y * 1e160`` and ``y * 1e-300`` give the moments of ``y`` times the factor, to
    rounding. A constant column (spread at the level of rounding errors) gets the
    power of two as its scale, so that the encoding stays proportional to the data.

    Parameters
    ----------
    y : ndarray of shape (n_samples, n_outputs)
        Finite targets.
    sample_weight : ndarray of shape (n_samples,) or None
        Non-negative weights with a positive sum.

    Returns
    -------
    mean, scale : ndarray of shape (n_outputs,)
        ``scale`` is positive.
    """
    unit = _power_of_two_below(np.max(np.abs(y), axis=0))
    scaled = y / unit
    mean = np.average(scaled, axis=0, weights=sample_weight)
    spread = np.sqrt(np.average((scaled - mean) ** 2, axis=0, weights=sample_weight))
    # A spread at the level of the rounding of the mean (|scaled| < 2) is no spread: a
    # constant column, whose average need not be exact, must not be scaled up to
    # unit variance.
    spread = np.where(spread > _ROUNDING_SPREAD, spread, 1.0)
    return mean * unit, spread * unit


def standardize(y, mean, scale):
    """``(y - mean) / scale``, without overflow where ``y - mean`` exceeds float64."""
    with np.errstate(over="ignore", invalid="ignore"):
        centred = y - mean
        quarter = (y * 0.25 - mean * 0.25) / (scale * 0.25)
    return np.where(np.isfinite(centred), centred / scale, quarter)
