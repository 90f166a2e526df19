"""Compiled inner loops of the BCD engine (numba, cached on disk).

Everything here works on plain arrays, one block at a time; the Python layer above
only ever loops over blocks, never over coordinates.
"""

import numpy as np
from numba import njit

# Reassociation lets LLVM vectorise the dot-product reductions of the CD loops (a
# plain float sum is one serial add chain); no flag that changes inf/NaN semantics.
FAST = {"reassoc", "contract", "nsz"}


@njit(cache=True)
def qp_cd(H, q, u, l1, nonneg, max_epochs, tol):
    """Minimise ``u'Hu/2 + q'u + sum(l1 |u|)`` (``u >= 0`` where ``nonneg``) in place.

    Cyclic exact coordinate minimisation on a small dense PSD matrix ``H``: the
    proximal-Newton (matrix) step of a block. Stops when no coordinate moves by more
    than ``tol`` (scaled by ``sqrt(H_ii)``); returns the number of epochs.
    """
    m = u.shape[0]
    for epoch in range(max_epochs):
        largest = 0.0
        for i in range(m):
            hii = H[i, i]
            if hii <= 0.0:
                continue
            grad = q[i]
            for j in range(m):
                grad += H[i, j] * u[j]
            v = u[i] - grad / hii
            thr = l1[i] / hii
            if nonneg[i]:
                new = max(v - thr, 0.0)
            elif v > thr:
                new = v - thr
            elif v < -thr:
                new = v + thr
            else:
                new = 0.0
            change = abs(new - u[i]) * np.sqrt(hii)
            if change > largest:
                largest = change
            u[i] = new
        if largest <= tol:
            return epoch + 1
    return max_epochs


@njit(cache=True)
def _cd_step(old, grad, lip, l1, l2, nonneg):
    v = lip * old - grad
    if nonneg:
        return max(v - l1, 0.0) / (lip + l2)
    if v > l1:
        return (v - l1) / (lip + l2)
    if v < -l1:
        return (v + l1) / (lip + l2)
    return 0.0


# Anderson extrapolation of the inner CD iterates (as in skglm and celer): every
# ANDERSON_K + 1 epochs the last iterates are combined into the point that best
# cancels their successive differences, kept only if it lowers the block objective.
# A trial costs about one epoch (the residual at the extrapolated point), and most
# working-set solves stop after a handful of epochs, so it is tried rarely: the
# benchmark's sparse Lasso ran faster with 8 than with skglm's 5 or with none.
ANDERSON_K = 8


@njit(cache=True)
def _block_objective(r, x, idx, l1, l2, nonneg, inv_n):
    val = 0.5 * inv_n * np.dot(r, r)
    for jj in range(idx.shape[0]):
        j = idx[jj]
        if nonneg[j] and x[jj] < 0.0:
            return np.inf
        val += l1[j] * abs(x[jj]) + 0.5 * l2[j] * x[jj] * x[jj]
    return val


@njit(cache=True)
def _anderson_point(hist):
    K = hist.shape[0] - 1
    U = hist[1:] - hist[:-1]
    C = U @ U.T
    C += (1e-10 * np.trace(C) + 1e-300) * np.eye(K)
    z = np.linalg.solve(C, np.ones(K))
    c = z / np.sum(z)
    out = np.zeros(hist.shape[1])
    for k in range(K):
        out += c[k] * hist[k + 1]
    return out


@njit(cache=True)
def column_sq_norms_csc(data, indptr):
    """Squared Euclidean norms of the columns of a CSC matrix (one pass over ``data``)."""
    p = indptr.shape[0] - 1
    out = np.zeros(p)
    for j in range(p):
        s = 0.0
        for k in range(indptr[j], indptr[j + 1]):
            s += data[k] * data[k]
        out[j] = s
    return out


@njit(cache=True, fastmath=FAST)
def column_sq_norms_dot_csc(data, indices, indptr, v):
    """Squared column norms and ``A' v`` of a CSC matrix in one pass over ``data``."""
    p = indptr.shape[0] - 1
    sq = np.zeros(p)
    dot = np.zeros(p)
    for j in range(p):
        s = 0.0
        t = 0.0
        for k in range(indptr[j], indptr[j + 1]):
            s += data[k] * data[k]
            t += data[k] * v[indices[k]]
        sq[j] = s
        dot[j] = t
    return sq, dot


@njit(cache=True, fastmath=FAST)
def column_sq_norms_dense(A):
    """Squared Euclidean norms of the columns of a Fortran-ordered dense matrix."""
    n, p = A.shape
    out = np.zeros(p)
    for j in range(p):
        s = 0.0
        for i in range(n):
            s += A[i, j] * A[i, j]
        out[j] = s
    return out


