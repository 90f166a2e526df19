"""Kernel (Cauchy-Schwarz) information estimators as differentiable torch functions.

Every function here works on minibatches of samples, one sample per row, with a
Gaussian kernel ``kappa_sigma(a, b) = exp(-||a - b||^2 / (2 sigma^2))``; logarithms
are natural (nats). A 1-D tensor is read as ``N`` scalar samples, shape ``(N, 1)``,
never as one ``N``-dimensional sample: that reading turns the Gaussian gram matrix
of the targets into a constant and the Cauchy-Schwarz divergence into a scaled sum
of squared errors (the defect of the CS-IB reference script).

Kernel widths are a number or ``"median"``: the median of the positive pairwise
distances between the rows of the batch, computed without gradient (see
:func:`median_width`).
"""

import torch

from regkit.nn._contrastive_losses import (
    SupReMixMixtures,
    draw_supremix_mixtures,
    rnc_loss,
    supcon_loss,
    supremix_loss,
)
from regkit.nn._csib_objective import CSIBObjective
from regkit.nn._kernels import (
    TINY,
    conditional_weights,
    gram,
    log,
    normalized_qmi_of_sums,
    pairwise_squared,
    prediction_sums,
    qmi_of_sums,
    qmi_sums,
)

__all__ = ["cs_divergence", "cs_ib_loss", "cs_qmi", "gaussian_gram", "median_width"]
__all__ += [
    "SupReMixMixtures",
    "draw_supremix_mixtures",
    "rnc_loss",
    "supcon_loss",
    "supremix_loss",
]

# Rows used by the median heuristic (more are subsampled).
_MEDIAN_ROWS = 512


def _as_samples(a):
    """View ``a`` as a 2-D batch of samples: 1-D input becomes ``(N, 1)``."""
    a = torch.as_tensor(a)
    if a.ndim == 1:
        return a.reshape(-1, 1)
    if a.ndim != 2:
        raise ValueError(f"expected a tensor of shape (N,) or (N, d), got shape {tuple(a.shape)}.")
    return a


def median_width(a):
    """Median heuristic for the width of a Gaussian kernel on the rows of ``a``.

    The median of the *positive* pairwise Euclidean distances between the rows
    (between 512 evenly spaced rows when there are more).
    Ties are left out on purpose: with discrete or heavily tied data (count
    targets, binary features) most pairs are at distance 0 and the plain median
    would be 0. When no two rows differ, or there is a single row, the width is 1
    (every kernel value is then 1 whatever the width). The width carries no
    gradient: it sets the resolution of the estimator, it is not a parameter to
    train.

    Parameters
    ----------
    a : Tensor of shape (N,) or (N, d)
        Samples, one per row.

    Returns
    -------
    sigma : scalar Tensor
        Positive width, on the device and in the dtype of ``a``.

    Examples
    --------
    >>> import torch
    >>> from regkit.nn import median_width
    >>> median_width(torch.tensor([0.0, 1.0, 3.0]))
    tensor(2.)
    >>> median_width(torch.zeros(4, 2))
    tensor(1.)
    """
    a = _as_samples(a).detach()
    if len(a) > _MEDIAN_ROWS:
        # The median of the distances among evenly spaced rows estimates the full
        # one at a fraction of the O(N^2 log N) cost.
        a = a[torch.linspace(0, len(a) - 1, _MEDIAN_ROWS, device=a.device).round().long()]
    if len(a) < 2:
        return torch.ones((), dtype=a.dtype, device=a.device)
    distances = torch.pdist(a)
    distances = distances[distances > 0]
    if distances.numel() == 0:
        return torch.ones((), dtype=a.dtype, device=a.device)
    # The lower median of an even count: an actual pairwise distance, never 0.
    return distances.median()


def _check_width(sigma):
    if isinstance(sigma, str) and sigma == "median":
        return
    if isinstance(sigma, str) or not sigma > 0:
        raise ValueError(f"a kernel width must be 'median' or a positive number, got {sigma!r}.")


def _width(a, sigma):
    _check_width(sigma)
    return median_width(a) if isinstance(sigma, str) else sigma


