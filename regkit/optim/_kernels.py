"""Compiled inner loops of the BCD engine (numba, cached on disk).

Everything here works on plain arrays, one block at a time; the Python layer above
only ever loops over blocks, never over coordinates.
"""

import numpy as np
from numba import njit

from regkit.optim._design import FAST, col_axpy, col_dot, dot
from regkit.optim._prox import L1_KIND, prox_scalar, value_scalar


@njit(cache=True, nogil=True)
def qp_cd(H, q, u, kind, a, b, nonneg, max_epochs, tol):
    """Minimise ``u'Hu/2 + q'u + sum_i pen_i(u_i)`` in place (penalty of ``kind``, see ``_prox``).

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
            new = prox_scalar(kind, u[i] - grad / hii, 1.0 / hii, a[i], b[i], nonneg[i])
            change = abs(new - u[i]) * np.sqrt(hii)
            if change > largest:
                largest = change
            u[i] = new
        if largest <= tol:
            return epoch + 1
    return max_epochs


@njit(cache=True, nogil=True)
def qp_group_cd(H, q, u, members, starts, levels, glips, max_epochs, tol):
    """Minimise ``u'Hu/2 + q'u + sum_g levels_g ||u_g||`` in place by block CD over groups.

    Group ``g`` holds the entries ``members[starts[g]:starts[g + 1]]`` of ``u`` and
    steps with ``1 / glips[g]`` (``glips[g] >= lambda_max(H_gg)``), the block
    soft-thresholding step that never increases the objective.
    """
    n_groups = starts.shape[0] - 1
    width = 0
    for g in range(n_groups):
        width = max(width, starts[g + 1] - starts[g])
    step = np.empty(width)
    for epoch in range(max_epochs):
        largest = 0.0
        for g in range(n_groups):
            lo, hi = starts[g], starts[g + 1]
            if glips[g] <= 0.0:
                continue
            norm = 0.0
            for t in range(lo, hi):
                i = members[t]
                s = q[i]
                for j in range(u.shape[0]):
                    s += H[i, j] * u[j]
                step[t - lo] = u[i] - s / glips[g]
                norm += step[t - lo] * step[t - lo]
            norm = np.sqrt(norm)
            thr = levels[g] / glips[g]
            factor = 1.0 - thr / norm if norm > thr else 0.0
            for t in range(lo, hi):
                i = members[t]
                new = factor * step[t - lo]
                change = abs(new - u[i]) * np.sqrt(glips[g])
                if change > largest:
                    largest = change
                u[i] = new
        if largest <= tol:
            return epoch + 1
    return max_epochs


@njit(cache=True, nogil=True)
def _cd_step(kind, old, grad, lip, q, a, b, nonneg):
    """Exact minimiser over one coordinate of the curvature-``lip`` model plus its penalty."""
    curv = lip + q
    if kind != L1_KIND:
        return prox_scalar(kind, old - (grad + q * old) / curv, 1.0 / curv, a, b, nonneg)
    v = lip * old - grad  # the soft-thresholding step, written without the extra divisions
    if nonneg:
        return max(v - a, 0.0) / curv
    if v > a:
        return (v - a) / curv
    if v < -a:
        return (v + a) / curv
    return 0.0


# Anderson extrapolation of the inner CD iterates (as in skglm and celer): every
# ANDERSON_K + 1 epochs the last iterates are combined into the point that best
# cancels their successive differences, kept only if it lowers the block objective.
# A trial costs about one epoch (the residual at the extrapolated point), and most
# working-set solves stop after a handful of epochs, so it is tried rarely: the
# benchmark's sparse Lasso ran faster with 8 than with skglm's 5 or with none.
ANDERSON_K = 5


@njit(cache=True, nogil=True)
def _block_objective(r, x, idx, q, kind, a, b, nonneg, inv_n):
    val = 0.5 * inv_n * dot(r, r)
    for jj in range(idx.shape[0]):
        j = idx[jj]
        val += value_scalar(kind, x[jj], a[j], b[j], nonneg[j]) + 0.5 * q[j] * x[jj] * x[jj]
    return val


@njit(cache=True, nogil=True)
def _anderson_point(hist):
    """The combination of the last iterates that best cancels their successive differences.

    Solves the small regularised system ``(U U' + eps I) z = 1`` (``U``: the K
    differences) by Cholesky, in plain loops: numba's ``np.linalg`` bindings cost
    seconds of compile time for a K x K system.
    """
    K = hist.shape[0] - 1
    m = hist.shape[1]
    C = np.zeros((K, K))
    for i in range(K):
        for j in range(i + 1):
            s = 0.0
            for t in range(m):
                s += (hist[i + 1, t] - hist[i, t]) * (hist[j + 1, t] - hist[j, t])
            C[i, j] = s
            C[j, i] = s
    trace = 0.0
    for i in range(K):
        trace += C[i, i]
    for i in range(K):
        C[i, i] += 1e-10 * trace + 1e-300
    Lc = np.zeros((K, K))  # Cholesky factor
    for i in range(K):
        for j in range(i + 1):
            s = C[i, j]
            for t in range(j):
                s -= Lc[i, t] * Lc[j, t]
            Lc[i, j] = np.sqrt(max(s, 1e-300)) if i == j else s / Lc[j, j]
    z = np.ones(K)
    for i in range(K):  # forward, then backward substitution
        for t in range(i):
            z[i] -= Lc[i, t] * z[t]
        z[i] /= Lc[i, i]
    for i in range(K - 1, -1, -1):
        for t in range(i + 1, K):
            z[i] -= Lc[t, i] * z[t]
        z[i] /= Lc[i, i]
    total = np.sum(z)
    out = np.zeros(m)
    for k in range(K):
        for t in range(m):
            out[t] += z[k] / total * hist[k + 1, t]
    return out


@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True, fastmath=FAST)
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


@njit(cache=True, nogil=True)
def _columns_dot(dense, A, data, indices, indptr, idx, v):
    out = np.zeros(idx.shape[0])
    for jj in range(idx.shape[0]):
        out[jj] = col_dot(dense, A, data, indices, indptr, idx[jj], v)
    return out


def columns_dot(design, idx, v):
    """``A[:, idx].T @ v`` for a :class:`Design`, without copying the columns."""
    return _columns_dot(*design, idx, v)


@njit(cache=True, nogil=True)
def _columns_axpy(dense, A, data, indices, indptr, idx, delta, v):
    for jj in range(idx.shape[0]):
        if delta[jj] != 0.0:
            col_axpy(dense, A, data, indices, indptr, idx[jj], delta[jj], v)


def columns_axpy(design, idx, delta, v):
    """``v += A[:, idx] @ delta`` in place (zero entries of ``delta`` skipped)."""
    _columns_axpy(*design, idx, delta, v)


# Epochs between two evaluations of the block's duality gap (each costs half an epoch).
GAP_EVERY = 4


@njit(cache=True, nogil=True)
def _block_gap(dense, A, data, indices, indptr, idx, r, x, q, a, nonneg, inv_n):
    """Duality gap of ``min_u ||A_b u - b'||^2 / (2n) + h_b(u)`` (the others fixed), L1 kind.

    With ``g = A_b' r / n`` and the dual point ``theta = -s r / n`` rescaled into
    the conjugate's domain, ``b'`` drops out: ``r' b' = n x_b' g - ||r||^2``.
    Unpenalised coordinates are left out (the caller minimises them exactly).
    """
    m = idx.shape[0]
    grads = np.empty(m)
    scale = 1.0
    for jj in range(m):
        j = idx[jj]
        g = col_dot(dense, A, data, indices, indptr, j, r)
        g *= inv_n
        grads[jj] = g
        if q[j] == 0.0 and a[j] > 0.0:  # conjugate is an indicator: rescale into it
            u = -g
            excess = u if nonneg[j] else abs(u)
            if excess > a[j]:
                scale = min(scale, a[j] / excess)
    rr = dot(r, r) * inv_n
    total = 0.5 * rr
    xg = 0.0
    for jj in range(m):
        j = idx[jj]
        xj = x[j]
        xg += xj * grads[jj]
        total += a[j] * abs(xj) + 0.5 * q[j] * xj * xj
        if q[j] > 0.0:
            u = -scale * grads[jj]
            excess = max(u - a[j], 0.0) if nonneg[j] else max(abs(u) - a[j], 0.0)
            total += excess * excess / (2.0 * q[j])
    return total + scale * (xg - rr) + 0.5 * scale * scale * rr


@njit(cache=True, nogil=True)
def _cd_ls(dense, A, data, indices, indptr, idx, r, x, lips, q, kind, a, b, nonneg, inv_n,
           max_epochs, tol, gap_tol):  # fmt: skip
    m = idx.shape[0]
    K = ANDERSON_K
    hist = np.empty((K + 1, m))
    r_try = np.empty_like(r)
    check_gap = gap_tol > 0.0 and kind == L1_KIND
    for epoch in range(max_epochs):
        largest = 0.0
        for jj in range(m):
            j = idx[jj]
            if lips[j] == 0.0:
                continue
            grad = col_dot(dense, A, data, indices, indptr, j, r) * inv_n
            new = _cd_step(kind, x[j], grad, lips[j], q[j], a[j], b[j], nonneg[j])
            delta = new - x[j]
            if delta != 0.0:
                col_axpy(dense, A, data, indices, indptr, j, delta, r)
                x[j] = new
                change = abs(delta) * (lips[j] + q[j])
                if change > largest:
                    largest = change
        if largest <= tol:
            return epoch + 1
        gap_due = check_gap and epoch % GAP_EVERY == GAP_EVERY - 1
        if gap_due and _block_gap(dense, A, data, indices, indptr, idx, r, x, q, a, nonneg,
                                  inv_n) <= gap_tol:  # fmt: skip
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
                if delta != 0.0:
                    col_axpy(dense, A, data, indices, indptr, j, delta, r_try)
            if _block_objective(r_try, x_acc, idx, q, kind, a, b, nonneg, inv_n) < (
                _block_objective(r, hist[K], idx, q, kind, a, b, nonneg, inv_n)
            ):
                r[:] = r_try
                for jj in range(m):
                    x[idx[jj]] = x_acc[jj]
    return max_epochs


def cd_ls(design, idx, r, x, lips, q, penalty_kernel, inv_n, max_epochs, tol, gap_tol=0.0):
    """Exact block minimisation of ``||r||^2 / (2n) + penalty`` by cyclic CD.

    ``design`` is a :class:`~regkit.optim._design.Design`; ``r = A x - b`` and
    ``x`` (one output column) are updated in place; only the columns ``idx`` move.
    ``lips[j] = ||a_j||^2 / n``, ``q`` the penalty's quadratic weights and
    ``penalty_kernel = (kind, a, b, nonneg)`` its compiled form. Anderson-
    accelerated. Stops when the largest coordinate change times its curvature is
    below ``tol`` or (convex kinds, ``gap_tol > 0``) when the block's duality gap,
    evaluated every :data:`GAP_EVERY` epochs, is at most ``gap_tol``; returns the
    epochs done.
    """
    kind, a, b, nonneg = penalty_kernel
    return _cd_ls(*design, idx, r, x, lips, q, kind, a, b, nonneg, inv_n, max_epochs, tol,
                  gap_tol)  # fmt: skip


@njit(cache=True, nogil=True)
def _group_cd_ls(dense, A, data, indices, indptr, members, starts, gids, levels, glips, R, X,
                 inv_n, max_epochs, tol):  # fmt: skip
    K = R.shape[1]
    width = 0
    for gg in range(gids.shape[0]):
        g = gids[gg]
        width = max(width, starts[g + 1] - starts[g])
    step = np.empty((width, K))
    for epoch in range(max_epochs):
        largest = 0.0
        for gg in range(gids.shape[0]):
            g = gids[gg]
            lo, hi = starts[g], starts[g + 1]
            if glips[g] <= 0.0:
                continue
            norm = 0.0
            for t in range(lo, hi):
                j = members[t]
                for k in range(K):
                    s = col_dot(dense, A, data, indices, indptr, j, R[:, k])
                    v = X[j, k] - s * inv_n / glips[g]
                    step[t - lo, k] = v
                    norm += v * v
            norm = np.sqrt(norm)
            thr = levels[g] / glips[g]
            factor = 1.0 - thr / norm if norm > thr else 0.0
            for t in range(lo, hi):
                j = members[t]
                for k in range(K):
                    delta = factor * step[t - lo, k] - X[j, k]
                    if delta == 0.0:
                        continue
                    col_axpy(dense, A, data, indices, indptr, j, delta, R[:, k])
                    X[j, k] += delta
                    change = abs(delta) * glips[g]
                    if change > largest:
                        largest = change
        if largest <= tol:
            return epoch + 1
    return max_epochs


def group_cd_ls(design, gids, group_kernel, glips, R, X, inv_n, max_epochs, tol):
    """Exact block minimisation of ``||R||^2 / (2n) + group lasso`` by block CD over groups.

    Updates the residual ``R = A X - B`` (shape ``(n, K)``, Fortran) and ``X`` in
    place on the groups ``gids`` of ``group_kernel = (members, starts, levels)``;
    group ``g`` steps with ``1 / glips[g]``, ``glips[g] >= lambda_max(A_g' A_g) / n``.
    Returns the epochs done.
    """
    members, starts, levels = group_kernel
    return _group_cd_ls(*design, members, starts, gids, levels, glips, R, X, inv_n,
                        max_epochs, tol)  # fmt: skip
