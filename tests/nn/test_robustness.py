"""FGSM helpers and the one differentiable decoder they use (``predict_tensor``)."""

import numpy as np
import pytest
import torch

from regkit.nn import fgsm_perturb, fgsm_rmse
from regkit.regression import CSIBRegressor, NeuralRegressor


@pytest.fixture(scope="module")
def model_and_data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((120, 3))
    y = np.sin(X[:, 0]) + X[:, 1] ** 2 - X[:, 2]
    model = NeuralRegressor((16,), max_epochs=20, device="cpu", random_state=0).fit(X, y)
    return model, X, y


def test_perturbation_follows_the_sign_of_the_numerical_gradient(model_and_data):
    model, X, y = model_and_data
    X, y = X[:10], y[:10]
    eps, h = 0.05, 1e-3
    step = fgsm_perturb(model, X, y, eps) - X
    for j in range(X.shape[1]):
        shift = np.zeros_like(X)
        shift[:, j] = h
        gradient = ((model.predict(X + shift) - y) ** 2 - (model.predict(X - shift) - y) ** 2) / (
            2 * h
        )
        clear = np.abs(gradient) > 1e-3  # float32 noise decides the sign of tiny gradients
        np.testing.assert_array_equal(np.sign(step[clear, j]), np.sign(gradient[clear]))
    np.testing.assert_allclose(np.abs(step), eps)


def test_rmse_at_zero_radius_is_the_clean_rmse_and_grows_with_eps(model_and_data):
    model, X, y = model_and_data
    clean = np.sqrt(np.mean((model.predict(X) - y) ** 2))
    values = fgsm_rmse(model, X, y, eps=[0.0, 0.1, 0.3])
    assert values[0] == pytest.approx(clean, rel=1e-12)
    assert values[0] < values[1] < values[2]
    assert fgsm_rmse(model, X, y, eps=0.1) == pytest.approx(values[1])


def test_works_on_multi_output_csib(model_and_data):
    _, X, y = model_and_data
    Y = np.column_stack([y, 2 * y])
    model = CSIBRegressor(
        (16,), representation_size=4, decoder_layer_sizes=(16,), max_epochs=5, random_state=0
    ).fit(X, Y)
    np.testing.assert_allclose(np.abs(fgsm_perturb(model, X, Y, 0.2) - X), 0.2)
    assert fgsm_rmse(model, X, Y, 0.2) > fgsm_rmse(model, X, Y, 0.0)


def test_predict_tensor_is_differentiable_and_matches_predict(model_and_data):
    model, X, _ = model_and_data
    inputs = torch.tensor(X, dtype=torch.float32, requires_grad=True)
    output = model.predict_tensor(inputs)
    np.testing.assert_array_equal(output.detach().numpy().ravel(), model.predict(X))
    output.sum().backward()
    assert torch.isfinite(inputs.grad).all() and inputs.grad.abs().sum() > 0


def test_every_estimator_is_differentiable_end_to_end(regression_data, make_neural):
    X, y = regression_data
    model = make_neural(max_epochs=2, batch_size=32, device="cpu", random_state=0).fit(X, y)
    inputs = torch.tensor(X[:30], dtype=torch.float32, requires_grad=True)
    output = model.predict_tensor(inputs)
    assert output.dtype == torch.float64 and output.shape == (30, 1)
    np.testing.assert_array_equal(output.detach().numpy().ravel(), model.predict(X[:30]))
    output.sum().backward()
    assert torch.isfinite(inputs.grad).all() and inputs.grad.abs().sum() > 0


def test_histogram_regressor_supports_fgsm(regression_data):
    from regkit.regression import HistogramRegressor

    X, y = regression_data
    model = HistogramRegressor(
        (32,), n_bins=30, max_epochs=30, learning_rate=1e-2, device="cpu", random_state=0
    ).fit(X, y)
    # The gradient of the decoded mean has the sign of a central difference.
    step = fgsm_perturb(model, X[:20], y[:20], 0.05) - X[:20]
    h = 1e-3
    shift = np.zeros_like(X[:20])
    shift[:, 0] = h
    gradient = (
        (model.predict(X[:20] + shift) - y[:20]) ** 2
        - (model.predict(X[:20] - shift) - y[:20]) ** 2
    ) / (2 * h)
    clear = np.abs(gradient) > 1e-3
    np.testing.assert_array_equal(np.sign(step[clear, 0]), np.sign(gradient[clear]))
    clean, attacked = fgsm_rmse(model, X, y, eps=[0.0, 0.2])
    assert clean == pytest.approx(np.sqrt(np.mean((model.predict(X) - y) ** 2)))
    assert attacked > clean


def test_bad_input_is_refused(model_and_data):
    model, X, y = model_and_data
    with pytest.raises(TypeError, match="neural regressor"):
        fgsm_rmse(object(), X, y, 0.1)
    with pytest.raises(ValueError, match="eps"):
        fgsm_perturb(model, X, y, -0.1)