def gaussian_gram(a, b=None, *, sigma="median"):
    """Gaussian kernel matrix ``exp(-||a_i - b_j||^2 / (2 sigma^2))``.

    Parameters
    ----------
    a : Tensor of shape (N,) or (N, d)
        Samples, one per row (1-D input is ``N`` scalar samples).
    b : Tensor of shape (M,) or (M, d) or None, default=None
        Second set of samples; ``None`` means ``a`` (a symmetric gram matrix with a
        unit diagonal).
    sigma : float or "median", default="median"
        Kernel width; ``"median"`` applies :func:`median_width` to ``a``.

    Returns
    -------
    gram : Tensor of shape (N, M)
        Entries in ``[0, 1]``; differentiable in ``a`` and ``b`` with finite
        gradients, also between identical rows.

    Examples
    --------
    >>> import torch
    >>> from regkit.nn import gaussian_gram
    >>> gaussian_gram(torch.tensor([0.0, 1.0]), sigma=1.0)
    tensor([[1.0000, 0.6065],
            [0.6065, 1.0000]])
    """
    a = _as_samples(a)
    if b is not None:
        b = _as_samples(b)
        dtype = torch.promote_types(a.dtype, b.dtype)
        a, b = a.to(dtype), b.to(dtype)
    return gram(pairwise_squared(a, b), _width(a, sigma))


def _weights(n, weights, *tensors):
    """Sample weights in the widest dtype of ``tensors`` (all kernels are cast to it)."""
    dtype = tensors[0].dtype
    for tensor in tensors[1:]:
        dtype = torch.promote_types(dtype, tensor.dtype)
    if weights is None:
        return torch.ones(n, dtype=dtype, device=tensors[0].device)
    weights = torch.as_tensor(weights, dtype=dtype, device=tensors[0].device).reshape(-1)
    if len(weights) != n:
        raise ValueError(f"weights must have one entry per sample ({n}), got {len(weights)}.")
    return weights


def cs_divergence(x, y, y_hat, *, sigma_x="median", sigma_y="median", weights=None):
    r"""Conditional Cauchy-Schwarz divergence ``D_CS(p(y|x) || q(y_hat|x))``.

    The prediction term of CS-IB (Yu et al., ICLR 2024, Proposition 1): a kernel
    estimate, from one batch of triples ``(x_i, y_i, y_hat_i)``, of

    .. math::

        D_{CS} = \log \int p(y|x)^2 + \log \int q(y|x)^2
                 - 2 \log \int p(y|x)\, q(y|x),

    with Gaussian kernels ``K`` on ``x`` and ``L`` on the targets (the same width
    for ``y``, ``y_hat`` and the cross terms, so that the three integrals are
    estimated alike). The estimate is

    .. math::

        \hat D = \log A(y, y) + \log A(\hat y, \hat y) - 2 \log A(y, \hat y),
        \qquad A(u, v) = \sum_{i,j} w_i w_j \frac{K_{ij}\,
        \kappa(u_i, v_j)}{d_i\, d_j},\quad d_i = \sum_k w_k K_{ik}.

    **Denominator.** Each conditional density is ``p(x, y) / p(x)`` and
    ``d_i`` is the kernel estimate of ``p(x_i)`` (up to ``N``), so the squared
    conditionals need ``p(x)^2``. The paper's Proposition 1 uses
    ``(sum_k K_jk)^2 = d_j^2``; the reference code uses the sum of *squares*
    ``sum_k K_jk^2``, which estimates ``p(x)`` at a narrower width and at the
    wrong power (its scale varies with the local density, so it does not
    estimate ``p(x_j)^2``). We use ``d_i d_j``: the same estimate of ``p(x)^2``
    to first order in the kernel width (the pair ``i, j`` is within one width of
    each other wherever ``K_ij`` is not negligible), and the symmetric weights
    make ``A(u, v)`` an inner product in the product RKHS of the two kernels
    (``K`` times ``L`` is positive semidefinite). The Cauchy-Schwarz inequality
    then holds for the estimate itself, not only for its limit: the estimate is
    never negative, whatever the batch, and is 0 when ``y_hat == y``. The
    paper's one-sided ``d_j^2`` gives no such guarantee (it can turn negative on
    a batch, making the loss unbounded below).

    Parameters
    ----------
    x : Tensor of shape (N,) or (N, d)
        Inputs (condition), one sample per row.
    y : Tensor of shape (N,) or (N, k)
        Observed targets. A 1-D tensor is read as ``(N, 1)``: ``N`` scalar
        targets. (The reference code treated it as one ``N``-vector, which
        reduces the divergence to ``sum((y - y_hat)^2) / sigma^2``.)
    y_hat : Tensor of the shape of ``y``
        Predicted targets.
    sigma_x, sigma_y : float or "median", default="median"
        Kernel widths on ``x`` and on the targets; ``"median"`` applies
        :func:`median_width` to ``x`` and to ``y`` (the observed targets, so that
        the kernel does not move with the predictions).
    weights : Tensor of shape (N,) or None, default=None
        Non-negative sample weights (a weighted kernel density estimate; an
        integer weight is the same as repeating the row).

    Returns
    -------
    divergence : scalar Tensor
        Non-negative, in nats; differentiable in ``y_hat`` (and ``x``).

    Examples
    --------
    >>> import torch
    >>> from regkit.nn import cs_divergence
    >>> x = torch.linspace(-1, 1, 20).reshape(-1, 1)
    >>> y = torch.sin(3 * x)
    >>> cs_divergence(x, y, y).item()
    0.0
    >>> cs_divergence(x, y, y + 0.5).item() > 0
    True
    """
    x, y, y_hat = _as_samples(x), _as_samples(y), _as_samples(y_hat)
    _check_triples(x, y, y_hat)
    w = _weights(len(x), weights, x, y, y_hat)
    K = gaussian_gram(x, sigma=sigma_x).to(w.dtype)
    return _conditional_divergence(K, w, y, y_hat, _width(y, sigma_y))


