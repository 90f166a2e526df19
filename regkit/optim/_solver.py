"""The block coordinate descent loop: select a block, update it, check, record."""

import math
import time
from dataclasses import dataclass, field

import numpy as np

from regkit.optim._families import Selector
from regkit.optim._penalties import NoPenalty
from regkit.optim._selection import Block, Problem
from regkit.optim._updates import INNER_GAP, InnerTolerance, NewtonUpdate, make_update

# Optimality violation (relative to its value at 0) treated as stationary to rounding.
STATIONARY = 1e-12


@dataclass
class BCDResult:
    """What :meth:`BCDSolver.solve` returns.

    Parameters
    ----------
    x : ndarray of shape (n_features, n_outputs)
        The solution.
    n_iter : int
        Block updates done.
    converged : bool
        Whether the stopping criterion was met (else a budget ran out).
    criterion : {"gap", "kkt"}
        The stopping quantity: relative duality gap ``gap / F(0)``, or the largest
        optimality violation (stationarity for non-convex penalties) relative to
        its value at ``x = 0``.
    stop_value : float
        Its last computed value.
    history : list of dict
        One record per iteration (index 0 is the starting point): ``iteration``,
        ``objective``, ``gap`` / ``kkt`` (NaN when not computed that iteration),
        ``seconds``, ``block_size``, ``block`` (indices, kept for blocks of at most
        100 coordinates), ``support_size``.
    support_identified_at : int
        Last iteration at which the support (non-zero rows of ``x``) changed.
    gap : float
        Absolute duality gap at ``x`` (NaN where none exists: non-convex
        penalties, objectives without a simple dual).
    state : object
        The datafit's state at ``x``; pass it back with ``x0=x`` to warm-start.
    """

    x: np.ndarray
    n_iter: int
    converged: bool
    criterion: str
    stop_value: float
    history: list = field(default_factory=list)
    support_identified_at: int = 0
    gap: float = math.nan
    state: object = None


