"""The default working-set solve of least squares with a separable penalty, compiled.

It is :class:`BCDSolver`'s default loop -- GS-q working sets (the support plus the
best proximal gains, sized by ``WorkingSet``), each minimised exactly by coordinate
descent (on the residual, or on the Gram matrix of a precomputed dense design)
until its duality gap is ``INNER_GAP`` times the last one (0.3 while violators are left
out, as celer does; the target itself when none is), the free coordinates
minimised exactly before every check -- with every step in numba: the Python
loop's per-iteration cost (about a millisecond) dominates small problems and paths
of 100 strengths. The generic loop is the reference; tests check both agree.
"""

import numpy as np
from numba import njit

from regkit.optim._design import col_axpy, col_dot, dot
from regkit.optim._gram import cd_gram
from regkit.optim._kernels import _cd_ls
from regkit.optim._prox import L1_KIND, prox_scalar, value_scalar, violation_scalar

# Record columns, one row per iteration (row 0: the start).
OBJECTIVE, GAP, KKT, BLOCK_SIZE, SUPPORT_SIZE = range(5)
# Inner gap target (fraction of the last gap) while violators are left out of the set.
INCOMPLETE_GAP = 0.3


@njit(cache=True, nogil=True)
def _gradient(dense, A, data, indices, indptr, r, p, inv_n):
    """The full gradient ``A' r / n`` from the residual."""
    g = np.empty(p)
    for j in range(p):
        g[j] = col_dot(dense, A, data, indices, indptr, j, r) * inv_n
    return g


@njit(cache=True, nogil=True)
def _nonzero(v):
    """Indices of the non-zero entries (``np.flatnonzero`` in a loop)."""
    count = 0
    for i in range(v.shape[0]):
        count += v[i] != 0
    out = np.empty(count, dtype=np.int64)
    count = 0
    for i in range(v.shape[0]):
        if v[i] != 0:
            out[count] = i
            count += 1
    return out


@njit(cache=True, nogil=True)
def _measure(g, x, rr, rb, q, kind, a, b, nonneg, free, convex):
    """(objective, duality gap or NaN, largest optimality violation)."""
    p = x.shape[0]
    primal = 0.5 * rr
    viol = 0.0
    scale = 1.0
    for j in range(p):
        primal += value_scalar(kind, x[j], a[j], b[j], nonneg[j]) + 0.5 * q[j] * x[j] * x[j]
        v = abs(violation_scalar(kind, x[j], g[j] + q[j] * x[j], a[j], b[j], nonneg[j]))
        viol = max(viol, v)
        if convex and q[j] == 0.0 and a[j] > 0.0 and not free[j]:
            excess = -g[j] if nonneg[j] else abs(g[j])
            if excess > a[j]:
                scale = min(scale, a[j] / excess)
    if not convex:
        return primal, np.nan, viol
    conj = 0.0
    for j in range(p):
        if q[j] > 0.0 and not free[j]:
            u = -scale * g[j]
            excess = max(u - a[j], 0.0) if nonneg[j] else max(abs(u) - a[j], 0.0)
            conj += excess * excess / (2.0 * q[j])
    dual = -scale * rb - 0.5 * scale * scale * rr - conj
    return primal, max(primal - dual, 0.0), viol


@njit(cache=True, nogil=True)
def _gain(kind, x, g, lip, q, a, b, nonneg):
    """GS-q gain of one coordinate (the decrease of its proximal step)."""
    curv = lip + q
    if curv <= 0.0:  # a constant-zero coordinate cannot move
        return 0.0
    grad = g + q * x
    new = prox_scalar(kind, x - grad / curv, 1.0 / curv, a, b, nonneg)
    d = new - x
    change = grad * d + 0.5 * curv * d * d
    change += value_scalar(kind, new, a, b, nonneg) - value_scalar(kind, x, a, b, nonneg)
    return max(-change, 0.5 * curv * d * d if kind == L1_KIND else 0.0)


