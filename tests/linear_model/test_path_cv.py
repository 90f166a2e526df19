"""Regularisation paths and cross-validation against scikit-learn on the same folds and grid."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import make_classification, make_regression
from sklearn.linear_model import ElasticNetCV, enet_path
from sklearn.model_selection import KFold

from regkit.linear_model import (
    BCDLogisticRegression,
    BCDLogisticRegressionCV,
    BCDRegressor,
    BCDRegressorCV,
    bcd_path,
)
from regkit.optim import MCP, GroupLasso


@pytest.fixture(scope="module")
def regression():
    X, y = make_regression(n_samples=90, n_features=25, n_informative=5, noise=8.0,
                           random_state=0)  # fmt: skip
    return X + 2.0, y + 5.0


def test_path_equals_enet_path(regression):
    X, y = regression
    ours = bcd_path(X, y, l1_ratio=0.7, n_alphas=15, tol=1e-15, max_iter=10_000)
    ref = enet_path(X, y, l1_ratio=0.7, alphas=15, tol=1e-14, max_iter=100_000)
    np.testing.assert_allclose(ours[0], ref[0], rtol=1e-12)  # the same automatic grid
    # Both to tolerances near rounding (gaps of ~1e-12 here certify ~1e-6 in w).
    np.testing.assert_allclose(ours[1], ref[1], atol=1e-5)
    assert np.max(ours[2]) <= 1e-10
    assert ours[2].shape == (15,) and np.all(ours[2] >= 0)


@pytest.mark.parametrize("sparse", [False, True])
def test_path_equals_one_fit_per_alpha(regression, sparse):
    X, y = regression
    X = sp.csr_array(X) if sparse else X
    alphas, coefs, gaps, n_iters = bcd_path(X, y, l1_ratio=1.0, n_alphas=8, eps=1e-2, tol=1e-10,
                                            return_n_iter=True)  # fmt: skip
    assert alphas[0] > alphas[-1] and np.all(n_iters >= 1)
    assert not np.any(coefs[:, 0])  # alpha_max: the zero solution
    for k, alpha in enumerate(alphas):
        single = BCDRegressor(alpha=alpha, l1_ratio=1.0, fit_intercept=False, tol=1e-10)
        np.testing.assert_allclose(coefs[:, k], single.fit(X, y).coef_, atol=1e-6)
    # The gaps are those of the objective scikit-learn's enet_path reports.
    r = y - X @ coefs[:, -1]
    primal = r @ r / (2 * len(y)) + alphas[-1] * np.abs(coefs[:, -1]).sum()
    assert 0 <= gaps[-1] <= 1e-10 * primal * 10


def test_path_multi_output_and_penalty_objects(regression):
    X, y = regression
    Y = np.column_stack([y, 2 * y])
    alphas, coefs, _ = bcd_path(X, Y, l1_ratio=1.0, n_alphas=4, tol=1e-10)
    assert coefs.shape == (2, X.shape[1], 4)
    for k in range(2):  # independent targets sharing the grid
        single = bcd_path(X, Y[:, k], l1_ratio=1.0, alphas=alphas, tol=1e-10)[1]
        np.testing.assert_allclose(coefs[k], single, atol=1e-6)
    alphas, coefs, gaps = bcd_path(X, y, penalty=MCP(1.0, gamma=3.0), alphas=[5.0, 1.0])
    assert np.all(np.isnan(gaps)) and coefs.shape == (X.shape[1], 2)
    groups = GroupLasso(1.0, groups=5)
    _, coefs, _ = bcd_path(X, y, penalty=groups, n_alphas=5, tol=1e-10)
    for k in range(5):  # whole groups only
        nz = np.abs(coefs[:, k].reshape(5, 5)).sum(axis=1) > 0
        assert np.all((coefs[:, k].reshape(5, 5) != 0) == nz[:, None])


def test_path_refuses_an_automatic_grid_without_l1(regression):
    X, y = regression
    with pytest.raises(ValueError, match="alphas"):
        bcd_path(X, y, l1_ratio=0.0)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
def test_cv_chooses_elasticnetcv_alpha(regression, sparse, weighted):
    X, y = regression
    sw = np.random.default_rng(1).uniform(0.5, 2.0, len(y)) if weighted else None
    cv = KFold(4, shuffle=True, random_state=0)
    ours = BCDRegressorCV(l1_ratio=[0.3, 0.9], alphas=20, cv=cv, tol=1e-15, max_iter=10_000)
    ref = ElasticNetCV(l1_ratio=[0.3, 0.9], alphas=20, cv=cv, tol=1e-12, max_iter=100_000)
    Xin = sp.csc_array(X) if sparse else X
    ours.fit(Xin, y, sample_weight=sw)
    ref.fit(Xin, y, sample_weight=sw)
    np.testing.assert_allclose(ours.alphas_, ref.alphas_, rtol=1e-10)
    np.testing.assert_allclose(ours.mse_path_, ref.mse_path_, rtol=1e-6)
    # The same point of the same grid (the grids agree to the last bits).
    assert ours.alpha_ == pytest.approx(ref.alpha_, rel=1e-12) and ours.l1_ratio_ == ref.l1_ratio_
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-6)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, atol=1e-5)
    assert ours.mse_path_.shape == (2, 20, 4) and ours.n_iter_ >= 1 and ours.dual_gap_ >= 0


def test_cv_multi_output_losses_equal_per_output_enet_paths(regression):
    # Several targets are independent Lasso problems sharing the folds and the grid;
    # mse_path_ averages their held-out errors (one product per fold and path).
    X, y = regression
    Y = np.column_stack([y, -0.5 * y + np.random.default_rng(3).normal(0.0, 20.0, len(y))])
    cv = KFold(3, shuffle=True, random_state=0)
    model = BCDRegressorCV(l1_ratio=1.0, alphas=8, cv=cv, tol=1e-13, max_iter=10_000).fit(X, Y)
    ref = np.zeros((8, 3))
    for f, (train, test) in enumerate(cv.split(X)):
        x_mean, y_mean = X[train].mean(axis=0), Y[train].mean(axis=0)
        errors = []
        for k in range(2):
            coefs = enet_path(X[train] - x_mean, Y[train, k] - y_mean[k], l1_ratio=1.0,
                              alphas=model.alphas_, tol=1e-13, max_iter=10**6)[1]  # fmt: skip
            pred = (X[test] - x_mean) @ coefs + y_mean[k]
            errors.append(np.mean((pred - Y[test, k][:, None]) ** 2, axis=0))
        ref[:, f] = np.mean(errors, axis=0)
    np.testing.assert_allclose(model.mse_path_, ref, rtol=1e-7)
    assert model.coef_.shape == (2, X.shape[1]) and model.intercept_.shape == (2,)


def test_cv_threads_give_the_same_result(regression):
    X, y = regression
    serial = BCDRegressorCV(l1_ratio=1.0, alphas=10, tol=1e-10).fit(X, y)
    threaded = BCDRegressorCV(l1_ratio=1.0, alphas=10, tol=1e-10, n_jobs=2).fit(X, y)
    np.testing.assert_array_equal(serial.mse_path_, threaded.mse_path_)
    assert serial.alpha_ == threaded.alpha_


def test_cv_with_user_alphas_and_a_penalty_object(regression):
    X, y = regression
    model = BCDRegressorCV(penalty=MCP(1.0, gamma=3.0), alphas=[0.1, 3.0, 1.0], cv=3).fit(X, y)
    np.testing.assert_array_equal(model.alphas_, [3.0, 1.0, 0.1])
    assert model.l1_ratio_ is None and model.mse_path_.shape == (3, 3)
    assert np.isnan(model.dual_gap_)


def _brute_force_logistic_cv(X, y, alphas, folds, l1_ratio):
    """One independent fit per fold and alpha (no path, no warm start)."""
    losses = np.zeros((len(alphas), len(folds)))
    for f, (train, test) in enumerate(folds):
        for a, alpha in enumerate(alphas):
            model = BCDLogisticRegression(C=1.0 / (alpha * len(train)), l1_ratio=l1_ratio,
                                          tol=1e-10).fit(X[train], y[train])  # fmt: skip
            proba = model.predict_proba(X[test])
            losses[a, f] = -np.mean(np.log(proba[np.arange(len(test)), y[test]]))
    return losses


@pytest.mark.parametrize("n_classes", [2, 3])
def test_logistic_cv_equals_independent_fits(n_classes):
    X, y = make_classification(n_samples=120, n_features=8, n_informative=4,
                               n_classes=n_classes, random_state=0)  # fmt: skip
    cv = KFold(3, shuffle=True, random_state=1)
    model = BCDLogisticRegressionCV(l1_ratio=0.5, alphas=6, cv=cv, tol=1e-10).fit(X, y)
    ref = _brute_force_logistic_cv(X, y, model.alphas_, list(cv.split(X, y)), 0.5)
    np.testing.assert_allclose(model.loss_path_, ref, rtol=1e-5)
    best = model.alphas_[np.argmin(ref.mean(axis=1))]
    assert model.alpha_ == best
    refit = BCDLogisticRegression(C=model.C_, l1_ratio=0.5, tol=1e-10).fit(X, y)
    np.testing.assert_allclose(model.coef_, refit.coef_, atol=1e-6)
    assert pytest.approx(1.0 / (model.alpha_ * len(y))) == model.C_


def test_logistic_cv_sparse_input_and_weights():
    X, y = make_classification(n_samples=100, n_features=6, random_state=2)
    w = np.random.default_rng(0).uniform(0.5, 2.0, 100)
    dense = BCDLogisticRegressionCV(l1_ratio=1.0, alphas=5, cv=3, tol=1e-10).fit(X, y, w)
    sparse = BCDLogisticRegressionCV(l1_ratio=1.0, alphas=5, cv=3, tol=1e-10)
    sparse.fit(sp.csr_array(X), y, w)
    np.testing.assert_allclose(sparse.loss_path_, dense.loss_path_, rtol=1e-6)
    assert sparse.alpha_ == dense.alpha_
