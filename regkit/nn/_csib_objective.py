"""The CS-IB training loss as one autograd function with a hand-written gradient.

Through autograd, the two terms of CS-IB (:func:`~regkit.nn.cs_divergence` and
:func:`~regkit.nn.cs_qmi`) record about 150 small tensor operations per batch,
and as many again backwards; at the batch sizes CS-IB trains with (128 rows)
their dispatch, not their arithmetic, dominated a step (a CS-IB epoch cost 4-5
MSE epochs). :class:`CSIBObjective` computes the kernel sums of both terms with
about 40 operations, sharing the kernel on ``x``, reads the dozen scalars they
reduce to in one transfer, combines them in float64 on the host, and returns the
gradient in ``y_hat`` and ``t`` from closed forms in about 25 more operations.

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

from regkit.nn._kernels import SELF_INFORMATION_FLOOR, TINY, _upper_triangle

# Rows up to which the median heuristic uses every pair (as median_width does).
_MEDIAN_ROWS = 512


def _squared(batch):
    """``||a_i - a_j||^2`` for each ``(N, D)`` matrix of a ``(B, N, D)`` batch (no gradient).

    The ``|a|^2 + |a|^2 - 2 a.a`` expansion on the centred rows, one batched
    matmul for all, with exact zero diagonals. Also returns the centred batch and
    the squared norms, for :func:`_exact_small_distances`.
    """
    batch = batch - batch.mean(dim=1, keepdim=True)
    norms = (batch * batch).sum(dim=2)
    squared = torch.baddbmm(norms[:, :, None] + norms[:, None, :], batch, batch.mT, alpha=-2)
    squared.clamp_min_(0).diagonal(dim1=1, dim2=2).zero_()
    return squared, batch, norms


def _exact_small_distances(squared, rows, norms):
    """Recompute, by differences, the entries within the expansion's rounding of 0.

    The expansion leaves an error of a few ``eps * (|a_i|^2 + |a_j|^2)``: identical
    rows may get a tiny positive distance and distinct close ones 0. The median
    heuristic leaves ties out, so those few entries must be exact (as ``pdist``'s).
    """
    tolerance = 4 * (rows.shape[1] + 2) * torch.finfo(rows.dtype).eps
    close = squared <= tolerance * (norms[:, None] + norms[None, :])
    close.fill_diagonal_(False)
    i, j = close.nonzero(as_tuple=True)
    if len(i):
        squared[i, j] = (rows[i] - rows[j]).square().sum(dim=1)


def _median_width(squared):
    """:func:`~regkit.nn.median_width` from exact small squared distances, as a float."""
    n = len(squared)
    distances = squared.reshape(-1)[_upper_triangle(n, squared.device)]
    positive = int(torch.count_nonzero(distances))
    if positive < len(distances):  # ties, which the heuristic leaves out
        if positive == 0:
            return 1.0
        distances = distances[distances > 0]
    return math.sqrt(distances.median().item())


def _width(sigma, samples, squared, rows, norms, median_width):
    """A kernel width as a float: ``sigma``, or the median heuristic of ``samples``."""
    if sigma != "median":
        return float(sigma)
    if len(samples) > _MEDIAN_ROWS:
        return median_width(samples).item()  # the subsampled heuristic
    _exact_small_distances(squared, rows, norms)
    return _median_width(squared)


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


class CSIBObjective(torch.autograd.Function):
    """``D_CS(p(y|x) || q(y_hat|x)) + beta * I_CS(x; t)`` (normalised), one batch.

    ``apply(y_hat, t, x, y, w, beta, sigma_x, sigma_y, sigma_t, median_width)``:
    2-D tensors of one dtype (``x``, ``y`` and ``w`` carry no gradient), ``w``
    non-negative weights, widths as floats or ``"median"``, and the
    :func:`~regkit.nn.median_width` function for batches beyond 512 rows.
    Differentiable in ``y_hat`` and ``t``.
    """

    @staticmethod
    def forward(ctx, y_hat, t, x, y, w, beta, sigma_x, sigma_y, sigma_t, median_width):
        n = len(x)
        # The kernels on x and t as one (2, N, N) batch (the narrower variable padded
        # with zero columns: its distances do not change).
        samples = [x, t] if beta > 0 else [x]
        width = max(a.shape[1] for a in samples)
        batch = torch.stack([torch.nn.functional.pad(a, (0, width - a.shape[1])) for a in samples])
        squared, rows, norms = _squared(batch)
        s2 = [
            _width(sigma, *parts, median_width) ** 2
            for sigma, *parts in zip((sigma_x, sigma_t), samples, squared, rows, norms)
        ]
        scale = torch.tensor([-0.5 / v for v in s2], dtype=x.dtype, device=x.device)
        kernels = squared.mul_(scale[:, None, None]).exp_()
        K = kernels[0]
        d = K @ w
        # Rows with no weighted neighbour (d = 0) carry zero weight themselves.
        scaled = torch.where(d > 0, w / d.clamp_min(TINY), 0.0)
        M = K * torch.outer(scaled, scaled)
        # The kernel on the targets [y, y_hat]: its blocks weighted by M give
        # A(y, y), A(y, y_hat), A(y_hat, y) (the same, by symmetry) and A(y_hat, y_hat).
        targets = torch.cat([y, y_hat])
        if targets.shape[1] == 1:  # scalar targets: exact differences, three operations
            squared = (targets - targets.T).square_()
            rows, norms = targets, targets.square()[:, 0]
        else:
            squared, rows, norms = (part[0] for part in _squared(targets[None]))
        s2_y = _width(sigma_y, y, squared[:n, :n], rows[:n], norms[:n], median_width) ** 2
        blocks = squared.mul_(-0.5 / s2_y).exp_().reshape(2, n, 2, n) * M[None, :, None, :]
        parts = [blocks.sum(dim=(1, 3)).reshape(-1)]
        if beta > 0:
            w_unit = w / w.sum().clamp_min(TINY)
            products = kernels @ w_unit  # K w, Q w
            # w'(A * B)w and sum w (A w)(B w) for A, B in {K, Q}, and w'Aw.
            parts.append(((kernels[:, None] * kernels[None]) @ w_unit) @ w_unit)
            parts.append((products[:, None] * products[None]) @ w_unit)
            parts.append(products @ w_unit)
            ctx.qmi = (kernels, products, w_unit, t, s2[1])
        # The dozen scalars the loss is made of, in one transfer.
        values = torch.cat([part.reshape(-1) for part in parts]).tolist()
        loss, ctx.derivatives = _scalars(dict(zip(_SUMS, values)), beta)
        ctx.prediction = (blocks[1], targets, y_hat, s2_y)
        ctx.beta = beta
        return torch.tensor(loss, dtype=y_hat.dtype, device=y_hat.device)

    @staticmethod
    def backward(ctx, grad):
        d, g = ctx.derivatives, float(grad)
        rows, targets, y_hat, s2_y = ctx.prediction
        n = len(y_hat)
        # With R, P the blocks of y_hat against y and against itself:
        # d A(y, y_hat) / d y_hat_i = -rows(R) / s^2 and d A(y_hat, y_hat) = -2 rows(P) / s^2.
        coefficients = torch.tensor(
            [-d["cross"] / s2_y, -2 * d["predicted"] / s2_y], dtype=rows.dtype, device=rows.device
        )
        scaled = rows * coefficients[:, None]
        grad_y_hat = scaled.sum(dim=(1, 2))[:, None] * y_hat - scaled.reshape(n, 2 * n) @ targets
        grad_t = None
        if ctx.beta > 0:
            (K, Q), (Kw, Qw), w, t, s2_t = ctx.qmi
            # d loss / d Q_ij through the five sums of Q (the cross sums are not
            # symmetric in i, j).
            dQ = (d["KQ"] * K + 2 * d["QQ"] * Q).add_(d["wQw"]) * torch.outer(w, w)
            dQ += torch.outer(w * (d["cross_xt"] * Kw + 2 * d["cross_QQ"] * Qw), w)
            # Q_ij = exp(-D_ij / (2 s^2)), D_ij = ||t_i - t_j||^2 (symmetric in i, j).
            S = dQ.mul_(Q).mul_(-0.5 / s2_t)
            S = S + S.T
            grad_t = (2 * g) * (S.sum(dim=1, keepdim=True) * t - S @ t)
        return g * grad_y_hat, grad_t, *[None] * 8


# The scalars of CSIBObjective.forward, in order: the blocks of the target kernel,
# then (with beta > 0) w'(A * B)w, sum w (Aw)(Bw) and w'Aw for A, B in {K, Q}.
_SUMS = (
    *("observed", "cross", "cross_", "predicted"),
    *("KK", "KQ", "QK", "QQ"),
    *("cross_KK", "cross_xt", "cross_QK", "cross_QQ"),
    *("wKw", "wQw"),
)
