"""Blindspot, Gaussian and fine-tuning unlearners on regkit's neural regressors."""

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.linear_model import Ridge
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

from regkit.nn import BaseNeuralRegressor, make_generator
from regkit.regression import HistogramRegressor, NeuralRegressor
from regkit.unlearning import (
    BlindspotUnlearner,
    FineTuneUnlearner,
    GaussianUnlearner,
    RetrainUnlearner,
    Rows,
    relearn_steps,
    unlearning_report,
)
from regkit.unlearning._activations import (
    activation_distance,
    activation_layers,
    recorded_outputs,
    unit_rows,
)
from regkit.unlearning._blindspot import ForgetRetainBatches
from regkit.unlearning._gaussian import gaussian_targets
from regkit.utils import all_estimators

FAST = {"max_epochs": 2, "batch_size": 64}
DEEP_UNLEARNERS = {
    "blindspot": BlindspotUnlearner(blindspot_epochs=2, **FAST),
    "gaussian": GaussianUnlearner(**FAST),
    "fine-tune": FineTuneUnlearner(**FAST),
}


@pytest.fixture(scope="module")
def cohort():
    """A smooth task whose top 20 % of targets is the forget cohort."""
    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, (800, 4))
    y = X[:, 0] + np.sin(2 * X[:, 1]) + 0.5 * X[:, 2] * X[:, 3] + 0.1 * rng.standard_normal(800)
    return X, y, y > np.quantile(y, 0.8)


def small_network(cls, **params):
    """``cls`` with a small network and budget (parameters it does not have are skipped)."""
    wanted = {
        "hidden_layer_sizes": (16,),
        "decoder_layer_sizes": (16,),
        "representation_size": 8,
        "ar_layers": (16,),
        "max_epochs": 5,
        "batch_size": 64,
        "n_iter_no_change": None,
        "lr_schedule": "constant",
        "device": "cpu",
        "random_state": 0,
        **params,
    }
    names = cls._get_param_names()
    return cls(**{name: value for name, value in wanted.items() if name in names})


@pytest.fixture(scope="module")
def fitted(cohort):
    X, y, _ = cohort
    return small_network(NeuralRegressor).fit(X[:300], y[:300])


def split(X, y, forget):
    return X[forget], y[forget], X[~forget], y[~forget]


def fingerprints(*objects):
    return [joblib.hash(obj) for obj in objects]


def state(model):
    return {k: v.clone() for k, v in model.module_.state_dict().items()}


def same_weights(a, b):
    return all(torch.equal(a[key], b[key]) for key in a)


# --------------------------------------------------------------- activation term
def test_reference_activation_map_is_identically_one_on_mlp_layers(fitted, cohort):
    # The defect the deviation fixes: the reference's map (channel mean of the
    # squared activation, normalised per sample) of a 2-D activation is always 1.
    X, y, _ = cohort
    X_t, y_t, _ = fitted.encode_tensors(X[:50], y[:50])
    with torch.no_grad(), recorded_outputs(activation_layers(fitted.module_)) as outputs:
        fitted._loss(fitted.module_, X_t, y_t, None)
    (hidden,) = outputs
    reference_map = torch.nn.functional.normalize(hidden.pow(2).mean(1).view(len(hidden), -1))
    np.testing.assert_array_equal(reference_map.numpy(), np.ones((50, 1), dtype=np.float32))


def test_activation_distance_exact_value():
    # Rows orthogonal for one network, parallel for the other: the similarity
    # matrices differ by 1 off the diagonal, so the mean squared gap is 2 / 4.
    model = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    reference = unit_rows(torch.tensor([[3.0, 0.0], [1.0, 0.0]]))
    assert activation_distance([model], [reference]).item() == pytest.approx(0.5)
    # Weighted pairs: only the diagonal (gap 0) and the two off-diagonal pairs.
    weights = torch.tensor([1.0, 3.0])
    expected = (2 * 3 * 1.0) / (1 + 2 * 3 + 9)
    assert activation_distance([model], [reference], weights).item() == pytest.approx(expected)


