"""Power-of-two scalings that keep a fit in the float64 range at any data scale.

Multiplying by ``2**k`` is exact in binary floating point (away from overflow and
subnormals) and commutes with rounding: ``fl(2**k a + 2**k b) = 2**k fl(a + b)``. A
computation run on data scaled by powers of two therefore returns, bit for bit, the
scaled result of the unscaled computation wherever that one stays in range, and a
correct result where it would have overflowed or underflowed. Two uses:

* :class:`DataScale` divides the columns of X and Y (and the weights) by powers of
  two *before* a pass over the data, when the data are so large or so small that a
  sum over their rows would leave the range (rare: sketch entries beyond about 1e270 or
  below 1e-270), and for the in-memory exact and streamed paths.
* :func:`column_exponents` / :func:`to_data_units` *equilibrate* the small problems
  (the sketch, the triangular factor): every column is divided by the power of two
  of its largest entry, the problem is solved, and the solution is mapped back. Rank
  decisions then no longer depend on the units of each column, and the squares
  and products of the Gram matrix stay in range.
"""

from dataclasses import dataclass

import numpy as np

from regkit.sketching._operators import _is_dask

__all__ = ["DataScale", "column_exponents", "sketch_exponents", "to_data_units"]

# |2**e| bounds of the columns of a sketch inside which no later computation of a
# fit leaves the normal range (sums of squares of up to 2**60 entries included).
SKETCH_EXPONENT_LIMIT = 900
# Column exponents inside which the Gram matrix A^T A (and A^T Y) stays in range.
GRAM_EXPONENT_LIMIT = 400


def _exponents(top):
    """Exponents ``e`` with ``top`` in ``[2**(e-1), 2**e)``; 0 where ``top`` is 0."""
    return np.frexp(np.asarray(top, dtype=np.float64))[1].astype(np.int64)


def column_exponents(matrix):
    """Per column, the exponent of its largest absolute entry (0 for a zero column).

    Parameters
    ----------
    matrix : ndarray of shape (n, k)

    Returns
    -------
    exponents : ndarray of int of shape (k,)
    """
    if len(matrix) == 0:
        return np.zeros(matrix.shape[1], dtype=np.int64)
    return _exponents(np.maximum(matrix.max(axis=0), -matrix.min(axis=0)))


def sketch_exponents(partial, n_features):
    """Column exponents of the uncentred sketches of X and of Y in a partial sketch.

    Uncentred: a column that centring cancels (a constant feature) keeps the scale
    of its mean, so its rounding residue is judged as such and not blown up to 1.
    """
    exponents = column_exponents(partial[:-1, :-1])
    return exponents[:n_features], exponents[n_features:]


def in_range(exponents, limit):
    """Whether every nonzero column's exponent lies within ``[-limit, limit]``."""
    return bool(np.all(np.abs(exponents) <= limit))


def sketch_in_range(partial):
    """Whether an accumulated partial sketch is finite and far enough from the limits."""
    if not np.isfinite(partial).all():
        return False
    return in_range(column_exponents(partial), SKETCH_EXPONENT_LIMIT)


def _largest_entries(X, Y, w):
    """Largest absolute entry per column of X and Y, and the largest weight.

    NumPy or dask arrays (one pass: dask computes the reductions together); ``max``
    and ``min`` rather than ``abs(X).max()``, which would copy X.
    """
    reductions = [X.max(axis=0), X.min(axis=0), Y.max(axis=0), Y.min(axis=0)]
    if w is not None:
        reductions.append(w.max())
    if _is_dask(X):
        import dask

        reductions = dask.compute(*reductions)
    high_x, low_x, high_y, low_y, *top_w = (np.asarray(r, dtype=np.float64) for r in reductions)
    return np.maximum(high_x, -low_x), np.maximum(high_y, -low_y), top_w[0] if top_w else None


