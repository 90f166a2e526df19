"""Weighted sufficient statistics of rows, merged and removed exactly.

A set of rows ``z_i`` (here ``z = [x, y]``) with weights ``w_i`` is summarised by its
count, its total weight ``W``, its weighted mean ``m`` and its *centred* scatter
``S = sum_i w_i (z_i - m)(z_i - m)^T``. Two summaries combine with Chan, Golub and
LeVeque's pairwise update, and the same update run backwards removes a subset. Both
only ever add or subtract centred quantities and differences of means, never raw
sums such as ``sum_i w_i z_i z_i^T``, whose subtraction loses every digit the data
share (a column with mean 1e6 and spread 1 would leave nothing of the spread).
Means are stored as offsets from a fixed ``origin`` (the mean of the first rows
summarised), so that the difference of two means is computed from numbers of the
size of the spread, not of the mean itself.
"""

from typing import NamedTuple

import numpy as np

# Rounding in one update moves an entry of S by a few eps times the magnitude of the
# terms involved; eigenvalues move by at most p times that. The margin below keeps
# legitimate downdates well clear of a refusal while catching any real deficit.
_PSD_SAFETY = 100.0
# Rows read at a time: [X, Y] for a block is formed, never for all rows.
_BLOCK_ROWS = 1 << 14


class RowStatistics(NamedTuple):
    """Sufficient statistics of weighted rows (a snapshot: never modified in place).

    Parameters
    ----------
    n_samples : int
        Number of rows summarised.
    weight_sum : float
        Total weight ``W``.
    origin : ndarray of shape (n_columns,)
        Fixed shift of the rows; summaries that are combined share it.
    offset : ndarray of shape (n_columns,)
        Weighted mean of the rows minus ``origin`` (zeros when ``W = 0``).
    scatter : ndarray of shape (n_columns, n_columns)
        Centred weighted scatter ``sum_i w_i (z_i - mean)(z_i - mean)^T``.
    magnitude : float
        Sum of the traces of every scatter ever added or removed: the scale of the
        accumulated rounding error, used to tell rounding from a real deficit.
    """

    n_samples: int
    weight_sum: float
    origin: np.ndarray
    offset: np.ndarray
    scatter: np.ndarray
    magnitude: float

    @property
    def mean(self):
        """Weighted mean of the rows."""
        return self.origin + self.offset


def row_statistics(X, Y, sample_weight, origin=None):
    """Summarise the rows ``[X, Y]`` with weights ``sample_weight``.

    The rows are read in blocks (``[X, Y]`` is never formed whole): after their
    weighted mean when ``origin`` is None, or in two passes (offset, then scatter
    about the mean) when they are summarised against another set's origin.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Features (float64, finite).
    Y : ndarray of shape (n_samples, n_targets)
        Targets (float64, finite).
    sample_weight : ndarray of shape (n_samples,)
        Non-negative weights.
    origin : ndarray of shape (n_features + n_targets,) or None, default=None
        Shift of the summary that this one will be combined with; None: the
        weighted mean of these rows.

    Returns
    -------
    statistics : RowStatistics
    """
    n_columns = X.shape[1] + Y.shape[1]
    weight_sum = float(sample_weight.sum())
    if weight_sum == 0:
        origin = np.zeros(n_columns) if origin is None else origin
        return RowStatistics(
            len(X), 0.0, origin, np.zeros(n_columns), np.zeros((n_columns, n_columns)), 0.0
        )
    if origin is None:
        # Shifted by their own mean, the rows' offset is rounding-sized: one pass
        # gives the scatter about the origin, and moving it to the mean (subtracting
        # W offset offset^T) changes nothing measurable.
        origin = np.r_[sample_weight @ X, sample_weight @ Y] / weight_sum
        total, scatter = _shifted_sums(X, Y, sample_weight, origin, scatter=True)
        offset = total / weight_sum
        scatter -= weight_sum * np.outer(offset, offset)
    else:
        # Rows far from a given origin: the offset first, then the scatter about the
        # mean (forming it about the origin would cancel W offset offset^T away).
        # The offset from shifted rows, not as mean - origin: that difference of two
        # large numbers would lose the digits the shift is there to keep.
        offset = _shifted_sums(X, Y, sample_weight, origin)[0] / weight_sum
        _, scatter = _shifted_sums(X, Y, sample_weight, origin + offset, scatter=True)
    scatter = _symmetric(scatter)
    return RowStatistics(len(X), weight_sum, origin, offset, scatter, float(np.trace(scatter)))