@njit(cache=True, fastmath=FAST)
def _columns_dot(dense, A, data, indices, indptr, idx, v):
    out = np.zeros(idx.shape[0])
    for jj in range(idx.shape[0]):
        j = idx[jj]
        s = 0.0
        if dense:
            for i in range(A.shape[0]):
                s += A[i, j] * v[i]
        else:
            for k in range(indptr[j], indptr[j + 1]):
                s += data[k] * v[indices[k]]
        out[jj] = s
    return out


def columns_dot(A, idx, v):
    """``A[:, idx].T @ v`` for a Fortran dense or CSC ``A``, without copying the columns."""
    if isinstance(A, np.ndarray):
        empty_f, empty_i = np.empty(0), np.empty(0, dtype=np.int32)
        return _columns_dot(True, A, empty_f, empty_i, empty_i, idx, v)
    dummy = np.empty((0, 0), order="F")
    return _columns_dot(False, dummy, A.data, A.indices, A.indptr, idx, v)


@njit(cache=True, fastmath=FAST)
def _cd_ls(dense, A, data, indices, indptr, idx, r, x, lips, l1, l2, nonneg, inv_n,
           max_epochs, tol):  # fmt: skip
    m = idx.shape[0]
    K = ANDERSON_K
    hist = np.empty((K + 1, m))
    r_try = np.empty_like(r)
    for epoch in range(max_epochs):
        largest = 0.0
        for jj in range(m):
            j = idx[jj]
            if lips[j] == 0.0:
                continue
            grad = 0.0
            if dense:
                for i in range(A.shape[0]):
                    grad += A[i, j] * r[i]
            else:
                for k in range(indptr[j], indptr[j + 1]):
                    grad += data[k] * r[indices[k]]
            grad *= inv_n
            new = _cd_step(x[j], grad, lips[j], l1[j], l2[j], nonneg[j])
            delta = new - x[j]
            if delta != 0.0:
                if dense:
                    for i in range(A.shape[0]):
                        r[i] += delta * A[i, j]
                else:
                    for k in range(indptr[j], indptr[j + 1]):
                        r[indices[k]] += delta * data[k]
                x[j] = new
                change = abs(delta) * (lips[j] + l2[j])
                if change > largest:
                    largest = change
        if largest <= tol:
            return epoch + 1
        slot = epoch % (K + 1)
        for jj in range(m):
            hist[slot, jj] = x[idx[jj]]
        if K > 0 and slot == K:
            x_acc = _anderson_point(hist)
            r_try[:] = r
            for jj in range(m):
                j = idx[jj]
                delta = x_acc[jj] - x[j]
                if delta == 0.0:
                    continue
                if dense:
                    for i in range(A.shape[0]):
                        r_try[i] += delta * A[i, j]
                else:
                    for k in range(indptr[j], indptr[j + 1]):
                        r_try[indices[k]] += delta * data[k]
            if _block_objective(r_try, x_acc, idx, l1, l2, nonneg, inv_n) < _block_objective(
                r, hist[K], idx, l1, l2, nonneg, inv_n
            ):
                r[:] = r_try
                for jj in range(m):
                    x[idx[jj]] = x_acc[jj]
    return max_epochs


def cd_ls_dense(A, idx, r, x, lips, l1, l2, nonneg, inv_n, max_epochs, tol):
    """Exact block minimisation of ``||r||^2 / (2n) + penalty`` by cyclic CD, dense ``A``.

    ``r = A x - b`` and ``x`` (one output column) are updated in place; only the
    columns ``idx`` move. ``lips[j] = ||a_j||^2 / n``. Anderson-accelerated. Stops
    when the largest coordinate change times its curvature is below ``tol``;
    returns the epochs done.
    """
    empty_f, empty_i = np.empty(0), np.empty(0, dtype=np.int32)
    return _cd_ls(True, A, empty_f, empty_i, empty_i, idx, r, x, lips, l1, l2, nonneg, inv_n,
                  max_epochs, tol)  # fmt: skip


def cd_ls_sparse(data, indices, indptr, idx, r, x, lips, l1, l2, nonneg, inv_n, max_epochs, tol):
    """:func:`cd_ls_dense` for a CSC matrix given by ``data, indices, indptr``."""
    dummy = np.empty((0, 0), order="F")
    return _cd_ls(False, dummy, data, indices, indptr, idx, r, x, lips, l1, l2, nonneg, inv_n,
                  max_epochs, tol)  # fmt: skip


@njit(cache=True)
def _find(parent, i):
    root = i
    while parent[root] != root:
        root = parent[root]
    while parent[i] != root:  # path compression
        nxt = parent[i]
        parent[i] = root
        i = nxt
    return root


