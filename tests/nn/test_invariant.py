"""Batch-invariant evaluation: a row's prediction depends on that row only, exactly."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from regkit.nn import batch_invariant, invariant, make_generator, make_mlp, use_generator
from regkit.regression import HistogramRegressor, NeuralRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _alone(predict, X):
    return np.concatenate([predict(X[i : i + 1]) for i in range(len(X))])


@pytest.mark.parametrize(
    "hidden, activation",
    [
        ((16, 8, 16), "relu"),  # the shape that failed on AMD EPYC with BLAS kernels
        ((), "relu"),
        ((7,), "gelu"),
        ((33, 5), "tanh"),
        ((64, 64, 64), "silu"),
        ((3, 100), "elu"),
        ((10, 10), "leaky_relu"),
    ],
)
def test_a_row_predicted_alone_equals_its_row_in_a_batch(regression_data, hidden, activation):
    X, y = regression_data
    model = NeuralRegressor(
        hidden, activation=activation, max_epochs=3, batch_size=32, device="cpu", random_state=0
    ).fit(X, y)
    batch = model.predict(X)
    np.testing.assert_array_equal(_alone(model.predict, X), batch)
    # Chunk boundaries anywhere, and any order of the rows, change nothing either.
    model._eval_batch_size = 7
    np.testing.assert_array_equal(model.predict(X), batch)
    order = np.random.default_rng(0).permutation(len(X))
    np.testing.assert_array_equal(model.predict(X[order]), batch[order])


def test_every_estimator_predicts_rows_independently_and_like_predict_tensor(
    regression_data, make_neural
):
    X, y = regression_data
    model = make_neural(max_epochs=2, batch_size=32, device="cpu", random_state=0).fit(X, y)
    batch = model.predict(X)
    np.testing.assert_array_equal(_alone(model.predict, X[:40]), batch[:40])
    # predict is predict_tensor without gradients: the same arithmetic, bit for bit.
    tensor = model.predict_tensor(torch.as_tensor(X, dtype=torch.float32))
    np.testing.assert_array_equal(tensor.detach().numpy().reshape(batch.shape), batch)


def test_histogram_distributions_are_row_independent(regression_data):
    X, y = regression_data
    model = HistogramRegressor((16,), n_bins=25, max_epochs=2, device="cpu", random_state=0)
    model.fit(X, y)
    _, batch = model.predict_distribution(X)
    alone = np.concatenate([model.predict_distribution(X[i : i + 1])[1] for i in range(50)])
    np.testing.assert_array_equal(alone, batch[:50])


def test_predict_uses_no_blas_product(regression_data, monkeypatch, make_neural):
    # Evidence that predictions are computed by the fixed-order arithmetic, not by a
    # matrix product whose kernel a shape selects.
    X, y = regression_data
    model = make_neural(max_epochs=1, batch_size=32, device="cpu", random_state=0).fit(X, y)

    def refuse(*args, **kwargs):
        raise AssertionError("a BLAS product was used")

    for name in ("linear", "gelu", "silu", "elu"):
        monkeypatch.setattr(torch.nn.functional, name, refuse)
    for name in ("matmul", "mm", "addmm", "tanh", "sigmoid", "exp", "softmax"):
        monkeypatch.setattr(torch, name, refuse)
    monkeypatch.setattr(torch.Tensor, "__matmul__", refuse)
    assert np.isfinite(model.predict(X)).all()


def test_outside_the_mode_layers_use_the_training_kernels():
    with use_generator(make_generator(0)):
        mlp = make_mlp(4, (8,), n_outputs=2, activation="gelu").eval()
    X = torch.randn(50, 4, generator=make_generator(1))
    with torch.no_grad():
        fast = mlp(X)
        with batch_invariant():
            exact = mlp(X)
            with batch_invariant(False):
                assert torch.equal(mlp(X), fast)
    # Both compute the same function, to float32 rounding.
    torch.testing.assert_close(exact, fast, rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------- the arithmetic
@settings(max_examples=40, deadline=None)
@given(
    n_rows=st.integers(1, 40),
    n_inputs=st.integers(1, 300),
    n_outputs=st.integers(1, 70),
    seed=st.integers(0, 2**31 - 1),
)
def test_linear_rows_do_not_depend_on_the_batch(n_rows, n_inputs, n_outputs, seed):
    generator = make_generator(seed)
    x = torch.randn(n_rows, n_inputs, generator=generator)
    weight = torch.randn(n_outputs, n_inputs, generator=generator)
    bias = torch.randn(n_outputs, generator=generator)
    batch = invariant.linear(x, weight, bias)
    for i in range(n_rows):
        assert torch.equal(invariant.linear(x[i : i + 1], weight, bias), batch[i : i + 1])
    # The same function as a float64 product, to float32 rounding of the sums.
    reference = x.double() @ weight.double().T + bias.double()
    scale = (x.double().abs() @ weight.double().abs().T + bias.double().abs()).max()
    assert (batch.double() - reference).abs().max() <= 1e-5 * scale


def test_tree_sum_order_is_fixed_and_accurate():
    values = torch.tensor([1e8, 1.0, -1e8, 1.0], dtype=torch.float32)
    # ((1e8 + -1e8) + (1 + 1)) in that pairing: exact here, unlike a left-to-right sum.
    assert invariant.tree_sum(values).item() == 2.0
    rows = torch.randn(5, 37, dtype=torch.float64, generator=make_generator(0))
    expected = [math.fsum(row.tolist()) for row in rows]
    np.testing.assert_allclose(invariant.tree_sum(rows).numpy(), expected, rtol=1e-14)
    assert torch.equal(invariant.tree_sum(rows.T, dim=0), invariant.tree_sum(rows))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(
    "name, reference",
    [
        ("exp", torch.exp),
        ("expm1", torch.expm1),
        ("tanh", torch.tanh),
        ("sigmoid", torch.sigmoid),
        ("silu", torch.nn.functional.silu),
        ("elu", torch.nn.functional.elu),
    ],
)
def test_functions_match_torch(name, reference, dtype):
    x = torch.randn(20000, dtype=torch.float64, generator=make_generator(0)) * 15
    x = torch.cat([x, torch.tensor([0.0, 1e-30, -1e-30, 80.0, -100.0])]).to(dtype)
    exact = reference(x.double())  # the reference in float64
    ours = getattr(invariant, name)(x).double()
    finite = torch.isfinite(exact) & (exact.abs() < torch.finfo(dtype).max)
    # A few units in the last place; below the smallest normal number, its spacing.
    info = torch.finfo(dtype)
    torch.testing.assert_close(ours[finite], exact[finite], rtol=4 * info.eps, atol=info.tiny)


def test_gelu_and_erfc_to_float32_precision():
    x = torch.linspace(-10, 10, 20001, dtype=torch.float64)
    torch.testing.assert_close(invariant.erfc(x), torch.special.erfc(x), rtol=1.3e-7, atol=0.0)
    torch.testing.assert_close(
        invariant.gelu(x.float()).double(),
        x * torch.special.ndtr(x),
        rtol=3e-7,
        atol=1e-7,
    )


def test_exp_limits():
    x = torch.tensor([-math.inf, -800.0, 800.0, math.inf, math.nan], dtype=torch.float64)
    result = invariant.exp(x)
    assert result[:2].tolist() == [0.0, 0.0]
    assert result[2:4].tolist() == [math.inf, math.inf]
    assert math.isnan(result[4])
    # Subnormal results are right too.
    tiny = torch.tensor([-740.0], dtype=torch.float64)
    torch.testing.assert_close(invariant.exp(tiny), torch.exp(tiny), rtol=1e-13, atol=0.0)


def test_softmax_sums_to_one_and_matches_torch():
    logits = torch.randn(30, 50, dtype=torch.float64, generator=make_generator(2)) * 10
    p = invariant.softmax(logits)
    torch.testing.assert_close(p, torch.softmax(logits, dim=-1), rtol=1e-13, atol=1e-300)
    torch.testing.assert_close(p.sum(-1), torch.ones(30, dtype=torch.float64))
