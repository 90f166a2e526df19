"""Products with a block of columns of a design matrix (dense or CSC), without copying it.

Dense designs use NumPy/BLAS on the gathered columns; CSC designs use compiled
loops over the block's stored entries, since slicing a sparse matrix costs far
more than the product for the small blocks of coordinate descent.
"""

import numpy as np
import scipy.linalg.blas
import scipy.sparse as sp
from numba import njit


@njit(cache=True, nogil=True)
def _csc_dot(data, indices, indptr, idx, V):
    out = np.zeros((idx.shape[0], V.shape[1]))
    for jj in range(idx.shape[0]):
        j = idx[jj]
        for p in range(indptr[j], indptr[j + 1]):
            i = indices[p]
            for k in range(V.shape[1]):
                out[jj, k] += data[p] * V[i, k]
    return out


@njit(cache=True, nogil=True)
def _csc_matvec(data, indices, indptr, idx, D, n):
    out = np.zeros((n, D.shape[1]))
    for jj in range(idx.shape[0]):
        j = idx[jj]
        for p in range(indptr[j], indptr[j + 1]):
            i = indices[p]
            for k in range(D.shape[1]):
                out[i, k] += data[p] * D[jj, k]
    return out


@njit(cache=True, nogil=True)
def _csc_gram(data, indices, indptr, idx, s, n):
    m = idx.shape[0]
    out = np.zeros((m, m))
    work = np.zeros(n)
    for aa in range(m):
        a = idx[aa]
        for p in range(indptr[a], indptr[a + 1]):
            work[indices[p]] = data[p] * s[indices[p]]
        for bb in range(aa, m):
            b = idx[bb]
            total = 0.0
            for p in range(indptr[b], indptr[b + 1]):
                total += data[p] * work[indices[p]]
            out[aa, bb] = total
            out[bb, aa] = total
        for p in range(indptr[a], indptr[a + 1]):
            work[indices[p]] = 0.0
    return out


def _index(idx):
    return np.ascontiguousarray(idx, dtype=np.int64)


def block_dot(A, idx, V):
    """``A[:, idx].T @ V`` with ``V`` of shape ``(n_samples, K)``; returns ``(len(idx), K)``."""
    if sp.issparse(A):
        V = np.ascontiguousarray(V, dtype=np.float64).reshape(A.shape[0], -1)
        return _csc_dot(A.data, A.indices, A.indptr, _index(idx), V)
    return np.asarray(A[:, idx].T @ V).reshape(len(idx), -1)


def block_matvec(A, idx, D):
    """``A[:, idx] @ D`` with ``D`` of shape ``(len(idx), K)``; returns ``(n_samples, K)``."""
    if sp.issparse(A):
        D = np.ascontiguousarray(D, dtype=np.float64).reshape(len(idx), -1)
        return _csc_matvec(A.data, A.indices, A.indptr, _index(idx), D, A.shape[0])
    return np.asarray(A[:, idx] @ D).reshape(A.shape[0], -1)


def block_gram(A, idx, s):
    """``A[:, idx].T @ diag(s) @ A[:, idx]`` as a dense array."""
    if sp.issparse(A):
        s = np.ascontiguousarray(s, dtype=np.float64)
        return _csc_gram(A.data, A.indices, A.indptr, _index(idx), s, A.shape[0])
    Ab = A[:, idx]
    if np.all(s >= 0):
        # A symmetric rank-k update does half the work of a general product.
        G = scipy.linalg.blas.dsyrk(1.0, np.asfortranarray(Ab * np.sqrt(s)[:, None]), trans=1)
        return np.triu(G) + np.triu(G, 1).T
    return (Ab * s[:, None]).T @ Ab
