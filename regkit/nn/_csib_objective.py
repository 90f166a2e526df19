"""The CS-IB training loss as one autograd function with a hand-written gradient.

Through autograd, the two terms of CS-IB (:func:`~regkit.nn.cs_divergence` and
:func:`~regkit.nn.cs_qmi`) record about 150 small tensor operations per batch,
and as many again backwards, and build the kernel on ``x`` twice; at the batch
sizes CS-IB trains with (128 rows) dispatching them, not their arithmetic,
dominated a step. :class:`CSIBObjective` computes the kernel sums of both terms
with about 60 operations (the kernel on ``x`` once, every weighted sum a matrix
product, no temporary larger than a few ``N x N`` matrices), reads the dozen
scalars they reduce to in one transfer, combines them in float64 on the host,
and returns the gradient in ``y_hat`` and ``t`` from closed forms in about 25
more operations.

Closed forms. For a Gaussian kernel ``k(a, b) = exp(-||a - b||^2 / (2 s^2))``,
``d k(a, b) / d a = -k(a, b) (a - b) / s^2``: for a sum ``sum_ij C_ij k(u_i,
v_j)`` the gradient in ``u_i`` is ``-(rowsum(P)_i u_i - (P v)_i) / s^2`` with
``P = C * k`` (elementwise), and twice that when ``v`` is ``u`` and ``C`` is
symmetric (each pair counts twice). The loss is a function of a few such sums
(see :func:`_scalars`); the chain rule through them is scalar arithmetic.

``tests/nn/test_losses.py`` checks values and gradients against the autograd
composition of the public estimators.
"""

import math

import torch

from regkit.nn._kernels import SELF_INFORMATION_FLOOR, TINY, pairwise_squared


def _squared(batch):
    """``||a_i - a_j||^2`` for each ``(N, D)`` matrix of a ``(B, N, D)`` batch (no gradient).

    The ``|a|^2 + |a|^2 - 2 a.a`` expansion on the centred rows (the
    cancellation error stays small for data far from the origin), one batched
    matmul for all, with exact zero diagonals.
    """
    batch = batch - batch.mean(dim=1, keepdim=True)
    norms = (batch * batch).sum(dim=2)
    squared = torch.baddbmm(norms[:, :, None] + norms[:, None, :], batch, batch.mT, alpha=-2)
    squared.clamp_min_(0).diagonal(dim1=1, dim2=2).zero_()
    return squared


def _squared_width(sigma, samples, median_width):
    """The squared kernel width, a float: ``sigma**2`` or the median heuristic's.

    :func:`~regkit.nn.median_width` takes exact distances (``pdist``), so ties
    between rows are ties, as in the public estimators.
    """
    return (median_width(samples).item() if sigma == "median" else float(sigma)) ** 2


def _log(value):
    return math.log(max(value, TINY))


def _dlog(value):
    return 1.0 / value if value > TINY else 0.0


def _scalars(sums, beta):
    """The loss, and its derivatives in the sums that depend on ``y_hat`` and ``t``.

    ``sums`` (floats): ``observed = A(y, y)``, ``cross = A(y, y_hat)``,
    ``predicted = A(y_hat, y_hat)`` and the eight sums of the normalised CS-QMI
    (see :func:`regkit.nn._kernels.qmi_sums`). The divergence is
    ``log A(y, y) + log A(y_hat, y_hat) - 2 log A(y, y_hat)``; the normalised QMI
    ``v = m / sqrt(a b)`` (``m``, ``a``, ``b``: the mutual information and the
    self-informations of ``x`` and ``t``) has ``dv/dm = 1 / sqrt(a b)`` and
    ``dv/db = -v / (2 b)``, each information being a sum of logs of the sums.
    """
    s = sums
    loss = _log(s["observed"]) + _log(s["predicted"]) - 2 * _log(s["cross"])
    d = {"predicted": _dlog(s["predicted"]), "cross": -2 * _dlog(s["cross"])}
    if beta == 0:
        return loss, d
    mutual = _log(s["KQ"]) + _log(s["wKw"] * s["wQw"]) - 2 * _log(s["cross_xt"])
    self_x = _log(s["KK"]) + _log(s["wKw"] ** 2) - 2 * _log(s["cross_KK"])
    self_t = _log(s["QQ"]) + _log(s["wQw"] ** 2) - 2 * _log(s["cross_QQ"])
    product = self_x * self_t
    if not product > SELF_INFORMATION_FLOOR:  # x or t constant: the term is 0
        d.update(dict.fromkeys(("KQ", "wQw", "cross_xt", "QQ", "cross_QQ"), 0.0))
        return loss, d
    on_mutual = beta / math.sqrt(product)
    value = mutual * on_mutual
    on_self_t = -value / (2 * self_t)
    d["KQ"] = on_mutual * _dlog(s["KQ"])
    d["wQw"] = (
        on_mutual * _dlog(s["wKw"] * s["wQw"]) * s["wKw"]
        + on_self_t * _dlog(s["wQw"] ** 2) * 2 * s["wQw"]
    )
    d["cross_xt"] = -2 * on_mutual * _dlog(s["cross_xt"])
    d["QQ"] = on_self_t * _dlog(s["QQ"])
    d["cross_QQ"] = -2 * on_self_t * _dlog(s["cross_QQ"])
    return loss + value, d


