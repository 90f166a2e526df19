"""Block families: a fixed partition, variable blocks, working sets, forests of a graph.

A family turns a selection rule into the block of each iteration; :class:`Selector`
builds the family the solver's options ask for.
"""

import numpy as np

from regkit.optim._blocks import greedy_forest, make_partition
from regkit.optim._prox import L1_KIND
from regkit.optim._selection import RULES, SELECTIONS, Block

BLOCKS = ("fixed", "variable", "forest")
# A working set starts with up to this many units outside the support.
FIRST_WORKING_SET = 100
# Datafits without an exact residual-based block solver factorise a dense block
# Hessian: their blocks hold at most this many entries (coordinates x outputs).
DENSE_BLOCK_ENTRIES = 1024


class FixedPartition:
    """A partition chosen once; greedy rules score whole blocks.

    Parameters
    ----------
    problem : Problem
        The problem being solved.
    partition : str or list of array-like
        A kind of :func:`make_partition` (over units: coordinates or groups) or the
        blocks themselves (unions of whole groups under a group penalty).
    tau : int
        Units per block for the partition kinds that take a size.
    """

    def __init__(self, problem, partition, tau):
        self.problem = problem
        units, p = problem.units, problem.datafit.n_features
        if isinstance(partition, str):
            graph = problem.datafit.graph
            if units.grouped and partition in ("forest", "red-black"):
                raise ValueError(f"partition={partition!r} needs a separable penalty.")
            unit_lipschitz = units.reduce(problem.lipschitz)
            unit_blocks = make_partition(units.count, tau, kind=partition,
                                         lipschitz=unit_lipschitz, graph=graph)  # fmt: skip
            self.blocks = [units.expand(b) for b in unit_blocks]
        else:
            self.blocks = [np.sort(np.asarray(b, dtype=np.int64).ravel()) for b in partition]
            covered = np.concatenate(self.blocks)
            if covered.size == 0 or covered.min() < 0 or covered.max() >= p:
                raise ValueError("partition holds coordinates out of range.")
            if units.grouped and any(len(units.expand(units.of(b))) != len(b) for b in self.blocks):
                raise ValueError("with a group penalty, every block must be a union of groups.")
        # Coordinates outside every block map to an extra, ignored bin.
        self.block_of = np.full(p, len(self.blocks), dtype=np.int64)
        for b, blk in enumerate(self.blocks):
            self.block_of[blk] = b
        self._lipschitz = None

    def sum_per_block(self, values):
        """Per-block sums of per-coordinate ``values``."""
        m = len(self.blocks)
        return np.bincount(self.block_of, values, minlength=m + 1)[:m]

    def lipschitz(self):
        """Block Lipschitz constants (cached)."""
        if self._lipschitz is None:
            self._lipschitz = np.array([self.problem.block_lipschitz(b) for b in self.blocks])
        return self._lipschitz

    def inverse_hessians(self):
        """``(H_b + q)^+`` of every block, padded to one width, and their flat indices."""
        datafit, q = self.problem.datafit, self.problem.penalty.quadratic
        K = datafit.n_outputs
        width = max(len(b) for b in self.blocks) * K
        inv = np.zeros((len(self.blocks), width, width))
        flat = np.full((len(self.blocks), width), -1, dtype=np.int64)
        for b, blk in enumerate(self.blocks):  # once per fit, one per block
            H = datafit.block_hessian_bound(blk) + np.diag(np.repeat(q[blk, 0], K))
            m = H.shape[0]
            inv[b, :m, :m] = np.linalg.pinv(H, hermitian=True)
            flat[b, :m] = (blk[:, None] * K + np.arange(K)).ravel()
        return inv, flat

    @property
    def n_blocks(self):
        return len(self.blocks)

    def select(self, rule, it, G, x):
        b, curvature = rule.fixed(it, G, x, self)
        return Block(self.blocks[b], b, curvature)


