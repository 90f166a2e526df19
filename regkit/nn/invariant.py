"""Batch-invariant evaluation: a row's prediction is a function of that row alone.

Why it is needed. With the usual kernels, a row predicted alone can differ in the
last bits from the same row predicted in a batch, and which rows differ depends on
the CPU:

- BLAS picks its matrix-product kernel, blocking and summation order from the
  shape of the product and the CPU (MKL and OpenBLAS have matrix-vector paths,
  small-matrix paths, edge kernels for the last rows of a tile...). Evaluating in
  chunks of one fixed shape does not help: rows at different positions of a chunk
  can still go through different micro-kernels.
- torch's elementwise kernels run a SIMD body and a scalar tail, and for
  transcendental functions the two are different implementations (measured with
  torch 2.13 on an AVX-512 CPU: ``gelu`` rounds differently in the tail for a third
  of the inputs, ``silu``, ``elu`` and ``sigmoid`` for a few percent). Where a value
  falls, body or tail, depends on the batch size.

Why the scheme here is exact. Under :func:`batch_invariant`, regkit's layers
compute with IEEE-754 basic operations only, applied elementwise: ``+ - * /``,
comparisons, selections, ``floor``/``round``, and exact bit manipulations. The
standard requires each basic operation to be correctly rounded, so a SIMD lane, a
scalar instruction, a CPU of any vendor or a GPU all return the same bits for the
same operands, and each operation is its own kernel (nothing is fused into an FMA).
Every sum is computed in an order written in this module (a pairwise tree over
blocks of the summed dimension, then block after block), never in an order a kernel
chooses, and the order depends only on the layer's shape, not on the number of
rows. Transcendental functions are built from the same basic operations (a
Cody-Waite reduction and a polynomial for ``exp``). Each output element is therefore
the result of the same sequence of correctly rounded operations on the same
operands whatever the other rows are: bit for bit the same alone or in any batch,
on any hardware that implements IEEE-754 arithmetic.

The price is speed (elementwise products instead of a BLAS matrix product: a few
times slower than the training kernels), which is why training keeps the usual
kernels. The approximations of ``exp`` and ``erfc`` are accurate to a few units in
the last place of float32 (float64 for ``exp`` in float64), so evaluation agrees with
the training kernels to float32 rounding.
"""

import contextlib
import contextvars
import math

import torch

from regkit.utils import fill_doc

__all__ = [
    "batch_invariant",
    "elu",
    "erfc",
    "exp",
    "expm1",
    "gelu",
    "is_batch_invariant",
    "linear",
    "sigmoid",
    "silu",
    "softmax",
    "tanh",
    "tree_sum",
]

_ACTIVE = contextvars.ContextVar("regkit_batch_invariant", default=False)

# Elements of the largest temporary a linear layer creates per step (bounds memory;
# splitting rows into steps does not change any row's arithmetic).
_STEP_ELEMENTS = 1 << 18
# Products per pairwise tree, times the layer's outputs (at most, and at most this
# many products per tree): chosen from the layer's shape only.
_BLOCK_BUDGET = 1024


@contextlib.contextmanager
def batch_invariant(enabled=True):
    """Evaluate regkit layers with batch-invariant arithmetic inside the block.

    Within the block, the layers of :func:`regkit.nn.make_mlp` (and every module
    built from :class:`regkit.nn.Linear` and regkit's activations) compute each
    row's output with a fixed sequence of correctly rounded operations, so that a
    row gives bit-for-bit the same output alone or in any batch, on any CPU. The
    engine's ``predict`` and ``predict_tensor`` run inside it. Modules made of
    other layers compute as usual.

    Parameters
    ----------
    enabled : bool, default=True
        False turns the mode off inside the block.

    Yields
    ------
    None

    Examples
    --------
    >>> import torch
    >>> from regkit.nn import batch_invariant, make_generator, make_mlp, use_generator
    >>> with use_generator(make_generator(0)):
    ...     mlp = make_mlp(5, (32, 32), n_outputs=1, activation="gelu").eval()
    >>> X = torch.randn(100, 5, generator=make_generator(1))
    >>> with batch_invariant(), torch.no_grad():
    ...     batch = mlp(X)
    ...     alone = torch.cat([mlp(X[i : i + 1]) for i in range(len(X))])
    >>> bool(torch.equal(alone, batch))
    True
    """
    token = _ACTIVE.set(bool(enabled))
    try:
        yield
    finally:
        _ACTIVE.reset(token)


def is_batch_invariant():
    """Whether this thread is inside :func:`batch_invariant`.

    Returns
    -------
    active : bool

    Examples
    --------
    >>> from regkit.nn import batch_invariant, is_batch_invariant
    >>> is_batch_invariant()
    False
    >>> with batch_invariant():
    ...     is_batch_invariant()
    True
    """
    return _ACTIVE.get()


