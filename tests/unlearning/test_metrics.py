"""Unlearning metrics against independent computations; AIN never touches its arguments."""

import pickle

import joblib
import numpy as np
import pytest
from sklearn.dummy import DummyRegressor
from sklearn.linear_model import Ridge, SGDRegressor
from sklearn.metrics import mean_absolute_error
from sklearn.neighbors import KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from regkit.unlearning import (
    anamnesis_index,
    membership_inference,
    partial_fit_step,
    prediction_wasserstein,
    relearn_steps,
)


class _Fixed:
    """A 'model' whose predictions are given."""

    def __init__(self, predictions):
        self.predictions = np.asarray(predictions, dtype=float)

    def predict(self, X):
        return self.predictions[: len(X)]


def test_wasserstein_is_the_mean_gap_of_sorted_predictions():
    # For two samples of the same size, W1 is the mean gap between order statistics.
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(50), rng.standard_normal(50) + 1.0
    X = np.zeros((50, 1))
    expected = np.mean(np.abs(np.sort(a) - np.sort(b)))
    assert prediction_wasserstein(_Fixed(a), _Fixed(b), X) == pytest.approx(expected)
    two = prediction_wasserstein(_Fixed(np.c_[a, b]), _Fixed(np.c_[b, b]), X)
    assert two == pytest.approx(expected / 2)


@pytest.fixture(scope="module")
def cohort():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((1400, 2))
    y = X[:, 0] + 0.5 * rng.standard_normal(1400)
    # forget, retain, test
    return (X[:200], y[:200]), (X[200:900], y[200:900]), (X[900:], y[900:])


def test_membership_of_a_memorising_model(cohort):
    (X_f, y_f), (X_r, y_r), (X_t, y_t) = cohort
    memoriser = KNeighborsRegressor(n_neighbors=1).fit(np.r_[X_f, X_r], np.r_[y_f, y_r])
    result = membership_inference(memoriser, X_f, y_f, X_r, y_r, X_t, y_t)
    # Training loss is exactly 0, test loss almost never is (the smooth RBF boundary
    # misses only test rows with losses near 0): a near-perfect attack.
    assert result.attack_accuracy > 0.9 and result.score == 1.0
    assert result.n_samples == 500  # balanced: as many as the smaller set
    retrained = KNeighborsRegressor(n_neighbors=1).fit(X_r, y_r)
    # Without the forget rows their losses look like test losses: rarely flagged.
    assert membership_inference(retrained, X_f, y_f, X_r, y_r, X_t, y_t).score < 0.1


def test_membership_of_a_model_that_cannot_memorise_is_chance(cohort):
    (X_f, y_f), (X_r, y_r), (X_t, y_t) = cohort
    constant = DummyRegressor().fit(X_r, y_r)  # the same loss law for every row
    result = membership_inference(constant, X_f, y_f, X_r, y_r, X_t, y_t, random_state=3)
    assert abs(result.attack_accuracy - 0.5) < 0.1
    assert 0.0 < result.score < 1.0


def test_membership_is_reproducible_and_unit_free(cohort):
    (X_f, y_f), (X_r, y_r), (X_t, y_t) = cohort
    model = KNeighborsRegressor(n_neighbors=5).fit(np.r_[X_f, X_r], np.r_[y_f, y_r])
    first = membership_inference(model, X_f, y_f, X_r, y_r, X_t, y_t, n_samples=300)
    again = membership_inference(model, X_f, y_f, X_r, y_r, X_t, y_t, n_samples=300)
    assert first == again and first.n_samples == 300
    # Targets in other units give the same attack (the losses are standardised).
    scaled = KNeighborsRegressor(n_neighbors=5).fit(np.r_[X_f, X_r], 1000 * np.r_[y_f, y_r])
    other_units = membership_inference(
        scaled, X_f, 1000 * y_f, X_r, 1000 * y_r, X_t, 1000 * y_t, n_samples=300
    )
    assert other_units.score == pytest.approx(first.score)
    assert other_units.attack_accuracy == pytest.approx(first.attack_accuracy)


@pytest.fixture(scope="module")
def relearn_problem():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((600, 3))
    y = X @ [1.0, -2.0, 0.5] + 4.0 * (X[:, 0] > 0.8) + 0.1 * rng.standard_normal(600)
    forget = X[:, 0] > 0.8

    def sgd(X, y):
        return SGDRegressor(max_iter=30, tol=None, random_state=0).fit(X, y)

    return X, y, forget, sgd(X, y), sgd(X[~forget], y[~forget])


