"""The group lasso: ``alpha * sum_g w_g ||x_g||_2``, zeroing whole groups of coordinates."""

import numpy as np

from regkit.optim._penalties import BasePenalty, _check_alpha, _check_weights, _critical


def _as_groups(groups, n_features):
    """Groups as sorted index arrays that partition ``range(n_features)``."""
    if isinstance(groups, (int, np.integer)):
        if groups < 1:
            raise ValueError(f"groups must be >= 1 when an int, got {groups}.")
        return [np.arange(i, min(i + groups, n_features)) for i in range(0, n_features, groups)]
    out = [np.sort(np.asarray(g, dtype=np.int64).ravel()) for g in groups]
    flat = np.concatenate(out) if out else np.empty(0, np.int64)
    if len(flat) != n_features or not np.array_equal(np.sort(flat), np.arange(n_features)):
        raise ValueError(f"groups must partition the {n_features} coordinates (each exactly once).")
    if any(len(g) == 0 for g in out):
        raise ValueError("groups must not be empty.")
    return out


class GroupLasso(BasePenalty):
    """Group lasso ``alpha * sum_g w_g ||x_g||_2`` (Yuan & Lin 2006).

    Whole groups are zero or non-zero together. The penalty is convex but not
    separable: every block the solver updates is a union of whole groups, and a
    group's coordinates across all outputs form one Euclidean norm.

    Parameters
    ----------
    alpha : float
        Strength.
    groups : int or list of array-like
        An int ``s``: consecutive groups of ``s`` coordinates; or the groups
        themselves, which must partition the coordinates.
    weights : array-like of shape (n_groups,) or None, default=None
        Per-group multipliers (0 leaves a group unpenalised); None means
        ``sqrt(group size)`` (Yuan & Lin's choice).

    Examples
    --------
    >>> import numpy as np
    >>> from regkit.optim import GroupLasso
    >>> pen = GroupLasso(alpha=1.0, groups=2, weights=[1.0, 1.0]).bind(4)
    >>> pen.prox(np.array([[3.0], [4.0], [0.3], [0.4]]), np.ones(4), np.arange(4)).ravel()
    array([2.4, 3.2, 0. , 0. ])
    """

    is_separable = False
    _has_strength = True

    def __init__(self, alpha, groups, weights=None):
        self.alpha = _check_alpha(alpha)
        self.groups_spec = groups
        self.weights = None if weights is None else np.asarray(weights, dtype=float)

    def _bind(self, n_features):
        groups = _as_groups(self.groups_spec, n_features)
        sizes = np.array([len(g) for g in groups])
        w = np.sqrt(sizes) if self.weights is None else self.weights
        w = _check_weights(w, len(groups), what="group weights")
        self._groups = groups
        self._group_of = np.empty(n_features, dtype=np.int64)
        for k, g in enumerate(groups):
            self._group_of[g] = k
        self._sizes = sizes
        self._levels = self.alpha * w

    @property
    def groups(self):
        return self._groups

    def group_kernel(self):
        members = np.concatenate(self._groups).astype(np.int64)
        starts = np.r_[0, np.cumsum(self._sizes)].astype(np.int64)
        return members, starts, self._levels

    @property
    def quadratic(self):
        return np.zeros((self._n_features, 1))

    @property
    def free(self):
        return self._levels[self._group_of] == 0

    @property
    def is_smooth(self):
        return not np.any(self._levels)

    def _group_norms(self, v, idx):
        """Norm of each row set of ``v`` per group id (rows ``idx``), shape (n_groups,)."""
        gid = self._group_of[idx]
        return np.sqrt(np.bincount(gid, np.sum(v * v, axis=1), minlength=len(self._groups)))

    def nonsmooth_values(self, x, idx=None):
        pen = self._bound(x.shape[0]) if idx is None else self
        idx = np.arange(x.shape[0]) if idx is None else idx
        per_group = pen._levels * pen._group_norms(x, idx)
        return (per_group / pen._sizes)[pen._group_of[idx]]

    def prox(self, v, step, idx):
        gid = self._group_of[idx]
        step = np.broadcast_to(np.asarray(step, dtype=np.float64).reshape(-1), (len(idx),))
        norms = self._group_norms(v, idx)[gid]
        thr = step * self._levels[gid]
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = np.where(norms > thr, 1.0 - thr / norms, 0.0)
        return v * factor[:, None]

    def subdiff_distance(self, x, grad, idx=None):
        pen = self._bound(x.shape[0]) if idx is None else self
        idx = np.arange(x.shape[0]) if idx is None else idx
        gid = pen._group_of[idx]
        level = pen._levels[gid][:, None]
        xnorm = pen._group_norms(x, idx)[gid][:, None]
        gnorm = pen._group_norms(grad, idx)[gid][:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            at_zero = grad * np.where(gnorm > level, 1.0 - level / gnorm, 0.0)
            moving = grad + level * x / np.where(xnorm > 0, xnorm, 1.0)
        return np.where(xnorm > 0, moving, at_zero)

    def zero_thresholds(self):
        return (self._levels / np.sqrt(self._sizes))[self._group_of]

    def critical_alpha(self, grad):
        unit = self.with_alpha(1.0).bind(self._n_features)._levels
        norms = self._group_norms(grad, np.arange(self._n_features))
        return _critical(norms, unit, np.zeros(len(unit), dtype=bool))

    def dual_scale(self, u):
        norms = self._group_norms(u, np.arange(self._n_features))
        penalised = self._levels > 0
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            ratio = np.where(norms > self._levels, self._levels / norms, 1.0)
        return float(min(1.0, np.min(ratio[penalised], initial=1.0)))

    def conjugate(self, u):
        return 0.0

    def rescaled(self, linear, quadratic):
        return GroupLasso(linear * self.alpha, self.groups_spec, self.weights)

    def __repr__(self):
        return f"GroupLasso(alpha={self.alpha:g})"
