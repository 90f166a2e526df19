"""Binary and multinomial logistic losses (the datafits of logistic regression)."""

import numpy as np
from scipy.special import expit, log_expit, logsumexp, xlogy

from regkit.optim._columns import block_gram
from regkit.optim._datafits import _GLMDatafit


class Logistic(_GLMDatafit):
    """Binary logistic loss ``sum_i w_i log(1 + exp(-y_i a_i'x)) / sum w``, ``y`` in {-1, 1}.

    Parameters
    ----------
    A : {ndarray, sparse matrix} of shape (n_samples, n_features)
        Design matrix.
    y : ndarray of shape (n_samples,)
        Labels in {-1, +1}.
    sample_weight : ndarray of shape (n_samples,) or None, default=None
        Non-negative weights.

    Examples
    --------
    >>> import numpy as np
    >>> from regkit.optim import Logistic
    >>> f = Logistic(np.ones((2, 1)), np.array([1.0, -1.0]))
    >>> round(f.value_at_zero(), 6)
    0.693147
    """

    def __init__(self, A, y, sample_weight=None):
        super().__init__(A, 1)
        y = np.asarray(y, dtype=np.float64).ravel()
        if not np.all(np.isin(y, (-1.0, 1.0))):
            raise ValueError("Logistic needs labels y in {-1, +1}.")
        w = np.ones_like(y) if sample_weight is None else np.asarray(sample_weight, float)
        self.y = y[:, None]
        self.c = (w / w.sum())[:, None]

    def _loss(self, z):
        return -float(np.sum(self.c * log_expit(self.y * z)))

    def _dloss(self, z):
        return -self.c * self.y * expit(-self.y * z)

    def _curvature_bound(self):
        return 0.25 * self.c[:, 0], np.ones((1, 1))

    def block_hessian(self, state, idx):
        sig = expit(state.z[:, 0])
        return block_gram(self.A, idx, self.c[:, 0] * sig * (1 - sig))

    def _neg_conjugate(self, state, scale):
        q = scale * expit(-self.y * state.z)
        return -float(np.sum(self.c * (xlogy(q, q) + xlogy(1 - q, 1 - q))))


class MultinomialLogistic(_GLMDatafit):
    """Softmax cross-entropy ``sum_i w_i [logsumexp(z_i) - z_{i, y_i}] / sum w``, ``z = A X``.

    Parameters
    ----------
    A : {ndarray, sparse matrix} of shape (n_samples, n_features)
        Design matrix.
    y : ndarray of shape (n_samples,)
        Class indices in ``0 .. n_classes - 1``.
    n_classes : int
        Number of classes (columns of ``X``).
    sample_weight : ndarray of shape (n_samples,) or None, default=None
        Non-negative weights.

    Notes
    -----
    The curvature bound is Böhning's ``(I - 11'/K) / 2`` per sample.

    Examples
    --------
    >>> import numpy as np
    >>> from regkit.optim import MultinomialLogistic
    >>> f = MultinomialLogistic(np.ones((3, 1)), np.array([0, 1, 2]), n_classes=3)
    >>> round(f.value_at_zero(), 6)
    1.098612
    """

    def __init__(self, A, y, n_classes, sample_weight=None):
        super().__init__(A, int(n_classes))
        y = np.asarray(y).ravel().astype(np.int64)
        w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, float)
        self.Y = np.zeros((len(y), self.n_outputs))
        self.Y[np.arange(len(y)), y] = 1.0
        self.c = (w / w.sum())[:, None]

    def _loss(self, z):
        return float(np.sum(self.c[:, 0] * (logsumexp(z, axis=1) - np.sum(z * self.Y, axis=1))))

    def _probabilities(self, z):
        return np.exp(z - logsumexp(z, axis=1, keepdims=True))

    def _dloss(self, z):
        return self.c * (self._probabilities(z) - self.Y)

    def _curvature_bound(self):
        K = self.n_outputs
        return self.c[:, 0], 0.5 * (np.eye(K) - np.full((K, K), 1.0 / K))

    def block_hessian(self, state, idx):
        P = self._probabilities(state.z)
        K, m = self.n_outputs, len(idx)
        H = np.zeros((m, K, m, K))
        for k in range(K):
            for j in range(k, K):
                s = self.c[:, 0] * P[:, k] * ((k == j) - P[:, j])
                H[:, k, :, j] = block_gram(self.A, idx, s)
                H[:, j, :, k] = H[:, k, :, j].T
        return H.reshape(m * K, m * K)

    def _neg_conjugate(self, state, scale):
        # Softmax's conjugate is the negative entropy on the simplex: the dual point
        # mixes the predicted probabilities with the one-hot labels.
        Q = scale * self._probabilities(state.z) + (1.0 - scale) * self.Y
        return -float(np.sum(self.c * xlogy(Q, Q)))
