"""Gaussian kernel matrices, and the sums the Cauchy-Schwarz estimators are made of.

The public estimators of :mod:`regkit.nn.losses` compose these pieces through
autograd (any input may carry a gradient); :mod:`regkit.nn._csib_objective`
computes the same sums for the CS-IB training loss with hand-written gradients.
"""

import torch

# Keeps logs of kernel sums finite when a batch carries no weight at all.
TINY = 1e-30
# Below this product of self-informations (nats^2) a variable is taken as constant.
SELF_INFORMATION_FLOOR = 1e-12


def log(value):
    """``log`` of a kernel sum, clamped at ``TINY`` (an empty sum stays finite)."""
    return torch.log(value.clamp_min(TINY))


def gram(squared, sigma):
    """Gaussian kernel matrix from squared distances."""
    return torch.exp(-squared / (2 * sigma**2))


def pairwise_squared(a, b=None):
    """``||a_i - b_j||^2`` for 2-D samples (``b=None``: ``a`` against itself).

    One column (scalar targets): the differences themselves, exact, at ``N x M``
    cost. Wider samples: the ``|a|^2 + |b|^2 - 2 a.b`` expansion (one matmul),
    after centring both sets on the mean of ``a`` (distances do not change; the
    cancellation error stays small for data far from the origin), with an exact
    zero diagonal for ``a`` against itself. No square root is taken, so gradients
    stay finite between identical rows, unlike ``cdist``'s.
    """
    if a.shape[1] == 1:
        return (a - (a if b is None else b).T).square()
    shift = a.detach().mean(dim=0)
    a = a - shift
    other = a if b is None else b - shift
    squared = a.square().sum(dim=1)[:, None] + other.square().sum(dim=1)[None, :]
    squared = (squared - 2 * a @ other.T).clamp_min(0)
    if b is not None:
        return squared
    if not squared.requires_grad:
        squared.diagonal().zero_()  # exact, where the expansion leaves rounding error
        return squared
    # Out of place: an in-place write would make autograd copy the whole matrix.
    return squared.masked_fill(torch.eye(len(a), dtype=torch.bool, device=a.device), 0.0)


# ---------------------------------------------------------------- CS-QMI
_SUM_NAMES = ("KQ", "KK", "QQ", "wKw", "wQw", "cross", "cross_KK", "cross_QQ")


def qmi_sums(K, Q, w):
    """The weighted kernel sums of the normalised CS-QMI (``w`` sums to 1).

    ``KQ = w'(K*Q)w`` (``||mu_xt||^2``), ``wKw``, ``wQw`` (their product is
    ``||mu_x (x) mu_t||^2``), ``cross = sum w Kw Qw`` (the inner product of the
    two), and the same for ``(K, K)`` and ``(Q, Q)``: a dict of scalar tensors
    (all eight as one product with ``w``, to keep the operations few).
    """
    Kw, Qw = K @ w, Q @ w
    rows = torch.stack([K * Q, K * K, Q * Q]) @ w
    vectors = torch.cat([rows, torch.stack([Kw, Qw, Kw * Qw, Kw * Kw, Qw * Qw])])
    return dict(zip(_SUM_NAMES, (vectors @ w).unbind()))


def qmi_of_sums(s):
    """The raw CS-QMI ``I(x; t)`` (nats) from :func:`qmi_sums`."""
    return log(s["KQ"]) + log(s["wKw"] * s["wQw"]) - 2 * log(s["cross"])


def normalized_qmi_of_sums(s):
    """``I(x; t) / sqrt(I(x; x) I(t; t))`` from :func:`qmi_sums`."""
    self_x = log(s["KK"]) + log(s["wKw"] * s["wKw"]) - 2 * log(s["cross_KK"])
    self_t = log(s["QQ"]) + log(s["wQw"] * s["wQw"]) - 2 * log(s["cross_QQ"])
    product = self_x * self_t
    # Either variable (numerically) constant: I(x; t) is 0 as well, and so is the
    # ratio. The clamp keeps the unused branch, and so the gradient, finite.
    scale = torch.sqrt(product.clamp_min(SELF_INFORMATION_FLOOR))
    mutual = qmi_of_sums(s)
    return torch.where(product > SELF_INFORMATION_FLOOR, mutual / scale, torch.zeros_like(mutual))


# --------------------------------------------------- conditional divergence
def conditional_weights(K, w):
    """``M = K * outer(w / d, w / d)`` with ``d = K w`` (0 where ``d = 0``)."""
    d = K @ w
    # Rows with no weighted neighbour (d = 0) carry zero weight themselves.
    scaled = torch.where(d > 0, w / d.clamp_min(TINY), torch.zeros_like(d))
    return K * torch.outer(scaled, scaled)


def prediction_sums(M, y, y_hat, width):
    """``A(y, y_hat)`` and ``A(y_hat, y_hat)``.

    The predictions against ``[y, y_hat]`` in one kernel matrix: the two sums are
    its blocks weighted by ``M`` (``M`` and the kernel are symmetric, so
    ``A(y, y_hat) = sum_ij M_ij k(y_hat_i, y_j)``).
    """
    n = len(y)
    both = gram(pairwise_squared(y_hat, torch.cat([y, y_hat])), width)
    weighted = both.reshape(n, 2, n) * M[:, None, :]
    cross, predicted = weighted.sum(dim=(0, 2))
    return cross, predicted