class BCDSolver:
    """Block coordinate descent for ``min_x f(x) + h(x)``: datafit ``f`` x penalty ``h``.

    Composable in the spirit of skglm: a *datafit* (:class:`LeastSquares`,
    :class:`Logistic`, :class:`MultinomialLogistic`, :class:`GraphQuadratic`), a
    *penalty* (:class:`BasePenalty`: :class:`L1`, :class:`L2`, :class:`ElasticNet`,
    :class:`WeightedL1`, :class:`NonNegative`, :class:`GroupLasso`, :class:`MCP`,
    :class:`SCAD`), a *selection rule*, a *block* family and an *update*,
    following Nutini, Laradji & Schmidt, "Let's make block coordinate descent
    converge faster" (JMLR 2022). The solver uses only the documented interfaces
    :class:`BaseDatafit` and :class:`BasePenalty`.

    Parameters
    ----------
    selection : {"cyclic", "random", "lipschitz", "gs", "gsl", "gsd", "gsq", "gs-q"}, \
default="gs-q"
        Block selection rule. ``"lipschitz"`` samples proportionally to the
        (block) Lipschitz constants. Greedy rules: Gauss-Southwell ``||g_b||``,
        Gauss-Southwell-Lipschitz ``||g_b||^2 / L_b``, its diagonal variant GSD
        ``sum g_i^2 / d_i`` (with one valid diagonal majoriser per block),
        Gauss-Southwell-Quadratic ``g_b' H_b^-1 g_b`` (variable blocks: iterative
        hard thresholding) and the proximal GS-q for non-smooth penalties. Every
        greedy rule applies its own score inside working sets too.
    blocks : {"fixed", "variable", "forest"}, default="variable"
        A fixed partition, a block chosen afresh each iteration, or a maximal
        forest of the objective's graph grown greedily each iteration (graph
        objectives; pair with ``update="message-passing"``).
    block_size : int or "auto", default="auto"
        Coordinates (groups, under a group penalty) per block. ``"auto"`` with a
        greedy rule over variable blocks is a growing working set: the support
        plus the rule's best other coordinates, ``|support| + max(100, |support|)``
        in all (after skglm and celer; fewer when fewer coordinates violate the
        optimality conditions, fourfold growth while the working set fills up),
        every coordinate for a smooth penalty (then the rules coincide), and at
        most ``1024 / n_outputs`` coordinates for datafits whose blocks are solved
        through a dense block Hessian (all but least squares); otherwise
        ``"auto"`` means 1 (no cap for forests).
    partition : {"sort", "order", "avg", "forest", "red-black"} or list of arrays, \
default="sort"
        How fixed blocks are formed (see :func:`make_partition`).
    update : {"gradient", "adaptive", "matrix", "newton", "message-passing"}, \
default="newton"
        ``"gradient"``: proximal step ``1/L_b`` (GSD: the rule's diagonal);
        ``"adaptive"``: per-coordinate estimates of ``L`` doubled until the
        sufficient-decrease test holds; ``"matrix"``: minimise the quadratic bound
        ``H_b`` exactly; ``"newton"``: exact block Hessian, proximal Newton
        with Armijo backtracking (exact on quadratics); ``"message-passing"``:
        exact block solve by Gaussian belief propagation (forest blocks of a
        graph quadratic).
    tol : float, default=1e-6
        Stop when the relative duality gap ``gap / F(0)`` (convex penalties and
        datafits with a simple dual: least squares, logistic) or else the largest
        optimality violation relative to its value at ``x = 0`` is at most
        ``tol``.
    max_iter : int, default=1000
        Maximum number of block updates.
    max_time : float or None, default=None
        Wall-clock budget in seconds.
    check_every : int or None, default=None
        Iterations between convergence checks (each costs a full gradient). None:
        every iteration for greedy rules (which compute the gradient anyway),
        every epoch of blocks otherwise.
    random_state : int, Generator or None, default=None
        Seeds the random rules.
    callback : callable or None, default=None
        ``callback(x, record)`` after each iteration; returning True stops.

    Notes
    -----
    Unpenalised coordinates (weight 0, e.g. an intercept column) are minimised
    exactly before each convergence check, so that the dual point is feasible and
    the duality gap exists with them.

    Examples
    --------
    >>> import numpy as np
    >>> from regkit.optim import BCDSolver, LeastSquares, L1
    >>> rng = np.random.default_rng(0)
    >>> A = rng.standard_normal((50, 20))
    >>> b = A[:, 0] - 2 * A[:, 1] + 0.01 * rng.standard_normal(50)
    >>> res = BCDSolver(selection="gs-q", update="newton").solve(LeastSquares(A, b), L1(0.1))
    >>> res.converged, np.flatnonzero(res.x[:, 0]).tolist()
    (True, [0, 1])
    """

    def __init__(
        self,
        selection="gs-q",
        blocks="variable",
        block_size="auto",
        partition="sort",
        update="newton",
        tol=1e-6,
        max_iter=1000,
        max_time=None,
        check_every=None,
        random_state=None,
        callback=None,
    ):
        self.selection = selection
        self.blocks = blocks
        self.block_size = block_size
        self.partition = partition
        self.update = update
        self.tol = tol
        self.max_iter = max_iter
        self.max_time = max_time
        self.check_every = check_every
        self.random_state = random_state
        self.callback = callback

    def solve(self, datafit, penalty=None, x0=None, state=None):
        """Minimise ``datafit + penalty`` from ``x0``.

        Parameters
        ----------
        datafit : BaseDatafit
            The smooth part, bound to its data (e.g. :class:`LeastSquares`).
        penalty : BasePenalty or None, default=None
            The penalty (unbound or bound); None means no penalty.
        x0 : array-like of shape (n_features, n_outputs) or None, default=None
            Starting point (zeros by default), mapped into the penalty's domain
            (e.g. ``x >= 0``).
        state : object or None, default=None
            The datafit state at ``x0`` (a previous :attr:`BCDResult.state`), to
            skip recomputing it on warm starts.

        Returns
        -------
        result : BCDResult
            Solution, iteration count, convergence flag and history.
        """
        if self._is_default_loop():
            result = _compiled_solve(self, datafit, penalty, x0, state)
            if result is not None:
                return result
        return _Run(self, datafit, penalty, x0, state).run()

    def _is_default_loop(self):
        """Options a datafit's compiled loop implements (:meth:`BaseDatafit.solve_compiled`)."""
        return (self.selection == "gs-q" and self.blocks == "variable"
                and self.block_size == "auto" and self.update in ("newton", "matrix")
                and self.callback is None and self.max_time is None
                and self.check_every is None)  # fmt: skip


