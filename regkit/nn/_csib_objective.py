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

from regkit.nn._kernels import SELF_INFORMATION_FLOOR, TINY, _upper_triangle, pairwise_squared

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


def _rounding_tolerance(rows):
    """Relative rounding error of the expansion: a few ``eps`` per column."""
    return 4 * (rows.shape[1] + 2) * torch.finfo(rows.dtype).eps


def _exact_small_distances(squared, rows, norms):
    """Recompute, by differences, the entries within the expansion's rounding of 0.

    The expansion leaves an error of a few ``eps * (|a_i|^2 + |a_j|^2)``: identical
    rows may get a tiny positive distance and distinct close ones 0. The median
    heuristic leaves ties out, so those few entries must be exact (as ``pdist``'s).
    """
    close = squared <= _rounding_tolerance(rows) * (norms[:, None] + norms[None, :])
    close.fill_diagonal_(False)
    i, j = close.nonzero(as_tuple=True)
    if len(i):
        squared[i, j] = (rows[i] - rows[j]).square().sum(dim=1)


def _median_width(squared, rows, norms):
    """:func:`~regkit.nn.median_width` from the expansion's squared distances, as a float.

    When no pair is within rounding of 0 (the usual case) the matrix is used as
    it is: there is no tie to leave out and no entry to correct. Otherwise the
    entries close to 0 are recomputed exactly first.
    """
    distances = squared.reshape(-1)[_upper_triangle(len(squared), squared.device)]
    smallest, largest_norm, median = torch.stack(
        [distances.min(), norms.max(), distances.median()]
    ).tolist()
    if smallest > 2 * _rounding_tolerance(rows) * largest_norm:
        return math.sqrt(median)
    _exact_small_distances(squared, rows, norms)
    distances = squared.reshape(-1)[_upper_triangle(len(squared), squared.device)]
    distances = distances[distances > 0]  # ties, which the heuristic leaves out
    return math.sqrt(distances.median().item()) if len(distances) else 1.0


def _width(sigma, samples, squared, rows, norms, median_width):
    """A kernel width as a float: ``sigma``, or the median heuristic of ``samples``."""
    if sigma != "median":
        return float(sigma)
    if len(samples) > _MEDIAN_ROWS:
        return median_width(samples).item()  # the subsampled heuristic
    if len(samples) < 2:
        return 1.0
    return _median_width(squared, rows, norms)


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
        rows, norms = y, y.square()[:, 0]
    else:
        for out, (a, b) in zip(squared, pairs):
            out.copy_(pairwise_squared(a, None if a is b else b))
        rows = y - y.mean(dim=0)
        norms = rows.square().sum(dim=1)
    s2 = _width(sigma_y, y, squared[0], rows, norms, median_width) ** 2
    return squared.mul_(-0.5 / s2).exp_(), s2


class CSIBObjective(torch.autograd.Function):
    """``D_CS(p(y|x) || q(y_hat|x)) + beta * I_CS(x; t)`` (normalised), one batch.

    ``apply(y_hat, t, x, y, w, beta, sigma_x, sigma_y, sigma_t, median_width)``:
    2-D tensors of one dtype (``x``, ``y`` and ``w`` carry no gradient), ``w``
    non-negative weights, widths as floats or ``"median"``, and the
    :func:`~regkit.nn.median_width` function for batches beyond 512 rows.
    Differentiable in ``y_hat`` and ``t``. Every temporary is at most a few
    ``N x N`` matrices, and each sum is one matrix product.
    """

    @staticmethod
    def forward(ctx, y_hat, t, x, y, w, beta, sigma_x, sigma_y, sigma_t, median_width):
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
        # A(y, y), A(y, y_hat) and A(y_hat, y_hat): the target kernels weighted by M
        # (symmetric, so A(y, y_hat) is also sum_ij M_ij k(y_hat_i, y_j)).
        targets, s2_y = _target_kernels(y, y_hat, sigma_y, median_width)
        parts = [targets.reshape(3, -1) @ M.reshape(-1)]
        if beta > 0:
            w_unit = w / w.sum().clamp_min(TINY)
            root = w_unit.sqrt()
            # w'(A * B)w for A, B in {K, Q}: inner products of the kernels scaled by
            # sqrt(w_i w_j), one 2 x 2 Gram matrix.
            scaled_kernels = (kernels * torch.outer(root, root)).reshape(2, -1)
            parts.append(scaled_kernels @ scaled_kernels.T)
            products = kernels @ w_unit  # K w, Q w
            # sum w (A w)(B w) and w'Aw for A, B in {K, Q}.
            parts.append((products[:, None] * products[None]) @ w_unit)
            parts.append(products @ w_unit)
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
            # 2 w_i w_j (dKQ K + 2 dQQ Q + dwQw)_ij + a_i w_j + w_i a_j.
            S = K * (2 * d["KQ"])
            S.add_(Q, alpha=4 * d["QQ"]).add_(2 * d["wQw"]).mul_(torch.outer(w, w))
            a = torch.outer(w * (d["cross_xt"] * Kw + 2 * d["cross_QQ"] * Qw), w)
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
