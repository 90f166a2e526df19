"""What every BCD estimator shares: the solver options, their docs, the penalty, the record."""

import warnings
from numbers import Integral, Real

from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval, StrOptions

from regkit.optim import (
    L1,
    MCP,
    SCAD,
    SELECTIONS,
    UPDATES,
    BasePenalty,
    BCDSolver,
    ElasticNet,
)
from regkit.optim._blocks import PARTITIONS

PENALTY_NAMES = ("elasticnet", "l1", "l2", "mcp", "scad")

PENALTY_PARAMETER = """
penalty : {{"elasticnet", "l1", "l2", "mcp", "scad"}} or BasePenalty, default="elasticnet"
        The penalty. Names use ``alpha`` as their strength: ``"elasticnet"``
        (with ``l1_ratio``), ``"l1"``, ``"l2"``, and the non-convex
        :class:`~regkit.optim.MCP` (``gamma=3``) and :class:`~regkit.optim.SCAD`
        (``gamma=3.7``), which reduce the lasso's bias on large coefficients. A
        :class:`~regkit.optim.BasePenalty` object (e.g.
        :class:`~regkit.optim.GroupLasso`, :class:`~regkit.optim.WeightedL1`, an
        ``MCP`` with another ``gamma``) carries its own strength on {scale};
        ``alpha``, ``l1_ratio`` and ``positive`` then do not apply.
"""

BCD_PARAMETERS = """
selection : {"cyclic", "random", "lipschitz", "gs", "gsl", "gsd", "gsq", "gs-q"}, \
default={selection!r}
        Block selection rule of :class:`regkit.optim.BCDSolver`: cyclic, uniform
        random, sampling proportional to Lipschitz constants, or greedy
        (Gauss-Southwell, -Lipschitz, -diagonal, -quadratic, proximal GS-q).

    blocks : {"fixed", "variable", "forest"}, default={blocks!r}
        Fixed partition, a block chosen each iteration, or a forest of the graph
        grown greedily each iteration (graph objectives only).

    block_size : int or "auto", default="auto"
        Coordinates per block. ``"auto"`` with a greedy rule over variable blocks is
        a growing working set (the support plus the best-scored other coordinates,
        ``|support| + max(100, |support|)`` in all, fewer when fewer violate the
        KKT conditions, fourfold while it fills up; every coordinate for a smooth penalty; at
        most 1024 entries where blocks need a dense Hessian); otherwise 1 (no cap
        for forests).

    partition : {"sort", "order", "avg", "forest", "red-black"}, default="sort"
        How fixed blocks are formed (see :func:`regkit.optim.make_partition`).

    update : {"gradient", "adaptive", "matrix", "newton", "message-passing"}, \
default={update!r}
        Block update: proximal gradient step with the block Lipschitz constant,
        adaptive Lipschitz estimates, exact minimisation of the quadratic bound,
        (proximal) Newton with line search, or message passing on forest blocks.

    tol : float, default={tol}
        Stopping tolerance: relative duality gap where one exists, else the largest
        KKT violation relative to its value at zero (see
        :class:`regkit.optim.BCDSolver`).

    max_iter : int, default={max_iter}
        Maximum number of block updates.

    max_time : float or None, default=None
        Wall-clock budget of a fit, in seconds.

    callback : callable or None, default=None
        ``callback(x, record)`` after each block update; returning True stops.

    random_state : int, RandomState instance or None, default=None
        Seeds the random selection rules.
"""

BCD_ATTRIBUTES = """
n_iter_ : int
        Block updates done (at least 1).

    dual_gap_ : float
        Duality gap of the returned solution, on the scale of the objective above
        (NaN for non-convex penalties, which have none: see ``history_``'s
        ``kkt``, the stationarity measure).

    history_ : list of dict
        One record per iteration (0 is the start): ``objective``, ``gap``,
        ``kkt``, ``seconds``, ``block_size``, ``block``, ``support_size``.

    converged_ : bool
        Whether the stopping criterion was met.
"""