def _shifted_sums(X, Y, sample_weight, shift, scatter=False):
    """``sum_i w_i d_i`` and (optionally) ``sum_i w_i d_i d_i^T``, ``d_i = [x_i, y_i] - shift``.

    Reads the rows by blocks; ``[X, Y]`` is only ever formed for one block.
    """
    n_columns = X.shape[1] + Y.shape[1]
    total, products = np.zeros(n_columns), np.zeros((n_columns, n_columns))
    unweighted = bool(np.all(sample_weight == 1.0))
    for start in range(0, len(X), _BLOCK_ROWS):
        rows = slice(start, start + _BLOCK_ROWS)
        shifted = np.hstack([X[rows], Y[rows]])
        shifted -= shift
        weighted = shifted if unweighted else shifted * sample_weight[rows, None]
        total += weighted.sum(axis=0)
        if scatter:
            products += weighted.T @ shifted
    return total, products


def merge_statistics(a, b):
    """Statistics of the union of two sets of rows.

    Parameters
    ----------
    a, b : RowStatistics
        Summaries of disjoint sets of rows with the same columns and origin.

    Returns
    -------
    statistics : RowStatistics
    """
    weight_sum = a.weight_sum + b.weight_sum
    n_samples = a.n_samples + b.n_samples
    if weight_sum == 0:
        return a._replace(n_samples=n_samples, magnitude=a.magnitude + b.magnitude)
    delta = b.offset - a.offset
    offset = a.offset + (b.weight_sum / weight_sum) * delta
    correction = (a.weight_sum * b.weight_sum / weight_sum) * np.outer(delta, delta)
    scatter = _symmetric(a.scatter + b.scatter + correction)
    magnitude = a.magnitude + b.magnitude + float(np.trace(correction))
    return RowStatistics(n_samples, weight_sum, a.origin, offset, scatter, magnitude)


def remove_statistics(total, part):
    """Statistics of ``total`` without the rows summarised by ``part``.

    Refuses, with a ``ValueError`` and nothing changed, a removal that no subset of
    the rows could produce: more rows or more weight than there are, nothing left,
    or a remaining scatter that is not positive semidefinite beyond rounding (rows
    that were never added, or were already removed, usually leave one).

    Parameters
    ----------
    total : RowStatistics
        Summary of all rows.
    part : RowStatistics
        Summary of the rows to remove (same origin).

    Returns
    -------
    statistics : RowStatistics
        The summary of the remaining rows.

    Raises
    ------
    ValueError
        When the removal is impossible.
    """
    n_samples = total.n_samples - part.n_samples
    if n_samples < 1:
        raise ValueError(
            f"Cannot forget {part.n_samples} rows: the model was fitted on "
            f"{total.n_samples} rows (forgetting them all would leave nothing to fit)."
        )
    weight_sum = total.weight_sum - part.weight_sum
    if weight_sum <= _PSD_SAFETY * np.finfo(float).eps * total.weight_sum:
        raise ValueError(
            f"Cannot forget rows of total weight {part.weight_sum:.6g}: the model was "
            f"fitted on rows of total weight {total.weight_sum:.6g}, and the remaining "
            "weight must be positive. Were these rows (with these sample weights) used "
            "in fit?"
        )
    delta = total.offset - part.offset
    offset = total.offset + (part.weight_sum / weight_sum) * delta
    correction = (total.weight_sum * part.weight_sum / weight_sum) * np.outer(delta, delta)
    scatter = _symmetric(total.scatter - part.scatter - correction)
    magnitude = total.magnitude + part.magnitude + float(np.trace(correction))
    _check_positive_semidefinite(scatter, magnitude)
    return RowStatistics(n_samples, weight_sum, total.origin, offset, scatter, magnitude)


def _check_positive_semidefinite(scatter, magnitude):
    tolerance = _PSD_SAFETY * len(scatter) * np.finfo(float).eps * magnitude
    smallest = float(np.linalg.eigvalsh(scatter)[0])
    if smallest < -tolerance:
        raise ValueError(
            "Cannot forget these rows: the remaining rows would have a scatter matrix "
            f"with a negative eigenvalue ({smallest:.3g}, beyond the rounding tolerance "
            f"{tolerance:.3g}), which no set of rows has. The rows (or their targets or "
            "sample weights) differ from the ones the model was fitted on, or were "
            "already forgotten."
        )


def _symmetric(matrix):
    return (matrix + matrix.T) / 2
