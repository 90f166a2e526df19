"""Block selection rules: cyclic, random, Lipschitz sampling and the greedy family.

Greedy rules score coordinates (variable blocks) or blocks (fixed partitions) from
the full gradient ``G`` of the smooth part (datafit plus the ``l2`` part of the
penalty). With a non-smooth penalty, ``gs``, ``gsl``, ``gsd`` and ``gsq`` score the
minimum-norm subgradient (the paper's GS-s variants) and ``gs-q`` scores the exact
decrease of a proximal step with curvature ``L`` (the paper's GS-q).
"""

import numpy as np

from regkit.optim._blocks import greedy_forest, make_partition
from regkit.optim._penalties import min_norm_subgradient, prox_l1

SELECTIONS = ("cyclic", "random", "lipschitz", "gs", "gsl", "gsd", "gsq", "gs-q")
GREEDY = frozenset({"gs", "gsl", "gsd", "gsq", "gs-q"})
BLOCKS = ("fixed", "variable", "forest")
FIRST_WORKING_SET = 100


def block_lipschitz(datafit, idx, l2):
    """Largest eigenvalue of the block's Hessian bound plus its ``l2`` (or a bound on it)."""
    L = datafit.lipschitz
    if len(idx) == 1:
        top = L[idx[0]]
    elif len(idx) * datafit.n_outputs <= 512:
        top = np.linalg.eigvalsh(datafit.block_hessian_bound(idx))[-1]
    else:
        # Both are upper bounds on the largest eigenvalue: the trace, and the
        # largest Gershgorin row sum of the whole Hessian bound.
        top = min(L[idx].sum(), datafit.gershgorin()[idx].max())
    return float(top) + float(np.max(l2[idx]))


def proximal_scores(G, x, l1, nonneg, curv):
    """GS-q scores ``-min_d [G d + curv d^2 / 2 + h(x + d) - h(x)]`` per coordinate (row)."""
    curv = curv[:, None]
    new = prox_l1(x - G / curv, l1 / curv, nonneg)
    d = new - x
    gain = -(G * d + 0.5 * curv * d * d + l1 * (np.abs(new) - np.abs(x)))
    return gain.sum(axis=1)