def test_activation_distance_ignores_the_order_and_scale_of_hidden_units():
    generator = make_generator(0)
    a = torch.randn(20, 8, generator=generator)
    b = torch.randn(20, 8, generator=generator)
    permuted = 3.0 * a[:, torch.randperm(8, generator=generator)]
    reference = [unit_rows(b)]
    assert activation_distance([a], reference).item() == pytest.approx(
        activation_distance([permuted], reference).item(), rel=1e-5
    )
    assert activation_distance([a], [unit_rows(permuted)]).item() == pytest.approx(0, abs=1e-10)


def test_activation_term_is_nonzero_on_an_mlp_and_has_gradients(cohort):
    X, y, forget = cohort
    two_layers = small_network(NeuralRegressor, hidden_layer_sizes=(16, 16))
    model = clone(two_layers).fit(X, y).module_
    blind = clone(two_layers).set_params(random_state=1).fit(X[~forget], y[~forget]).module_
    rows = torch.as_tensor(X[forget][:64], dtype=torch.float32)
    with torch.no_grad(), recorded_outputs(activation_layers(blind)) as references:
        blind(rows)
    with recorded_outputs(activation_layers(model)) as outputs:
        model(rows)
    assert len(outputs) == len(references) == 2  # one per hidden layer
    distance = activation_distance(outputs, [unit_rows(r) for r in references])
    assert distance.item() > 1e-4
    distance.backward()
    hidden = list(model.parameters())[:4]  # both hidden layers' weights and biases
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in hidden)


def test_hooks_are_removed_after_recording(fitted):
    layers = activation_layers(fitted.module_)
    with recorded_outputs(layers):
        pass
    assert all(not layer._forward_hooks for layer in layers)


# ----------------------------------------------------------------- behaviour
@pytest.mark.parametrize("cls", [NeuralRegressor, HistogramRegressor])
def test_blindspot_moves_the_forget_error_toward_retraining(cohort, cls):
    X, y, forget = cohort
    model = cls(
        hidden_layer_sizes=(32, 32),
        max_epochs=40,
        learning_rate=3e-3,
        n_iter_no_change=None,
        device="cpu",
        random_state=0,
    ).fit(X, y)
    data = split(X, y, forget)
    retrained = RetrainUnlearner().unlearn(model, *data)
    unlearned = BlindspotUnlearner(random_state=0).unlearn(model, *data)

    def forget_error(m):
        return np.mean(np.abs(m.predict(X[forget]) - y[forget]))

    original, target, blindspot = map(forget_error, (model, retrained, unlearned))
    assert original < target  # the cohort is learnt, and retraining forgets it
    assert blindspot > original  # moved in the direction of retraining ...
    assert abs(blindspot - target) < abs(original - target)  # ... and closer to it
    retain_error = np.mean(np.abs(unlearned.predict(X[~forget]) - y[~forget]))
    assert retain_error < 2 * np.mean(np.abs(model.predict(X[~forget]) - y[~forget]))


def test_activation_term_changes_the_unlearned_model(fitted, cohort):
    X, y, forget = cohort
    X, y, forget = X[:300], y[:300], forget[:300]
    data = split(X, y, forget)
    with_term = BlindspotUnlearner(random_state=0, **FAST).unlearn(fitted, *data)
    without = BlindspotUnlearner(beta=0, random_state=0, **FAST).unlearn(fitted, *data)
    no_layers = BlindspotUnlearner(layers=lambda module: [], random_state=0, **FAST)
    no_layers = no_layers.unlearn(fitted, *data)
    assert not same_weights(state(with_term), state(without))
    assert same_weights(state(no_layers), state(without))


@pytest.mark.parametrize("name", list(DEEP_UNLEARNERS))
def test_same_seed_same_model_and_inputs_untouched(fitted, cohort, name):
    X, y, forget = cohort
    X, y, forget = X[:300], y[:300], forget[:300]
    weights = np.linspace(0.5, 1.5, len(X))
    before = fingerprints(fitted, X, y, weights)
    before_state = state(fitted)
    unlearner = clone(DEEP_UNLEARNERS[name]).set_params(random_state=3)
    kwargs = {"sample_weight_forget": weights[forget], "sample_weight_retain": weights[~forget]}
    first = unlearner.unlearn(fitted, *split(X, y, forget), **kwargs)
    second = clone(unlearner).unlearn(fitted, *split(X, y, forget), **kwargs)
    other = clone(unlearner).set_params(random_state=4).unlearn(fitted, *split(X, y, forget))
    assert fingerprints(fitted, X, y, weights) == before
    assert same_weights(state(fitted), before_state)
    assert type(first) is NeuralRegressor and first is not fitted
    assert first.module_ is not fitted.module_
    assert same_weights(state(first), state(second))
    np.testing.assert_array_equal(first.predict(X), second.predict(X))
    assert not same_weights(state(first), state(other))
    stages = [record.get("stage") for record in first.history_]
    assert stages[: fitted.n_iter_] == [record.get("stage") for record in fitted.history_]
    assert stages[-1] == "unlearn"