def null_scales(problem, free):
    """Scales of the stopping tests: the objective and the optimality violation at the null point.

    The null point has every penalised coordinate at 0 and the free ones (an
    intercept) minimised: the model the penalty shrinks towards, as scikit-learn's
    tolerance is relative to the centred targets. Without free coordinates it is 0.
    """
    datafit, penalty = problem.datafit, problem.penalty
    x = np.zeros((datafit.n_features, datafit.n_outputs))
    if len(free):
        state = datafit.init_state(x)
        polisher, block = NewtonUpdate(problem), Block(free)
        for _ in range(1 if datafit.quadratic else 30):
            g = datafit.block_gradient(state, free)
            if polisher.step(state, x, block, g, 0.0) == 0.0:
                break
        value, grad = datafit.value(state), datafit.gradient(state)
    else:
        value, grad = datafit.value_at_zero(), datafit.gradient_at_zero()
    violation = np.max(np.abs(penalty.subdiff_distance(x, grad + penalty.quadratic * x)),
                       initial=0.0)  # fmt: skip
    return max(abs(value), 1e-300), max(float(violation), 1e-300)


def _compiled_solve(options, datafit, penalty, x0, state):
    """The default loop through the datafit's compiled implementation, if it has one."""
    started = time.perf_counter()
    p, K = datafit.n_features, datafit.n_outputs
    penalty = (NoPenalty() if penalty is None else penalty).bind(p)
    if x0 is None:
        x = np.zeros((p, K))
    else:  # a vanishing proximal step projects onto the penalty's domain
        x = penalty.prox(np.array(x0, dtype=np.float64).reshape(p, K), np.full(p, 1e-300),
                         np.arange(p))  # fmt: skip
    state = datafit.init_state(x) if x0 is None or state is None else state
    free = penalty.free
    free = np.flatnonzero(free) if penalty.is_convex and not free.all() else np.empty(0, int)
    lipschitz = datafit.lipschitz + penalty.quadratic[:, 0]
    problem = Problem(datafit, penalty, np.where(lipschitz > 0, lipschitz, 1.0), None)
    scales = null_scales(problem, free)
    out = datafit.solve_compiled(x, state, penalty, options.tol, options.max_iter, scales)
    if out is None:
        return None
    n_iter, converged, gap, changed_at, records, blocks = out
    history = []  # built from Python floats: paths make a history per strength
    for it, (objective, gap_it, kkt, size, support) in enumerate(records[: n_iter + 1].tolist()):
        kept = 0 < it < len(blocks) and blocks[it, 0] >= 0  # -1: not recorded
        history.append({
            "iteration": it, "objective": objective, "gap": gap_it, "kkt": kkt,
            "seconds": math.nan, "block_size": 0 if it == 0 else int(size),
            "block": blocks[it, : int(size)].copy() if kept else None,
            "support_size": int(support),
        })  # fmt: skip
    history[0]["seconds"] = 0.0
    history[-1]["seconds"] = time.perf_counter() - started
    last = history[-1]
    criterion = "kkt" if math.isnan(last["gap"]) else "gap"
    stop_value = last["kkt"] if criterion == "kkt" else last["gap"]
    return BCDResult(x, n_iter, bool(converged), criterion, stop_value, history, int(changed_at),
                     float(gap), state)  # fmt: skip