@njit(cache=True, nogil=True)
def _working_set(g, x, lips, q, kind, a, b, nonneg, free, last, first):
    """Support, free coordinates and the best gains elsewhere: (indices, size, violators)."""
    p = x.shape[0]
    forced = np.zeros(p, dtype=np.bool_)
    n_support = 0
    gains = np.zeros(p)
    n_violators = 0
    for j in range(p):
        if x[j] != 0.0 or free[j]:
            forced[j] = True
            n_support += x[j] != 0.0
            n_violators += x[j] == 0.0 and g[j] != 0.0  # a free coordinate still at 0
        else:
            gains[j] = _gain(kind, 0.0, g[j], lips[j], q[j], a[j], b[j], nonneg[j])
            n_violators += gains[j] > 0.0
    grow = max(first, n_support)
    if last > 0 and n_support >= 0.9 * last:
        grow = max(first, 3 * n_support)
    size = min(p, n_support + min(grow, max(n_violators, 1)))
    # The forced coordinates, then the best gains up to the size; in index order.
    k = 0
    for j in range(p):
        k += forced[j]
    if k + n_violators <= size:  # every violator fits: no ranking needed
        for j in range(p):
            if gains[j] > 0.0 and not forced[j]:
                forced[j] = True
                k += 1
    else:
        order = np.argsort(-gains)
        for jj in range(p):
            if k >= size:
                break
            j = order[jj]
            if not forced[j]:
                forced[j] = True
                k += 1
    chosen = np.empty(k, dtype=np.int64)
    k = 0
    for j in range(p):
        if forced[j]:
            chosen[k] = j
            k += 1
    return chosen, size, n_violators


@njit(cache=True, nogil=True)
def _solve_block(dense, A, data, indices, indptr, G, use_gram, ws, r, x, g, rr, lips, q, kind, a,
                 b, nonneg, inv_n, max_epochs, tol, gap_tol, anderson):  # fmt: skip
    """Exact CD on the working set; in Gram mode ``g`` (every coordinate) follows ``x``."""
    if use_gram:
        cd_gram(G, ws, ws, g, rr, x, lips, q, kind, a, b, nonneg, max_epochs, tol, gap_tol,
                anderson)  # fmt: skip
    else:
        _cd_ls(dense, A, data, indices, indptr, ws, r, x, lips, q, kind, a, b, nonneg, inv_n,
               max_epochs, tol, gap_tol)  # fmt: skip


@njit(cache=True, nogil=True)
def _polish_free(dense, A, data, indices, indptr, G, use_gram, free_idx, r, x, lips, inv_n):
    """Minimise the unpenalised coordinates exactly (cyclic passes until they stop moving)."""
    for _ in range(50):
        largest = 0.0
        for j in free_idx:
            if lips[j] == 0.0:
                continue
            if use_gram:  # r is not kept in Gram mode: the gradient from G and c
                continue
            delta = -col_dot(dense, A, data, indices, indptr, j, r) * inv_n / lips[j]
            if delta != 0.0:
                col_axpy(dense, A, data, indices, indptr, j, delta, r)
                x[j] += delta
                largest = max(largest, abs(delta) * lips[j])
        if largest <= 1e-15 * (1.0 + np.sqrt(dot(r, r) * inv_n)):
            return


