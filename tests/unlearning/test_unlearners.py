"""The Unlearner interface: Retrain and Exact unlearners, Pipelines, bad input."""

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler
from sklearn.tree import DecisionTreeRegressor

from regkit.unlearning import (
    ExactUnlearner,
    RetrainUnlearner,
    SISARegressor,
    UnlearnableRidge,
    Unlearner,
    run_unlearners,
)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = 3.0 * rng.standard_normal((100, 3)) + 10.0
    y = X @ [1.0, -2.0, 0.5] + rng.standard_normal(100)
    return X, y


def split(X, y, n_forget=10):
    return X[:n_forget], y[:n_forget], X[n_forget:], y[n_forget:]


def fingerprints(*objects):
    return [joblib.hash(obj) for obj in objects]


@pytest.mark.parametrize(
    "estimator",
    [Ridge(alpha=0.5), DecisionTreeRegressor(max_depth=3, random_state=0)],
    ids=["ridge", "tree"],
)
def test_retrain_fits_a_clone_on_the_retain_rows(data, estimator):
    X, y = data
    model = clone(estimator).fit(X, y)
    X_f, y_f, X_r, y_r = split(X, y)
    before = fingerprints(model, X, y)
    retrained = RetrainUnlearner().unlearn(model, X_f, y_f, X_r, y_r)
    assert type(retrained) is type(model) and retrained is not model
    assert fingerprints(model, X, y) == before
    np.testing.assert_array_equal(retrained.predict(X), clone(estimator).fit(X_r, y_r).predict(X))


def test_retrain_random_state_makes_it_reproducible(data):
    X, y = data
    model = DecisionTreeRegressor(max_features=1).fit(X, y)  # random_state=None
    unlearner = RetrainUnlearner(random_state=3)
    first = unlearner.unlearn(model, *split(X, y))
    second = clone(unlearner).unlearn(model, *split(X, y))
    np.testing.assert_array_equal(first.predict(X), second.predict(X))
    assert isinstance(first.random_state, int)


def test_retrain_with_sample_weight(data):
    X, y = data
    w = np.linspace(0.5, 2.0, len(X))
    model = Ridge().fit(X, y, sample_weight=w)
    retrained = RetrainUnlearner().unlearn(
        model, *split(X, y), sample_weight_forget=w[:10], sample_weight_retain=w[10:]
    )
    expected = Ridge().fit(X[10:], y[10:], sample_weight=w[10:])
    np.testing.assert_allclose(retrained.coef_, expected.coef_)


def test_pipeline_preprocessing_is_kept_not_refitted(data):
    X, y = data
    pipeline = make_pipeline(StandardScaler(), PolynomialFeatures(2), Ridge()).fit(X, y)
    X_f, y_f, X_r, y_r = split(X, y, n_forget=40)
    before = fingerprints(pipeline)
    retrained = RetrainUnlearner().unlearn(pipeline, X_f, y_f, X_r, y_r)
    assert fingerprints(pipeline) == before
    assert retrained is not pipeline and retrained[0] is not pipeline[0]
    # The scaler still has the statistics of all rows, not of the retain rows.
    np.testing.assert_array_equal(retrained[0].mean_, pipeline[0].mean_)
    expected = Ridge().fit(pipeline[:-1].transform(X_r), y_r)
    np.testing.assert_allclose(retrained[-1].coef_, expected.coef_)
    np.testing.assert_allclose(retrained.predict(X), expected.predict(pipeline[:-1].transform(X)))


def test_nested_pipeline(data):
    X, y = data
    inner = make_pipeline(StandardScaler(), UnlearnableRidge())
    pipeline = make_pipeline(PolynomialFeatures(2), inner).fit(X, y)
    unlearned = ExactUnlearner().unlearn(pipeline, X[:10], y[:10])
    Xt = pipeline[-1][0].transform(pipeline[0].transform(X[10:]))
    expected = UnlearnableRidge().fit(Xt, y[10:])
    np.testing.assert_allclose(unlearned[-1][-1].coef_, expected.coef_, rtol=1e-9)
    assert pipeline[-1][-1].n_samples_seen_ == 100


def test_exact_unlearner_on_ridge_matches_retraining(data):
    X, y = data
    w = np.linspace(1.0, 2.0, len(X))
    model = UnlearnableRidge().fit(X, y, sample_weight=w)
    before = fingerprints(model, X, y, w)
    unlearned = ExactUnlearner().unlearn(model, X[:10], y[:10], sample_weight_forget=w[:10])
    retrained = RetrainUnlearner().unlearn(model, *split(X, y), sample_weight_retain=w[10:])
    assert fingerprints(model, X, y, w) == before
    np.testing.assert_allclose(unlearned.coef_, retrained.coef_, rtol=1e-10)
    np.testing.assert_allclose(unlearned.intercept_, retrained.intercept_, rtol=1e-10)