class _Run:
    """One solve: the iterate, the datafit state, the stopping test and the history."""

    def __init__(self, options, datafit, penalty, x0, state):
        self.started = time.perf_counter()
        self.opts = options
        p, K = datafit.n_features, datafit.n_outputs
        penalty = (NoPenalty() if penalty is None else penalty).bind(p)
        self.datafit, self.penalty = datafit, penalty
        self.q = penalty.quadratic
        grad_zero = datafit.gradient_at_zero()  # least squares: one pass with the Lipschitz
        lipschitz = datafit.lipschitz + self.q[:, 0]
        # A constant-zero coordinate cannot move the objective; keep it where it is.
        lipschitz = np.where(lipschitz > 0, lipschitz, 1.0)
        rng = np.random.default_rng(options.random_state)
        self.problem = Problem(datafit, penalty, lipschitz, rng)
        self.selector = Selector(options.selection, options.blocks, options.block_size,
                                 options.partition, self.problem)  # fmt: skip
        self.update = make_update(options.update, self.problem)
        self.check_every = self._check_spacing()
        self.x = self._start_point(x0, p, K)
        fresh = x0 is None or state is None
        self.state = datafit.init_state(self.x) if fresh else state
        # Starting at 0, the zero state's gradient serves the first iteration too.
        self.pending_grad = grad_zero if x0 is None else None
        # A duality gap needs some penalised coordinate and, for the free ones (an
        # intercept), a zero gradient: they are minimised before each check.
        free = penalty.free
        self.has_dual = penalty.is_convex and not free.all()
        self.free = np.flatnonzero(free) if self.has_dual else np.empty(0, int)
        self.polisher = NewtonUpdate(self.problem) if len(self.free) else None
        self.thresholds = penalty.zero_thresholds()
        self.f_zero, self.kkt_zero = null_scales(self.problem, self.free)
        self.inner_tol = self._inner_tolerance(options.tol * self.kkt_zero, self.f_zero)
        self.it, self.last_idx = 0, None
        self.criterion, self.stop_value, self.gap, self.kkt = "kkt", math.inf, math.nan, math.inf
        self.converged = False
        self.support = np.any(self.x != 0, axis=1)
        self.support_changed = 0
        self.history = [self._record(None)]

    def _check_spacing(self):
        if self.opts.check_every is not None:
            return int(self.opts.check_every)
        return 1 if self.selector.greedy else max(1, self.selector.n_blocks)

    def _start_point(self, x0, p, K):
        if x0 is None:
            return np.zeros((p, K))
        x = np.array(x0, dtype=np.float64).reshape(p, K)
        # A vanishing proximal step is the projection onto the penalty's domain.
        return self.penalty.prox(x, np.full(p, 1e-300), np.arange(p))

    # --- the loop -----------------------------------------------------------------
    def run(self):
        opts = self.opts
        while self.it < opts.max_iter:
            checking = self.it > 0 and self.it % self.check_every == 0
            G = None
            if self.selector.greedy or checking:
                if checking:
                    self._polish_free()
                grad = self._gradient()
                if checking and self._check(grad):
                    break
                G = grad + self.q * self.x
            block = self.selector.select(self.it, G, self.x)
            idx = block.idx
            if G is not None:
                Gb = G[idx]
            else:
                Gb = self.datafit.block_gradient(self.state, idx) + self.q[idx] * self.x[idx]
            self.update.step(self.state, self.x, block, Gb, self.inner_tol)
            self.pending_grad = None  # the point has moved
            self.it += 1
            self.last_idx = idx
            if self._after_step(idx):
                break
        return self._result()

    def _gradient(self):
        if self.pending_grad is not None:
            grad, self.pending_grad = self.pending_grad, None
            return grad
        if self.selector.working_set and self.last_idx is not None:
            return self.datafit.screened_gradient(self.state, self.x, self.last_idx,
                                                  self.thresholds)  # fmt: skip
        return self.datafit.gradient(self.state)

    def _after_step(self, idx):
        """Record the iteration; True when a callback or the time budget stops the run."""
        support = np.any(self.x != 0, axis=1)
        if not np.array_equal(support, self.support):
            self.support_changed, self.support = self.it, support
        record = self._record(idx)
        self.history.append(record)
        if self.opts.callback is not None and self.opts.callback(self.x, record):
            return True
        limit = self.opts.max_time
        return limit is not None and time.perf_counter() - self.started > limit

    # --- stopping -------------------------------------------------------------------
    def _polish_free(self):
        """Minimise the unpenalised coordinates exactly, so that the dual point is feasible."""
        if self.polisher is None:
            return
        free = Block(self.free)
        scale = 1e-13 * self.kkt_zero
        for _ in range(1 if self.datafit.quadratic else 30):
            g = self.datafit.block_gradient(self.state, self.free)
            if np.max(np.abs(g)) <= scale:
                break
            if self.polisher.step(self.state, self.x, free, g, 0.0) == 0.0:
                break

    def _check(self, grad):
        """Measure the stopping quantity; True when it meets the tolerance."""
        viol_abs = self._measure(grad)
        # Inner solves (exact block solvers) aim a decade below the current violation.
        self.inner_tol = self._inner_tolerance(0.1 * viol_abs, self.gap)
        self.converged = self._met()
        return self.converged

    def _inner_tolerance(self, change, gap):
        """Exact block solves aim below the current violation and, with a dual, gap.

        A decade below the violation, or ``INNER_GAP`` times the gap, but never
        past what the stopping test needs (half the target gap).
        """
        floor = 1e-3 * self.opts.tol * self.kkt_zero
        if not self.has_dual or math.isnan(gap):
            return InnerTolerance(max(change, floor))
        target = 0.5 * self.opts.tol * self.f_zero
        return InnerTolerance(floor, max(target, INNER_GAP * gap))

    def _met(self):
        """The tolerance is met, or the iterate is stationary to rounding level.

        The second case covers gaps that cannot shrink in floating point (a
        vanishing L1 strength shrinks the rescaled dual point to almost 0), where
        more iterations would not change ``x``.
        """
        return self.stop_value <= self.opts.tol or self.kkt <= STATIONARY

    def _measure(self, grad):
        penalty, x = self.penalty, self.x
        viol_abs = float(np.max(np.abs(penalty.subdiff_distance(x, grad + self.q * x)),
                                initial=0.0))  # fmt: skip
        gap = None
        if self.has_dual:
            gap = self.datafit.duality_gap(self.state, grad, penalty, self._objective())
        self.gap = math.nan if gap is None else gap
        rel_gap = math.nan if gap is None else gap / self.f_zero
        kkt = viol_abs / self.kkt_zero
        self.kkt = kkt
        self.history[-1]["gap"], self.history[-1]["kkt"] = rel_gap, kkt
        self.criterion = "kkt" if gap is None else "gap"
        self.stop_value = kkt if gap is None else rel_gap
        return viol_abs

    def _result(self):
        if not self.converged:
            self._polish_free()
            self._measure(self.datafit.gradient(self.state))
            self.converged = self._met()
        return BCDResult(self.x, self.it, self.converged, self.criterion, self.stop_value,
                         self.history, self.support_changed, self.gap, self.state)  # fmt: skip

    # --- records ----------------------------------------------------------------------
    def _objective(self):
        return self.datafit.value(self.state) + self.penalty.value(self.x)

    def _record(self, idx):
        return {
            "iteration": self.it,
            "objective": self._objective(),
            "gap": math.nan,
            "kkt": math.nan,
            "seconds": time.perf_counter() - self.started,
            "block_size": 0 if idx is None else len(idx),
            "block": None if idx is None or len(idx) > 100 else np.asarray(idx),
            "support_size": int(self.support.sum()),
        }