def test_seed_defaults_to_the_estimators_own(fitted, cohort):
    X, y, forget = cohort
    data = split(X[:300], y[:300], forget[:300])
    a = FineTuneUnlearner(**FAST).unlearn(fitted, *data)
    b = FineTuneUnlearner(**FAST, random_state=fitted.random_state).unlearn(fitted, *data)
    assert same_weights(state(a), state(b))


def test_fine_tune_unlearner_trains_on_the_retain_rows_only(fitted, cohort):
    X, y, forget = cohort
    X, y, forget = X[:300], y[:300], forget[:300]
    unlearner = FineTuneUnlearner(random_state=0, **FAST)
    # The forget rows do not matter: other forget rows give the same model.
    a = unlearner.unlearn(fitted, *split(X, y, forget))
    b = unlearner.unlearn(fitted, X[:3] + 100, y[:3], X[~forget], y[~forget])
    assert same_weights(state(a), state(b))


def test_gaussian_targets_have_the_moments_of_all_training_targets():
    y_forget, y_retain = np.array([0.0, 10.0]), np.array([1.0, 2.0, 3.0, 4.0])
    w_forget, w_retain = np.array([1.0, 2.0]), np.array([1.0, 1.0, 3.0, 1.0])
    for weights in [(None, None), (w_forget, w_retain)]:
        forget, retain = Rows(None, y_forget, weights[0]), Rows(None, y_retain, weights[1])
        drawn = gaussian_targets(forget, retain, np.random.default_rng(5))
        everything = np.r_[y_forget, y_retain]
        w = None if weights[0] is None else np.r_[w_forget, w_retain]
        mean = np.average(everything, weights=w)
        if w is None:
            std = everything.std(ddof=1)
        else:  # unbiased with reliability weights
            std = np.sqrt((w * (everything - mean) ** 2).sum() / (w.sum() - (w**2).sum() / w.sum()))
        expected = np.random.default_rng(5).normal(mean, std, size=(2, 1)).ravel()
        np.testing.assert_allclose(drawn, expected, rtol=1e-12)


def test_gaussian_targets_per_output_column():
    y_forget = np.array([[0.0, 100.0], [1.0, 200.0]])
    y_retain = np.array([[2.0, 300.0], [3.0, 400.0]])
    rows = Rows(None, y_forget, None), Rows(None, y_retain, None)
    drawn = gaussian_targets(*rows, np.random.default_rng(0))
    everything = np.r_[y_forget, y_retain]
    expected = np.random.default_rng(0).normal(
        everything.mean(axis=0), everything.std(axis=0, ddof=1), size=(2, 2)
    )
    np.testing.assert_allclose(drawn, expected, rtol=1e-12)


def test_forget_retain_batches_partition_every_epoch():
    source = ForgetRetainBatches(7, 20, batch_size=8, device=torch.device("cpu"))
    assert len(source) == 4
    batches = list(source.batches(make_generator(0)))
    forget = torch.cat([f for _, f, _ in batches]).sort().values
    retain = torch.cat([r for _, _, r in batches]).sort().values
    assert forget.tolist() == list(range(7)) and retain.tolist() == list(range(20))
    assert [len(p) for p, _, _ in batches] == [8, 8, 8, 3]
    assert all(len(p) == len(f) + len(r) for p, f, r in batches)


# ----------------------------------------------------------- every regressor
NEURAL_REGRESSORS = [
    cls
    for _, cls in all_estimators(type_filter="regressor")
    if issubclass(cls, BaseNeuralRegressor)
]


def test_every_neural_regressor_is_covered():
    names = {cls.__name__ for cls in NEURAL_REGRESSORS}
    assert {"NeuralRegressor", "HistogramRegressor", "CSIBRegressor", "ARNetRegressor"} <= names


