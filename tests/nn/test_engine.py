"""The shared training engine, exercised through NeuralRegressor."""

import copy
import pickle

import numpy as np
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning

from regkit.exceptions import TrainingDivergedError, TrainingInterruptedWarning
from regkit.nn import BaseNeuralRegressor
from regkit.regression import NeuralRegressor

FAST = {"hidden_layer_sizes": (16,), "max_epochs": 15, "batch_size": 32, "device": "cpu"}

# Budgets here are deliberately tiny; the warning has its own tests.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def state_recorder(states):
    """A callback that keeps a copy of the weights after every epoch."""

    def record(estimator, entry):
        states[entry["epoch"]] = copy.deepcopy(estimator.module_.state_dict())

    return record


def assert_same_state(a, b):
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


# ------------------------------------------------------------------ determinism
def test_same_seed_same_model_bit_for_bit(regression_data):
    X, y = regression_data
    first = NeuralRegressor(**FAST, random_state=3).fit(X, y)
    second = NeuralRegressor(**FAST, random_state=3).fit(X, y)
    assert_same_state(first.module_.state_dict(), second.module_.state_dict())
    np.testing.assert_array_equal(first.predict(X), second.predict(X))
    other = NeuralRegressor(**FAST, random_state=4).fit(X, y)
    assert not np.array_equal(first.predict(X), other.predict(X))


def test_dropout_is_seeded(regression_data):
    X, y = regression_data
    params = {**FAST, "dropout": 0.3, "random_state": 1}
    a = NeuralRegressor(**params).fit(X, y).predict(X)
    b = NeuralRegressor(**params).fit(X, y).predict(X)
    np.testing.assert_array_equal(a, b)


# --------------------------------------------------------------- early stopping
def test_early_stopping_restores_best_weights(regression_data):
    X, y = regression_data
    states = {}
    model = NeuralRegressor(
        **{**FAST, "max_epochs": 40},
        learning_rate=0.05,
        early_stopping=True,
        n_iter_no_change=3,
        callbacks=[state_recorder(states)],
        random_state=0,
    ).fit(X, y)
    valid = [record["valid_loss"] for record in model.history_]
    assert model.best_epoch_ == 1 + int(np.argmin(valid))
    assert_same_state(model.module_.state_dict(), states[model.best_epoch_])
    # It stopped because patience ran out, well before max_epochs.
    assert model.n_iter_ == len(model.history_) < 40


def test_history_records_and_n_iter(regression_data):
    X, y = regression_data
    model = NeuralRegressor(**FAST, random_state=0).fit(X, y)
    assert model.n_iter_ == len(model.history_) >= 1
    assert [r["epoch"] for r in model.history_] == list(range(1, model.n_iter_ + 1))
    for record in model.history_:
        assert set(record) >= {"epoch", "train_loss", "valid_loss", "seconds"}
        assert np.isnan(record["valid_loss"])  # no validation split without early stopping
        assert record["seconds"] >= 0
    assert model.history_[-1]["train_loss"] < model.history_[0]["train_loss"]


def test_validation_split_too_small_is_an_error():
    X, y = np.ones((1, 2)), np.ones(1)
    with pytest.raises(ValueError, match="n_samples = 1"):
        NeuralRegressor(**FAST, early_stopping=True).fit(X, y)


# -------------------------------------------------------------------- callbacks
def test_callback_returning_true_stops(regression_data):
    X, y = regression_data
    seen = []

    def stop_at_three(estimator, record):
        seen.append(record["epoch"])
        return record["epoch"] == 3

    model = NeuralRegressor(**FAST, callbacks=[stop_at_three], random_state=0).fit(X, y)
    assert seen == [1, 2, 3]
    assert model.n_iter_ == 3


def test_keyboard_interrupt_keeps_best_weights_and_warns(regression_data):
    X, y = regression_data
    states = {}

    def interrupt(estimator, record):
        if record["epoch"] == 6:
            raise KeyboardInterrupt

    model = NeuralRegressor(
        **{**FAST, "max_epochs": 50},
        learning_rate=0.05,
        early_stopping=True,
        n_iter_no_change=50,
        callbacks=[state_recorder(states), interrupt],
        random_state=0,
    )
    with pytest.warns(TrainingInterruptedWarning, match="epoch 6"):
        model.fit(X, y)
    valid = [record["valid_loss"] for record in model.history_]
    assert len(valid) == 6
    assert model.best_epoch_ == 1 + int(np.argmin(valid))
    assert_same_state(model.module_.state_dict(), states[model.best_epoch_])
    assert np.all(np.isfinite(model.predict(X)))


