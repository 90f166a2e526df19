"""Compiled one-coordinate maps of the separable penalties (numba, cached on disk).

A separable penalty is, per coordinate, one of a few *kinds* with two parameters
``a``, ``b`` and a sign flag (see :meth:`BasePenalty.coordinate_kernel`):

- ``L1_KIND``: ``a |u|`` (``b`` unused), restricted to ``u >= 0`` when ``nonneg``;
- ``MCP_KIND``: the minimax concave penalty with ``lambda = a``, ``gamma = b``;
- ``SCAD_KIND``: the smoothly clipped absolute deviation with ``lambda = a``,
  ``gamma = b``.

Each kind has here its value, its proximal map and the smallest element of
``grad + subdifferential`` (Fréchet subdifferential for the non-convex kinds), the
three quantities every solver piece needs. The compiled coordinate descent loops and
the NumPy-facing penalty classes call the same functions, so each formula exists
once. The non-convex proximal maps minimise over the candidate of each piece of the
penalty and keep the best, which is exact for any step (also where the scalar
subproblem is not convex, i.e. ``step >= gamma`` for MCP).
"""

import numpy as np
from numba import njit

L1_KIND = 0
MCP_KIND = 1
SCAD_KIND = 2


@njit(cache=True, nogil=True)
def value_scalar(kind, u, a, b, nonneg):
    """Penalty of one coordinate (``inf`` outside a sign constraint)."""
    au = abs(u)
    if kind == L1_KIND:
        if nonneg and u < 0.0:
            return np.inf
        return a * au
    if kind == MCP_KIND:
        if au <= b * a:
            return a * au - au * au / (2.0 * b)
        return 0.5 * b * a * a
    # SCAD
    if au <= a:
        return a * au
    if au <= b * a:
        return (2.0 * b * a * au - au * au - a * a) / (2.0 * (b - 1.0))
    return 0.5 * a * a * (b + 1.0)


@njit(cache=True, nogil=True)
def _candidate(best_u, best_val, u, z, step, kind, a, b, nonneg):
    val = (u - z) * (u - z) / (2.0 * step) + value_scalar(kind, u, a, b, nonneg)
    if val < best_val:
        return u, val
    return best_u, best_val


@njit(cache=True, nogil=True)
def prox_scalar(kind, z, step, a, b, nonneg):
    """``argmin_u (u - z)^2 / (2 step) + penalty(u)`` for one coordinate."""
    if kind == L1_KIND:
        thr = step * a
        if nonneg:
            return max(z - thr, 0.0)
        if z > thr:
            return z - thr
        if z < -thr:
            return z + thr
        return 0.0
    sign = 1.0 if z >= 0.0 else -1.0
    az = abs(z)
    best_u, best_val = _candidate(0.0, np.inf, 0.0, z, step, kind, a, b, False)
    if kind == MCP_KIND:
        knot = b * a
        # Inner piece |u| <= gamma * lambda: curvature 1/step - 1/gamma.
        # (when step >= gamma the piece is concave: its minimum sits at an end)
        inner = min(max((az - step * a) / (1.0 - step / b), 0.0), knot) if step < b else knot
        best_u, best_val = _candidate(best_u, best_val, sign * inner, z, step, kind, a, b, False)
        return _candidate(best_u, best_val, sign * max(az, knot), z, step, kind, a, b, False)[0]
    # SCAD: pieces [0, lambda], [lambda, gamma lambda], beyond.
    first = min(max(az - step * a, 0.0), a)
    best_u, best_val = _candidate(best_u, best_val, sign * first, z, step, kind, a, b, False)
    knot = b * a
    if step < b - 1.0:
        middle = (az * (b - 1.0) - step * b * a) / (b - 1.0 - step)
        middle = min(max(middle, a), knot)
        best_u, best_val = _candidate(best_u, best_val, sign * middle, z, step, kind, a, b, False)
    else:
        best_u, best_val = _candidate(best_u, best_val, sign * a, z, step, kind, a, b, False)
        best_u, best_val = _candidate(best_u, best_val, sign * knot, z, step, kind, a, b, False)
    return _candidate(best_u, best_val, sign * max(az, knot), z, step, kind, a, b, False)[0]


@njit(cache=True, nogil=True)
def _derivative(kind, u, a, b):
    """Derivative of the penalty at ``u != 0``."""
    sign = 1.0 if u > 0.0 else -1.0
    au = abs(u)
    if kind == L1_KIND:
        return sign * a
    if kind == MCP_KIND:
        return sign * max(a - au / b, 0.0)
    if au <= a:
        return sign * a
    return sign * max(b * a - au, 0.0) / (b - 1.0)


@njit(cache=True, nogil=True)
def violation_scalar(kind, u, grad, a, b, nonneg):
    """Smallest element of ``grad + subdifferential(u)``: 0 means stationary."""
    if u != 0.0:
        return grad + _derivative(kind, u, a, b)
    if nonneg:  # at 0 under u >= 0 only moving up is feasible
        return min(grad + a, 0.0)
    if grad > a:
        return grad - a
    if grad < -a:
        return grad + a
    return 0.0


@njit(cache=True, nogil=True)
def prox_array(kind, z, step, a, b, nonneg):
    """:func:`prox_scalar` on ``(m, K)`` arrays (``step``, ``a``, ``b``, ``nonneg``: ``(m,)``)."""
    out = np.empty_like(z)
    for i in range(z.shape[0]):
        for k in range(z.shape[1]):
            out[i, k] = prox_scalar(kind, z[i, k], step[i], a[i], b[i], nonneg[i])
    return out


@njit(cache=True, nogil=True)
def violation_array(kind, x, grad, a, b, nonneg):
    """:func:`violation_scalar` on arrays of shape ``(m, K)``."""
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        for k in range(x.shape[1]):
            out[i, k] = violation_scalar(kind, x[i, k], grad[i, k], a[i], b[i], nonneg[i])
    return out


@njit(cache=True, nogil=True)
def value_rows(kind, x, a, b, nonneg):
    """Penalty of each row of ``x`` (shape ``(m, K)``), summed over its columns."""
    out = np.zeros(x.shape[0])
    for i in range(x.shape[0]):
        for k in range(x.shape[1]):
            out[i] += value_scalar(kind, x[i, k], a[i], b[i], nonneg[i])
    return out
