"""CSIBRegressor: training, information plane, beta sweep, validation, persistence."""

import numpy as np
import pytest
import torch
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from regkit.nn import cs_divergence, cs_qmi
from regkit.regression import CSIBRegressor, NeuralRegressor, csib_beta_sweep

# Budgets here are deliberately small.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

SMALL = {
    "hidden_layer_sizes": (32,),
    "representation_size": 8,
    "decoder_layer_sizes": (32,),
    "max_epochs": 40,
    "batch_size": 64,
    "learning_rate": 3e-3,
    "device": "cpu",
    "random_state": 0,
}


@pytest.fixture(scope="module")
def fitted(request):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((240, 4))
    y = X @ np.array([1.5, -2.0, 0.5, 0.0]) + 0.3 * np.sin(3 * X[:, 0])
    return X, y, CSIBRegressor(**SMALL).fit(X, y)


def test_fits_an_easy_problem(fitted):
    X, y, model = fitted
    assert model.score(X, y) > 0.9
    assert model.n_iter_ == len(model.history_) == SMALL["max_epochs"]
    prediction = model.predict(X)
    assert prediction.dtype == np.float64 and prediction.shape == y.shape


def test_history_records_the_information_plane(fitted):
    _, _, model = fitted
    for record in model.history_:
        assert 0 <= record["i_xt"] <= 1 + 1e-6
        assert 0 <= record["i_yt"] <= 1 + 1e-6
        assert record["prediction_term"] >= 0
    # Training brings the model's conditional distribution towards the data's.
    assert model.history_[-1]["prediction_term"] < model.history_[0]["prediction_term"]


def test_information_terms_match_the_estimators_on_the_encoded_data(fitted):
    X, y, model = fitted
    terms = model.information_terms(X[:100], y[:100])
    X_t = torch.as_tensor(X[:100], dtype=torch.float32)
    y_t = torch.as_tensor((y[:100, None] - model.y_mean_) / model.y_scale_, dtype=torch.float32)
    with torch.no_grad():
        t = model.module_.encode(X_t)
        # Defaults: sigma_x=1, sigma_y=2, the median heuristic for t.
        assert terms["i_xt"] == pytest.approx(cs_qmi(X_t, t, sigma_x=1.0).item(), rel=1e-5)
        assert terms["i_yt"] == pytest.approx(cs_qmi(y_t, t, sigma_x=2.0).item(), rel=1e-5)
        y_hat = model.module_.decoder(t)
        expected = cs_divergence(X_t, y_t, y_hat, sigma_x=1.0, sigma_y=2.0).item()
    assert terms["prediction_term"] == pytest.approx(expected, rel=1e-5)


def test_larger_beta_compresses_the_representation():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((200, 6))
    y = X[:, 0] - X[:, 1] + 0.1 * rng.standard_normal(200)
    loose = CSIBRegressor(**{**SMALL, "beta": 0.0}).fit(X, y)
    tight = CSIBRegressor(**{**SMALL, "beta": 1.0}).fit(X, y)
    assert tight.history_[-1]["i_xt"] < loose.history_[-1]["i_xt"] - 0.05


@pytest.mark.parametrize("beta", [0.0, 0.3])
def test_training_loss_is_the_two_estimators_composed(fitted, beta):
    # In float64, so that the fused training loss (cs_ib_loss) and the public
    # estimators agree to rounding.
    X, y, _ = fitted
    model = CSIBRegressor(**{**SMALL, "beta": beta, "max_epochs": 1}).fit(X, y)
    module = model.module_.double().eval()
    X_t = torch.as_tensor(X[:64], dtype=torch.float64)
    y_t = torch.as_tensor((y[:64, None] - model.y_mean_) / model.y_scale_, dtype=torch.float64)
    with torch.no_grad():
        loss = model._loss(module, X_t, y_t, None)
        t = module.encode(X_t)
        expected = cs_divergence(X_t, y_t, module.decoder(t), sigma_x=1.0, sigma_y=2.0)
        expected = expected + beta * cs_qmi(X_t, t, sigma_x=1.0)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-10)


