"""The block coordinate descent loop: select a block, update it, check, record."""

import math
import time
from dataclasses import dataclass, field

import numpy as np

from regkit.optim._penalties import NoPenalty, min_norm_subgradient
from regkit.optim._selection import GREEDY, Selector
from regkit.optim._updates import Updater


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
        KKT violation relative to its value at ``x = 0``.
    stop_value : float
        Its last computed value.
    history : list of dict
        One record per iteration (index 0 is the starting point): ``iteration``,
        ``objective``, ``gap`` / ``kkt`` (NaN when not computed that iteration),
        ``seconds``, ``block_size``, ``block`` (indices, kept for blocks of at most
        100 coordinates), ``support_size``.
    support_identified_at : int
        Last iteration at which the support (non-zero rows of ``x``) changed.
    """

    x: np.ndarray
    n_iter: int
    converged: bool
    criterion: str
    stop_value: float
    history: list = field(default_factory=list)
    support_identified_at: int = 0


class BCDSolver:
    """Block coordinate descent for ``min_x f(x) + h(x)``: datafit ``f`` x penalty ``h``.

    Composable in the spirit of skglm: a *datafit* (:class:`LeastSquares`,
    :class:`Logistic`, :class:`MultinomialLogistic`, :class:`GraphQuadratic`), a
    separable *penalty* (:class:`NoPenalty`, :class:`L2`, :class:`L1`,
    :class:`ElasticNet`, :class:`NonNegative`), a *selection rule*, a *block* family
    and an *update*, following Nutini, Laradji & Schmidt, "Let's make block
    coordinate descent converge faster" (JMLR 2022).

    Parameters
    ----------
    selection : {"cyclic", "random", "lipschitz", "gs", "gsl", "gsd", "gsq", "gs-q"}, \
default="gs-q"
        Block selection rule. ``"lipschitz"`` samples proportionally to the
        (block) Lipschitz constants. Greedy rules: Gauss-Southwell ``||g_b||``,
        Gauss-Southwell-Lipschitz ``||g_b||^2 / L_b``, its diagonal variant GSD
        ``sum g_i^2 / d_i`` (Gershgorin ``d_i``), Gauss-Southwell-Quadratic
        ``g_b' H_b^-1 g_b`` (variable blocks: 10 steps of iterative hard
        thresholding) and the proximal GS-q for non-smooth penalties.
    blocks : {"fixed", "variable", "forest"}, default="variable"
        A fixed partition, a block chosen afresh each iteration, or a maximal
        forest of the objective's graph grown greedily each iteration (graph
        objectives; pair with ``update="message-passing"``).
    block_size : int or "auto", default="auto"
        Coordinates per block. ``"auto"`` with a greedy rule over variable blocks
        is a growing working set: the support plus the best-scored other
        coordinates, ``|support| + max(100, |support|)`` in all (after skglm and
        celer; fewer when fewer coordinates violate the KKT conditions, fourfold
        growth while the working set fills up), every coordinate for a smooth
        penalty, and at most ``1024 / n_outputs`` coordinates for datafits whose
        blocks are solved through a dense block Hessian (all but least squares);
        otherwise ``"auto"`` means 1 (no cap for forests).
    partition : {"sort", "order", "avg", "forest", "red-black"} or list of arrays, \
default="sort"
        How fixed blocks are formed (see :func:`make_partition`).
    update : {"gradient", "adaptive", "matrix", "newton", "message-passing"}, \
