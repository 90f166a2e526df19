"""Cauchy-Schwarz estimators of regkit.nn.losses against independent references."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import pdist
from sklearn.metrics.pairwise import rbf_kernel

from regkit.nn import cs_divergence, cs_ib_loss, cs_qmi, gaussian_gram, median_width


def _rng_tensor(seed, *shape, scale=1.0):
    return torch.from_numpy(np.random.default_rng(seed).standard_normal(shape) * scale)


# --------------------------------------------------------------- references
def _gram(a, sigma):
    return rbf_kernel(a.reshape(len(a), -1), gamma=1.0 / (2 * sigma**2))


def _cross(a, b, sigma):
    return rbf_kernel(a.reshape(len(a), -1), b.reshape(len(b), -1), gamma=1.0 / (2 * sigma**2))


def _divergence_reference(x, y, y_hat, sx, sy, w=None):
    """Double loop over the pairs, as the formula in the docstring reads."""
    n = len(x)
    w = np.ones(n) if w is None else w
    K = _gram(x, sx)
    d = [sum(w[k] * K[i, k] for k in range(n)) for i in range(n)]

    def A(u, v):
        L = _cross(u, v, sy)
        return sum(
            w[i] * w[j] * K[i, j] * L[i, j] / (d[i] * d[j]) for i in range(n) for j in range(n)
        )

    return np.log(A(y, y)) + np.log(A(y_hat, y_hat)) - 2 * np.log(A(y, y_hat))


def _qmi_reference(x, t, sx, st_):
    """Proposition 2 of the CS-IB paper, written with traces and sums."""
    n = len(x)
    K, Q = _gram(x, sx), _gram(t, st_)
    one = np.ones(n)
    return (
        np.log(np.trace(K @ Q) / n**2)
        + np.log((one @ K @ one) * (one @ Q @ one) / n**4)
        - 2 * np.log(one @ K @ Q @ one / n**3)
    )


# ----------------------------------------------------------------- kernels
def test_median_width_matches_scipy_positive_distances():
    a = _rng_tensor(0, 30, 3)
    distances = pdist(a.numpy())
    expected = np.sort(distances)[(len(distances) - 1) // 2]  # lower median
    assert median_width(a).item() == pytest.approx(expected)


def test_median_width_ignores_ties_and_degenerate_batches():
    counts = torch.tensor([0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 3.0])  # mostly tied, like counts
    # Positive distances: five 1s, one 2, five 3s (the plain median would be 0).
    assert median_width(counts).item() == pytest.approx(2.0)
    assert median_width(torch.zeros(5, 2)).item() == 1.0
    assert median_width(torch.ones(1, 4)).item() == 1.0
    assert not median_width(_rng_tensor(1, 10, 2, scale=1.0).requires_grad_()).requires_grad


def test_gaussian_gram_matches_sklearn_rbf_kernel():
    a, b = _rng_tensor(2, 12, 3), _rng_tensor(3, 7, 3)
    np.testing.assert_allclose(gaussian_gram(a, b, sigma=1.7), _cross(a, b, 1.7), rtol=1e-10)
    gram = gaussian_gram(a)
    np.testing.assert_allclose(gram, _gram(a.numpy(), median_width(a).item()), rtol=1e-10)
    np.testing.assert_array_equal(torch.diagonal(gram), np.ones(12))
    mixed = gaussian_gram(a.float(), b, sigma=1.7)  # float32 with float64: promoted
    assert mixed.dtype == torch.float64
    np.testing.assert_allclose(mixed, _cross(a, b, 1.7), rtol=1e-6)


@pytest.mark.parametrize("sigma", ["mean", 0.0, -1.0])
def test_bad_width_raises(sigma):
    with pytest.raises(ValueError, match="kernel width"):
        gaussian_gram(torch.zeros(3, 1), sigma=sigma)


# -------------------------------------------------------------- divergence
def test_divergence_matches_double_loop_reference():
    x, y = _rng_tensor(4, 15, 2), _rng_tensor(5, 15, 1)
    y_hat = y + 0.3 * _rng_tensor(6, 15, 1)
    w = np.random.default_rng(7).uniform(0.2, 2.0, 15)
    for weights in (None, w):
        got = cs_divergence(x, y, y_hat, sigma_x=0.8, sigma_y=0.6, weights=weights)
        expected = _divergence_reference(x.numpy(), y.numpy(), y_hat.numpy(), 0.8, 0.6, weights)
        assert got.item() == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("shape", [(20,), (20, 1), (20, 3)])
def test_divergence_is_zero_when_prediction_is_exact(shape):
    x, y = _rng_tensor(8, 20, 4), _rng_tensor(9, *shape)
    assert cs_divergence(x, y, y.clone()).item() == pytest.approx(0.0, abs=1e-12)


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(2, 25),
    seed=st.integers(0, 10_000),
    x_scale=st.floats(0.01, 10.0),
    error=st.floats(1e-2, 3.0),
)
def test_divergence_is_positive_for_any_wrong_prediction(n, seed, x_scale, error):
    x, y = _rng_tensor(seed, n, 2, scale=x_scale), _rng_tensor(seed + 1, n, 1)
    y_hat = y + error * _rng_tensor(seed + 2, n, 1)
    assert cs_divergence(x, y, y_hat).item() > 0


def test_paper_one_sided_denominator_can_go_negative_where_ours_cannot():
    # The deviation documented in cs_divergence: with d_j^2 alone (Proposition 1 as
    # printed) a batch estimate can be negative; the symmetric d_i d_j never is.
    x, y = _rng_tensor(34, 6, 1, scale=0.5), _rng_tensor(35, 6, 1)
    y_hat = y + 0.3 * _rng_tensor(36, 6, 1)
    K = _gram(x.numpy(), 0.5)
    d = K.sum(axis=1)

    def A(u, v):
        return ((K * _cross(u, v, 1.0)).sum(axis=1) / d**2).sum()

    yn, hn = y.numpy(), y_hat.numpy()
    paper = np.log(A(yn, yn)) + np.log(A(hn, hn)) - 2 * np.log(A(hn, yn))
    ours = cs_divergence(x, y, y_hat, sigma_x=0.5, sigma_y=1.0).item()
    assert paper < 0 < ours


def test_divergence_reduces_to_correntropy_with_a_narrow_input_kernel():
    # K = I: D = -2 log mean_i kappa(y_i, y_hat_i), an exact closed form.
    x = torch.arange(10.0).reshape(-1, 1) * 100
    y, y_hat = _rng_tensor(13, 10, 1), _rng_tensor(14, 10, 1)
    expected = -2 * np.log(np.mean(np.exp(-((y - y_hat).numpy() ** 2) / 2)))
    got = cs_divergence(x, y, y_hat, sigma_x=1.0, sigma_y=1.0)
    assert got.item() == pytest.approx(expected, rel=1e-9)


def test_one_dimensional_targets_are_scalar_samples_not_one_vector():
    # The reference code's (N,) targets made the divergence a scaled SSE.
    x, y = _rng_tensor(15, 25, 3), _rng_tensor(16, 25)
    y_hat = y + 0.5 * _rng_tensor(17, 25)
    flat = cs_divergence(x, y, y_hat, sigma_y=1.0)
    column = cs_divergence(x, y[:, None], y_hat[:, None], sigma_y=1.0)
    assert flat.item() == pytest.approx(column.item(), rel=1e-12)
    assert flat.item() != pytest.approx(torch.sum((y - y_hat) ** 2).item(), rel=1e-2)


def test_integer_weights_equal_repeated_rows():
    x, y = _rng_tensor(18, 8, 2), _rng_tensor(19, 8, 1)
    y_hat, t = y + 0.4, _rng_tensor(20, 8, 3)
    w = torch.tensor([1, 2, 1, 3, 1, 1, 2, 1], dtype=torch.float64)
    rows = torch.repeat_interleave(torch.arange(8), w.long())
    widths = {"sigma_x": 1.3}
    weighted = cs_divergence(x, y, y_hat, sigma_y=0.7, weights=w, **widths)
    repeated = cs_divergence(x[rows], y[rows], y_hat[rows], sigma_y=0.7, **widths)
    assert weighted.item() == pytest.approx(repeated.item(), rel=1e-10)
    weighted = cs_qmi(x, t, sigma_t=0.9, weights=w, normalized=False, **widths)
    repeated = cs_qmi(x[rows], t[rows], sigma_t=0.9, normalized=False, **widths)
    assert weighted.item() == pytest.approx(repeated.item(), rel=1e-10)


def test_divergence_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="same shape"):
        cs_divergence(torch.zeros(4, 2), torch.zeros(4, 1), torch.zeros(4, 2))


# --------------------------------------------------------------------- QMI
def test_qmi_matches_proposition_2():
    x, t = _rng_tensor(21, 40, 3), _rng_tensor(22, 40, 2)
    t = t + x[:, :2]
    got = cs_qmi(x, t, sigma_x=1.5, sigma_t=0.8, normalized=False)
    expected = _qmi_reference(x.numpy(), t.numpy(), 1.5, 0.8)
    assert got.item() == pytest.approx(expected, rel=1e-9)


def test_normalised_qmi_of_a_variable_with_itself_is_one():
    x = _rng_tensor(23, 50, 4)
    assert cs_qmi(x, x).item() == pytest.approx(1.0, abs=1e-12)
    assert cs_qmi(x, x, sigma_x=0.7, sigma_t=0.7).item() == pytest.approx(1.0, abs=1e-12)


def test_normalised_qmi_is_near_zero_for_independent_samples():
    x, t = _rng_tensor(24, 3000, 3), _rng_tensor(25, 3000, 2)
    dependent = cs_qmi(x, x[:, :2] + 0.1 * t).item()
    independent = cs_qmi(x, t).item()
    assert 0 <= independent < 0.01
    assert dependent > 0.3


@settings(max_examples=25, deadline=None)
@given(n=st.integers(2, 30), seed=st.integers(0, 10_000), noise=st.floats(0.0, 5.0))
def test_raw_qmi_is_never_negative(n, seed, noise):
    x = _rng_tensor(seed, n, 2)
    t = x[:, :1] + noise * _rng_tensor(seed + 1, n, 1)
    assert cs_qmi(x, t, normalized=False).item() >= -1e-12


# --------------------------------------------------- degenerate batches
@pytest.mark.parametrize("n", [1, 2, 3])
def test_tiny_batches_give_finite_values(n):
    x, y, t = _rng_tensor(26, n, 3), _rng_tensor(27, n, 1), _rng_tensor(28, n, 2)
    for value in (cs_divergence(x, y, y + 1), cs_qmi(x, t), cs_qmi(x, t, normalized=False)):
        assert torch.isfinite(value)
    if n == 1:  # no pair: the median width falls back to 1
        assert cs_divergence(x, y, y + 1).item() == pytest.approx(1.0)


def test_constant_columns_and_constant_variables_are_finite():
    x = _rng_tensor(29, 30, 3)
    x[:, 1] = 5.0  # one constant column
    y, t = _rng_tensor(30, 30, 1), _rng_tensor(31, 30, 2)
    constant = torch.full((30, 2), 3.0)
    assert torch.isfinite(cs_divergence(x, y, y + 0.1))
    assert torch.isfinite(cs_qmi(x, t))
    assert cs_qmi(x, constant).item() == 0.0
    assert cs_qmi(constant, t, normalized=False).item() == pytest.approx(0.0, abs=1e-12)
    assert cs_divergence(constant, y, y).item() == pytest.approx(0.0, abs=1e-12)


# --------------------------------------------------------------- gradients
@pytest.mark.parametrize("case", ["random", "duplicates", "constant_t", "single_row"])
def test_gradients_are_finite(case):
    n = 1 if case == "single_row" else 16
    x = _rng_tensor(32, n, 3).float()
    y = _rng_tensor(33, n, 1).float()
    t = _rng_tensor(34, n, 4).float()
    if case == "duplicates":
        x[1], t[1], y[1] = x[0], t[0], y[0]
    if case == "constant_t":
        t = torch.ones(n, 4)
    x.requires_grad_()
    t.requires_grad_()
    y_hat = (y + 0.5).requires_grad_()
    loss = cs_divergence(x, y, y_hat) + cs_qmi(x, t) + cs_qmi(x, t, normalized=False)
    loss.backward()
    for tensor in (x, t, y_hat):
        assert torch.isfinite(tensor.grad).all()
    if case == "random":
        assert y_hat.grad.abs().sum() > 0


# ------------------------------------------------- fused CS-IB objective
def _unfused(x, y, y_hat, t, beta, sigma_x, sigma_y, sigma_t, weights):
    """The CS-IB loss as the composition of the public estimators, through autograd."""
    loss = cs_divergence(x, y, y_hat, sigma_x=sigma_x, sigma_y=sigma_y, weights=weights)
    return loss + beta * cs_qmi(x, t, sigma_x=sigma_x, sigma_t=sigma_t, weights=weights)


def _value_and_gradients(loss_fn, x, y, y_hat, t, **kwargs):
    y_hat, t = y_hat.clone().requires_grad_(), t.clone().requires_grad_()
    loss = loss_fn(x, y, y_hat, t, **kwargs)
    gradients = torch.autograd.grad(loss, (y_hat, t), allow_unused=True)
    return loss.item(), [
        torch.zeros_like(a) if g is None else g for a, g in zip((y_hat, t), gradients)
    ]


FUSED_CASES = {
    # name: (n, outputs, beta, sigma_x, sigma_y, sigma_t, weights)
    "defaults": (64, 1, 0.1, 1.0, "median", "median", None),
    "fixed_widths": (48, 1, 0.5, 1.5, 2.0, 0.8, None),
    "median_x": (40, 1, 0.2, "median", 1.0, "median", None),
    "no_compression": (40, 1, 0.0, 1.0, 2.0, "median", None),
    "weights": (50, 1, 0.3, 1.0, 2.0, "median", "random"),
    "zero_weights": (50, 1, 0.3, 1.0, 2.0, "median", "some_zero"),
    "multi_output": (40, 3, 0.3, 1.0, "median", "median", "random"),
    "duplicate_rows": (40, 1, 0.3, 1.0, "median", "median", None),
    "over_512_rows": (600, 1, 0.1, 2.0, "median", "median", None),
}


@pytest.mark.parametrize("case", list(FUSED_CASES))
def test_fused_csib_loss_equals_the_composition_in_float64(case):
    n, k, beta, sigma_x, sigma_y, sigma_t, weighting = FUSED_CASES[case]
    x, t = _rng_tensor(40, n, 5), _rng_tensor(41, n, 3)
    y = x[:, :k] + 0.3 * _rng_tensor(42, n, k)
    y_hat = y + 0.4 * _rng_tensor(43, n, k)
    weights = None
    if weighting is not None:
        weights = torch.from_numpy(np.random.default_rng(44).uniform(0.2, 2.0, n))
        if weighting == "some_zero":
            weights[::3] = 0.0
    if case == "duplicate_rows":  # ties: the median heuristic leaves them out
        x[1::2], t[1::2], y[1::2], y_hat[1::2] = x[::2], t[::2], y[::2], y_hat[::2]
    kwargs = {
        "beta": beta,
        "sigma_x": sigma_x,
        "sigma_y": sigma_y,
        "sigma_t": sigma_t,
        "weights": weights,
    }
    fused, fused_grads = _value_and_gradients(cs_ib_loss, x, y, y_hat, t, **kwargs)
    expected, expected_grads = _value_and_gradients(_unfused, x, y, y_hat, t, **kwargs)
    assert fused == pytest.approx(expected, rel=1e-10, abs=1e-12)
    for got, want in zip(fused_grads, expected_grads):
        np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-12 * want.abs().max().item())
    assert fused_grads[0].abs().max() > 0  # the prediction term does pull y_hat
    if beta > 0:
        assert fused_grads[1].abs().max() > 0


@pytest.mark.parametrize("n", [1, 2, 3])
def test_fused_csib_loss_on_tiny_batches(n):
    x, y, t = _rng_tensor(45, n, 3), _rng_tensor(46, n, 1), _rng_tensor(47, n, 2)
    kwargs = {
        "beta": 0.5,
        "sigma_x": 1.0,
        "sigma_y": "median",
        "sigma_t": "median",
        "weights": None,
    }
    fused, fused_grads = _value_and_gradients(cs_ib_loss, x, y, y + 1, t, **kwargs)
    expected, expected_grads = _value_and_gradients(_unfused, x, y, y + 1, t, **kwargs)
    assert np.isfinite(fused) and fused == pytest.approx(expected, rel=1e-10, abs=1e-12)
    for got, want in zip(fused_grads, expected_grads):
        assert torch.isfinite(got).all()
        np.testing.assert_allclose(got, want, atol=1e-12)


def test_fused_csib_loss_with_a_constant_representation_has_no_compression_term():
    x, y = _rng_tensor(48, 30, 3), _rng_tensor(49, 30, 1)
    t = torch.full((30, 2), 3.0)
    kwargs = {"sigma_x": 1.0, "sigma_y": 2.0, "sigma_t": "median", "weights": None}
    with_beta, grads = _value_and_gradients(cs_ib_loss, x, y, y + 0.2, t, beta=1.0, **kwargs)
    without, _ = _value_and_gradients(cs_ib_loss, x, y, y + 0.2, t, beta=0.0, **kwargs)
    assert with_beta == without  # I(x; t) = 0 when t is constant
    assert torch.isfinite(grads[1]).all() and grads[1].abs().max() == 0


def test_fused_csib_loss_keeps_gradients_of_inputs_that_need_them():
    # x and y carrying a gradient take the autograd composition: same value, and a
    # gradient for every input.
    x, y, t = _rng_tensor(50, 20, 3), _rng_tensor(51, 20, 1), _rng_tensor(52, 20, 2)
    y_hat = y + 0.3
    kwargs = {"beta": 0.2, "sigma_x": 1.0, "sigma_y": 2.0, "sigma_t": "median", "weights": None}
    x_grad = x.clone().requires_grad_()
    loss = cs_ib_loss(x_grad, y, y_hat, t, **kwargs)
    loss.backward()
    assert loss.item() == pytest.approx(cs_ib_loss(x, y, y_hat, t, **kwargs).item(), rel=1e-12)
    expected = x.clone().requires_grad_()
    _unfused(expected, y, y_hat, t, **kwargs).backward()
    np.testing.assert_allclose(x_grad.grad, expected.grad, rtol=1e-10, atol=1e-14)


def test_fused_csib_loss_in_float32_is_the_float64_value_to_float32_rounding():
    x, t = _rng_tensor(53, 128, 9), _rng_tensor(54, 128, 32)
    y = x[:, :1] + 0.3 * _rng_tensor(55, 128, 1)
    y_hat = y + 0.3 * _rng_tensor(56, 128, 1)
    kwargs = {"beta": 0.01, "sigma_x": 1.0, "sigma_y": 2.0, "sigma_t": "median"}
    single = cs_ib_loss(x.float(), y.float(), y_hat.float(), t.float(), **kwargs)
    assert single.dtype == torch.float32
    assert single.item() == pytest.approx(cs_ib_loss(x, y, y_hat, t, **kwargs).item(), rel=1e-4)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"beta": -1.0}, "beta must be a non-negative number"),
        ({"beta": float("nan")}, "beta must be a non-negative number"),
        ({"beta": 0.1, "sigma_t": "mean"}, "kernel width must be 'median'"),
        ({"beta": 0.1, "sigma_x": -1.0}, "kernel width must be 'median'"),
        ({"beta": 0.1, "sigma_y": 0.0}, "kernel width must be 'median'"),
    ],
)
def test_fused_csib_loss_rejects_bad_parameters(kwargs, match):
    x, y, t = _rng_tensor(57, 10, 2), _rng_tensor(58, 10, 1), _rng_tensor(59, 10, 2)
    with pytest.raises(ValueError, match=match):
        cs_ib_loss(x, y, y, t, **kwargs)


def test_fused_csib_loss_rejects_mismatched_samples():
    x, y, t = _rng_tensor(60, 10, 2), _rng_tensor(61, 10, 1), _rng_tensor(62, 9, 2)
    with pytest.raises(ValueError, match="x and t must hold the same number of samples"):
        cs_ib_loss(x, y, y, t, beta=0.1)
    with pytest.raises(ValueError, match="y, y_hat the same shape"):
        cs_ib_loss(x, y, y[:, 0].reshape(-1, 1)[:5], t[:5].repeat(2, 1), beta=0.1)