def test_same_seed_same_model_and_stochastic_representation(regression_data):
    X, y = regression_data
    params = {**SMALL, "max_epochs": 5, "stochastic": True}
    first = CSIBRegressor(**params).fit(X, y)
    second = CSIBRegressor(**params).fit(X, y)
    np.testing.assert_array_equal(first.predict(X), second.predict(X))
    assert first.module_.log_var is not None
    # Predictions use the mean representation: no noise at inference.
    np.testing.assert_array_equal(first.predict(X), first.predict(X))
    assert CSIBRegressor(**SMALL).fit(X, y).module_.log_var is None


def test_multi_output_and_sample_weight(regression_data):
    X, y = regression_data
    Y = np.column_stack([y, -2 * y + 1])
    weights = np.random.default_rng(2).uniform(0.5, 2.0, len(X))
    model = CSIBRegressor(**SMALL).fit(X, Y, sample_weight=weights)
    assert model.predict(X).shape == Y.shape
    assert model.score(X, Y) > 0.8


def test_fixed_kernel_widths(regression_data):
    X, y = regression_data
    model = CSIBRegressor(**{**SMALL, "sigma_x": 2.0, "sigma_t": 1.0, "sigma_y": 0.5})
    assert model.fit(X, y).score(X, y) > 0.8


@pytest.mark.parametrize(
    "params, name",
    [
        ({"sigma_x": "mean"}, "sigma_x"),
        ({"sigma_y": -1.0}, "sigma_y"),
        ({"beta": -0.1}, "beta"),
        ({"representation_size": 0}, "representation_size"),
        ({"decoder_layer_sizes": (8, 0)}, "decoder_layer_sizes"),
    ],
)
def test_bad_parameters_name_themselves(regression_data, params, name):
    X, y = regression_data
    with pytest.raises(ValueError, match=name):
        CSIBRegressor(**{**SMALL, **params}).fit(X, y)


def test_save_and_load_round_trip(fitted, tmp_path):
    X, _, model = fitted
    path = model.save(tmp_path / "csib.safetensors")
    loaded = CSIBRegressor.load(path)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_beta_sweep_reports_the_compression_ratio(regression_data):
    X, y = regression_data
    model = make_pipeline(StandardScaler(), CSIBRegressor(**{**SMALL, "max_epochs": 15}))
    table = csib_beta_sweep(model, X[:160], y[:160], [1.0, 0.0], X_test=X[160:], y_test=y[160:])
    assert table["beta"].tolist() == [0.0, 1.0]
    assert table["compression_ratio"].iloc[0] == 0.0
    expected = 1 - table["i_xt"].iloc[1] / table["i_xt"].iloc[0]
    assert table["compression_ratio"].iloc[1] == pytest.approx(expected)
    assert table["compression_ratio"].iloc[1] > 0
    test_rmse = np.sqrt(np.mean((table.attrs["models"][1].predict(X[160:]) - y[160:]) ** 2))
    assert table["test_rmse"].iloc[1] == pytest.approx(test_rmse)


def test_beta_sweep_rejects_other_estimators(regression_data):
    X, y = regression_data
    with pytest.raises(TypeError, match="CSIBRegressor"):
        csib_beta_sweep(NeuralRegressor(), X, y, [0.0])
    with pytest.raises(ValueError, match="betas"):
        csib_beta_sweep(CSIBRegressor(), X, y, [])


def test_constant_column_and_single_row_batches_train_finitely():
    rng = np.random.default_rng(3)
    X = np.column_stack([rng.standard_normal(65), np.full(65, 7.0)])
    y = X[:, 0] + 0.1 * rng.standard_normal(65)
    # 65 rows in batches of 32: the last batch holds one row.
    model = CSIBRegressor(**{**SMALL, "batch_size": 32, "max_epochs": 5, "sigma_x": "median"})
    model.fit(X, y)
    assert np.isfinite(model.predict(X)).all()
    for record in model.history_:
        assert np.isfinite([record["train_loss"], record["i_xt"], record["prediction_term"]]).all()
