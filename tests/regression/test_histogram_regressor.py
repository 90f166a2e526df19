"""HistogramRegressor: encodings in the training loop, distribution API, edge cases."""

import pickle
import warnings

import numpy as np
import pytest
import torch

from regkit.regression import HistogramRegressor, bin_centers, histogram_mean

# Budgets here are deliberately small.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

FAST = {"hidden_layer_sizes": (32,), "max_epochs": 40, "learning_rate": 1e-2, "device": "cpu"}


def _fit(X, y, sample_weight=None, **params):
    model = HistogramRegressor(**{**FAST, "n_bins": 30, "random_state": 0, **params})
    return model.fit(X, y, sample_weight)


@pytest.fixture
def heteroscedastic():
    rng = np.random.default_rng(1)
    X = rng.uniform(0, 1, size=(1200, 1))
    y = 2 * X[:, 0] + (0.05 + 0.5 * X[:, 0]) * rng.standard_normal(1200)
    return X, y


@pytest.mark.parametrize("encoding", ["hl_gauss", "two_hot", "one_hot"])
def test_learns_a_smooth_function(regression_data, encoding):
    X, y = regression_data
    model = _fit(X, y, target_encoding=encoding)
    assert model.score(X, y) > 0.9
    assert model.n_iter_ >= 1 and np.isfinite(model.history_[-1]["train_loss"])


def test_predict_is_the_mean_of_the_predicted_distribution(regression_data):
    X, y = regression_data
    model = _fit(X, y)
    edges, p = model.predict_distribution(X[:10])
    assert edges.shape == (31,) and p.shape == (10, 30)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    np.testing.assert_allclose(model.predict(X[:10]), histogram_mean(p, edges))
    assert model.predict(X[:10]).dtype == np.float64


@pytest.mark.parametrize(
    "encoding, pad_bins", [("hl_gauss", 4 * 0.75), ("two_hot", 0.5), ("one_hot", 0.5)]
)
def test_auto_support_is_padded(regression_data, encoding, pad_bins):
    X, y = regression_data
    model = _fit(X, y, target_encoding=encoding, max_epochs=1)
    edges = model.bin_edges_[0]
    width = edges[1] - edges[0]
    np.testing.assert_allclose(
        edges[[0, -1]], [y.min() - pad_bins * width, y.max() + pad_bins * width]
    )
    if encoding != "hl_gauss":
        np.testing.assert_allclose(bin_centers(edges)[[0, -1]], [y.min(), y.max()])
    else:
        np.testing.assert_allclose(model.sigma_, [0.75 * width])


def test_targets_outside_the_support_are_clipped_with_a_warning(regression_data):
    X, y = regression_data
    with pytest.warns(UserWarning, match="outside the support"):
        model = _fit(X, y, support=(-1.0, 1.0))
    np.testing.assert_allclose(model.bin_edges_[0][[0, -1]], [-1.0, 1.0])
    _, p = model.predict_distribution(X)
    assert np.all((model.predict(X) >= -1.0) & (model.predict(X) <= 1.0))
    # The clipped targets pile up in the end bins.
    assert p[:, [0, -1]].sum(axis=1).mean() > 0.3


@pytest.mark.parametrize("support", [(-3.0, 3.0), "auto"])
def test_extreme_outliers_give_a_finite_loss(regression_data, support):
    X, y = regression_data
    y = y.copy()
    y[:3] = [1e12, -1e15, 1e300]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        model = _fit(X, y, support=support, max_epochs=5, early_stopping=True)
    losses = [r[k] for r in model.history_ for k in ("train_loss", "valid_loss")]
    assert np.all(np.isfinite(losses))
    assert np.all(np.isfinite(model.predict(X)))


def test_auto_support_clips_validation_rows_silently(regression_data):
    X, y = regression_data
    y = y.copy()
    y[0] = 1e9
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = _fit(
            X, y, max_epochs=2, early_stopping=True, validation_fraction=0.5, n_iter_no_change=None
        )
    # With this seed row 0 is a validation row, beyond the training targets' range.
    assert model.bin_edges_[0, -1] < 1e9
    assert np.isfinite(model.history_[-1]["valid_loss"])


