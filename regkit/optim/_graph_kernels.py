"""Compiled graph kernels: greedy forests, message passing on forests, colourings."""

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def _find(parent, i):
    root = i
    while parent[root] != root:
        root = parent[root]
    while parent[i] != root:  # path compression
        nxt = parent[i]
        parent[i] = root
        i = nxt
    return root


@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True)
def scatter_rows(indptr, indices, data, idx, d, g):
    """``g += Q[:, idx] @ d`` for a symmetric CSR ``Q``, touching only the affected rows."""
    K = d.shape[1]
    for a in range(idx.shape[0]):
        v = idx[a]
        for k in range(indptr[v], indptr[v + 1]):
            u = indices[k]
            for c in range(K):
                g[u, c] += data[k] * d[a, c]


@njit(cache=True, nogil=True)
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