def _manual_relearn_steps(model, X_f, y_f, X, y, threshold, batch_size, seed):
    # Independent re-statement of the protocol: shuffled mini-batches, error after each.
    model = _copy(model)
    if mean_absolute_error(y_f, model.predict(X_f)) <= threshold:
        return 0
    rng = np.random.default_rng(seed)
    count = 0
    for _ in range(10):
        order = rng.permutation(len(X))
        for start in range(0, len(X), batch_size):
            rows = order[start : start + batch_size]
            model.partial_fit(X[rows], y[rows])
            count += 1
            if mean_absolute_error(y_f, model.predict(X_f)) <= threshold:
                return count
    return np.inf


def _copy(model):
    return pickle.loads(pickle.dumps(model))


def test_relearn_steps_follow_the_protocol_and_leave_arguments_alone(relearn_problem):
    X, y, forget, original, retrained = relearn_problem
    threshold = 1.05 * mean_absolute_error(y[forget], original.predict(X[forget]))
    before = joblib.hash((original, retrained, X, y))
    steps = relearn_steps(retrained, X[forget], y[forget], X, y, threshold=threshold, batch_size=32)
    expected = _manual_relearn_steps(retrained, X[forget], y[forget], X, y, threshold, 32, 0)
    assert steps == expected and 0 < steps < np.inf
    ain = anamnesis_index(retrained, retrained, original, X[forget], y[forget], X, y, batch_size=32)
    assert ain == 1.0
    assert joblib.hash((original, retrained, X, y)) == before


def test_anamnesis_index_is_a_ratio_of_relearning_times(relearn_problem):
    X, y, forget, original, retrained = relearn_problem
    threshold = 1.05 * mean_absolute_error(y[forget], original.predict(X[forget]))
    kwargs = {"batch_size": 32, "random_state": 5}
    ain = anamnesis_index(original, retrained, original, X[forget], y[forget], X, y, **kwargs)
    assert ain == 0.0  # the original meets its own threshold without training
    half_way = _copy(retrained)
    half_way.coef_ = (retrained.coef_ + original.coef_) / 2
    half_way.intercept_ = (retrained.intercept_ + original.intercept_) / 2
    ain = anamnesis_index(half_way, retrained, original, X[forget], y[forget], X, y, **kwargs)
    steps = [
        relearn_steps(m, X[forget], y[forget], X, y, threshold=threshold, **kwargs)
        for m in (half_way, retrained)
    ]
    assert ain == steps[0] / steps[1]
    # Never reached: inf steps; inf / inf is undefined.
    impossible = relearn_steps(retrained, X[forget], y[forget], X, y, threshold=-1.0, max_epochs=1)
    assert impossible == np.inf
    ain = anamnesis_index(
        retrained, retrained, original, X[forget], y[forget], X, y, alpha=-2.0, max_epochs=1
    )
    assert np.isnan(ain)


def test_relearn_step_is_pluggable(relearn_problem):
    X, y, forget, *_ = relearn_problem
    ridge = Ridge().fit(X[~forget], y[~forget])  # no partial_fit
    with pytest.raises(TypeError, match="relearn_step"):
        relearn_steps(ridge, X[forget], y[forget], X, y, threshold=0.0)
    seen = []

    def refit_on_batches_so_far(estimator, X_batch, y_batch):
        assert estimator is not ridge  # a copy is trained, never the argument
        seen.append((X_batch, y_batch))
        estimator.fit(np.concatenate([b[0] for b in seen]), np.concatenate([b[1] for b in seen]))

    # After one epoch the copy is Ridge on every row, which meets this threshold.
    threshold = 1.05 * mean_absolute_error(y[forget], Ridge().fit(X, y).predict(X[forget]))
    steps = relearn_steps(
        ridge,
        X[forget],
        y[forget],
        X,
        y,
        threshold=threshold,
        relearn_step=refit_on_batches_so_far,
        batch_size=100,
    )
    assert 0 < steps == len(seen) <= 6
    assert all(len(batch[0]) == 100 for batch in seen)
    assert ridge.coef_ == pytest.approx(Ridge().fit(X[~forget], y[~forget]).coef_)


def test_partial_fit_step_through_a_pipeline_keeps_the_preprocessing(relearn_problem):
    X, y, *_ = relearn_problem
    pipeline = make_pipeline(StandardScaler(), SGDRegressor(random_state=0)).fit(X, y)
    scale = pipeline[0].scale_.copy()
    coef = pipeline[-1].coef_.copy()
    partial_fit_step(pipeline, 5 * X[:50], y[:50])
    np.testing.assert_array_equal(pipeline[0].scale_, scale)
    assert not np.array_equal(pipeline[-1].coef_, coef)
