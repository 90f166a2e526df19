"""Failures that are caught: divergence, unrepresentable data, scales, empty splits."""

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.exceptions import NotFittedError
from sklearn.metrics import r2_score

from regkit.datasets import make_ar_process
from regkit.exceptions import TrainingDivergedError
from regkit.forecasting import ARNetRegressor, make_lag_features
from regkit.regression import NeuralRegressor

FAST = {"max_epochs": 3, "batch_size": 32, "device": "cpu", "random_state": 0}
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _state(model):
    return {k: v.clone() for k, v in model.module_.state_dict().items()}


def _assert_same_state(a, b):
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# ------------------------------------------------------------------ divergence
def test_a_huge_learning_rate_diverges_and_leaves_no_fitted_model(regression_data, make_neural):
    X, y = regression_data
    model = make_neural(**FAST, learning_rate=1e6)
    with pytest.raises(TrainingDivergedError, match=r"at epoch \d+: training diverged.*1000000"):
        model.fit(X, y)
    with pytest.raises(NotFittedError):
        model.predict(X)
    assert not any(name.endswith("_") and not name.startswith("_") for name in vars(model))


def test_divergence_in_a_warm_start_restores_the_previous_fit(regression_data, make_neural):
    X, y = regression_data
    model = make_neural(**FAST, warm_start=True).fit(X, y)
    before, history, prediction = _state(model), list(model.history_), model.predict(X)
    with pytest.raises(TrainingDivergedError):
        model.set_params(learning_rate=1e6).fit(X, y)
    _assert_same_state(_state(model), before)
    assert model.history_ == history and model.n_iter_ == len(history)
    np.testing.assert_array_equal(model.predict(X), prediction)


def test_divergence_in_a_cold_refit_keeps_the_previous_fit(regression_data):
    X, y = regression_data
    model = NeuralRegressor((8,), **FAST).fit(X, y)
    prediction = model.predict(X)
    with pytest.raises(TrainingDivergedError):
        model.set_params(learning_rate=1e6, hidden_layer_sizes=(4,)).fit(X, y)
    np.testing.assert_array_equal(model.predict(X), prediction)


def test_divergence_in_partial_fit_restores_the_previous_state(regression_data):
    X, y = regression_data
    model = NeuralRegressor((8,), **FAST).partial_fit(X, y)
    reference = NeuralRegressor((8,), **FAST).partial_fit(X, y)
    with pytest.raises(TrainingDivergedError):
        model.set_params(learning_rate=1e6).partial_fit(X, y)
    # Weights, history, optimiser and random stream are as before: the next call
    # does what it would have done without the failed one.
    model.set_params(learning_rate=FAST.get("learning_rate", 1e-3)).partial_fit(X, y)
    reference.partial_fit(X, y)
    _assert_same_state(_state(model), _state(reference))
    assert model.n_iter_ == reference.n_iter_ == 2


def test_a_bounded_loss_still_catches_exploding_outputs(regression_data):
    # CS-IB's kernel loss saturates instead of exploding; the outputs tell.
    from regkit.regression import CSIBRegressor

    X, y = regression_data
    model = CSIBRegressor((16,), representation_size=4, decoder_layer_sizes=(16,), **FAST)
    with pytest.raises(TrainingDivergedError, match="outputs on training rows reached"):
        model.set_params(learning_rate=100.0, max_epochs=10).fit(X, y)


# ------------------------------------------------- data float32 cannot represent
@pytest.mark.parametrize(
    "factor, match",
    [(1e39, "beyond the float32 range"), (1e-300, "become zeros or lose their precision")],
)
def test_inputs_float32_cannot_hold_are_a_clear_error(regression_data, factor, match):
    X, y = regression_data
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    frame["c"] *= factor
    with pytest.raises(ValueError, match=rf"X column 'c' .*{match}.*Rescale"):
        NeuralRegressor(**FAST).fit(frame, y)
    X = X.copy()
    X[:, 2] *= factor
    with pytest.raises(ValueError, match=rf"X column 2 .*{match}"):
        NeuralRegressor(**FAST).fit(X, y)


def test_a_series_beyond_float32_is_not_reported_as_divergence():
    y = make_ar_process(300, [0.5], random_state=0) * 1e200
    X, target = make_lag_features(y, 3)
    with pytest.raises(ValueError, match=r"X column 0 .*float32.*Rescale"):
        ARNetRegressor(**FAST).fit(X, target)


def test_zero_columns_and_tiny_prediction_inputs_are_fine(regression_data):
    X, y = regression_data
    X = np.column_stack([X, np.zeros(len(X))])
    model = NeuralRegressor((8,), **FAST).fit(X, y)
    tiny = X.copy()
    tiny[:, 0] = 1e-300  # at prediction time, a tiny value is just close to zero
    assert np.isfinite(model.predict(tiny)).all()
    with pytest.raises(ValueError, match="beyond the float32 range"):
        model.predict(X * 1e39)


@pytest.mark.parametrize("factor", [1e-300, 1e160, 1e300])
def test_targets_of_any_finite_scale_predict_like_unit_targets(
    regression_data, make_neural, factor
):
    X, y = regression_data
    unit = make_neural(**FAST).fit(X, y)
    scaled = make_neural(**FAST).fit(X, y * factor)
    assert np.isfinite(scaled.predict(X)).all()
    np.testing.assert_allclose(scaled.predict(X) / factor, unit.predict(X), rtol=1e-5, atol=1e-9)
    # (scikit-learn's R2 itself over- or underflows at these scales: compare in units of y.)
    assert r2_score(y, scaled.predict(X) / factor) == pytest.approx(unit.score(X, y), abs=1e-6)


def test_constant_targets_at_extreme_scales(regression_data):
    # The scale of a constant target is the power of two below it (not its rounding
    # noise), so the relative error is the same at any scale.
    X, _ = regression_data
    params = {**FAST, "max_epochs": 30, "learning_rate": 2e-2, "n_iter_no_change": None}
    for value in (1e-300, 5.0, -1e300, 0.1):
        model = NeuralRegressor((8,), **params).fit(X, np.full(len(X), value))
        mantissa, _ = np.frexp(model.y_scale_)
        assert mantissa == 0.5 and abs(value) / 2 < model.y_scale_[0] <= abs(value)
        np.testing.assert_allclose(model.y_mean_, value, rtol=1e-15)
        assert np.abs(model.predict(X) / value - 1).max() < 0.05


# ----------------------------------------------------------------- empty splits
def test_a_validation_split_without_weight_is_an_error(regression_data):
    X, y = regression_data
    weights = np.ones(len(X))
    weights[-24:] = 0.0  # AR-Net validates on the last 10% of the rows
    with pytest.raises(ValueError, match="every validation row has sample_weight 0"):
        ARNetRegressor(**FAST, early_stopping=True).fit(X, y, sample_weight=weights)
    weights = np.r_[np.zeros(len(X) - 24), np.ones(24)]
    with pytest.raises(ValueError, match="every training row has sample_weight 0"):
        ARNetRegressor(**FAST, early_stopping=True).fit(X, y, sample_weight=weights)
    # A random split with some weight on each side is fine, and its loss is finite.
    model = NeuralRegressor((8,), **FAST, early_stopping=True).fit(
        X, y, sample_weight=np.r_[np.zeros(10), np.ones(len(X) - 10)]
    )
    assert np.isfinite([r["valid_loss"] for r in model.history_]).all()