@pytest.mark.parametrize("cls", NEURAL_REGRESSORS, ids=lambda cls: cls.__name__)
def test_every_neural_regressor_in_a_pipeline(cohort, cls):
    X, y, forget = cohort
    X, y, forget = X[:240], y[:240], forget[:240]
    pipeline = make_pipeline(StandardScaler(), small_network(cls)).fit(X, y)
    before = fingerprints(pipeline)
    for unlearner in DEEP_UNLEARNERS.values():
        unlearned = (
            clone(unlearner).set_params(random_state=0).unlearn(pipeline, *split(X, y, forget))
        )
        assert type(unlearned[-1]) is cls and unlearned[-1] is not pipeline[-1]
        np.testing.assert_array_equal(unlearned[0].mean_, pipeline[0].mean_)
        assert np.isfinite(unlearned.predict(X)).all()
        assert unlearned[-1].history_[-1]["stage"] == "unlearn"
    assert fingerprints(pipeline) == before


# ---------------------------------------------------------------- bad input
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("name", list(DEEP_UNLEARNERS))
def test_bad_input(fitted, cohort, name):
    X, y, forget = cohort
    X, y, forget = X[:300], y[:300], forget[:300]
    unlearner = DEEP_UNLEARNERS[name]
    with pytest.raises(ValueError, match="features"):
        unlearner.unlearn(fitted, X[forget][:, :3], y[forget], X[~forget], y[~forget])
    with pytest.raises(ValueError, match="empty"):
        unlearner.unlearn(fitted, X[:0], y[:0], X, y)
    with pytest.raises(ValueError, match="retain"):
        unlearner.unlearn(fitted, X[forget], y[forget])
    for other in (Ridge().fit(X, y), MLPRegressor(max_iter=5).fit(X, y)):
        with pytest.raises(TypeError, match="cannot fine-tune"):
            unlearner.unlearn(other, *split(X, y, forget))
    with pytest.raises(TypeError, match="cannot fine-tune"):
        unlearner.unlearn(make_pipeline(StandardScaler(), Ridge()).fit(X, y), *split(X, y, forget))
    with pytest.raises(InvalidParameterError, match="max_epochs"):
        clone(unlearner).set_params(max_epochs=0).unlearn(fitted, *split(X, y, forget))


def test_blindspot_parameter_validation(fitted, cohort):
    X, y, forget = cohort
    data = split(X[:300], y[:300], forget[:300])
    for params in ({"beta": -1.0}, {"blindspot_epochs": 0}, {"layers": "relu"}):
        with pytest.raises(InvalidParameterError):
            BlindspotUnlearner(**params).unlearn(fitted, *data)


# ---------------------------------------------------------------- the report
def test_anamnesis_index_of_neural_regressors(cohort):
    # partial_fit is the relearning step; the copies are seeded by the report,
    # so even a model without random_state relearns the same way every time.
    # The models are fitted with seeds (the test must not depend on fresh
    # entropy), then lose them: only the report's seeding remains.
    X, y, forget = cohort
    X, y, forget = X[:300], y[:300], forget[:300]
    original = small_network(NeuralRegressor, max_epochs=30, random_state=0).fit(X, y)
    data = split(X, y, forget)
    models = {
        "original": original,
        "retrain": RetrainUnlearner(random_state=1).unlearn(original, *data),
        "fine-tune": FineTuneUnlearner(random_state=0).unlearn(original, *data),
    }
    for model in models.values():
        model.set_params(random_state=None)
    before = fingerprints(models, X, y)
    threshold = 1.05 * np.mean(np.abs(original.predict(X[forget]) - y[forget]))
    kwargs = {"threshold": threshold, "batch_size": 32}
    steps = [relearn_steps(models["retrain"], *data[:2], X, y, **kwargs) for _ in range(2)]
    assert steps[0] == steps[1] and 0 < steps[0] < np.inf
    report = unlearning_report(models, *data, X[:100], y[:100], mia_samples=100, ain_batch_size=32)
    again = unlearning_report(models, *data, X[:100], y[:100], mia_samples=100, ain_batch_size=32)
    pd.testing.assert_frame_equal(report, again)
    assert report.loc["original", "ain"] == 0.0 and report.loc["retrain", "ain"] == 1.0
    assert fingerprints(models, X, y) == before