# ------------------------------------------------------------------- divergence
def test_divergence_names_epoch_and_learning_rate(regression_data):
    X, y = regression_data
    with pytest.raises(TrainingDivergedError, match=r"epoch 1.*learning_rate \(now 1000000"):
        NeuralRegressor(**FAST, learning_rate=1e6, random_state=0).fit(X, y)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_input_is_a_clear_error(regression_data, bad):
    X, y = regression_data
    X = X.copy()
    X[3, 1] = bad
    with pytest.raises(ValueError, match=r"NaN|infinity"):
        NeuralRegressor(**FAST).fit(X, y)
    y = y.copy()
    y[0] = bad
    with pytest.raises(ValueError, match=r"NaN|infinity"):
        NeuralRegressor(**FAST).fit(regression_data[0], y)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"batch_size": 0}, "batch_size"),
        ({"optimizer": "sgd"}, "optimizer"),
        ({"learning_rate": -1.0}, "learning_rate"),
        ({"validation_fraction": 1.5}, "validation_fraction"),
        ({"device": "tpu"}, "device"),
        ({"hidden_layer_sizes": (8, -1)}, "hidden_layer_sizes"),
        ({"activation": "swish"}, "activation"),
    ],
)
def test_bad_parameters_name_themselves(regression_data, params, match):
    X, y = regression_data
    with pytest.raises(ValueError, match=match):
        NeuralRegressor(**{**FAST, **params}).fit(X, y)


# ------------------------------------------------------------ targets, weights
def test_multi_output_shapes_and_float64(regression_data):
    X, y = regression_data
    Y = np.column_stack([y, -2 * y + 1])
    model = NeuralRegressor(**FAST, random_state=0).fit(X, Y)
    prediction = model.predict(X)
    assert prediction.shape == (len(X), 2) and prediction.dtype == np.float64
    assert model.n_outputs_ == 2
    column = NeuralRegressor(**FAST, random_state=0).fit(X, y.reshape(-1, 1)).predict(X)
    assert column.shape == (len(X), 1)
    flat = NeuralRegressor(**FAST, random_state=0).fit(X, y).predict(X)
    assert flat.shape == (len(X),)


def test_target_standardisation_is_inverted(regression_data):
    X, y = regression_data
    shifted = 1e4 + 50 * y
    model = NeuralRegressor(**{**FAST, "max_epochs": 60}, random_state=0).fit(X, shifted)
    assert model.score(X, shifted) > 0.9
    np.testing.assert_allclose(model.y_mean_, shifted.mean())
    np.testing.assert_allclose(model.y_scale_, shifted.std())


def test_integer_weights_equal_repeated_rows_with_full_batches(regression_data):
    # With one batch per epoch the weighted loss and the loss on repeated rows have the
    # same value and gradient at every step, so training follows the same path.
    X, y = regression_data
    X, y = X[:60], y[:60]
    weights = np.random.default_rng(1).integers(1, 4, size=len(X))
    params = {**FAST, "batch_size": 1000, "max_epochs": 25, "random_state": 0}
    weighted = NeuralRegressor(**params).fit(X, y, sample_weight=weights)
    repeated = NeuralRegressor(**params).fit(np.repeat(X, weights, 0), np.repeat(y, weights))
    np.testing.assert_allclose(weighted.predict(X), repeated.predict(X), rtol=1e-4, atol=1e-4)


def test_zero_weight_rows_are_ignored_with_full_batches(regression_data):
    X, y = regression_data
    X, y = X[:80], y[:80]
    y_corrupt = y.copy()
    y_corrupt[:20] = 1e3
    weights = np.r_[np.zeros(20), np.ones(60)]
    params = {**FAST, "batch_size": 1000, "max_epochs": 20, "random_state": 0}
    weighted = NeuralRegressor(**params).fit(X, y_corrupt, sample_weight=weights)
    dropped = NeuralRegressor(**params).fit(X[20:], y[20:])
    np.testing.assert_allclose(weighted.predict(X), dropped.predict(X), rtol=1e-4, atol=1e-4)


def test_bad_sample_weights_are_rejected(regression_data):
    X, y = regression_data
    with pytest.raises(ValueError, match="non-zero"):
        NeuralRegressor(**FAST).fit(X, y, sample_weight=np.zeros(len(X)))
    with pytest.raises(ValueError, match=r"[Nn]egative"):
        NeuralRegressor(**FAST).fit(X, y, sample_weight=-np.ones(len(X)))
    with pytest.raises(ValueError, match="sample_weight"):
        NeuralRegressor(**FAST).fit(X, y, sample_weight=np.ones(3))