BCD_CONSTRAINTS = {
    "selection": [StrOptions(set(SELECTIONS))],
    "blocks": [StrOptions({"fixed", "variable", "forest"})],
    "block_size": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
    "partition": [StrOptions(set(PARTITIONS))],
    "update": [StrOptions(set(UPDATES))],
    "tol": [Interval(Real, 0, None, closed="left")],
    "max_iter": [Interval(Integral, 1, None, closed="left")],
    "max_time": [Interval(Real, 0, None, closed="neither"), None],
    "callback": [callable, None],
    "random_state": ["random_state"],
}


def make_penalty(penalty, alpha, l1_ratio=1.0, positive=False):
    """The :class:`BasePenalty` an estimator's ``penalty`` parameter stands for.

    Parameters
    ----------
    penalty : str or BasePenalty
        One of :data:`PENALTY_NAMES`, or a penalty object (returned as is).
    alpha : float
        Strength of the named penalties.
    l1_ratio : float, default=1.0
        Share of the L1 part (``"elasticnet"`` only).
    positive : bool, default=False
        Non-negative coefficients (``"elasticnet"``, ``"l1"``, ``"l2"`` only).

    Returns
    -------
    penalty : BasePenalty
    """
    if isinstance(penalty, BasePenalty):
        if positive:
            raise ValueError(
                "positive=True applies to the named penalties; a penalty object carries its "
                "own constraints (e.g. L1(alpha, positive=True))."
            )
        return penalty
    if penalty in ("mcp", "scad") and positive:
        raise ValueError(f"positive=True is not available with penalty={penalty!r}.")
    named = {
        "elasticnet": lambda: ElasticNet(alpha, l1_ratio, nonneg=positive),
        "l1": lambda: L1(alpha, positive=positive),
        "l2": lambda: ElasticNet(alpha, 0.0, nonneg=positive),
        "mcp": lambda: MCP(alpha),
        "scad": lambda: SCAD(alpha),
    }
    return named[penalty]()


def bcd_doc(**defaults):
    """The shared parameter block with this estimator's defaults filled in."""
    text = BCD_PARAMETERS
    for name in ("selection", "blocks", "update"):
        text = text.replace("{" + name + "!r}", repr(defaults[name]).replace("'", '"'))
    for name in ("tol", "max_iter"):
        text = text.replace("{" + name + "}", str(defaults[name]))
    return text


class BCDFitMixin:
    """Builds the solver from the estimator's parameters and records its result."""

    def _make_solver(self):
        from regkit.utils import check_random_seed

        return BCDSolver(
            selection=self.selection,
            blocks=self.blocks,
            block_size=self.block_size,
            partition=self.partition,
            update=self.update,
            tol=self.tol,
            max_iter=self.max_iter,
            max_time=self.max_time,
            random_state=check_random_seed(self.random_state),
            callback=self.callback,
        )

    def _solve_problem(self, problem):
        """Solve a :class:`LinearProblem`, record the result, return the solution ``W``."""
        penalty = problem.penalty()
        if penalty is None:  # the penalty dominates beyond float range: W = 0 exactly
            self.n_iter_, self.history_, self.converged_, self.dual_gap_ = 1, [], True, 0.0
            return problem.zero_start()
        result = self._make_solver().solve(problem.datafit, penalty)
        self._record_result(result, problem.original_gap)
        return result.x

    def _record_result(self, result, original_gap=float):
        # A problem solved at the start (e.g. all-zero targets) still counts as one pass.
        self.n_iter_ = max(1, result.n_iter)
        self.history_ = result.history
        self.converged_ = result.converged
        self.dual_gap_ = original_gap(result.gap)
        if not result.converged:
            warnings.warn(
                f"{type(self).__name__} did not converge in {result.n_iter} block updates "
                f"(relative {result.criterion} {result.stop_value:.2e} > tol={self.tol}); "
                "increase max_iter or max_time, or use a faster selection/update.",
                ConvergenceWarning,
                stacklevel=3,
            )
