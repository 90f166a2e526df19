"""Sums over row blocks: sequential for NumPy arrays, a dask tree reduction otherwise.

Every pass of regkit.sketching over the data is a sum of per-block terms
``func(X_block, Y_block, w_block, row_start)`` of a fixed shape (a partial sketch,
a partial Gram matrix...). NumPy inputs are walked in blocks to bound the memory of
temporaries, on as many threads as BLAS would use (each block with one BLAS thread:
a block's work is BLAS calls and NumPy loops that release the GIL, and OpenBLAS's
own threading of a triangular solve with a tall right-hand side gains nothing);
dask inputs get one task per row chunk, summed by a tree reduction
(``split_every`` partials per node), so only fixed-size partials travel.
"""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from regkit.sketching._operators import _is_dask

__all__ = ["reduce_rows", "sketch_dask"]


def _dask_blocks(array, row_chunks):
    import dask.array as da

    chunks = (row_chunks, -1) if np.ndim(array) == 2 else (row_chunks,)
    if not _is_dask(array):  # an in-memory companion of a dask array (weights...)
        array = da.from_array(np.asarray(array), chunks=chunks)
    return list(array.rechunk(chunks).to_delayed().ravel())


def blas_threads():
    """Threads the loaded BLAS uses now (1 under ``threadpool_limits(1)``)."""
    counts = [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]
    return max(counts, default=1)


def reduce_rows(
    func, arrays, out_shape, *, block_rows=1 << 14, split_every=8, args=(), threads=None
):
    """Return ``sum_blocks func(*blocks, row_start, *args)`` over aligned row blocks.

    One pass over data that may not fit in memory: every pass of
    :class:`SketchedLinearRegression` is such a sum (a partial sketch, a partial
    Gram matrix...), and any one-pass statistic that is a sum over rows can use it
    too. NumPy inputs are walked in blocks of ``block_rows`` rows on parallel
    threads; a dask array gets one task per row chunk, and the terms are summed by
    a tree reduction, so only arrays of ``out_shape`` travel between workers.

    Parameters
    ----------
    func : callable
        ``func(*blocks, row_start, *args) -> ndarray of shape out_shape``, where
        ``row_start`` is the index of the block's first row; entries of ``arrays``
        that are ``None`` are passed as ``None``. It may run on several threads
        (or dask workers) at once.
    arrays : list of array-like, dask arrays or None
        Same number of rows. If the first is a dask array, its row chunks define
        the blocks, and the others are rechunked to them (one chunk along columns).
    out_shape : tuple of int
        Shape of every term and of the result.
    block_rows : int, default=2**14
        Rows per block for NumPy inputs.
    split_every : int, default=8
        Fan-in of the dask tree reduction.
    args : tuple, default=()
        Extra arguments passed to ``func``.
    threads : int or None, default=None
        Threads walking the blocks of NumPy inputs, each calling ``func`` with one
        BLAS thread; ``None``: as many as BLAS uses (set it with
        ``threadpoolctl.threadpool_limits``). The terms are added in block order,
        so the result does not depend on the thread count.

    Returns
    -------
    total : ndarray of shape out_shape
        A NumPy array (dask inputs are computed, with the active scheduler).

    Examples
    --------
    >>> import numpy as np
    >>> import dask.array as da
    >>> from regkit.sketching import reduce_rows
    >>> X = np.arange(12.0).reshape(6, 2)
    >>> def gram(X_block, row_start):
    ...     return X_block.T @ X_block
    >>> np.allclose(reduce_rows(gram, [X], (2, 2), block_rows=4), X.T @ X)
    True
    >>> lazy = da.from_array(X, chunks=(4, 2))  # two row chunks: 4 and 2 rows
    >>> np.allclose(reduce_rows(gram, [lazy], (2, 2)), X.T @ X)
    True
    """
    first = arrays[0]
    if _is_dask(first):
        import dask

        row_chunks = first.chunks[0]
        blocks = [
            _dask_blocks(a, row_chunks) if a is not None else [None] * len(row_chunks)
            for a in arrays
        ]
        starts = np.concatenate([[0], np.cumsum(row_chunks)[:-1]]).astype(int)
        task = dask.delayed(func, pure=True)
        level = [task(*(b[i] for b in blocks), int(start), *args) for i, start in enumerate(starts)]
        add = dask.delayed(_add_terms, pure=True)
        while len(level) > 1:
            level = [add(*level[i : i + split_every]) for i in range(0, len(level), split_every)]
        return np.asarray(dask.compute(level[0])[0], dtype=np.float64)
    n = len(first)

    def block_term(start):
        blocks = [a[start : start + block_rows] if a is not None else None for a in arrays]
        return func(*blocks, start, *args)

    starts = range(0, n, block_rows)
    if len(starts) == 1:
        threads = 1
    elif threads is None:
        threads = min(blas_threads(), len(starts))  # threadpool_info costs ~1 ms
    if threads <= 1:
        return _accumulate(map(block_term, starts), out_shape)
    with threadpool_limits(1, user_api="blas"), ThreadPoolExecutor(threads) as pool:
        # pool.map yields in block order: deterministic sums.
        return _accumulate(pool.map(block_term, starts), out_shape)


def _accumulate(terms, out_shape):
    """The sum of partial terms, added in order.

    A sum that leaves the float64 range becomes infinite without a warning: the
    callers check it (the first pass of a fit sketches again with scaled data).
    """
    total = np.zeros(out_shape)
    with np.errstate(over="ignore", invalid="ignore"):
        for term in terms:
            total += term
    return total


def _add_terms(*terms):
    return _accumulate(terms, np.shape(terms[0]))


def _sketch_block(block, row_start, sketch):
    return sketch.apply_block(block, row_start)


def sketch_dask(sketch, A, *, split_every=8):
    """Sketch a row-chunked dask array in one pass: ``S @ A`` as a NumPy array.

    Each row chunk yields the partial ``S[:, rows] @ A[rows]`` (tile seeding makes it
    independent of the chunking); the partials are summed by a tree reduction, so
    communication is ``O(m k)`` per chunk and nothing of size ``n`` leaves a worker.

    Parameters
    ----------
    sketch : BaseSketch
        The operator S.
    A : dask array of shape (n, k) or (n,)
        Row-chunked matrix to sketch.
    split_every : int, default=8
        Fan-in of the tree reduction.

    Returns
    -------
    SA : ndarray of shape (m, k) or (m,)
    """
    if A.ndim not in (1, 2):
        raise ValueError(f"A must be 1-D or 2-D (rows first), got a dask array of shape {A.shape}.")
    shape = (sketch.n_rows, *A.shape[1:])
    return reduce_rows(_sketch_block, [A], shape, split_every=split_every, args=(sketch,))