# ------------------------------------------------------------------- warm start
def test_warm_start_continues_training(regression_data):
    X, y = regression_data
    model = NeuralRegressor(**{**FAST, "max_epochs": 3}, warm_start=True, random_state=0)
    model.fit(X, y)
    first_loss = model.history_[-1]["train_loss"]
    weights_before = copy.deepcopy(model.module_.state_dict())
    model.fit(X, y)
    assert model.n_iter_ == 6
    assert [r["epoch"] for r in model.history_] == [1, 2, 3, 4, 5, 6]
    assert model.history_[-1]["train_loss"] < first_loss
    cold = NeuralRegressor(**{**FAST, "max_epochs": 3}, random_state=0).fit(X, y)
    assert_same_state(cold.module_.state_dict(), weights_before)


def test_without_warm_start_refit_starts_over(regression_data):
    X, y = regression_data
    model = NeuralRegressor(**FAST, random_state=0)
    first = model.fit(X, y).predict(X)
    second = model.fit(X, y).predict(X)
    np.testing.assert_array_equal(first, second)


# ----------------------------------------------------------------- verbose, device
def test_verbose_shows_a_progress_bar_with_losses(regression_data, capsys):
    X, y = regression_data
    NeuralRegressor(**FAST, verbose=1, early_stopping=True, random_state=0).fit(X, y)
    err = capsys.readouterr().err
    assert "NeuralRegressor" in err and "valid_loss" in err and "epoch" in err


def test_silent_by_default(regression_data, capsys):
    X, y = regression_data
    NeuralRegressor(**FAST, random_state=0).fit(X, y)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_auto_device_on_cpu_machine(regression_data):
    X, y = regression_data
    model = NeuralRegressor(**{**FAST, "device": "auto"}, random_state=0).fit(X, y)
    assert model.device_ == ("cuda" if torch.cuda.is_available() else "cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-CUDA error")
def test_cuda_requested_without_cuda_is_a_clear_error(regression_data):
    X, y = regression_data
    with pytest.raises(ValueError, match="CUDA is not available"):
        NeuralRegressor(**{**FAST, "device": "cuda"}).fit(X, y)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_trained_model_pickles_to_cpu(regression_data, tmp_path):
    X, y = regression_data
    model = NeuralRegressor(**{**FAST, "device": "cuda"}, random_state=0).fit(X, y)
    expected = model.predict(X)
    restored = pickle.loads(pickle.dumps(model))
    assert next(restored.module_.parameters()).device.type == "cpu"
    np.testing.assert_allclose(restored.predict(X), expected, rtol=1e-5, atol=1e-6)
    loaded = NeuralRegressor.load(model.save(tmp_path / "gpu.safetensors"))
    np.testing.assert_allclose(loaded.predict(X), expected, rtol=1e-5, atol=1e-6)


# --------------------------------------------------------------------- the base
def test_base_is_abstract():
    with pytest.raises(TypeError):
        BaseNeuralRegressor()


def test_lr_schedules_train(regression_data):
    X, y = regression_data
    for schedule in ("cosine", "onecycle"):
        model = NeuralRegressor(
            **{**FAST, "max_epochs": 30}, lr_schedule=schedule, learning_rate=1e-2, random_state=0
        ).fit(X, y)
        assert model.score(X, y) > 0.9, schedule


@pytest.mark.filterwarnings("error")
def test_no_warning_on_a_clean_fit(regression_data):
    X, y = regression_data
    # A fixed budget (no stopping rule), and a fit that converges before max_epochs.
    NeuralRegressor(**FAST, n_iter_no_change=None, random_state=0).fit(X, y).predict(X)
    model = NeuralRegressor(**{**FAST, "max_epochs": 500}, learning_rate=0.05, random_state=0)
    assert model.fit(X, y).n_iter_ < 500


@pytest.mark.filterwarnings("error")
def test_convergence_warning_when_max_epochs_cuts_an_improving_fit(regression_data):
    X, y = regression_data
    with pytest.warns(ConvergenceWarning, match=r"max_epochs=3.*train_loss.*still improving"):
        NeuralRegressor(**{**FAST, "max_epochs": 3}, random_state=0).fit(X, y)
    with pytest.warns(ConvergenceWarning, match="valid_loss"):
        NeuralRegressor(**{**FAST, "max_epochs": 3}, early_stopping=True, random_state=0).fit(X, y)