class Selector:
    """Picks the block of each iteration.

    Parameters
    ----------
    selection : str
        One of :data:`SELECTIONS`.
    blocks : {"fixed", "variable", "forest"}
        Fixed partition, a block chosen each iteration, or a forest of the
        objective's graph chosen each iteration (graph objectives only).
    block_size : int or "auto"
        Coordinates per block. ``"auto"`` with a greedy rule and variable blocks is
        a growing working set: the current support plus the best-scored other
        coordinates, ``|support| + max(100, |support|)`` in all (as skglm and
        celer size theirs, with the refinements of ``_working_set_size``); otherwise
        ``"auto"`` means 1, or no cap for forests.
    partition : str or list of arrays
        Fixed-block partition (see :func:`make_partition`) or the blocks themselves.
    datafit, l1, l2, nonneg, lipschitz, rng
        The problem and the per-coordinate curvature ``lipschitz`` (``l2`` included).
    """

    def __init__(
        self, selection, blocks, block_size, partition, datafit, l1, l2, nonneg, lipschitz, rng
    ):
        if selection not in SELECTIONS:
            raise ValueError(f"selection must be one of {SELECTIONS}, got {selection!r}.")
        if blocks not in BLOCKS:
            raise ValueError(f"blocks must be one of {BLOCKS}, got {blocks!r}.")
        self.selection, self.blocks = selection, blocks
        self.datafit, self.l1, self.l2, self.nonneg = datafit, l1, l2, nonneg
        self.L, self.rng = lipschitz, rng
        p = datafit.n_features
        self.p = p
        self.working_set = block_size == "auto" and blocks == "variable" and self.greedy
        # Blocks solved through a dense block Hessian stay small enough to factorise;
        # least squares solves any block by CD on the residual.
        self.ws_cap = (
            p if hasattr(datafit, "solve_block_cd") else max(1, min(p, 1024 // datafit.n_outputs))
        )
        if block_size == "auto":
            block_size = None if blocks == "forest" else 1
        if blocks == "forest":
            if not hasattr(datafit, "graph"):
                raise ValueError("blocks='forest' needs a graph objective (GraphQuadratic).")
            self.graph = datafit.graph
        self.tau = p if block_size is None else min(int(block_size), p)
        self.forest_cap = block_size
        self._epoch_perm = None
        self._last_tau = None
        self._block_ids = None
        if blocks == "fixed":
            if isinstance(partition, str):
                graph = getattr(datafit, "graph", None)
                self.partition = make_partition(
                    p, self.tau, kind=partition, lipschitz=lipschitz, graph=graph
                )
            else:
                self.partition = [np.sort(np.asarray(b, dtype=np.int64)) for b in partition]
                covered = np.concatenate(self.partition)
                if covered.min() < 0 or covered.max() >= p:
                    raise ValueError("partition holds coordinates out of range.")
            self._block_ids = np.empty(p, dtype=np.int64)
            for b, blk in enumerate(self.partition):
                self._block_ids[blk] = b
            self._block_L = None
            self._block_inv = None
        if selection in ("gsd",):
            self.diag = datafit.gershgorin() + l2[:, 0]
            if blocks != "fixed":
                # tau * L_i is also a valid diagonal bound for any block of size tau.
                self.diag = np.minimum(self.diag, self.tau * lipschitz)

    @property
    def greedy(self):
        return self.selection in GREEDY

    # --- fixed-block caches ------------------------------------------------------
    def block_L(self):
        if self._block_L is None:
            self._block_L = np.array(
                [block_lipschitz(self.datafit, blk, self.l2) for blk in self.partition]
            )
        return self._block_L

    def _block_inverses(self):
        if self._block_inv is None:
            K = self.datafit.n_outputs
            width = max(len(b) for b in self.partition) * K
            inv = np.zeros((len(self.partition), width, width))
            for b, blk in enumerate(self.partition):  # once per fit, one per block
                H = self.datafit.block_hessian_bound(blk) + np.diag(np.repeat(self.l2[blk, 0], K))
                m = H.shape[0]
                inv[b, :m, :m] = np.linalg.pinv(H, hermitian=True)
            self._block_inv = inv
            flat = np.full((len(self.partition), width), -1, dtype=np.int64)
            for b, blk in enumerate(self.partition):
                cols = (blk[:, None] * K + np.arange(K)).ravel()
                flat[b, : len(cols)] = cols
            self._flat_index = flat
        return self._block_inv

    # --- scores --------------------------------------------------------------------
    def _direction(self, G, x):
        if np.all(self.l1 == 0) and not self.nonneg.any():
            return G
        return min_norm_subgradient(x, G, self.l1, self.nonneg)

    def coordinate_scores(self, G, x):
        """Per-coordinate greedy scores (larger is better)."""
        rule = self.selection
        if rule == "gs-q":
            curv = self.L if self.blocks != "fixed" else self.block_L()[self._block_ids]
            return proximal_scores(G, x, self.l1, self.nonneg, curv)
        s2 = np.sum(self._direction(G, x) ** 2, axis=1)
        if rule == "gs":
            return s2
        if rule == "gsd":
            return s2 / self.diag
        return s2 / self.L  # gsl, and gsq's per-coordinate fallback

    def _block_scores(self, G, x):
        rule, m = self.selection, len(self.partition)
        if rule == "gsq":
            inv = self._block_inverses()
            s = np.append(self._direction(G, x).ravel(), 0.0)[self._flat_index]
            return np.einsum("mi,mij,mj->m", s, inv, s)
        if rule == "gsl":
            s2 = np.sum(self._direction(G, x) ** 2, axis=1)
            return np.bincount(self._block_ids, s2, minlength=m) / self.block_L()
        if rule == "gs":
            s2 = np.sum(self._direction(G, x) ** 2, axis=1)
            return np.bincount(self._block_ids, s2, minlength=m)
        return np.bincount(self._block_ids, self.coordinate_scores(G, x), minlength=m)

    def _iht_block(self, G, x):
        """GSQ over variable blocks: the best ``tau``-sparse minimiser of the quadratic model.

        Approximately maximises ``g_b' H_b^-1 g_b`` over all blocks of size ``tau`` by
        minimising ``q(d) = s'd + d'(H + l2)d / 2`` over ``tau``-sparse ``d`` with at
        most 10 iterative hard-thresholding steps, then takes the support of the best
        iterate. Deviation from the paper's IHT (step ``1/L`` for the global ``L``):
        the steps are Jacobi-scaled (``1/L_i``) and start from the GSL choice, and an
        iterate is kept only if it lowers ``q``, because with badly scaled
        coordinates a ``1/L`` step is dominated by the largest ``|g_i|`` and the
        rule collapses to plain GS.
        """
        s = self._direction(G, x)
        tau = self.tau
        L = self.L[:, None]

        def model(d):
            return float(np.sum(s * d) + 0.5 * np.sum(d * (self.datafit.hessian_bound_matvec(d)
                                                            + self.l2 * d)))  # fmt: skip

        def hard_threshold(step, weight):
            keep = np.argpartition(-np.sum(weight * step**2, axis=1), tau - 1)[:tau]
            out = np.zeros_like(step)
            out[keep] = step[keep]
            return out, keep

        d, keep = hard_threshold(-s / L, L)
        best, best_keep = model(d), keep
        for _ in range(10):
            Hd = self.datafit.hessian_bound_matvec(d) + self.l2 * d
            d, keep = hard_threshold(d - (s + Hd) / L, L)
            value = model(d)
            if value < best - 1e-15 * abs(best):
                best, best_keep = value, keep
            else:
                break
        return best_keep

    # --- selection -------------------------------------------------------------------
    def select(self, it, G, x):
        """Return ``(block indices, block id or None)`` for iteration ``it``."""
        if self.blocks == "fixed":
            m = len(self.partition)
            if self.selection == "cyclic":
                b = it % m
            elif self.selection == "random":
                b = int(self.rng.integers(m))
            elif self.selection == "lipschitz":
                w = self.block_L()
                b = int(self.rng.choice(m, p=w / w.sum()))
            else:
                b = int(np.argmax(self._block_scores(G, x)))
            return self.partition[b], b
        if self.blocks == "forest":
            return self._forest(it, G, x), None
        return self._variable(it, G, x), None

    def _variable(self, it, G, x):
        p, tau, rule = self.p, self.tau, self.selection
        if rule == "cyclic":
            n_chunks = -(-p // tau)
            if self._epoch_perm is None or it % n_chunks == 0:
                self._epoch_perm = self.rng.permutation(p)
            c = it % n_chunks
            return np.sort(self._epoch_perm[c * tau : (c + 1) * tau])
        if rule == "random":
            return np.sort(self.rng.choice(p, tau, replace=False))
        if rule == "lipschitz":
            prob = self.L / self.L.sum()
            return np.sort(self.rng.choice(p, tau, replace=False, p=prob))
        scores = self.coordinate_scores(G, x)
        if self.working_set:
            if np.all(self.l1 == 0) and not self.nonneg.any():
                tau = self.ws_cap  # smooth penalty: every coordinate ends up non-zero
            else:
                support = np.any(x != 0, axis=1)
                tau = min(self.ws_cap, self._working_set_size(support, scores))
                # The support first (best-scored first if it exceeds the cap), then the rest.
                scores = np.where(support, scores + scores.max() + 1.0, scores)
        elif rule == "gsq":
            return np.sort(self._iht_block(G, x))
        if tau >= p:
            return np.arange(p)
        return np.sort(np.argpartition(-scores, tau - 1)[:tau])

    def _working_set_size(self, support, scores):
        """Support plus ``max(100, |support|)`` others, fewer if fewer violate the KKT.

        Doubling the support is the sizing of skglm and celer (which start from
        10). Departures, all about work rather than the selection: coordinates
        outside the support whose GS-q score is zero (their proximal step stays at
        0) are not added beyond the count of those that would move, since each
        costs a column pass per inner epoch; the first set holds up to 100 and,
        when the last working set filled up (90% of it became support), it grows
        fourfold, so a large support is reached in fewer full gradient passes.
        """
        n_support = int(support.sum())
        n_violators = int(np.count_nonzero(scores[~support] > 0))
        grow = max(FIRST_WORKING_SET, n_support)
        if self._last_tau is not None and n_support >= 0.9 * self._last_tau:
            grow = max(FIRST_WORKING_SET, 3 * n_support)
        tau = n_support + min(grow, max(n_violators, 1))
        self._last_tau = tau
        return tau

    def _forest(self, it, G, x):
        if self.greedy:
            order = np.argsort(-self.coordinate_scores(G, x), kind="stable")
        else:
            order = self.rng.permutation(self.p)
        return greedy_forest(self.graph, order, max_size=self.forest_cap)