def _check_triples(x, y, y_hat):
    if y.shape != y_hat.shape or len(x) != len(y):
        raise ValueError(
            f"x, y and y_hat must hold the same number of samples and y, y_hat the same "
            f"shape; got {tuple(x.shape)}, {tuple(y.shape)} and {tuple(y_hat.shape)}."
        )


def _conditional_divergence(K, w, y, y_hat, sigma_y):
    """:func:`cs_divergence` from the gram matrix ``K`` on ``x`` and weights ``w``."""
    M = conditional_weights(K, w)
    y, y_hat = y.to(M.dtype), y_hat.to(M.dtype)
    observed = (M * gram(pairwise_squared(y), sigma_y)).sum()
    cross, predicted = prediction_sums(M, y, y_hat, sigma_y)
    return log(observed) + log(predicted) - 2 * log(cross)


def cs_qmi(x, t, *, sigma_x="median", sigma_t="median", normalized=True, weights=None):
    r"""Cauchy-Schwarz quadratic mutual information ``I_CS(x; t)``.

    The compression term of CS-IB (Yu et al., ICLR 2024, Proposition 2): the
    Cauchy-Schwarz divergence between the joint ``p(x, t)`` and the product of
    marginals ``p(x) p(t)``, estimated with gram matrices ``K`` on ``x`` and
    ``Q`` on ``t``:

    .. math::

        \hat I_{CS} = \log \frac{\operatorname{tr}(KQ)}{N^2}
        + \log \frac{\mathbf 1^\top K \mathbf 1\; \mathbf 1^\top Q \mathbf 1}{N^4}
        - 2 \log \frac{\mathbf 1^\top K Q \mathbf 1}{N^3}.

    The three terms are the squared norms and the inner product of the empirical
    joint and product embeddings in the product RKHS, so ``I_CS >= 0`` on every
    batch, with equality when ``x`` or ``t`` is constant.

    Parameters
    ----------
    x : Tensor of shape (N,) or (N, d)
        First variable, one sample per row.
    t : Tensor of shape (N,) or (N, k)
        Second variable (a representation of ``x``).
    sigma_x, sigma_t : float or "median", default="median"
        Kernel widths; ``"median"`` applies :func:`median_width`.
    normalized : bool, default=True
        Return ``I(x; t) / sqrt(I(x; x) I(t; t))``, in ``[0, 1]`` for the
        cases that matter (1 when ``t`` is ``x``, near 0 when they are
        independent), as the CS-IB training code does. The raw estimate grows
        with the entropy of the variables, so its scale, and the meaning of a
        given ``beta``, change with the data; the normalised one does not. It is
        0 when either variable is constant.
    weights : Tensor of shape (N,) or None, default=None
        Non-negative sample weights (a weighted kernel density estimate).

    Returns
    -------
    qmi : scalar Tensor
        In nats when ``normalized=False``.

    Examples
    --------
    >>> import torch
    >>> from regkit.nn import cs_qmi
    >>> x = torch.randn(200, 3, generator=torch.Generator().manual_seed(0))
    >>> round(cs_qmi(x, x).item(), 4)
    1.0
    >>> cs_qmi(x, x[:, :1], normalized=False).item() > 0
    True
    """
    x, t = _as_samples(x), _as_samples(t)
    if len(x) != len(t):
        raise ValueError(
            f"x and t must hold the same number of samples, got {len(x)} and {len(t)}."
        )
    w = _weights(len(x), weights, x, t)
    w = w / w.sum().clamp_min(TINY)
    K = gaussian_gram(x, sigma=sigma_x).to(w.dtype)
    sums = qmi_sums(K, gaussian_gram(t, sigma=sigma_t).to(w.dtype), w)
    return normalized_qmi_of_sums(sums) if normalized else qmi_of_sums(sums)


