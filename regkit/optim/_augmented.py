"""A penalty on the features plus unpenalised extra coordinates (intercept columns)."""

import numpy as np

from regkit.optim._penalties import BasePenalty


class WithFreeCoordinates(BasePenalty):
    """``penalty`` on the first coordinates; the last ``n_free`` are left unpenalised.

    Estimators append intercept columns to the design; this keeps a user's penalty
    (defined on the features, e.g. a group partition of them) valid on the
    augmented problem.

    Parameters
    ----------
    penalty : BasePenalty
        The penalty of the features.
    n_free : int
        Unpenalised coordinates appended after them.

    Examples
    --------
    >>> import numpy as np
    >>> from regkit.optim import L1
    >>> from regkit.optim._augmented import WithFreeCoordinates
    >>> pen = WithFreeCoordinates(L1(1.0), 1).bind(3)
    >>> pen.free.tolist(), pen.value(np.array([[1.0], [-2.0], [5.0]]))
    ([False, False, True], 3.0)
    """

    def __init__(self, penalty, n_free):
        self.penalty = penalty
        self.n_free = int(n_free)

    @property
    def is_convex(self):
        """As the features' penalty."""
        return self.penalty.is_convex

    @property
    def is_separable(self):
        """As the features' penalty."""
        return self.penalty.is_separable

    def _bind(self, n_features):
        self._m = n_features - self.n_free
        self._inner = self.penalty.bind(self._m)

    def with_alpha(self, alpha):
        return WithFreeCoordinates(self.penalty.with_alpha(alpha), self.n_free)

    def rescaled(self, linear, quadratic):
        return WithFreeCoordinates(self.penalty.rescaled(linear, quadratic), self.n_free)

    def _split(self, idx):
        inner = idx < self._m
        return inner, idx[inner]

    @property
    def quadratic(self):
        return np.vstack([self._inner.quadratic, np.zeros((self.n_free, 1))])

    @property
    def free(self):
        return np.r_[self._inner.free, np.ones(self.n_free, dtype=bool)]

    @property
    def groups(self):
        inner = self._inner.groups
        if inner is None:
            return None
        return [*inner, *(np.array([self._m + i]) for i in range(self.n_free))]

    @property
    def is_smooth(self):
        return self._inner.is_smooth

    def nonsmooth_values(self, x, idx=None):
        pen = self._bound(x.shape[0]) if idx is None else self
        idx = np.arange(x.shape[0]) if idx is None else np.asarray(idx)
        inner, inner_idx = pen._split(idx)
        out = np.zeros(len(idx))
        out[inner] = pen._inner.nonsmooth_values(x[inner], inner_idx)
        return out

    def prox(self, v, step, idx):
        idx = np.asarray(idx)
        step = np.broadcast_to(np.asarray(step, dtype=np.float64).reshape(-1), (len(idx),))
        inner, inner_idx = self._split(idx)
        out = np.array(v, dtype=np.float64)
        out[inner] = self._inner.prox(v[inner], step[inner], inner_idx)
        return out

    def subdiff_distance(self, x, grad, idx=None):
        pen = self._bound(x.shape[0]) if idx is None else self
        idx = np.arange(x.shape[0]) if idx is None else np.asarray(idx)
        inner, inner_idx = pen._split(idx)
        out = np.array(grad, dtype=np.float64)
        out[inner] = pen._inner.subdiff_distance(x[inner], grad[inner], inner_idx)
        return out

    def zero_thresholds(self):
        return np.r_[self._inner.zero_thresholds(), np.zeros(self.n_free)]

    def critical_alpha(self, grad):
        return self._inner.critical_alpha(grad[: self._m])

    def dual_scale(self, u):
        return self._inner.dual_scale(u[: self._m])

    def conjugate(self, u):
        return self._inner.conjugate(u[: self._m])

    def coordinate_kernel(self):
        kind, a, b, nonneg = self._inner.coordinate_kernel()
        # a = 0 makes every kind vanish; b = 1 keeps the kinds' parameters valid.
        extra = np.zeros(self.n_free)
        return (kind, np.r_[a, extra], np.r_[b, extra + 1.0],
                np.r_[nonneg, np.zeros(self.n_free, dtype=bool)])  # fmt: skip

    def group_kernel(self):
        members, starts, levels = self._inner.group_kernel()
        extra = np.arange(self._m, self._m + self.n_free, dtype=np.int64)
        return (np.r_[members, extra], np.r_[starts, starts[-1] + 1 + np.arange(self.n_free)],
                np.r_[levels, np.zeros(self.n_free)])  # fmt: skip

    def __repr__(self):
        return f"WithFreeCoordinates({self.penalty!r}, n_free={self.n_free})"