# ------------------------------------------------------------------ reductions
def tree_sum(values, dim=-1):
    """Sum over one dimension in a fixed pairwise order.

    The dimension is padded with zeros to a power of two, then its two halves are
    added elementwise until one value is left: the order depends only on its length.

    Parameters
    ----------
    values : Tensor
        Values to sum.
    dim : int, default=-1
        The dimension to sum over.

    Returns
    -------
    total : Tensor
        ``values`` without ``dim``.

    Examples
    --------
    >>> import torch
    >>> from regkit.nn.invariant import tree_sum
    >>> tree_sum(torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]))
    tensor([ 6., 15.])
    """
    values = values.movedim(dim, -1)
    size = values.shape[-1]
    width = 1 << max(size - 1, 0).bit_length()
    if width != size:
        values = torch.nn.functional.pad(values, (0, width - size))
    while values.shape[-1] > 1:
        half = values.shape[-1] // 2
        values = values[..., :half] + values[..., half:]
    return values[..., 0]


def _pairwise_rows(products):
    """:func:`tree_sum` over dimension 1 of ``(rows, block, outputs)`` products.

    The same additions as ``tree_sum(products, dim=1)``, on contiguous halves.
    """
    while products.shape[1] > 1:
        half = products.shape[1] // 2
        products = products[:, :half] + products[:, half:]
    return products[:, 0]