def cs_ib_loss(
    x, y, y_hat, t, *, beta, sigma_x=1.0, sigma_y="median", sigma_t="median", weights=None
):
    r"""The CS-IB objective of one batch: ``D_CS(p(y|x) || q(y_hat|x)) + beta * I_CS(x; t)``.

    Equal, to rounding, to ``cs_divergence(x, y, y_hat, sigma_x=sigma_x,
    sigma_y=sigma_y, weights=weights) + beta * cs_qmi(x, t, sigma_x=sigma_x,
    sigma_t=sigma_t, weights=weights)`` (the normalised CS-QMI), at a fraction of
    the cost: the Gaussian kernel on ``x`` is computed once for both terms,
    every weighted kernel sum is one matrix product, the scalars they reduce to
    are combined on the host, and the gradient in ``y_hat`` and ``t`` comes from
    closed forms instead of a recorded graph (a third of the operations of the
    composition, backward included). This is the training loss of
    :class:`~regkit.regression.CSIBRegressor`. When ``x``, ``y`` or ``weights``
    require a gradient, the loss is the autograd composition instead (same
    value), so that every input keeps its gradient.

    Parameters
    ----------
    x : Tensor of shape (N,) or (N, d)
        Inputs, one sample per row.
    y : Tensor of shape (N,) or (N, k)
        Observed targets.
    y_hat : Tensor of the shape of ``y``
        Predicted targets.
    t : Tensor of shape (N,) or (N, m)
        Representation of ``x``.
    beta : float
        Weight of the compression term (>= 0; 0 skips it).
    sigma_x, sigma_y, sigma_t : float or "median"
        Kernel widths on ``x``, on the targets and on ``t``; ``"median"`` applies
        :func:`median_width` (to ``x``, ``y`` and ``t``).
    weights : Tensor of shape (N,) or None, default=None
        Non-negative sample weights.

    Returns
    -------
    loss : scalar Tensor
        Differentiable in ``y_hat`` and ``t``.

    Examples
    --------
    >>> import torch
    >>> from regkit.nn import cs_divergence, cs_ib_loss, cs_qmi
    >>> g = torch.Generator().manual_seed(0)
    >>> x, t = torch.randn(64, 3, generator=g), torch.randn(64, 4, generator=g)
    >>> y, y_hat = x[:, :1], x[:, :1] + 0.1 * torch.randn(64, 1, generator=g)
    >>> x, t, y, y_hat = x.double(), t.double(), y.double(), y_hat.double()
    >>> fused = cs_ib_loss(x, y, y_hat, t, beta=0.1, sigma_y=1.0)
    >>> separate = cs_divergence(x, y, y_hat, sigma_x=1.0, sigma_y=1.0) + 0.1 * cs_qmi(
    ...     x, t, sigma_x=1.0)
    >>> bool(torch.isclose(fused, separate, rtol=1e-10))
    True

    In float32 both carry the rounding of a difference of logarithms (a relative
    ``1e-5`` or so on a loss this small).
    """
    if not beta >= 0:
        raise ValueError(f"beta must be a non-negative number, got {beta!r}.")
    x, y, y_hat, t = _as_samples(x), _as_samples(y), _as_samples(y_hat), _as_samples(t)
    _check_triples(x, y, y_hat)
    if len(t) != len(x):
        raise ValueError(
            f"x and t must hold the same number of samples, got {len(x)} and {len(t)}."
        )
    w = _weights(len(x), weights, x, y, y_hat, t)
    if x.requires_grad or y.requires_grad or w.requires_grad:
        # The hand-written gradient is in y_hat and t only: compose through autograd.
        K = gaussian_gram(x, sigma=sigma_x).to(w.dtype)
        loss = _conditional_divergence(K, w, y, y_hat, _width(y, sigma_y))
        if beta == 0:
            return loss
        Q = gaussian_gram(t, sigma=sigma_t).to(w.dtype)
        normalized = w / w.sum().clamp_min(TINY)
        return loss + beta * normalized_qmi_of_sums(qmi_sums(K, Q, normalized))
    for sigma in (sigma_x, sigma_y, sigma_t):
        _check_width(sigma)
    dtype = w.dtype
    return CSIBObjective.apply(
        y_hat.to(dtype),
        t.to(dtype),
        x.to(dtype),
        y.to(dtype),
        None if weights is None else w,  # None: uniform, a shorter computation
        float(beta),
        sigma_x,
        sigma_y,
        sigma_t,
        median_width,
    )
