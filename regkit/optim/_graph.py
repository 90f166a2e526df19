"""Graph quadratics ``x'Qx / 2 - c'x`` with sparse ``Q`` (label propagation, lattices)."""

import numpy as np
import scipy.sparse as sp

from regkit.optim import _graph_kernels
from regkit.optim._datafits import BaseDatafit, _power_iteration, _State


class GraphQuadratic(BaseDatafit):
    """``f(x) = x'Qx / 2 - c'x`` with a sparse symmetric positive (semi)definite ``Q``.

    The label-propagation objective (``Q`` a graph Laplacian restricted to the
    unlabelled nodes, ``c`` the pull of the labelled ones) and the paper's lattice
    problems. The state is the gradient ``Q x - c``, updated only on the rows a block
    touches, so one update costs ``O(nnz(Q[:, b]))``.

    Parameters
    ----------
    Q : sparse matrix of shape (n, n)
        Symmetric, positive semidefinite, with a non-zero diagonal.
    c : ndarray of shape (n,) or (n, n_outputs)
        Linear term.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from regkit.optim import GraphQuadratic
    >>> f = GraphQuadratic(sp.csr_array(np.array([[2.0, -1.0], [-1.0, 2.0]])), np.ones(2))
    >>> f.value(f.init_state(np.ones((2, 1))))
    -1.0
    """

    quadratic = True

    def __init__(self, Q, c):
        Q = sp.csr_array(Q, dtype=np.float64)
        Q.sum_duplicates()
        Q.sort_indices()
        if Q.shape[0] != Q.shape[1]:
            raise ValueError(f"Q must be square, got shape {Q.shape}.")
        self.Q = Q
        c = np.asarray(c, dtype=np.float64)
        self.c = c.reshape(Q.shape[0], -1)
        self.n_features, self.n_outputs = self.c.shape
        self._global_lipschitz = None

    @property
    def graph(self):
        """The CSR matrix ``Q``, whose sparsity pattern is the graph of the variables."""
        return self.Q

    def init_state(self, x):
        g = np.asarray(self.Q @ x) - self.c
        return _State(g=g, f=0.5 * float(np.sum(x * (g - self.c))))

    def value(self, state):
        return state.f

    def value_at_zero(self):
        return 0.0

    def gradient(self, state):
        return state.g.copy()

    def block_gradient(self, state, idx):
        return state.g[idx]

    def trial(self, state, idx, d):
        gd = float(np.sum(state.g[idx] * d))
        Qbb = self.Q[idx][:, idx]
        dQd = float(np.sum(d * (Qbb @ d)))

        def value(t):
            return state.f + t * gd + 0.5 * t * t * dQd

        value.parts = (idx, d)
        return value

    def commit(self, state, trial, t):
        idx, d = trial.parts
        state.f = trial(t)
        Q = self.Q
        _graph_kernels.scatter_rows(
            Q.indptr, Q.indices, Q.data, np.asarray(idx, np.int64), t * d, state.g
        )

    @property
    def lipschitz(self):
        return self.Q.diagonal().copy()

    def gershgorin(self):
        return np.asarray(abs(self.Q).sum(axis=1)).ravel()

    def block_hessian_bound(self, idx):
        return np.kron(self.Q[idx][:, idx].toarray(), np.eye(self.n_outputs))

    def block_hessian(self, state, idx):
        return self.block_hessian_bound(idx)

    def hessian_bound_matvec(self, D):
        return np.asarray(self.Q @ D)

    @property
    def global_lipschitz(self):
        if self._global_lipschitz is None:
            est = _power_iteration(self.hessian_bound_matvec, self.n_features, self.n_outputs)
            self._global_lipschitz = 1.01 * est
        return self._global_lipschitz

    def solve_forest_block(self, idx, shift, rhs):
        """Solve ``(Q_bb + diag(shift)) d = rhs`` by message passing on a forest block.

        Parameters
        ----------
        idx : ndarray of int
            Block nodes; their induced subgraph must be a forest.
        shift : ndarray of shape (len(idx),)
            Added to the block diagonal (the ``l2`` part of a penalty).
        rhs : ndarray of shape (len(idx), n_outputs)
            Right-hand side.

        Returns
        -------
        d : ndarray of shape (len(idx), n_outputs)
        """
        Q = self.Q
        return _graph_kernels.forest_solve(
            Q.indptr,
            Q.indices.astype(np.int64),
            Q.data,
            np.asarray(idx, np.int64),
            np.asarray(shift, np.float64),
            np.ascontiguousarray(rhs, dtype=np.float64),
        )