class VariableBlocks:
    """A block of ``tau`` units chosen afresh each iteration."""

    def __init__(self, problem, tau):
        self.units = problem.units
        self.tau = min(tau, self.units.count)

    @property
    def n_blocks(self):
        return -(-self.units.count // self.tau)

    def select(self, rule, it, G, x):
        chosen, curvature = rule.variable(it, G, x, self.tau)
        return Block(self.units.expand(chosen), None, curvature)


class WorkingSet:
    """Greedy rules, ``block_size="auto"``: the support plus the rule's best other units.

    The size follows skglm and celer (the support doubled, at least
    :data:`FIRST_WORKING_SET` more), with three departures that only change the
    work: no more units outside the support than there are optimality violators
    (each costs a column pass per inner epoch); fourfold growth when the last
    working set filled up (90% of it became support), so a large support is
    reached in fewer full-gradient passes; and at most ``cap`` units.
    """

    def __init__(self, problem, cap):
        self.problem = problem
        self.cap = min(cap, problem.units.count)
        self._last = None

    n_blocks = 1

    def select(self, rule, it, G, x):
        problem = self.problem
        units = problem.units
        support = units.support(x)
        violating = units.reduce(np.any(problem.direction(G, x) != 0, axis=1).astype(float))
        n_violators = int(np.count_nonzero(violating[~support]))
        size = min(self.cap, self._size(int(support.sum()), n_violators))
        if size >= units.count:
            return Block(np.arange(problem.datafit.n_features), None, None)
        chosen, curvature = rule.working_set(G, x, support, size)
        return Block(units.expand(chosen), None, curvature)

    def _size(self, n_support, n_violators):
        grow = max(FIRST_WORKING_SET, n_support)
        if self._last is not None and n_support >= 0.9 * self._last:
            grow = max(FIRST_WORKING_SET, 3 * n_support)
        size = n_support + min(grow, max(n_violators, 1))
        self._last = size
        return size


class Forests:
    """A maximal forest of the objective's graph, grown each iteration in the rule's order."""

    def __init__(self, problem, cap):
        if problem.datafit.graph is None:
            raise ValueError("blocks='forest' needs a graph objective (GraphQuadratic).")
        if problem.units.grouped:
            raise ValueError("blocks='forest' needs a separable penalty.")
        self.problem = problem
        self.cap = cap

    n_blocks = 1

    def select(self, rule, it, G, x):
        problem = self.problem
        if rule.greedy:
            order = np.argsort(-rule.scores(G, x, 1), kind="stable")
        else:
            order = problem.rng.permutation(problem.datafit.n_features)
        return Block(greedy_forest(problem.datafit.graph, order, max_size=self.cap))


def _l1_type(penalty):
    """Separable penalties of the L1 kind (lasso, ridge, elastic net, sign constraints)."""
    return penalty.is_separable and penalty.coordinate_kernel()[0] == L1_KIND


class Selector:
    """Picks the block of each iteration: a rule of :data:`SELECTIONS` over a block family.

    Parameters
    ----------
    selection : str
        One of :data:`SELECTIONS`.
    blocks : {"fixed", "variable", "forest"}
        Block family.
    block_size : int or "auto"
        Units per block; ``"auto"`` with a greedy rule over variable blocks is a
        working set (:class:`WorkingSet`), otherwise 1 (no cap for forests).
    partition : str or list of arrays
        Fixed-block partition (see :func:`make_partition`) or the blocks themselves.
    problem : Problem
        The problem being solved.
    """

    def __init__(self, selection, blocks, block_size, partition, problem):
        if selection not in RULES:
            raise ValueError(f"selection must be one of {SELECTIONS}, got {selection!r}.")
        if blocks not in BLOCKS:
            raise ValueError(f"blocks must be one of {BLOCKS}, got {blocks!r}.")
        self.rule = RULES[selection](problem)
        self.working_set = block_size == "auto" and blocks == "variable" and self.rule.greedy
        if self.working_set and selection == "gsl" and _l1_type(problem.penalty):
            raise ValueError(
                "selection='gsl' with block_size='auto' (working sets) chooses the same "
                "working sets as selection='gs-q' for this penalty: the support is always "
                "kept, and at x_j = 0 the proximal gain (|g_j| - l1_j)^2 / (2 L_j) is half "
                "the GS-s score divided by L_j, so both rank the other coordinates alike. "
                "Use selection='gs-q', or an integer block_size to compare the rules."
            )
        datafit = problem.datafit
        if self.working_set:
            cap = (datafit.n_features if datafit.exact_block_solver
                   else max(1, DENSE_BLOCK_ENTRIES // datafit.n_outputs))  # fmt: skip
            self.family = WorkingSet(problem, cap)
        elif blocks == "forest":
            self.family = Forests(problem, None if block_size == "auto" else int(block_size))
        else:
            tau = 1 if block_size == "auto" else int(block_size)
            self.family = (FixedPartition(problem, partition, tau) if blocks == "fixed"
                           else VariableBlocks(problem, tau))  # fmt: skip

    @property
    def greedy(self):
        return self.rule.greedy

    @property
    def n_blocks(self):
        """Blocks per epoch (the default spacing of convergence checks of non-greedy rules)."""
        return self.family.n_blocks

    def select(self, it, G, x):
        """The :class:`Block` of iteration ``it`` (``G``: smooth gradient, None if not computed)."""
        return self.family.select(self.rule, it, G, x)