def test_exact_unlearner_on_sisa_through_a_pipeline(data):
    X, y = data
    sisa = SISARegressor(Ridge(), n_shards=3, random_state=0)
    pipeline = make_pipeline(StandardScaler(), sisa).fit(X, y)
    before = fingerprints(pipeline)
    unlearned = ExactUnlearner().unlearn(pipeline, X[[4, 50]], y[[4, 50]])
    assert fingerprints(pipeline) == before
    direct = make_pipeline(StandardScaler(), clone(sisa)).fit(X, y)
    direct[-1].forget([4, 50])
    np.testing.assert_array_equal(unlearned.predict(X), direct.predict(X))
    assert unlearned[-1].forgotten_indices_.tolist() == [4, 50]


class _RecordingUnlearner(Unlearner):
    """Returns the model unchanged and records what the hooks received."""

    def _check_estimator(self, estimator):
        super()._check_estimator(estimator)
        self.checked_ = estimator

    def _unlearn(self, estimator, forget, retain):
        self.received_ = (estimator, forget, retain)
        return clone(estimator).fit(retain.X, retain.y)


def test_hooks_receive_the_final_model_and_transformed_rows(data):
    X, y = data
    pipeline = make_pipeline(StandardScaler(), Ridge()).fit(X, y)
    unlearner = _RecordingUnlearner()
    unlearner.unlearn(pipeline, *split(X, y))
    estimator, forget, retain = unlearner.received_
    assert estimator is pipeline[-1] and unlearner.checked_ is pipeline[-1]
    np.testing.assert_allclose(forget.X, pipeline[0].transform(X[:10]))
    np.testing.assert_allclose(retain.X, pipeline[0].transform(X[10:]))
    assert forget.sample_weight is None


class _InPlaceUnlearner(Unlearner):
    def _unlearn(self, estimator, forget, retain):
        return estimator.fit(retain.X, retain.y)  # breaks the contract


def test_returning_the_input_model_is_caught(data):
    X, y = data
    with pytest.raises(RuntimeError, match="must return a new fitted Ridge"):
        _InPlaceUnlearner().unlearn(Ridge().fit(X, y), *split(X, y))


def test_unlearners_are_sklearn_style():
    unlearner = RetrainUnlearner(random_state=4)
    assert unlearner.get_params() == {"random_state": 4}
    assert clone(unlearner.set_params(random_state=5)).random_state == 5
    with pytest.raises(TypeError, match="abstract"):
        Unlearner()
    with pytest.raises(ValueError, match="random_state"):
        RetrainUnlearner(random_state="x").unlearn(
            Ridge().fit([[0.0], [1.0]], [0.0, 1.0]), [[0.0]], [0.0], [[1.0]], [1.0]
        )


def test_bad_input(data):
    X, y = data
    model = Ridge().fit(X, y)
    retrain = RetrainUnlearner()
    with pytest.raises(ValueError, match="X_forget has 2 features, but Ridge was fitted with 3"):
        retrain.unlearn(model, X[:5, :2], y[:5], X[5:], y[5:])
    with pytest.raises(ValueError, match="X_retain has 4 features"):
        retrain.unlearn(model, X[:5], y[:5], np.c_[X[5:], X[5:, :1]], y[5:])
    with pytest.raises(ValueError, match="X_forget is empty"):
        retrain.unlearn(model, X[:0], y[:0], X, y)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        retrain.unlearn(model, X[:5], y[:4], X[5:], y[5:])
    with pytest.raises(ValueError, match="2-D"):
        retrain.unlearn(model, X[0], y[:1], X[5:], y[5:])
    with pytest.raises(ValueError, match="needs the retain rows"):
        retrain.unlearn(model, X[:5], y[:5])
    with pytest.raises(ValueError, match="outputs"):
        retrain.unlearn(model, X[:5], np.ones((5, 2)), X[5:], np.ones((95, 3)))
    with pytest.raises(NotFittedError):
        retrain.unlearn(Ridge(), X[:5], y[:5], X[5:], y[5:])
    classifier = LogisticRegression().fit(X, y > y.mean())
    with pytest.raises(TypeError, match="regressors"):
        retrain.unlearn(classifier, X[:5], y[:5] > 0, X[5:], y[5:] > 0)
    with pytest.raises(TypeError, match="UnlearnableRidge and SISARegressor"):
        ExactUnlearner().unlearn(model, X[:5], y[:5])


def test_run_unlearners_names_and_times(data):
    X, y = data
    model = UnlearnableRidge().fit(X, y)
    unlearners = {"retrain": RetrainUnlearner(), "exact": ExactUnlearner()}
    models, seconds = run_unlearners(model, unlearners, *split(X, y))
    assert list(models) == ["original", "retrain", "exact"] and models["original"] is model
    assert set(seconds) == {"retrain", "exact"}
    assert all(value >= 0 for value in seconds.values())
    with pytest.raises(ValueError, match="original"):
        run_unlearners(model, {"original": RetrainUnlearner()}, *split(X, y))