@dataclass(frozen=True)
class DataScale:
    """Powers of two dividing the columns of X and Y and the weights during a pass.

    ``x`` and ``y`` are exponents per column; ``w`` is even, so that ``sqrt(w)``
    scales exactly. Weights do not change a least-squares solution; X and Y map it
    as ``coef = coef_scaled * 2**(y - x)``. :meth:`of` gives all columns of X the
    same power (the largest): a common factor leaves the minimum-norm solution of a
    rank-deficient design the minimum-norm solution, while per-column factors would
    change which one it is. The small problems are equilibrated per column later.
    """

    x: np.ndarray
    y: np.ndarray
    w: int = 0

    @classmethod
    def of(cls, X, Y, w=None):
        """Scale that brings the largest entry of X, of each column of Y and of w below 1.

        Parameters
        ----------
        X : ndarray or dask array of shape (n, d)
        Y : ndarray or dask array of shape (n, k)
        w : ndarray, dask array of shape (n,) or None

        Returns
        -------
        scale : DataScale
        """
        if X.shape[0] == 0:
            return cls(np.zeros(X.shape[1], np.int64), np.zeros(Y.shape[1], np.int64))
        top_x, top_y, top_w = _largest_entries(X, Y, w)
        x_exponent = int(_exponents(top_x.max(initial=0.0)))
        w_exponent = 0 if top_w is None else int(_exponents(top_w))
        return cls(
            np.full(X.shape[1], x_exponent, dtype=np.int64),
            _exponents(top_y),
            w_exponent + w_exponent % 2,
        )

    @classmethod
    def identity(cls, n_features, n_targets):
        """No scaling."""
        return cls(np.zeros(n_features, np.int64), np.zeros(n_targets, np.int64))

    def unscale_means(self, x_mean, y_mean):
        """Means of X and Y from the means of the scaled data."""
        return np.ldexp(x_mean, self.x), np.ldexp(y_mean, self.y)

    def apply(self, X, Y, w):
        """Scaled copies of row blocks of X, Y and w."""
        X = np.ldexp(np.asarray(X, dtype=np.float64), -self.x)
        Y = np.ldexp(np.asarray(Y, dtype=np.float64).reshape(len(X), -1), -self.y)
        if w is not None:
            w = np.ldexp(np.asarray(w, dtype=np.float64), -self.w)
        return X, Y, w

    def union(self, other):
        """The larger exponent of each column: a scale that keeps both in range."""
        return DataScale(
            np.maximum(self.x, other.x), np.maximum(self.y, other.y), max(self.w, other.w)
        )

    def rescale_partial(self, partial, new):
        """A partial sketch of data in this scale, expressed in the scale ``new``.

        Rows of the sketch hold ``S sqrt(w) [X | Y | 1]`` (they move by the column
        shift and half the weight shift), the last row ``w^T [X | Y | 1]`` (the
        column shift and the whole weight shift).
        """
        columns = np.concatenate([self.x - new.x, self.y - new.y, [0]])
        shift = np.empty(partial.shape, dtype=np.int64)
        shift[:-1] = columns + (self.w - new.w) // 2
        shift[-1] = columns + (self.w - new.w)
        with np.errstate(under="ignore"):
            return np.ldexp(partial, shift)


def to_data_units(coef_eq, x_exponents, y_exponents):
    """Coefficients for X and Y from those for ``X / 2**x_exponents``, ``Y / 2**y_exponents``.

    Parameters
    ----------
    coef_eq : ndarray of shape (d, k)
        Solution of the equilibrated problem.
    x_exponents : ndarray of int of shape (d,)
    y_exponents : ndarray of int of shape (k,)

    Returns
    -------
    coef : ndarray of shape (d, k)

    Raises
    ------
    ValueError
        When a coefficient overflows float64, or underflows below its normal range
        while it contributes more than rounding to the fitted values: the fit of
        this X and y cannot be represented.
    """
    shift = y_exponents[None, :] - x_exponents[:, None]
    with np.errstate(over="ignore", under="ignore"):
        coef = np.ldexp(coef_eq, shift)
    overflow = ~np.isfinite(coef)
    underflow = (np.abs(coef) < np.finfo(np.float64).tiny) & (
        np.abs(coef_eq) > np.finfo(np.float64).eps
    )
    if overflow.any() or underflow.any():
        bad = overflow | underflow
        with np.errstate(divide="ignore"):
            magnitude = np.log10(np.abs(coef_eq[bad])) + shift[bad] * np.log10(2.0)
        worst = magnitude[np.argmax(np.abs(magnitude))]
        raise ValueError(
            f"The least-squares coefficients of this X and y are of order 1e{worst:.0f}, "
            "outside the float64 range (about 1e-308 to 1e308): the scales of X and y "
            "are too far apart to be represented. Rescale X or y (e.g. standardise them)."
        )
    return coef