def test_quantiles_and_intervals(heteroscedastic):
    X, y = heteroscedastic
    model = _fit(X, y, max_epochs=30, n_bins=60)
    q = np.linspace(0, 1, 11)
    quantiles = model.predict_quantiles(X[:50], q)
    assert quantiles.shape == (50, 11)
    assert np.all(np.diff(quantiles, axis=1) >= 0)
    np.testing.assert_allclose(quantiles[:, 5], model.predict_quantiles(X[:50], 0.5))
    # Without calibration the interval is the network's own central interval.
    raw = model.set_params(calibration_fraction=None).fit(X, y)
    interval = raw.predict_interval(X[:50], coverage=0.8)
    np.testing.assert_allclose(interval, raw.predict_quantiles(X[:50], [0.1, 0.9]), atol=1e-12)
    # Wider noise at x = 1 than at x = 0 gives wider intervals there, calibrated or not.
    for fitted in (raw, model.set_params(calibration_fraction=0.1).fit(X, y)):
        ends = fitted.predict_interval(np.array([[0.05], [0.95]]))
        widths = ends[:, 1] - ends[:, 0]
        assert widths[1] > 2.5 * widths[0]


def test_deblurred_intervals_correct_a_wide_blur():
    # Homoscedastic Gaussian noise (sd 0.1) and a blur of about 0.3: the blurred
    # histogram's 90% interval covers nearly everything, the de-blurred one about 90%.
    rng = np.random.default_rng(3)
    X = rng.uniform(0, 1, size=(3000, 1))
    y = 2 * X[:, 0] + 0.1 * rng.standard_normal(3000)
    model = _fit(X[:2000], y[:2000], n_bins=40, sigma_ratio=2.5, max_epochs=30)
    assert model.sigma_[0] > 2.5 * 0.1

    def coverage(deblur):
        lower, upper = model.predict_quantiles(X[2000:], [0.05, 0.95], deblur=deblur).T
        return np.mean((y[2000:] >= lower) & (y[2000:] <= upper))

    blurred, deblurred = coverage(False), coverage(True)
    assert blurred > 0.99
    assert 0.85 <= deblurred <= 0.95
    # The mean is the same either way; the de-blurred quantiles are nested inside.
    edges, p = model.predict_distribution(X[2000:])
    np.testing.assert_allclose(model.predict(X[2000:]), histogram_mean(p, edges))
    inner = model.predict_quantiles(X[2000:], [0.1, 0.9])
    outer = model.predict_quantiles(X[2000:], [0.1, 0.9], deblur=False)
    assert np.all((inner[:, 0] >= outer[:, 0]) & (inner[:, 1] <= outer[:, 1]))


@pytest.mark.parametrize("encoding", ["two_hot", "one_hot"])
def test_deblur_leaves_unblurred_encodings_alone(regression_data, encoding):
    X, y = regression_data
    model = _fit(X, y, target_encoding=encoding, max_epochs=3)
    np.testing.assert_array_equal(
        model.predict_interval(X, deblur=True), model.predict_interval(X, deblur=False)
    )


def test_multi_output_has_one_histogram_per_output(regression_data):
    X, y = regression_data
    Y = np.column_stack([y, 100 * y + 1000])
    model = _fit(X, Y)
    assert model.bin_edges_.shape == (2, 31)
    np.testing.assert_allclose(model.bin_edges_[1], 100 * model.bin_edges_[0] + 1000)
    prediction = model.predict(X)
    assert prediction.shape == (240, 2)
    for j in range(2):
        assert np.corrcoef(prediction[:, j], Y[:, j])[0, 1] > 0.95
    edges, p = model.predict_distribution(X[:5])
    assert edges.shape == (2, 31) and p.shape == (5, 2, 30)
    assert model.predict_quantiles(X[:5], [0.1, 0.9]).shape == (5, 2, 2)
    assert model.predict_interval(X[:5]).shape == (5, 2, 2)
    assert model.predict_quantiles(X[:5], 0.5).shape == (5, 2)