@njit(cache=True, nogil=True)
def _screened_gradient(dense, A, data, indices, indptr, r, x, lips, a, free, in_ws, screen,
                       inv_n):  # fmt: skip
    """``A' r / n`` where it matters, the rest certified from the last full gradient.

    With ``g_ref`` and ``r_ref`` of the last full pass, a coordinate at 0 outside
    the last working set has ``|g_j| <= |g_ref_j| + ||a_j|| ||r - r_ref|| / n``; while
    that bound is below its threshold ``a_j`` (where 0 stays optimal), its stale
    entry changes neither the dual scaling, nor a violation, nor a GS-q gain, and is
    not recomputed. A full pass (and new reference) happens when over a quarter of
    the coordinates lose their certificate.
    """
    g_ref, r_ref, has_ref = screen
    p = x.shape[0]
    if has_ref[0]:
        drift = 0.0
        for i in range(r.shape[0]):
            drift += (r[i] - r_ref[i]) ** 2
        drift = np.sqrt(drift * inv_n)
        need = np.empty(p, dtype=np.bool_)
        n_need = 0
        for j in range(p):
            need[j] = (x[j] != 0.0 or in_ws[j] or free[j]
                       or abs(g_ref[j]) + np.sqrt(lips[j]) * drift >= a[j])  # fmt: skip
            n_need += need[j]
        if n_need <= p // 4:
            g = g_ref.copy()
            for j in range(p):
                if need[j]:
                    g[j] = col_dot(dense, A, data, indices, indptr, j, r) * inv_n
            return g
    g = _gradient(dense, A, data, indices, indptr, r, p, inv_n)
    g_ref[:] = g
    r_ref[:] = r
    has_ref[0] = True
    return g


@njit(cache=True, nogil=True)
def _statistics(dense, A, data, indices, indptr, G, use_gram, c, bb, y, r, x, g, support, inv_n,
                lips, a, free, in_ws, screen):  # fmt: skip
    """The gradient, ``||r||^2 / n`` and ``r'b / n``: from the Gram matrix or the residual.

    In Gram mode the gradient is written into ``g`` (the buffer the block solves
    keep current): ``G x - A'b / n`` afresh from the support's rows, so that no
    rounding carried along by the updates reaches a stopping test.
    """
    if use_gram:
        g[:] = -c
        for k in support:
            row = G[k]
            for j in range(x.shape[0]):
                g[j] += x[k] * row[j]
        rr, rb = bb, -bb
        for j in support:
            rr += x[j] * (g[j] - c[j])
            rb += c[j] * x[j]
        return g, rr, rb
    if G.shape[0]:  # Gram mode, measured exactly: rebuild the residual (dense design)
        r[:] = -y
        for j in support:
            col_axpy(dense, A, data, indices, indptr, j, x[j], r)
        screen[2][0] = False
    g = _screened_gradient(dense, A, data, indices, indptr, r, x, lips, a, free, in_ws, screen,
                           inv_n)  # fmt: skip
    rr = dot(r, r) * inv_n
    rb = -rr
    for j in support:
        rb += x[j] * g[j]
    return g, rr, rb


@njit(cache=True, nogil=True)
def _rounding(x, g, c, bb):
    """Rounding level of the Gram-based objective ``x'g - c'x + b'b / n``."""
    return 1e-16 * (bb + abs(dot(x, g)) + abs(dot(x, c)))


@njit(cache=True, nogil=True)
def _grown(records):
    """``records`` with twice the rows, the new ones NaN."""
    bigger = np.full((2 * records.shape[0], records.shape[1]), np.nan)
    bigger[: records.shape[0]] = records
    return bigger