def _target_kernels(y, y_hat, sigma_y, median_width):
    """Kernels of ``(y, y)``, ``(y_hat, y)`` and ``(y_hat, y_hat)`` as one ``(3, N, N)`` batch.

    Also returns the squared width. Scalar targets take exact differences
    (written into the batch); wider ones the expansion of
    :func:`~regkit.nn._kernels.pairwise_squared`.
    """
    n = len(y)
    squared = torch.empty(3, n, n, dtype=y.dtype, device=y.device)
    pairs = ((y, y), (y_hat, y), (y_hat, y_hat))
    if y.shape[1] == 1:
        for out, (a, b) in zip(squared, pairs):
            torch.sub(a, b.T, out=out)
        squared.square_()
    else:
        for out, (a, b) in zip(squared, pairs):
            out.copy_(pairwise_squared(a, None if a is b else b))
    s2 = _squared_width(sigma_y, y, median_width)
    return squared.mul_(-0.5 / s2).exp_(), s2


def _average(A, w):
    """``A @ w`` for weights summing to 1; the mean over the last axis when ``w`` is None."""
    return A.mean(dim=-1) if w is None else A @ w


class CSIBObjective(torch.autograd.Function):
    """``D_CS(p(y|x) || q(y_hat|x)) + beta * I_CS(x; t)`` (normalised), one batch.

    ``apply(y_hat, t, x, y, w, beta, sigma_x, sigma_y, sigma_t, median_width)``:
    2-D tensors of one dtype (``x``, ``y`` and ``w`` carry no gradient), ``w``
    non-negative weights (None: uniform, which saves a few operations), widths as
    floats or ``"median"``, and the :func:`~regkit.nn.median_width` function.
    Differentiable in ``y_hat`` and ``t``. Every temporary is at most a few
    ``N x N`` matrices, and each sum is one matrix product.
    """

    @staticmethod
    def forward(ctx, y_hat, t, x, y, w, beta, sigma_x, sigma_y, sigma_t, median_width):
        # The kernels on x and t as one (2, N, N) batch (the narrower variable padded
        # with zero columns: its distances do not change).
        samples = [x, t] if beta > 0 else [x]
        width = max(a.shape[1] for a in samples)
        squared = _squared(
            torch.stack([torch.constant_pad_nd(a, (0, width - a.shape[1])) for a in samples])
        )
        s2 = [
            _squared_width(sigma, a, median_width) for sigma, a in zip((sigma_x, sigma_t), samples)
        ]
        scale = torch.tensor([-0.5 / v for v in s2], dtype=x.dtype, device=x.device)
        kernels = squared.mul_(scale[:, None, None]).exp_()
        K = kernels[0]
        # The conditional weights M_ij = K_ij w_i w_j / (d_i d_j), d = K w. Uniform
        # weights (w=None) are ones. d_i >= w_i (K_ii = 1): a row with d = 0 has
        # w = 0, and its w / d is 0 (the clamp keeps it finite).
        scaled = K.sum(dim=1).reciprocal() if w is None else w / (K @ w).clamp_min(TINY)
        M = K * torch.outer(scaled, scaled)
        # A(y, y), A(y, y_hat) and A(y_hat, y_hat): the target kernels weighted by M
        # (symmetric, so A(y, y_hat) is also sum_ij M_ij k(y_hat_i, y_j)).
        targets, s2_y = _target_kernels(y, y_hat, sigma_y, median_width)
        parts = [targets.reshape(3, -1) @ M.reshape(-1)]
        if beta > 0:
            w_unit = None if w is None else w / w.sum().clamp_min(TINY)
            # w'(A * B)w for A, B in {K, Q}: one 2 x 2 Gram matrix of the kernels
            # scaled by sqrt(w_i w_j).
            if w_unit is None:
                flat = kernels.reshape(2, -1)
                parts.append((flat @ flat.T).div_(len(x) ** 2))
            else:
                root = w_unit.sqrt()
                flat = (kernels * torch.outer(root, root)).reshape(2, -1)
                parts.append(flat @ flat.T)
            products = _average(kernels, w_unit)  # K w, Q w
            # sum w (A w)(B w) and w'Aw for A, B in {K, Q}.
            parts.append(_average(products[:, None] * products[None], w_unit))
            parts.append(_average(products, w_unit))
            ctx.qmi = (kernels, products, w_unit, t, s2[1])
        # The dozen scalars the loss is made of, in one transfer.
        values = torch.cat([part.reshape(-1) for part in parts]).tolist()
        loss, ctx.derivatives = _scalars(dict(zip(_SUMS, values)), beta)
        ctx.prediction = (targets, M, y, y_hat, s2_y)
        ctx.beta = beta
        return torch.tensor(loss, dtype=y_hat.dtype, device=y_hat.device)

    @staticmethod
    def backward(ctx, grad):
        d, g = ctx.derivatives, float(grad)
        targets, M, y, y_hat, s2_y = ctx.prediction
        # d A(y, y_hat) / d y_hat_i = -sum_j P_ij (y_hat_i - y_j) / s^2 with
        # P = M * k(y_hat, y), and d A(y_hat, y_hat) twice that with y_hat for y.
        coefficients = torch.tensor(
            [-g * d["cross"] / s2_y, -2 * g * d["predicted"] / s2_y],
            dtype=M.dtype,
            device=M.device,
        )
        P = targets[1:] * M * coefficients[:, None, None]
        grad_y_hat = P.sum(dim=(0, 2))[:, None] * y_hat - P[0] @ y - P[1] @ y_hat
        grad_t = None
        if ctx.beta > 0:
            (K, Q), (Kw, Qw), w, t, s2_t = ctx.qmi
            # d loss / d Q_ij through the five sums of Q, symmetrised (Q_ij = Q_ji):
            # 2 w_i w_j (dKQ K + 2 dQQ Q + dwQw)_ij + a_i w_j + w_i a_j with
            # a = w (dxt K w + 2 dQQ' Q w); uniform weights are 1 / N.
            a = d["cross_xt"] * Kw + 2 * d["cross_QQ"] * Qw
            if w is None:
                c = 1.0 / len(t) ** 2
                S = K * (2 * c * d["KQ"])
                S.add_(Q, alpha=4 * c * d["QQ"])
                a = a.add_(d["wQw"]).mul_(c)
                S.add_(a[:, None]).add_(a[None, :])
            else:
                S = K * (2 * d["KQ"])
                S.add_(Q, alpha=4 * d["QQ"]).add_(2 * d["wQw"]).mul_(torch.outer(w, w))
                a = torch.outer(w * a, w)
                S.add_(a).add_(a.T)
            # Q_ij = exp(-||t_i - t_j||^2 / (2 s^2)): d Q_ij / d t_i = -Q_ij (t_i - t_j) / s^2.
            S.mul_(Q)
            grad_t = (-g / s2_t) * (S.sum(dim=1, keepdim=True) * t - S @ t)
        return grad_y_hat, grad_t, *[None] * 8


# The scalars of CSIBObjective.forward, in order: A(y, y), A(y, y_hat),
# A(y_hat, y_hat), then (with beta > 0) w'(A * B)w,
# sum w (Aw)(Bw) and w'Aw for A, B in {K, Q}.
_SUMS = (
    *("observed", "cross", "predicted"),
    *("KK", "KQ", "QK", "QQ"),
    *("cross_KK", "cross_xt", "cross_QK", "cross_QQ"),
    *("wKw", "wQw"),
)