def test_zero_weight_rows_do_not_stretch_the_support(regression_data):
    X, y = regression_data
    y = y.copy()
    y[0] = 1e6
    weight = np.ones(len(y))
    weight[0] = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the zero-weight row is clipped without fuss
        model = _fit(X, y, weight, max_epochs=1, n_iter_no_change=None)
    np.testing.assert_allclose(model.bin_edges_, _fit(X[1:], y[1:], max_epochs=1).bin_edges_)


def test_custom_backbone(regression_data, tmp_path):
    X, y = regression_data
    calls = []

    def backbone(n_features, n_logits):
        calls.append((n_features, n_logits))
        return torch.nn.Sequential(
            torch.nn.Linear(n_features, 16), torch.nn.Tanh(), torch.nn.Linear(16, n_logits)
        )

    model = _fit(X, y, backbone=backbone)
    assert calls == [(4, 30)]
    assert model.score(X, y) > 0.8
    with pytest.raises(ValueError, match="cannot be saved"):
        model.save(tmp_path / "model.safetensors")


def test_backbone_must_return_a_module(regression_data):
    X, y = regression_data
    with pytest.raises(TypeError, match="backbone must return"):
        _fit(X, y, backbone=lambda n_features, n_logits: "not a module")


def test_save_load_and_pickle_round_trip(regression_data, tmp_path):
    X, y = regression_data
    model = _fit(X, y, max_epochs=3)
    path = model.save(tmp_path / "model.safetensors")
    for loaded in (HistogramRegressor.load(path), pickle.loads(pickle.dumps(model))):
        np.testing.assert_allclose(loaded.predict(X), model.predict(X))
        np.testing.assert_allclose(loaded.predict_interval(X), model.predict_interval(X))


def test_warm_start_rebuilds_the_network_when_n_bins_changes(regression_data):
    X, y = regression_data
    model = _fit(X, y, max_epochs=2, warm_start=True)
    model.set_params(n_bins=12).fit(X, y)
    assert model.predict_distribution(X)[1].shape == (240, 12)
    assert model.n_iter_ == 2  # a fresh network and history
    model.fit(X, y)
    assert model.n_iter_ == 4  # same n_bins: the warm start continues


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"support": (1.0, 0.0)}, ValueError, "support"),
        ({"support": (0.0, np.inf)}, ValueError, "support"),
        ({"support": ("a", "b")}, ValueError, "support"),
        ({"support": "wide"}, ValueError, "support"),
        ({"target_encoding": "gauss"}, ValueError, "target_encoding"),
        ({"n_bins": 1}, ValueError, "n_bins"),
        ({"n_bins": 6}, ValueError, "n_bins"),  # 4 sigma of padding needs > 6 bins
        ({"sigma_ratio": 0.0}, ValueError, "sigma_ratio"),
        ({"backbone": "mlp"}, ValueError, "backbone"),
    ],
)
def test_bad_parameters(regression_data, params, error, match):
    X, y = regression_data
    with pytest.raises(error, match=match):
        _fit(X, y, **params)


def test_bad_quantile_levels(regression_data):
    X, y = regression_data
    model = _fit(X, y, max_epochs=1)
    with pytest.raises(ValueError, match="q must"):
        model.predict_quantiles(X, [0.5, 1.2])
    with pytest.raises(ValueError, match="coverage"):
        model.predict_interval(X, coverage=1.0)
    with pytest.raises(TypeError, match="deblur"):
        model.predict_quantiles(X, 0.5, deblur="yes")


def test_default_network_starts_from_the_marginal_histogram():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((500, 3))
    y = np.exp(1.5 * rng.standard_normal(500))  # skewed: mean far below mid-support
    model = _fit(X, y, max_epochs=1, learning_rate=1e-12)
    middle = model.bin_edges_[0, [0, -1]].mean()
    assert abs(model.predict(X).mean() - y.mean()) < 0.1 * abs(middle - y.mean())