@njit(cache=True)
def greedy_forest(indptr, indices, order, allowed, max_size):
    """Grow a forest by scanning ``order``: a node joins unless it would close a cycle.

    A node whose chosen neighbours all lie in different trees merges them; two
    chosen neighbours in one tree would close a cycle, so the node is skipped. The
    result is a maximal forest among ``allowed`` nodes (at most ``max_size`` nodes),
    returned as a boolean mask.
    """
    p = indptr.shape[0] - 1
    chosen = np.zeros(p, dtype=np.bool_)
    parent = np.arange(p)
    size = 0
    for oi in range(order.shape[0]):
        v = order[oi]
        if not allowed[v] or chosen[v]:
            continue
        ok = True
        n_roots = 0
        roots = np.empty(indptr[v + 1] - indptr[v], dtype=np.int64)
        for k in range(indptr[v], indptr[v + 1]):
            u = indices[k]
            if u == v or not chosen[u]:
                continue
            root = _find(parent, u)
            for m in range(n_roots):
                if roots[m] == root:
                    ok = False
                    break
            if not ok:
                break
            roots[n_roots] = root
            n_roots += 1
        if not ok:
            continue
        chosen[v] = True
        for m in range(n_roots):
            parent[roots[m]] = v
        size += 1
        if size >= max_size:
            break
    return chosen


@njit(cache=True)
def forest_solve(indptr, indices, data, nodes, shift, rhs):
    """Solve ``(Q_bb + diag(shift)) x = rhs`` when the graph of ``Q_bb`` is a forest.

    Gaussian belief propagation on a tree is Gaussian elimination in leaf-to-root
    order, which creates no fill-in: an upward pass folds every subtree into its
    root's diagonal and right-hand side, a downward pass back-substitutes. Cost is
    linear in the block's nodes and edges. ``rhs`` has shape ``(len(nodes), K)``.
    """
    p = indptr.shape[0] - 1
    m = nodes.shape[0]
    K = rhs.shape[1]
    pos = np.full(p, -1, dtype=np.int64)
    for a in range(m):
        pos[nodes[a]] = a
    diag = np.zeros(m)
    for a in range(m):
        v = nodes[a]
        for k in range(indptr[v], indptr[v + 1]):
            if indices[k] == v:
                diag[a] += data[k]
        diag[a] += shift[a]
    parent = np.full(m, -1, dtype=np.int64)
    parent_w = np.zeros(m)
    order = np.empty(m, dtype=np.int64)
    seen = np.zeros(m, dtype=np.bool_)
    n_ordered = 0
    for start in range(m):
        if seen[start]:
            continue
        seen[start] = True
        order[n_ordered] = start
        head = n_ordered
        n_ordered += 1
        while head < n_ordered:  # breadth-first: parents come before children
            a = order[head]
            head += 1
            v = nodes[a]
            for k in range(indptr[v], indptr[v + 1]):
                b = pos[indices[k]]
                if b < 0 or b == a or seen[b]:
                    continue
                seen[b] = True
                parent[b] = a
                parent_w[b] = data[k]
                order[n_ordered] = b
                n_ordered += 1
    J = diag.copy()
    h = rhs.copy()
    for t in range(m - 1, -1, -1):  # leaves first: fold each node into its parent
        b = order[t]
        a = parent[b]
        if a >= 0:
            ratio = parent_w[b] / J[b]
            J[a] -= ratio * parent_w[b]
            for c in range(K):
                h[a, c] -= ratio * h[b, c]
    out = np.empty_like(h)
    for t in range(m):
        b = order[t]
        a = parent[b]
        for c in range(K):
            val = h[b, c]
            if a >= 0:
                val -= parent_w[b] * out[a, c]
            out[b, c] = val / J[b]
    return out


@njit(cache=True)
def scatter_rows(indptr, indices, data, idx, d, g):
    """``g += Q[:, idx] @ d`` for a symmetric CSR ``Q``, touching only the affected rows."""
    K = d.shape[1]
    for a in range(idx.shape[0]):
        v = idx[a]
        for k in range(indptr[v], indptr[v + 1]):
            u = indices[k]
            for c in range(K):
                g[u, c] += data[k] * d[a, c]


@njit(cache=True)
def greedy_colouring(indptr, indices, order):
    """Colour nodes in ``order`` with the smallest colour unused by their neighbours."""
    p = indptr.shape[0] - 1
    colour = np.full(p, -1, dtype=np.int64)
    mark = np.full(p + 1, -1, dtype=np.int64)
    for oi in range(order.shape[0]):
        v = order[oi]
        for k in range(indptr[v], indptr[v + 1]):
            c = colour[indices[k]]
            if c >= 0:
                mark[c] = v
        c = 0
        while mark[c] == v:
            c += 1
        colour[v] = c
    return colour
