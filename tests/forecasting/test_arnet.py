"""ARNetRegressor: AR coefficients, sparse lag recovery, regulariser, options."""

import numpy as np
import pytest
import torch
from sklearn.base import clone

from regkit.datasets import make_ar_process
from regkit.forecasting import ARNetRegressor, make_lag_features
from regkit.forecasting._arnet import auto_budget, sparsity_penalty

# Budgets here are deliberately small.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _noiseless_ar2():
    # Complex roots of modulus 0.99: a slowly decaying oscillation keeps every row
    # informative without noise.
    radius, angle = 0.99, 1.0
    coef = np.array([2 * radius * np.cos(angle), -(radius**2)])
    y = make_ar_process(500, coef, noise=0, burn_in=0, random_state=0)
    return coef, y


def test_noiseless_ar2_recovered():
    coef, y = _noiseless_ar2()
    X, target = make_lag_features(y, 2)
    model = ARNetRegressor(random_state=0, device="cpu").fit(X, target)
    np.testing.assert_allclose(model.coef_, coef, atol=1e-3)
    assert abs(model.intercept_) < 1e-3
    # coef_ and intercept_ reproduce predict exactly (the documented lag order).
    np.testing.assert_allclose(
        model.predict(X), X @ model.coef_ + model.intercept_, rtol=1e-5, atol=1e-5
    )


def test_sparse_ar3_in_50_lags():
    y = make_ar_process(2050, {1: 0.2, 2: 0.3, 3: -0.5}, random_state=1)
    X, target = make_lag_features(y, 50)
    model = ARNetRegressor(sparsity=3 / 50, random_state=0, device="cpu").fit(X, target)
    coef = model.coef_
    assert set(np.argsort(-np.abs(coef))[:3]) == {0, 1, 2}
    np.testing.assert_allclose(coef[:3], [0.2, 0.3, -0.5], atol=0.06)
    assert np.max(np.abs(coef[3:])) < 0.01
    # Least squares on the same rows spreads weight over the irrelevant lags.
    design = np.column_stack([np.ones(len(X)), X])
    ls = np.linalg.lstsq(design, target, rcond=None)[0][1:]
    assert np.abs(coef[3:]).sum() < 0.2 * np.abs(ls[3:]).sum()
    assert model.regularization_strength_ == pytest.approx(0.05 * (50 / 3 - 1))
    assert "regularization" in model.history_[-1]


def test_multi_output_coef_shape_and_hidden_layers():
    y = make_ar_process(400, [0.5], random_state=0)
    X, targets = make_lag_features(y, 4, n_forecasts=3)
    model = ARNetRegressor(max_epochs=5, random_state=0, device="cpu").fit(X, targets)
    assert model.coef_.shape == (3, 4) and model.intercept_.shape == (3,)
    assert model.predict(X).shape == (len(X), 3)
    deep = ARNetRegressor(ar_layers=(8,), max_epochs=5, random_state=0, device="cpu")
    deep.fit(X, targets)
    assert deep.predict(X).shape == (len(X), 3)
    with pytest.raises(AttributeError, match="ar_layers"):
        deep.coef_  # noqa: B018


def test_huber_loss_resists_outliers():
    y = make_ar_process(1500, [0.6], random_state=0)
    X, target = make_lag_features(y, 1)
    target = target.copy()
    target[::50] += 40.0  # gross outliers in the targets only
    kw = {"random_state": 0, "device": "cpu"}
    mse = ARNetRegressor(**kw).fit(X, target).coef_[0]
    huber = ARNetRegressor(loss="huber", **kw).fit(X, target).coef_[0]
    assert abs(huber - 0.6) < abs(mse - 0.6)
    assert abs(huber - 0.6) < 0.05


def test_reproducible_and_clonable():
    y = make_ar_process(300, [0.5], random_state=0)
    X, target = make_lag_features(y, 3)
    a = ARNetRegressor(max_epochs=5, random_state=3, device="cpu").fit(X, target)
    b = clone(a).fit(X, target)
    np.testing.assert_array_equal(a.coef_, b.coef_)


def test_early_stopping_validates_on_the_last_rows():
    model = ARNetRegressor(early_stopping=True, validation_fraction=0.2)
    train, valid = model._split(10, None, torch.Generator())
    assert train.tolist() == list(range(8)) and valid.tolist() == [8, 9]


def test_penalty_shape():
    weights = torch.tensor([0.0, 1e-4, 0.1, 1.0, 10.0])
    per_weight = [float(sparsity_penalty(w.reshape(1))) for w in weights]
    assert per_weight[0] == 0.0
    assert per_weight == sorted(per_weight)  # increasing in |w|
    assert per_weight[-1] > 0.99  # saturates: large weights are not shrunk further


def test_auto_budget():
    assert auto_budget(100_000) == (10, 1024)
    assert auto_budget(10_000) == (15, 128)
    epochs, batch = auto_budget(50)
    assert batch == 16 and epochs == 200


@pytest.mark.parametrize(
    "params, match",
    [
        ({"sparsity": 0.0}, "sparsity"),
        ({"sparsity": 1.5}, "sparsity"),
        ({"loss": "l1"}, "loss"),
        ({"max_epochs": "forever"}, "max_epochs"),
        ({"ar_layers": (0,)}, "ar_layers"),
    ],
)
def test_bad_parameters(params, match):
    X, y = np.ones((20, 2)), np.arange(20.0)
    with pytest.raises(ValueError, match=match):
        ARNetRegressor(**params).fit(X, y)


def test_nan_input_rejected():
    X, y = np.ones((20, 2)), np.arange(20.0)
    X[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        ARNetRegressor().fit(X, y)


def _weighted_lstsq(X, target, weight):
    design = np.column_stack([np.ones(len(X)), X]) * np.sqrt(weight)[:, None]
    solution = np.linalg.lstsq(design, target * np.sqrt(weight)[:, None], rcond=None)[0]
    return solution[1:].T, solution[0]


def test_linear_arnet_starts_at_weighted_least_squares():
    y = make_ar_process(800, [0.5, -0.3, 0.2], noise=0.05, random_state=3)
    X, targets = make_lag_features(y, 3, n_forecasts=2)
    weight = np.random.default_rng(0).uniform(0.5, 2.0, len(X))
    # A vanishing learning rate leaves the weights where they started.
    model = ARNetRegressor(max_epochs=1, learning_rate=1e-12, random_state=0, device="cpu")
    model.fit(X, targets, sample_weight=weight)
    coef, intercept = _weighted_lstsq(X, targets, weight)
    np.testing.assert_allclose(model.coef_, coef, atol=1e-4)
    np.testing.assert_allclose(model.intercept_, intercept, atol=1e-4)
    assert "_least_squares_start" not in model.__dict__


def test_training_keeps_the_least_squares_fit_on_collinear_lags():
    # Trend plus season plus AR(1) noise: 24 nearly collinear lags, where Adam
    # from a random start ended with 1.7 times the least-squares training error.
    t = np.arange(480)
    noise = make_ar_process(480, [0.6], noise=0.3, random_state=0)
    y = 0.1 * t + 3 * np.sin(2 * np.pi * t / 12) + noise
    X, target = make_lag_features(y, 24)
    model = ARNetRegressor(random_state=0, device="cpu").fit(X, target)
    coef, intercept = _weighted_lstsq(X, target[:, None], np.ones(len(X)))
    ls_error = np.mean((X @ coef[0] + intercept[0] - target) ** 2)
    assert np.mean((model.predict(X) - target) ** 2) <= 1.01 * ls_error
    losses = [record["train_loss"] for record in model.history_]
    assert losses[-1] <= losses[0]