@njit(cache=True, nogil=True)
def ws_solve(dense, A, data, indices, indptr, G, use_gram, c, bb, y, r, x, lips, q, kind, a, b,
             nonneg, free, convex, f_zero, kkt_zero, tol, max_iter, inner_gap, first, anderson,
             blocks):  # fmt: skip
    """The working-set loop; ``x`` and (residual mode) ``r`` updated in place.

    ``y`` is the target ``b``, ``c = A'b / n`` and ``bb = b'b / n`` (in Gram mode ``r``
    is not read beyond its length, except to measure tight tolerances exactly, when
    it is rebuilt); ``f_zero`` and ``kkt_zero`` scale the
    stopping tests (see ``null_scales``); ``blocks`` receives the working sets, one
    row per iteration while it has rows (-1 padded; those larger than its width are
    not kept). Returns ``(n_iter, converged, gap, support_identified_at, records)``,
    ``records`` with a row per iteration from the start (see the column names).
    """
    p = x.shape[0]
    records = np.full((min(max_iter, 15) + 2, 5), np.nan)  # grown as iterations go
    inv_n = 1.0 / r.shape[0]
    target = tol * (f_zero if convex else kkt_zero)
    gap_tol = 0.0
    change_tol = tol * kkt_zero
    last = 0
    gap = np.nan
    changed_at = 0
    previous = x != 0.0
    free_idx = _nonzero(free)
    exact = False  # Gram mode, measured on the residual (tight tolerances)
    in_ws = np.zeros(p, dtype=np.bool_)  # the last working set (screening keeps it exact)
    screen = (np.empty(p), np.empty(r.shape[0]), np.zeros(1, dtype=np.bool_))
    g_gram = np.empty(p)  # Gram mode: the gradient, kept current by the block solves
    for it in range(max_iter + 1):
        if it + 1 >= records.shape[0]:  # room for this row and the next block's size
            records = _grown(records)
        if it > 0:
            _polish_free(dense, A, data, indices, indptr, G, use_gram, free_idx, r, x, lips,
                         inv_n)  # fmt: skip
            now = x != 0.0
            for j in range(p):
                if now[j] != previous[j]:
                    changed_at, previous = it, now
                    break
        support = _nonzero(x)
        g, rr, rb = _statistics(dense, A, data, indices, indptr, G, use_gram and not exact, c, bb,
                                y, r, x, g_gram, support, inv_n, lips, a, free, in_ws,
                                screen)  # fmt: skip
        objective, gap, viol = _measure(g, x, rr, rb, q, kind, a, b, nonneg, free, convex)
        records[it, OBJECTIVE] = objective
        records[it, SUPPORT_SIZE] = support.shape[0]
        if it > 0:
            records[it, GAP] = gap / f_zero if convex else np.nan
            records[it, KKT] = viol / kkt_zero
            done = (gap <= target) if convex else (viol <= target)
            if done and use_gram and not exact and target < 1e3 * _rounding(x, g, c, bb):
                # The Gram-based gap is near its rounding floor: check on the residual.
                exact = True
                g, rr, rb = _statistics(
                    dense, A, data, indices, indptr, G, False, c, bb, y, r,
                    x, g_gram, support, inv_n, lips, a, free, in_ws, screen,
                )  # fmt: skip
                objective, gap, viol = _measure(g, x, rr, rb, q, kind, a, b, nonneg, free, convex)
                records[it, OBJECTIVE], records[it, GAP] = objective, gap / f_zero
                done = gap <= target
            if done or viol <= 1e-12 * kkt_zero or it == max_iter:
                return it, done or viol <= 1e-12 * kkt_zero, gap, changed_at, records
        ws, size, n_violators = _working_set(g, x, lips, q, kind, a, b, nonneg, free, last, first)
        last = size
        records[it + 1, BLOCK_SIZE] = ws.shape[0]
        in_ws[:] = False
        for j in ws:
            in_ws[j] = True
        if it + 1 < blocks.shape[0] and ws.shape[0] <= blocks.shape[1]:
            blocks[it + 1, : ws.shape[0]] = ws
        if convex:
            # Every violator is in the working set: solve it to the target at once; some
            # are left out: celer's 0.3 of the gap, they will change the problem anyway.
            added = ws.shape[0] - support.shape[0]
            factor = INCOMPLETE_GAP if n_violators > added else inner_gap
            gap_tol = 0.5 * target if n_violators == 0 else max(0.5 * target, factor * gap)
            change_tol = 1e-3 * tol * kkt_zero
        elif it > 0:
            change_tol = max(0.1 * viol, 1e-3 * tol * kkt_zero)
        _solve_block(dense, A, data, indices, indptr, G, use_gram and not exact, ws, r, x, g, rr,
                     lips, q, kind, a, b, nonneg, inv_n, 1000, change_tol, gap_tol,
                     anderson)  # fmt: skip
    return max_iter, False, gap, changed_at, records