default="newton"
        ``"gradient"``: proximal step ``1/L_b`` (GSD: per-coordinate ``1/d_i``);
        ``"adaptive"``: per-coordinate estimates of ``L`` doubled until the
        sufficient-decrease test holds; ``"matrix"``: minimise the quadratic bound
        ``H_b`` exactly; ``"newton"``: exact block Hessian, proximal Newton
        with Armijo backtracking (exact on quadratics); ``"message-passing"``:
        exact block solve by Gaussian belief propagation (forest blocks of a
        graph quadratic).
    tol : float, default=1e-6
        Stop when the relative duality gap ``gap / F(0)`` (least squares and binary
        logistic with every coordinate penalised) or else the largest KKT
        violation relative to its value at ``x = 0`` is at most ``tol``.
    max_iter : int, default=1000
        Maximum number of block updates.
    max_time : float or None, default=None
        Wall-clock budget in seconds.
    check_every : int or None, default=None
        Iterations between convergence checks (each costs a full gradient). None:
        every iteration for greedy rules (which compute the gradient anyway),
        every ``ceil(n_features / block_size)`` iterations (an epoch) otherwise.
    random_state : int, Generator or None, default=None
        Seeds the random rules.
    callback : callable or None, default=None
        ``callback(x, record)`` after each iteration; returning True stops.

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

    def solve(self, datafit, penalty=None, x0=None):
        """Minimise ``datafit + penalty`` from ``x0``.

        Parameters
        ----------
        datafit : BaseDatafit
            The smooth part, bound to its data (e.g. :class:`LeastSquares`).
        penalty : SeparablePenalty or None, default=None
            The separable part; None means no penalty.
        x0 : array-like of shape (n_features, n_outputs) or None, default=None
            Starting point (zeros by default); projected onto ``x >= 0`` where the
            penalty demands it.

        Returns
        -------
        result : BCDResult
            Solution, iteration count, convergence flag and history.
        """
        start = time.perf_counter()
        penalty = NoPenalty() if penalty is None else penalty
        p, K = datafit.n_features, datafit.n_outputs
        l1, l2, nonneg = penalty.bind(p)
        if x0 is None:
            x = np.zeros((p, K))
        else:
            x = np.array(x0, dtype=np.float64).reshape(p, K)
            x = np.where(np.broadcast_to(nonneg, x.shape), np.maximum(x, 0.0), x)
        rng = np.random.default_rng(self.random_state)
        # Before the Lipschitz constants: least squares gets both from one data pass.
        grad_zero = datafit.gradient_at_zero()
        lipschitz = datafit.lipschitz + l2[:, 0]
        if np.any(lipschitz <= 0):
            # A constant-zero coordinate cannot move the objective; keep it at 0.
            lipschitz = np.where(lipschitz <= 0, 1.0, lipschitz)
        selector = Selector(
            self.selection, self.blocks, self.block_size, self.partition,
            datafit, l1, l2, nonneg, lipschitz, rng,
        )  # fmt: skip
        diagonal = selector.diag if self.selection == "gsd" else None
        updater = Updater(self.update, datafit, l1, l2, nonneg, diagonal=diagonal)
        greedy = self.selection in GREEDY
        if self.check_every is not None:
            check_every = int(self.check_every)
        elif greedy or selector.working_set:
            check_every = 1
        else:
            n_blocks = len(selector.partition) if self.blocks == "fixed" else -(-p // selector.tau)
            check_every = max(1, n_blocks)

        # Scale of the stopping test: F(0) for the gap, the KKT violation at 0 otherwise.
        zero_state = datafit.init_state(np.zeros((p, K)))
        f_zero = datafit.value(zero_state)
        kkt_zero = float(np.max(np.abs(min_norm_subgradient(np.zeros((p, K)), grad_zero, l1,
                                                            nonneg))))  # fmt: skip
        # Starting at 0, the zero state and its gradient serve the first iteration too.
        state = zero_state if x0 is None else datafit.init_state(x)
        start_grad = grad_zero if x0 is None else None

        def objective():
            return datafit.value(state) + penalty.value(x, (l1, l2, nonneg))

        def measure(grad):
            obj = objective()
            gap = datafit.duality_gap(state, x, grad, l1, l2, nonneg, obj)
            viol = min_norm_subgradient(x, grad + l2 * x, l1, nonneg)
            kkt = float(np.max(np.abs(viol))) / max(kkt_zero, 1e-300)
            rel_gap = math.nan if gap is None else gap / max(abs(f_zero), 1e-300)
            return rel_gap, kkt, float(np.max(np.abs(viol)))

        support = np.any(x != 0, axis=1)
        history = [self._record(0, objective(), start, None, int(support.sum()))]
        criterion = "kkt"
        stop_value = math.inf
        converged = False
        support_changed = 0
        inner_tol = self.tol * max(kkt_zero, 1e-300)
        # A working set of least squares only needs the gradient outside it when
        # some coordinate there could become a violator (see screened_gradient).
        screen = selector.working_set and hasattr(datafit, "screened_gradient")
        idx = None
        it = 0
        while it < self.max_iter:
            G = None
            if greedy or (it > 0 and it % check_every == 0):
                if it == 0 and start_grad is not None:
                    grad = start_grad
                elif screen and idx is not None:
                    grad = datafit.screened_gradient(state, x, idx, l1[:, 0])
                else:
                    grad = datafit.gradient(state)
                G = grad + l2 * x
                if it > 0 and it % check_every == 0:
                    rel_gap, kkt, kkt_abs = measure(grad)
                    history[-1]["gap"], history[-1]["kkt"] = rel_gap, kkt
                    criterion = "kkt" if math.isnan(rel_gap) else "gap"
                    stop_value = kkt if criterion == "kkt" else rel_gap
                    inner_tol = max(0.1 * kkt_abs, 1e-3 * self.tol * kkt_zero)
                    if stop_value <= self.tol:
                        converged = True
                        break
            idx, block_id = selector.select(it, G, x)
            Gb = G[idx] if G is not None else datafit.block_gradient(state, idx) + l2[idx] * x[idx]
            updater.step(state, x, idx, block_id, Gb, inner_tol)
            it += 1
            new_support = np.any(x != 0, axis=1)
            if not np.array_equal(new_support, support):
                support_changed, support = it, new_support
            record = self._record(it, objective(), start, idx, int(support.sum()))
            history.append(record)
            if self.callback is not None and self.callback(x, record):
                break
            if self.max_time is not None and time.perf_counter() - start > self.max_time:
                break
        if not converged:
            rel_gap, kkt, _ = measure(datafit.gradient(state))
            history[-1]["gap"], history[-1]["kkt"] = rel_gap, kkt
            criterion = "kkt" if math.isnan(rel_gap) else "gap"
            stop_value = kkt if criterion == "kkt" else rel_gap
            converged = stop_value <= self.tol
        return BCDResult(x, it, converged, criterion, stop_value, history, support_changed)

    @staticmethod
    def _record(it, obj, start, idx, support_size):
        return {
            "iteration": it,
            "objective": obj,
            "gap": math.nan,
            "kkt": math.nan,
            "seconds": time.perf_counter() - start,
            "block_size": 0 if idx is None else len(idx),
            "block": None if idx is None or len(idx) > 100 else np.asarray(idx),
            "support_size": support_size,
        }