def _block_size(n_inputs, n_outputs):
    """Products summed per pairwise tree; a function of the layer's shape only.

    Up to 1024 for a single output, fewer as the layer widens (a block's products
    are an ``(rows, block, outputs)`` tensor), one for 1024 outputs and more.
    """
    block = 1 << max(n_inputs - 1, 0).bit_length()
    budget = 1 << max((_BLOCK_BUDGET // max(n_outputs, 1)).bit_length() - 1, 0)
    return min(block, _BLOCK_BUDGET, budget)


def linear(x, weight, bias=None):
    """``x @ weight.T + bias`` with a summation order fixed by the layer's shape.

    The inputs are cut into blocks of ``b`` (a power of two that depends only on
    the layer's width); each output is ``((0 + s_1) + s_2 + ...) + bias``, added
    left to right, where ``s_j`` is the :func:`tree_sum` of the products of the
    ``j``-th block of inputs with their weights (the last block padded with
    zeros). Rows are processed in steps that bound memory, which changes no row's
    arithmetic.

    Parameters
    ----------
    x : Tensor of shape (..., in_features)
        Inputs.
    weight : Tensor of shape (out_features, in_features)
        Weights.
    bias : Tensor of shape (out_features,) or None, default=None
        Bias.

    Returns
    -------
    y : Tensor of shape (..., out_features)

    Examples
    --------
    >>> import torch
    >>> from regkit.nn.invariant import linear
    >>> linear(torch.tensor([[1.0, 2.0]]), torch.tensor([[3.0, 4.0]]), torch.tensor([0.5]))
    tensor([[11.5000]])
    """
    *lead, n_inputs = x.shape
    n_outputs = weight.shape[0]
    rows = x.reshape(-1, n_inputs)
    block = _block_size(n_inputs, n_outputs)
    n_padded = -(-n_inputs // block) * block
    # (inputs, outputs), padded with zero weights to whole blocks: x * 0 adds zeros.
    columns = torch.nn.functional.pad(weight.T, (0, 0, 0, n_padded - n_inputs))
    step = max(1, _STEP_ELEMENTS // (n_outputs * block))
    parts = []
    for begin in range(0, len(rows), step):
        chunk = torch.nn.functional.pad(rows[begin : begin + step], (0, n_padded - n_inputs))
        out = torch.zeros(len(chunk), n_outputs, dtype=x.dtype, device=x.device)
        for start in range(0, n_padded, block):
            products = chunk[:, start : start + block, None] * columns[None, start : start + block]
            out = out + _pairwise_rows(products)
        parts.append(out)
    out = torch.cat(parts) if parts else rows.new_zeros(0, n_outputs)
    if bias is not None:
        out = out + bias
    return out.reshape(*lead, n_outputs)


# ------------------------------------------------------- elementwise functions
_elementwise = fill_doc(
    elementwise="""Parameters
    ----------
    x : Tensor
        Float32 or float64 values.

    Returns
    -------
    y : Tensor
        Like ``x``."""
)

# Cody-Waite split of log(2): n * hi is exact for the n that occur (hi has 15
# significant bits in float32, 32 in float64).
_LN2 = {
    torch.float32: (0.693145751953125, 1.428606765330187045e-06),
    torch.float64: (6.93147180369123816490e-01, 1.90821492927058770002e-10),
}
# Degree of the Taylor polynomial of exp on |r| <= log(2) / 2: the remainder is
# below half a unit in the last place (5e-9 in float32, 4e-18 in float64).
_DEGREE = {torch.float32: 7, torch.float64: 13}
# exp(x) is 0 below and inf above these (the smallest subnormal, the largest float).
_EXP_RANGE = {torch.float32: (-104.0, 89.0), torch.float64: (-746.0, 710.0)}
_EXPONENT = {torch.float32: (torch.int32, 23, 127), torch.float64: (torch.int64, 52, 1023)}


def _check_float(x):
    if x.dtype not in _LN2:
        raise TypeError(f"batch-invariant functions take float32 or float64, got {x.dtype}.")


def _power_of_two(n, dtype):
    """``2**n`` for integral float ``n`` in the normal exponent range, built from bits."""
    int_dtype, shift, bias = _EXPONENT[dtype]
    return ((n.to(int_dtype) + bias) << shift).view(dtype)


def _taylor(r, degree, start):
    """``sum_{k=start}^{degree} r**k / k!`` by Horner's rule."""
    result = torch.full_like(r, 1.0 / math.factorial(degree))
    for k in range(degree - 1, start - 1, -1):
        result = result * r + 1.0 / math.factorial(k)
    for _ in range(start):
        result = result * r
    return result


@_elementwise
def exp(x):
    """Exponential from basic operations: ``x = n log(2) + r``, a polynomial in ``r``.

    ``2**n`` is applied in two halves built from their bits, so that results down
    to the subnormal range are right; the error is a few units in the last place.

    {elementwise}

    Examples
    --------
    >>> import torch
    >>> from regkit.nn.invariant import exp
    >>> exp(torch.tensor([0.0, 1.0], dtype=torch.float64))
    tensor([1.0000, 2.7183], dtype=torch.float64)
    """
    _check_float(x)
    hi, lo = _LN2[x.dtype]
    low, high = _EXP_RANGE[x.dtype]
    clamped = x.clamp(low, high)
    n = torch.round(clamped * (1.0 / math.log(2.0))).detach()
    r = (clamped - n * hi) - n * lo
    half = torch.floor(n * 0.5)
    result = (_taylor(r, _DEGREE[x.dtype], 0) * _power_of_two(half, x.dtype)) * _power_of_two(
        n - half, x.dtype
    )
    result = torch.where(x < low, torch.zeros_like(result), result)
    result = torch.where(x > high, torch.full_like(result, math.inf), result)
    return torch.where(torch.isnan(x), x, result)


@_elementwise
def expm1(x):
    """``exp(x) - 1``, without cancellation near zero (a polynomial there).

    {elementwise}
    """
    small = x.abs() < 0.5 * math.log(2.0)
    near_zero = _taylor(torch.where(small, x, torch.zeros_like(x)), _DEGREE[x.dtype], 1)
    return torch.where(small, near_zero, exp(x) - 1.0)


@_elementwise
def tanh(x):
    """Hyperbolic tangent, ``e / (e + 2)`` with ``e = expm1(2x)`` (accurate near zero).

    {elementwise}
    """
    e = expm1(2.0 * x.clamp(-20.0, 20.0))
    return e / (e + 2.0)


@_elementwise
def sigmoid(x):
    """Logistic function, ``1 / (1 + exp(-x))``.

    {elementwise}
    """
    return 1.0 / (1.0 + exp(-x))


@_elementwise
def silu(x):
    """SiLU (swish), ``x * sigmoid(x)``.

    {elementwise}
    """
    return x * sigmoid(x)


def elu(x, alpha=1.0):
    """ELU: ``x`` for positive ``x``, ``alpha * expm1(x)`` otherwise.

    Parameters
    ----------
    x : Tensor
        Float32 or float64 values.
    alpha : float, default=1.0
        Scale of the negative part.

    Returns
    -------
    y : Tensor
    """
    return torch.where(x > 0, x, alpha * expm1(x))


# Chebyshev-fitted coefficients of erfc(z) = t exp(-z^2 + P(t)), t = 1 / (1 + z / 2):
# relative error below 1.2e-7 for every z >= 0 (Press et al., Numerical Recipes,
# section 6.2), which is float32 precision.
_ERFC = (
    -1.26551223,
    1.00002368,
    0.37409196,
    0.09678418,
    -0.18628806,
    0.27886807,
    -1.13520398,
    1.48851587,
    -0.82215223,
    0.17087277,
)


@_elementwise
def erfc(x):
    """Complementary error function, to float32 precision (relative error < 1.2e-7).

    {elementwise}
    """
    z = x.abs()
    t = 1.0 / (1.0 + 0.5 * z)
    poly = torch.full_like(t, _ERFC[-1])
    for coefficient in _ERFC[-2::-1]:
        poly = poly * t + coefficient
    value = t * exp(poly - z * z)
    return torch.where(x >= 0, value, 2.0 - value)


@_elementwise
def gelu(x):
    """GELU, ``x * Phi(x) = x * erfc(-x / sqrt(2)) / 2`` (not the tanh approximation).

    {elementwise}
    """
    return 0.5 * x * erfc(x * (-1.0 / math.sqrt(2.0)))


def softmax(x):
    """Softmax over the last dimension, with :func:`exp` and :func:`tree_sum`.

    Parameters
    ----------
    x : Tensor of shape (..., n)
        Logits (float32 or float64).

    Returns
    -------
    p : Tensor of shape (..., n)
        Probabilities summing to 1 over the last dimension.

    Examples
    --------
    >>> import torch
    >>> from regkit.nn.invariant import softmax
    >>> softmax(torch.tensor([0.0, 0.0], dtype=torch.float64))
    tensor([0.5000, 0.5000], dtype=torch.float64)
    """
    shifted = x - x.amax(dim=-1, keepdim=True)
    e = exp(shifted)
    return e / tree_sum(e)[..., None]
