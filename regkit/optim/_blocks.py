"""Fixed block partitions and forest-structured blocks."""

import numpy as np
import scipy.sparse as sp
import scipy.sparse.csgraph

from regkit.optim import _graph_kernels

PARTITIONS = ("order", "sort", "avg", "forest", "red-black")


def make_partition(n_features, block_size, *, kind="sort", lipschitz=None, graph=None):
    """Split ``range(n_features)`` into fixed blocks.

    Parameters
    ----------
    n_features : int
        Number of coordinates.
    block_size : int
        Coordinates per block (the last block may be smaller). Ignored by
        ``"forest"`` and ``"red-black"``, whose block sizes follow the graph.
    kind : {"order", "sort", "avg", "forest", "red-black"}, default="sort"
        ``"order"``: contiguous chunks. ``"sort"``: chunks of coordinates sorted by
        ``lipschitz``, so each block holds similar constants (best in the paper's
        Fig. 10). ``"avg"``: interleave large and small constants so blocks have
        similar averages. ``"forest"``: greedy maximal forests of ``graph``, nodes
        taken by decreasing ``lipschitz`` (the paper's tree partitions).
        ``"red-black"``: a greedy colouring of ``graph``; each colour is an
        independent set, so its diagonal block is diagonal.
    lipschitz : ndarray of shape (n_features,) or None
        Per-coordinate constants (needed by ``"sort"``, ``"avg"``, ``"forest"``).
    graph : sparse matrix or None
        Adjacency pattern (needed by ``"forest"`` and ``"red-black"``).

    Returns
    -------
    blocks : list of ndarray of int
        Sorted coordinate indices of each block; together a partition.

    Examples
    --------
    >>> import numpy as np
    >>> from regkit.optim import make_partition
    >>> make_partition(5, 2, kind="sort", lipschitz=np.array([5.0, 1, 4, 2, 3]))
    [array([0, 2]), array([3, 4]), array([1])]
    """
    if kind not in PARTITIONS:
        raise ValueError(f"partition must be one of {PARTITIONS}, got {kind!r}.")
    if kind in ("forest", "red-black"):
        if graph is None:
            raise ValueError(f"partition={kind!r} needs a graph-structured objective.")
        graph = sp.csr_array(graph)
        if kind == "red-black":
            return _colour_classes(graph)
        order = np.argsort(-lipschitz, kind="stable") if lipschitz is not None else None
        return forest_partition(graph, order)
    if kind == "order":
        order = np.arange(n_features)
    else:
        order = np.argsort(-np.asarray(lipschitz), kind="stable")
        if kind == "avg":
            # Interleave from both ends so every block mixes large and small constants.
            lo, hi = 0, n_features - 1
            mixed = []
            while lo <= hi:
                mixed.append(order[lo])
                if lo != hi:
                    mixed.append(order[hi])
                lo, hi = lo + 1, hi - 1
            order = np.array(mixed)
            n_blocks = -(-n_features // block_size)
            return [np.sort(order[i::n_blocks]) for i in range(n_blocks)]
    return [np.sort(order[i : i + block_size]) for i in range(0, n_features, block_size)]


def greedy_forest(graph, order, *, allowed=None, max_size=None):
    """Nodes of a maximal forest grown greedily in ``order`` (the paper's greedy tree).

    Parameters
    ----------
    graph : sparse matrix of shape (n, n)
        Symmetric adjacency pattern (diagonal entries are ignored).
    order : ndarray of int
        Nodes in order of preference (e.g. by decreasing gradient magnitude).
    allowed : ndarray of bool or None, default=None
        Nodes that may be chosen.
    max_size : int or None, default=None
        Stop after this many nodes.

    Returns
    -------
    nodes : ndarray of int
        Sorted chosen nodes; their induced subgraph is a forest.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from regkit.optim import greedy_forest
    >>> triangle = sp.csr_array(np.ones((3, 3)))
    >>> greedy_forest(triangle, np.array([2, 1, 0]))
    array([1, 2])
    """
    graph = sp.csr_array(graph)
    n = graph.shape[0]
    allowed = np.ones(n, dtype=bool) if allowed is None else np.asarray(allowed, dtype=bool)
    chosen = _graph_kernels.greedy_forest(
        graph.indptr.astype(np.int64),
        graph.indices.astype(np.int64),
        np.asarray(order, dtype=np.int64),
        allowed,
        n if max_size is None else int(max_size),
    )
    return np.flatnonzero(chosen)


def forest_partition(graph, order=None):
    """Partition the nodes into forests, each grown greedily from the remaining nodes."""
    n = graph.shape[0]
    order = np.arange(n) if order is None else np.asarray(order)
    free = np.ones(n, dtype=bool)
    blocks = []
    while free.any():
        nodes = greedy_forest(graph, order, allowed=free)
        blocks.append(nodes)
        free[nodes] = False
    return blocks


def _colour_classes(graph):
    """Greedy (largest-degree-first) colouring; returns the colour classes."""
    degree = np.diff(graph.indptr)
    colour = _graph_kernels.greedy_colouring(
        graph.indptr.astype(np.int64),
        graph.indices.astype(np.int64),
        np.argsort(-degree, kind="stable").astype(np.int64),
    )
    return [np.flatnonzero(colour == c) for c in range(colour.max() + 1)]


def is_forest(graph, nodes):
    """Whether the subgraph of ``graph`` induced by ``nodes`` has no cycle.

    Parameters
    ----------
    graph : sparse matrix of shape (n, n)
        Symmetric adjacency pattern (the diagonal is ignored).
    nodes : ndarray of int
        Sorted node indices.

    Returns
    -------
    forest : bool

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from regkit.optim import is_forest
    >>> triangle = sp.csr_array(np.ones((3, 3)))
    >>> is_forest(triangle, np.array([0, 1])), is_forest(triangle, np.array([0, 1, 2]))
    (True, False)
    """
    sub = sp.csr_array(graph)[nodes][:, nodes]
    sub = sp.triu(sub, k=1)
    n_edges = sub.nnz
    n_comp = scipy.sparse.csgraph.connected_components(sub, directed=False)[0]
    return n_edges == len(nodes) - n_comp
