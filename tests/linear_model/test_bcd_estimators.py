"""BCD estimators against scikit-learn's solvers of the same objectives."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_iris, make_classification, make_moons, make_regression
from sklearn.linear_model import ElasticNet, Lasso, LogisticRegression, Ridge
from sklearn.semi_supervised import LabelPropagation

from regkit.linear_model import BCDLabelPropagation, BCDLogisticRegression, BCDRegressor


@pytest.fixture(scope="module")
def regression():
    X, y = make_regression(n_samples=80, n_features=30, n_informative=5, noise=5.0,
                           random_state=0)  # fmt: skip
    return X + 3.0, y + 10.0  # offsets exercise the intercept


@pytest.mark.parametrize(
    "alpha, l1_ratio, reference",
    [
        (0.5, 1.0, Lasso(alpha=0.5)),
        (0.5, 0.3, ElasticNet(alpha=0.5, l1_ratio=0.3)),
        (0.7, 0.0, Ridge(alpha=0.7 * 80)),
    ],
)
@pytest.mark.parametrize("sparse", [False, True])
def test_regressor_matches_sklearn(regression, alpha, l1_ratio, reference, sparse):
    X, y = regression
    if hasattr(reference, "tol"):
        reference.set_params(tol=1e-12, max_iter=100_000)
    reference.fit(X, y)
    Xs = sp.csr_array(X) if sparse else X
    model = BCDRegressor(alpha=alpha, l1_ratio=l1_ratio, tol=1e-15, max_iter=5000).fit(Xs, y)
    np.testing.assert_allclose(model.coef_, reference.coef_, atol=1e-6, rtol=1e-6)
    np.testing.assert_allclose(model.intercept_, reference.intercept_, atol=1e-5)
    assert model.converged_ and model.n_iter_ >= 1


def test_regressor_multi_output_and_weights(regression):
    X, y = regression
    Y = np.column_stack([y, -y + 3])
    w = np.random.default_rng(0).uniform(0.5, 2.0, len(y))
    model = BCDRegressor(alpha=0.3, l1_ratio=1.0, tol=1e-12).fit(X, Y, sample_weight=w)
    ref = Lasso(alpha=0.3, tol=1e-12, max_iter=10**5).fit(X, Y, sample_weight=w)
    np.testing.assert_allclose(model.coef_, ref.coef_, atol=1e-6)
    np.testing.assert_allclose(model.intercept_, ref.intercept_, atol=1e-5)
    assert model.predict(X).shape == (len(y), 2)


def test_regressor_positive(regression):
    X, y = regression
    model = BCDRegressor(alpha=0.5, l1_ratio=1.0, positive=True, tol=1e-12).fit(X, y)
    ref = Lasso(alpha=0.5, positive=True, tol=1e-12, max_iter=10**5).fit(X, y)
    assert np.all(model.coef_ >= 0)
    np.testing.assert_allclose(model.coef_, ref.coef_, atol=1e-6)


@pytest.mark.parametrize(
    "selection, blocks, update",
    [("cyclic", "fixed", "gradient"), ("gsl", "variable", "matrix"), ("gsq", "fixed", "newton")],
)
def test_regressor_solver_options(regression, selection, blocks, update):
    X, y = regression
    ref = Lasso(alpha=1.0, tol=1e-12, max_iter=10**5).fit(X, y)
    model = BCDRegressor(
        alpha=1.0, l1_ratio=1.0, selection=selection, blocks=blocks, block_size=4,
        update=update, tol=1e-12, max_iter=50_000, random_state=0,
    ).fit(X, y)  # fmt: skip
    np.testing.assert_allclose(model.coef_, ref.coef_, atol=1e-6)
    assert len(model.history_) == model.n_iter_ + 1


@pytest.mark.parametrize("l1_ratio", [0.0, 1.0])
def test_binary_logistic_matches_sklearn(l1_ratio):
    X, y = make_classification(n_samples=150, n_features=8, random_state=0)
    ref = LogisticRegression(C=0.5, l1_ratio=l1_ratio, solver="saga" if l1_ratio else "lbfgs",
                             tol=1e-12, max_iter=100_000).fit(X, y)  # fmt: skip
    model = BCDLogisticRegression(C=0.5, l1_ratio=l1_ratio, tol=1e-12).fit(X, y)
    np.testing.assert_allclose(model.coef_, ref.coef_, atol=1e-5)
    np.testing.assert_allclose(model.intercept_, ref.intercept_, atol=1e-5)
    np.testing.assert_allclose(model.predict_proba(X), ref.predict_proba(X), atol=1e-6)


def test_multinomial_logistic_matches_sklearn():
    X, y = load_iris(return_X_y=True)
    ref = LogisticRegression(C=2.0, tol=1e-12, max_iter=10**5).fit(X, y)
    for Xin in (X, sp.csr_array(X)):
        model = BCDLogisticRegression(C=2.0, tol=1e-12).fit(Xin, y)
        np.testing.assert_allclose(model.coef_, ref.coef_, atol=1e-5)
        np.testing.assert_allclose(model.predict_proba(Xin), ref.predict_proba(X), atol=1e-6)


def test_logistic_string_labels_and_weights():
    X, y = make_classification(n_samples=120, n_features=5, random_state=1)
    names = np.array(["no", "yes"])[y]
    w = np.random.default_rng(0).uniform(0.2, 3.0, len(y))
    model = BCDLogisticRegression(tol=1e-12).fit(X, names, sample_weight=w)
    ref = LogisticRegression(tol=1e-12, max_iter=10**5).fit(X, names, sample_weight=w)
    assert list(model.classes_) == ["no", "yes"]
    np.testing.assert_allclose(model.coef_, ref.coef_, atol=1e-5)
    assert np.array_equal(model.predict(X), ref.predict(X))


def _moons(n=300, n_labels=10, seed=0):
    X, y = make_moons(n, noise=0.06, random_state=seed)
    rng = np.random.default_rng(seed)
    y_partial = np.full_like(y, -1)
    labelled = np.r_[rng.choice(np.flatnonzero(y == 0), n_labels // 2, replace=False),
                     rng.choice(np.flatnonzero(y == 1), n_labels // 2, replace=False)]  # fmt: skip
    y_partial[labelled] = y[labelled]
    return X, y, y_partial


def test_label_propagation_equals_harmonic_solution():
    X, y, y_partial = _moons()
    model = BCDLabelPropagation(n_neighbors=7, tol=1e-10, max_iter=50_000).fit(X, y_partial)
    # Dense solve of the same harmonic problem.
    from regkit.linear_model._label_propagation import knn_graph

    W = knn_graph(X, 7).toarray()
    u, lab = np.flatnonzero(y_partial == -1), np.flatnonzero(y_partial != -1)
    Y = np.eye(2)[y_partial[lab]]
    L = np.diag(W.sum(axis=1)) - W
    F = np.linalg.solve(L[np.ix_(u, u)] + 1e-6 * np.eye(len(u)), W[np.ix_(u, lab)] @ Y)
    F /= F.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(model.label_distributions_[u], F, atol=1e-6)
    assert (model.transduction_ == y).mean() > 0.97
    np.testing.assert_array_equal(model.transduction_[lab], y_partial[lab])


def test_label_propagation_agrees_with_sklearn():
    X, _y, y_partial = _moons(seed=1)
    ours = BCDLabelPropagation(n_neighbors=7).fit(X, y_partial)
    ref = LabelPropagation(kernel="knn", n_neighbors=7, max_iter=10_000).fit(X, y_partial)
    assert (ours.transduction_ == ref.transduction_).mean() > 0.97
    X_new, y_new = make_moons(100, noise=0.06, random_state=5)
    assert (ours.predict(X_new) == y_new).mean() > 0.95
    assert ours.predict_proba(X_new).shape == (100, 2)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"blocks": "fixed", "partition": "red-black", "selection": "cyclic"},
        {"blocks": "fixed", "partition": "forest", "selection": "gsl"},
        {"blocks": "variable", "block_size": 20, "update": "matrix", "selection": "gsq"},
    ],
)
def test_label_propagation_solver_options(kwargs):
    X, _y, y_partial = _moons(n=150)
    base = BCDLabelPropagation(tol=1e-9, max_iter=100_000).fit(X, y_partial)
    other = BCDLabelPropagation(tol=1e-9, max_iter=100_000, **kwargs).fit(X, y_partial)
    np.testing.assert_allclose(other.label_distributions_, base.label_distributions_, atol=1e-5)


def test_label_propagation_rejects_unlabelled_only():
    X, _, _ = _moons(n=50)
    with pytest.raises(ValueError, match="labelled"):
        BCDLabelPropagation().fit(X, np.full(50, -1))


@pytest.mark.parametrize(
    "est, param, value",
    [
        (BCDRegressor(), "selection", "best"),
        (BCDRegressor(), "alpha", -1.0),
        (BCDLogisticRegression(), "C", 0.0),
        (BCDLabelPropagation(), "update", "exact"),
    ],
)
def test_bad_parameters_name_themselves(est, param, value):
    X, y, y_partial = _moons(n=40)
    with pytest.raises(ValueError, match=param):
        est.set_params(**{param: value}).fit(X, y if param != "update" else y_partial)


@pytest.mark.parametrize("est", [BCDRegressor(), BCDLogisticRegression()])
def test_negative_sample_weight_rejected(est):
    X, y = make_classification(n_samples=30, n_features=4, random_state=0)
    w = np.ones(30)
    w[3] = -1.0
    with pytest.raises(ValueError, match=r"[Nn]egative"):
        est.fit(X, y, sample_weight=w)


def test_predict_log_proba_is_finite_and_matches_predict_proba():
    from sklearn.datasets import load_breast_cancer, load_iris

    from regkit.linear_model import BCDLogisticRegression

    for X, y in (load_breast_cancer(return_X_y=True), load_iris(return_X_y=True)):
        X = (X - X.mean(0)) / X.std(0)
        model = BCDLogisticRegression().fit(X, y)
        np.testing.assert_allclose(
            np.exp(model.predict_log_proba(X)), model.predict_proba(X), rtol=1e-10, atol=1e-12
        )
        # Far from the boundary probabilities round to 0, their logs must not be -inf.
        assert np.isfinite(model.predict_log_proba(100 * X)).all()
