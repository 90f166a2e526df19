"""Row sketches S (m x n) applied to tall matrices, whole or block by block.

Every operator draws its randomness per fixed *tile* of input rows, from
``numpy.random.default_rng([seed, tile_index, salt])``. The columns of S that touch
rows ``[t * T, (t + 1) * T)`` therefore depend only on the seed and ``t``, never on
how the caller cut the rows into blocks: ``sum_i S[:, rows_i] @ A[rows_i]`` equals
``S @ A`` for every chunking, which is what the streaming and dask paths rely on.
Tile sizes depend only on the sketch size ``m``, never on ``n``, so a stream of
unknown length is sketched exactly like the same rows held in memory.
"""

import math
from numbers import Integral

import numpy as np
import scipy.fft
import scipy.sparse

from regkit.utils import check_random_seed

__all__ = [
    "BaseSketch",
    "CountSketch",
    "GaussianSketch",
    "RademacherSketch",
    "SRHTSketch",
    "SparseSignSketch",
    "get_sketch",
]


def _next_pow2(value):
    return 1 << max(0, math.ceil(math.log2(max(1, value))))


class BaseSketch:
    """Common interface of the sketch operators (not a scikit-learn estimator).

    Subclasses implement ``_apply_tile(tile, piece, offset)``: the product of the
    columns ``offset : offset + len(piece)`` of the tile's part of S with ``piece``.

    Parameters
    ----------
    n_rows : int
        Number of rows ``m`` of S (the sketch size).
    random_state : int, RandomState instance or None, default=None
        Resolved once, at construction, into the integer ``seed_``: every later
        application (of any block) uses the same S.
    tile_rows : int or None, default=None
        Rows per random tile; ``None`` picks a size from ``n_rows`` alone.

    Attributes
    ----------
    seed_ : int
        The seed all tiles are derived from.
    tile_rows_ : int
        Rows of A per random tile.
    """

    #: Short name used by :func:`get_sketch` and the estimator's ``sketch`` parameter.
    name = ""
    #: ``"proven"``, ``"measured"`` or ``"none"``: the status of the l-inf guarantee.
    guarantee = "none"
    #: Factor on the Gaussian l-inf radius (1 for the proven Gaussian bound; a
    #: calibrated value where only measured; ``inf`` where there is no guarantee).
    linf_constant = math.inf
    # Distinguishes the streams of different sketch kinds sharing a seed.
    _salt = 0

    def __init__(self, n_rows, *, random_state=None, tile_rows=None):
        if not isinstance(n_rows, Integral) or isinstance(n_rows, bool) or n_rows < 1:
            raise ValueError(f"n_rows must be a positive int, got {n_rows!r}.")
        if tile_rows is not None and (not isinstance(tile_rows, Integral) or tile_rows < 1):
            raise ValueError(f"tile_rows must be a positive int or None, got {tile_rows!r}.")
        self.n_rows = int(n_rows)
        self.random_state = random_state
        self.tile_rows = tile_rows
        self.seed_ = check_random_seed(random_state)
        self.tile_rows_ = int(tile_rows) if tile_rows is not None else self._default_tile_rows()

    def __repr__(self):
        return f"{type(self).__name__}(n_rows={self.n_rows}, seed_={self.seed_})"

    def _default_tile_rows(self):
        return 1 << 15

    def _rng(self, tile):
        return np.random.default_rng([self.seed_, int(tile), self._salt])

    def apply(self, A):
        """Return ``S @ A``.

        Parameters
        ----------
        A : array-like of shape (n, k) or (n,), or dask array
            Numeric, rows first; ``n = 0`` gives zeros. A dask array is sketched
            one row chunk at a time, the partial sketches summed by a tree
            reduction (see :func:`sketch_dask`).

        Returns
        -------
        SA : ndarray of shape (n_rows, k) or (n_rows,)
        """
        if _is_dask(A):
            from regkit.sketching._reduce import sketch_dask

            return sketch_dask(self, A)
        return self.apply_block(A, 0)

    def apply_block(self, block, row_start=0):
        """Return ``S[:, row_start : row_start + len(block)] @ block``.

        Summing this over the row blocks of A gives ``S @ A`` whatever the blocks.

        Parameters
        ----------
        block : array-like of shape (n_block, k) or (n_block,)
            Consecutive rows of A.
        row_start : int, default=0
            Index in A of the first row of ``block``.

        Returns
        -------
        partial : ndarray of shape (n_rows, k) or (n_rows,)
        """
        block = _as_rows(block, "block")
        if isinstance(row_start, bool) or not isinstance(row_start, Integral) or row_start < 0:
            raise ValueError(f"row_start must be an int >= 0, got {row_start!r}.")
        vector = block.ndim == 1
        block2d = block[:, None] if vector else block
        out = np.zeros((self.n_rows, block2d.shape[1]))
        T = self.tile_rows_
        stop = row_start + len(block2d)
        position = row_start
        while position < stop:
            tile, offset = divmod(position, T)
            end = min(stop, (tile + 1) * T)
            piece = block2d[position - row_start : end - row_start]
            out += self._apply_tile(tile, piece, offset)
            position = end
        return out[:, 0] if vector else out

    def to_dense(self, n):
        """Return the first ``n`` columns of S as a dense ``(n_rows, n)`` array.

        Parameters
        ----------
        n : int
            Number of columns (input rows) to materialise, >= 0.

        Returns
        -------
        S : ndarray of shape (n_rows, n)
        """
        if isinstance(n, bool) or not isinstance(n, Integral) or n < 0:
            raise ValueError(f"n must be an int >= 0, got {n!r}.")
        return self.apply_block(np.eye(n), 0)

    def _apply_tile(self, tile, piece, offset):  # pragma: no cover - abstract
        raise NotImplementedError


