"""FGSM helpers: the attack direction, its radius, and the estimator surface it uses."""

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
    np.testing.assert_allclose(output.detach().numpy().ravel(), model.predict(X), rtol=1e-5)
    output.sum().backward()
    assert torch.isfinite(inputs.grad).all() and inputs.grad.abs().sum() > 0


def test_numpy_only_decoders_and_bad_input_are_refused(model_and_data):
    model, X, y = model_and_data

    class NumpyDecoder(NeuralRegressor):
        def _decode_prediction(self, output):
            return np.asarray(output) * self.y_scale_ + self.y_mean_

    other = NumpyDecoder((4,), max_epochs=1, device="cpu", random_state=0).fit(X, y)
    with pytest.raises(NotImplementedError, match="_decode_tensor"):
        fgsm_perturb(other, X, y, 0.1)
    with pytest.raises(TypeError, match="neural regressor"):
        fgsm_rmse(object(), X, y, 0.1)
    with pytest.raises(ValueError, match="eps"):
        fgsm_perturb(model, X, y, -0.1)