class _DenseSketch(BaseSketch):
    """Dense i.i.d. entries scaled by 1/sqrt(m)."""

    def _default_tile_rows(self):
        # About 4M random entries (32 MB) per tile, whatever m is.
        return int(np.clip(_next_pow2((1 << 22) // self.n_rows + 1) // 2, 64, 1 << 15))

    def _apply_tile(self, tile, piece, offset):
        # Entries are drawn input row after input row, and a NumPy stream drawn in
        # one go starts with what a shorter draw gives: a piece ending early in its
        # tile (small n, the last rows of a stream) draws only the rows up to its end.
        S = self._draw(self._rng(tile), offset + len(piece))[offset:]
        return S.T @ piece

    def _draw(self, rng, rows):  # pragma: no cover - abstract
        raise NotImplementedError


class GaussianSketch(_DenseSketch):
    """Gaussian sketch: i.i.d. N(0, 1/m) entries.

    **Guarantee: proven.** Because ``U^T r = 0``, ``SU`` and ``Sr`` are independent,
    and a union bound with Gordon's inequality gives, with probability at least
    ``1 - delta``, ``||x' - x*||_inf <= (eps / sqrt(d)) ||r||_2 ||A^+||_2`` for
    ``eps = sqrt(2 d ln(4d/delta) / m) / (1 - sqrt(d/m) - sqrt(2 ln(2/delta) / m))``
    (see :func:`~regkit.sketching.linf_radius`). Cost ``O(mnd)``: the most accurate
    and the slowest sketch.

    Parameters
    ----------
    n_rows : int
        Sketch size ``m``.
    random_state : int, RandomState instance or None, default=None
        Seed; resolved once into ``seed_``.
    tile_rows : int or None, default=None
        Rows per random tile (default: about ``2**22 / m``).

    Examples
    --------
    >>> import numpy as np
    >>> from regkit.sketching import GaussianSketch
    >>> A = np.arange(12.0).reshape(6, 2)
    >>> S = GaussianSketch(4, random_state=0)
    >>> np.allclose(S.apply(A), S.apply_block(A[:2], 0) + S.apply_block(A[2:], 2))
    True
    """

    name = "gaussian"
    guarantee = "proven"
    linf_constant = 1.0
    _salt = 1

    def _draw(self, rng, rows):
        return rng.standard_normal((rows, self.n_rows)) / math.sqrt(self.n_rows)


class RademacherSketch(_DenseSketch):
    """AMS (Rademacher) sketch: i.i.d. random signs scaled by 1/sqrt(m).

    **Guarantee: measured.** It is an oblivious coordinate-wise embedding with
    ``beta = O(log^1.5(n/delta))`` (Song, Ye, Yin, Zhang, ICML 2023), but that
    paper's l-inf proof is disputed; the l-inf radius uses the Gaussian formula
    with the calibrated constant ``linf_constant`` (99th percentiles at or below the
    Gaussian ones on incoherent, coherent and spiky-residual problems). Cheaper to
    draw than Gaussian entries (one random bit per entry).

    Parameters
    ----------
    n_rows : int
        Sketch size ``m``.
    random_state : int, RandomState instance or None, default=None
        Seed; resolved once into ``seed_``.
    tile_rows : int or None, default=None
        Rows per random tile (default: about ``2**22 / m``).

    Examples
    --------
    >>> import numpy as np
    >>> from regkit.sketching import RademacherSketch
    >>> S = RademacherSketch(4, random_state=0).to_dense(3)
    >>> np.unique(np.abs(S))
    array([0.5])
    """

    name = "rademacher"
    guarantee = "measured"
    linf_constant = 1.0
    _salt = 2

    def _draw(self, rng, rows):
        count = rows * self.n_rows
        bits = np.unpackbits(np.frombuffer(rng.bytes((count + 7) // 8), dtype=np.uint8))
        signs = np.array([-1.0, 1.0]) / math.sqrt(self.n_rows)
        return signs[bits[:count]].reshape(rows, self.n_rows)


class SRHTSketch(BaseSketch):
    """Subsampled randomised trigonometric transform (SRHT with a DCT).

    Per tile of ``T`` rows: random signs ``D``, a random row permutation ``Pi``,
    the orthonormal DCT-II (:func:`scipy.fft.dct`), then ``m`` of the ``T`` outputs
    sampled without replacement and scaled by ``sqrt(T/m)``. The diagonal is random
    *signs*, never Gaussian: a Gaussian diagonal breaks the l-inf guarantee on
    coherent matrices. When ``n <= T`` this is the canonical single transform; for
    longer inputs it is a block SRHT (independent transforms on fixed tiles, summed),
    which keeps ``E[S^T S] = I`` and lets streams and dask chunks be sketched
    exactly like in-memory data. Cost ``O(nd log T)``.

    **Guarantee: measured.** A subspace embedding (proven); the l-inf bound is
    proven only per fixed direction for the Hadamard version with more rows (Price,
    Song, Woodruff, ICALP 2017). The radius uses the Gaussian formula with the
    calibrated ``linf_constant`` (measured 99th percentiles below the Gaussian ones,
    coherent rows included).

    Parameters
    ----------
    n_rows : int
        Sketch size ``m``.
    random_state : int, RandomState instance or None, default=None
        Seed; resolved once into ``seed_``.
    tile_rows : int or None, default=None
        Transform length ``T`` (default ``max(2**15, next power of two >= 2m)``).
    workers : int or None, default=None
        Passed to :func:`scipy.fft.dct` (``None``: scipy's default, or the value
        of a :func:`scipy.fft.set_workers` context).

    Examples
    --------
    >>> import numpy as np
    >>> from regkit.sketching import SRHTSketch
    >>> A = np.random.default_rng(0).standard_normal((1000, 3))
    >>> SA = SRHTSketch(200, random_state=0).apply(A)
    >>> SA.shape
    (200, 3)
    """

    name = "srht"
    guarantee = "measured"
    linf_constant = 1.0
    _salt = 3

    def __init__(self, n_rows, *, random_state=None, tile_rows=None, workers=None):
        super().__init__(n_rows, random_state=random_state, tile_rows=tile_rows)
        if self.tile_rows_ < self.n_rows:
            raise ValueError(
                f"tile_rows must be at least n_rows={self.n_rows}, got {self.tile_rows_}."
            )
        self.workers = workers

    def _default_tile_rows(self):
        return max(1 << 15, _next_pow2(2 * self.n_rows))

    def _apply_tile(self, tile, piece, offset):
        T = self.tile_rows_
        rng = self._rng(tile)
        signs = rng.integers(0, 2, T).astype(np.float64) * 2.0 - 1.0
        source = rng.permutation(T)  # transform input j is input row source[j]
        sampled = np.sort(rng.choice(T, self.n_rows, replace=False))
        if offset == 0 and len(piece) == T:
            buffer = piece[source]  # one gather, no zero fill
            buffer *= signs[source, None]
        else:
            # A partial tile is zero-padded to the full transform: the DCT is linear,
            # so the pieces of a tile cut by a block boundary sum to the tile's sketch.
            buffer = np.zeros((T, piece.shape[1]))
            destination = np.argsort(source)
            rows = slice(offset, offset + len(piece))
            buffer[destination[rows]] = piece * signs[rows, None]
        scipy.fft.dct(buffer, norm="ortho", axis=0, overwrite_x=True, workers=self.workers)
        return math.sqrt(T / self.n_rows) * buffer[sampled]


class _HashingSketch(BaseSketch):
    """Sparse sketches: each input row goes to a few hashed output rows with signs."""

    _nnz_per_column = 1

    def _default_tile_rows(self):
        return 1 << 16

    def _hash(self, rng, s):
        m, T = self.n_rows, self.tile_rows_
        # One bucket in each of s contiguous groups of output rows: s distinct rows per
        # column without rejection sampling (the block construction of OSNAP).
        edges = (np.arange(s + 1) * m) // s
        buckets = edges[:-1] + (rng.random((T, s)) * np.diff(edges)).astype(np.int64)
        signs = (rng.integers(0, 2, (T, s)) * 2.0 - 1.0) / math.sqrt(s)
        return buckets, signs

    def _apply_tile(self, tile, piece, offset):
        s = min(self._nnz_per_column, self.n_rows)
        buckets, signs = self._hash(self._rng(tile), s)
        rows = slice(offset, offset + len(piece))
        S = scipy.sparse.csc_matrix(
            (signs[rows].ravel(), buckets[rows].ravel(), np.arange(0, len(piece) * s + 1, s)),
            shape=(self.n_rows, len(piece)),
        )
        return np.asarray(S @ piece)


class CountSketch(_HashingSketch):
    """CountSketch (Clarkson-Woodruff transform): one signed hash per input row.

    Cost ``O(nnz(A))``, a subspace embedding once ``m = O(d^2 / (eps^2 delta))``.

    **Guarantee: none for l-inf.** Two rows of a coherent matrix collide with
    probability ``1/m``, which moves a coordinate of the solution by a constant
    fraction: the coordinate-wise bound fails on coherent matrices at any useful
    ``m`` (the tests show it). ``linf_constant`` is ``inf``. Same sketch family as
    :func:`scipy.linalg.clarkson_woodruff_transform`, with tile seeding so that
    chunked and whole applications agree.

    Parameters
    ----------
    n_rows : int
        Sketch size ``m``.
    random_state : int, RandomState instance or None, default=None
        Seed; resolved once into ``seed_``.
    tile_rows : int or None, default=None
        Rows per random tile (default ``2**16``).

    Examples
    --------
    >>> import numpy as np
    >>> from regkit.sketching import CountSketch
    >>> S = CountSketch(3, random_state=0).to_dense(5)
    >>> (np.abs(S).sum(axis=0) == 1).all()
    np.True_
    """

    name = "count"
    guarantee = "none"
    linf_constant = math.inf
    _salt = 4


class SparseSignSketch(_HashingSketch):
    """Sparse sign embedding (OSNAP): ``s`` signed hashes of weight 1/sqrt(s) per row.

    Cost ``O(s nnz(A))``. Output rows are cut into ``s`` groups and each input row
    gets one random row in each group, so its ``s`` rows are distinct.

    **Guarantee: measured.** A subspace embedding (proven, Nelson-Nguyen). For l-inf
    a collision moves a coordinate by ``1/s``, so ``s`` must grow like
    ``sqrt(d)/eps``; with ``s = 8`` it passed the coherent tests at ``d = 32``. The
    radius uses the Gaussian formula times the calibrated ``linf_constant``;
    raise ``nnz_per_column`` for large ``d`` on coherent data.

    Parameters
    ----------
    n_rows : int
        Sketch size ``m``.
    nnz_per_column : int, default=8
        Nonzeros ``s`` per column of S (capped at ``n_rows``).
    random_state : int, RandomState instance or None, default=None
        Seed; resolved once into ``seed_``.
    tile_rows : int or None, default=None
        Rows per random tile (default ``2**16``).

    Examples
    --------
    >>> import numpy as np
    >>> from regkit.sketching import SparseSignSketch
    >>> S = SparseSignSketch(16, nnz_per_column=4, random_state=0).to_dense(5)
    >>> (np.count_nonzero(S, axis=0) == 4).all()
    np.True_
    """

    name = "sparse_sign"
    guarantee = "measured"
    linf_constant = 1.5
    _salt = 5

    def __init__(self, n_rows, *, nnz_per_column=8, random_state=None, tile_rows=None):
        if not isinstance(nnz_per_column, Integral) or nnz_per_column < 1:
            raise ValueError(f"nnz_per_column must be a positive int, got {nnz_per_column!r}.")
        super().__init__(n_rows, random_state=random_state, tile_rows=tile_rows)
        self.nnz_per_column = int(nnz_per_column)

    @property
    def _nnz_per_column(self):
        return self.nnz_per_column


SKETCHES = {
    cls.name: cls
    for cls in (GaussianSketch, RademacherSketch, SRHTSketch, CountSketch, SparseSignSketch)
}


def get_sketch(sketch):
    """Return the sketch class named ``sketch`` (or ``sketch`` itself if a class).

    Parameters
    ----------
    sketch : {"gaussian", "rademacher", "srht", "count", "sparse_sign"} or class
        Name or :class:`BaseSketch` subclass.

    Returns
    -------
    cls : type

    Examples
    --------
    >>> from regkit.sketching import get_sketch
    >>> get_sketch("srht").__name__
    'SRHTSketch'
    """
    if isinstance(sketch, type) and issubclass(sketch, BaseSketch):
        return sketch
    if isinstance(sketch, BaseSketch):
        return type(sketch)
    try:
        return SKETCHES[sketch]
    except (KeyError, TypeError):
        raise ValueError(
            f"sketch must be one of {sorted(SKETCHES)} or a BaseSketch subclass, got {sketch!r}."
        ) from None


def _as_rows(A, name):
    """``A`` as a float64 array of rows (1-D or 2-D); a clear error for anything else."""
    array = np.asarray(A)
    if array.dtype.kind not in "biufO":
        raise ValueError(f"{name} must be numeric, got an array of dtype {array.dtype}.")
    if array.ndim not in (1, 2):
        raise ValueError(
            f"{name} must be 1-D or 2-D (rows first), got an array of shape {array.shape}."
        )
    try:
        return array.astype(np.float64, copy=False)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be numeric, got non-numeric entries.") from None


def _is_dask(array):
    return type(array).__module__.startswith("dask.")
