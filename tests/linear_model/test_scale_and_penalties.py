"""Any representable scale (issue #15), the penalty parameter, and the reported duality gap."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import make_classification, make_regression
from sklearn.linear_model import ElasticNet, Lasso, LinearRegression, LogisticRegression

from regkit.linear_model import BCDLogisticRegression, BCDRegressor, BCDRegressorCV
from regkit.optim import MCP, SCAD, GroupLasso, WeightedL1

SCALES = [1e-300, 1e-200, 1e160, 1e300]


@pytest.fixture(scope="module")
def regression():
    X, y = make_regression(n_samples=80, n_features=6, n_informative=4, noise=2.0,
                           random_state=0)  # fmt: skip
    return X + 1.0, y + 3.0


def _equivalent_elastic_net(X, y, l1, l2):
    """scikit-learn's fit of ``||y - Xv||^2 / 2n + l1 |v| + l2 / 2 v^2`` (or its limits)."""
    with np.errstate(over="ignore"):
        alpha = l1 + l2
    if not np.isfinite(alpha) or alpha > 1e100:  # the penalty wins: intercept only
        return np.full(len(y), y.mean())
    if alpha < 1e-100:  # the penalty vanishes: least squares
        return LinearRegression().fit(X, y).predict(X)
    ref = ElasticNet(alpha=alpha, l1_ratio=l1 / alpha, tol=1e-14, max_iter=1_000_000)
    return ref.fit(X, y).predict(X)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("scale", SCALES)
def test_regressor_at_any_scale_of_x(regression, scale, sparse):
    # X * c with penalty h(w) is X with penalty h(v / c): l1 / c and l2 / c^2.
    X, y = regression
    scale = np.float64(scale)
    Xs = X * scale
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ConvergenceWarning, no overflow
        model = BCDRegressor(tol=1e-10).fit(sp.csr_array(Xs) if sparse else Xs, y)
    with np.errstate(over="ignore"):
        expected = _equivalent_elastic_net(X, y, 0.5 / scale, 0.5 / scale / scale)
    np.testing.assert_allclose(model.predict(Xs), expected, rtol=1e-6, atol=1e-6)
    assert np.all(np.isfinite(model.coef_)) and np.isfinite(model.intercept_)


@pytest.mark.parametrize("scale", SCALES)
def test_regressor_at_any_scale_of_y(regression, scale):
    # y * s with penalty h(w) is y with penalty h(s v) / s^2: l1 / s, l2 unchanged.
    X, y = regression
    scale = np.float64(scale)
    model = BCDRegressor(tol=1e-10).fit(X, y * scale)
    expected = _equivalent_elastic_net(X, y, 0.5 / scale, 0.5) * scale
    np.testing.assert_allclose(model.predict(X), expected, rtol=1e-6, atol=1e-6 * scale)


@pytest.mark.parametrize("scale", SCALES)
def test_logistic_at_any_scale(scale):
    # C * sum(loss(c X w)) + |w|^2 / 2 is C c^2 * sum(loss(X v)) + |v|^2 / 2.
    X, y = make_classification(n_samples=150, n_features=4, flip_y=0.2, random_state=0)
    scale = np.float64(scale)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = BCDLogisticRegression(tol=1e-10).fit(X * scale, y)
    proba = model.predict_proba(X * scale)
    if scale < 1:  # C c^2 underflows: intercept only
        np.testing.assert_allclose(proba[:, 1], y.mean(), atol=1e-6)
    else:  # C c^2 overflows: no penalty
        ref = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000).fit(X, y)
        np.testing.assert_allclose(proba, ref.predict_proba(X), atol=1e-5)


def test_scad_at_an_extreme_scale_is_a_clear_error(regression):
    X, y = regression
    with pytest.raises(ValueError, match="extreme scale"):
        BCDRegressor(penalty=SCAD(0.1)).fit(X * 1e200, y)


@pytest.mark.parametrize(
    "penalty, reference",
    [
        ("l1", Lasso(alpha=0.3)),
        ("l2", ElasticNet(alpha=0.3, l1_ratio=0.0)),
        ("elasticnet", ElasticNet(alpha=0.3, l1_ratio=0.5)),
    ],
)
def test_named_penalties_match_sklearn(regression, penalty, reference):
    X, y = regression
    reference.set_params(tol=1e-14, max_iter=1_000_000)
    model = BCDRegressor(alpha=0.3, penalty=penalty, tol=1e-12).fit(X, y)
    np.testing.assert_allclose(model.coef_, reference.fit(X, y).coef_, atol=1e-6)


def test_penalty_objects_in_the_estimator(regression):
    X, y = regression
    weights = np.array([0.0, 1.0, 2.0, 1.0, 1.0, 3.0])
    model = BCDRegressor(penalty=WeightedL1(0.5, weights=weights), tol=1e-12).fit(X, y)
    # An unpenalised first feature: the lasso on the rescaled columns X / w.
    free_col = model.coef_[0]
    scaled = X[:, 1:] / weights[1:]
    resid = y - X[:, 0] * free_col
    ref = Lasso(alpha=0.5, tol=1e-14, max_iter=10**6).fit(scaled, resid)
    np.testing.assert_allclose(model.coef_[1:], ref.coef_ / weights[1:], atol=1e-6)
    mcp = BCDRegressor(penalty=MCP(0.5, gamma=3.0)).fit(X, y)
    assert np.isnan(mcp.dual_gap_) and mcp.n_iter_ >= 1
    group = BCDRegressor(penalty=GroupLasso(20.0, groups=[[0, 1], [2, 3], [4, 5]])).fit(
        sp.csr_array(X), y
    )
    blocks = group.coef_.reshape(3, 2)
    assert np.all((blocks != 0) == (np.abs(blocks).sum(axis=1) > 0)[:, None])


@pytest.mark.parametrize("penalty", ["mcp", MCP(0.1)])
def test_positive_applies_to_named_convex_penalties_only(regression, penalty):
    X, y = regression
    with pytest.raises(ValueError, match="positive"):
        BCDRegressor(penalty=penalty, positive=True).fit(X, y)


@pytest.mark.parametrize("sparse", [False, True])
def test_dual_gap_matches_an_independent_computation(regression, sparse):
    X, y = regression
    model = BCDRegressor(alpha=0.5, l1_ratio=1.0, tol=1e-6).fit(sp.csr_array(X) if sparse else X, y)
    Xc, yc = X - X.mean(axis=0), y - y.mean()  # the intercept, profiled out
    n = len(y)
    r = yc - Xc @ model.coef_
    primal = r @ r / (2 * n) + 0.5 * np.abs(model.coef_).sum()
    theta = r * min(1.0, 0.5 * n / np.max(np.abs(Xc.T @ r)))
    dual = (theta @ yc - theta @ theta / 2) / n
    # Both certify the tolerance (they use different dual points when X is sparse).
    tolerance = 1e-6 * (yc @ yc) / (2 * n)
    assert 0 <= model.dual_gap_ <= tolerance * 1.0001 and primal - dual <= tolerance * 1.0001
    if not sparse:  # centred design: the same dual point
        assert model.dual_gap_ == pytest.approx(primal - dual, rel=1e-6, abs=1e-12)


def test_logistic_reports_a_duality_gap_with_its_intercept():
    X, y = make_classification(n_samples=200, n_features=5, random_state=1)
    for l1_ratio in (0.0, 1.0):
        model = BCDLogisticRegression(C=0.5, l1_ratio=l1_ratio, tol=1e-8).fit(X, y)
        assert 0 <= model.dual_gap_ <= 1e-8 * np.log(2)
    multi = BCDLogisticRegression(tol=1e-8).fit(
        *make_classification(
            n_samples=200, n_features=5, n_informative=3, n_classes=3, random_state=2
        )
    )
    assert 0 <= multi.dual_gap_ <= 1e-8 * np.log(3)


@pytest.mark.parametrize("x_scale, y_scale", [(1e-200, 1.0), (1e-300, 1.0), (1e-150, 1e-150),
                                              (1e200, 1e-100), (1.0, 1e-300)])  # fmt: skip
def test_lasso_strength_that_scales_with_the_data_keeps_the_solution(regression, x_scale, y_scale):
    # A lasso is equivariant: alpha * s * t on (X * s, y * t) gives coefficients * t / s.
    # alpha ~ 1e-200 on X ~ 1e-200 needs the L2 factor m k^2 ~ 1e400 on the way (its
    # strength is 0): the rescaling must not give up on the overflowing factor alone.
    X, y = regression
    alpha = 0.5
    expected = BCDRegressor(alpha=alpha, l1_ratio=1.0, tol=1e-12).fit(X, y)
    scaled = BCDRegressor(alpha=alpha * x_scale * y_scale, l1_ratio=1.0, tol=1e-12)
    scaled.fit(X * x_scale, y * y_scale)
    np.testing.assert_allclose(scaled.coef_ * (x_scale / y_scale), expected.coef_,
                               rtol=1e-8, atol=1e-8 * np.abs(expected.coef_).max())  # fmt: skip
    np.testing.assert_allclose(scaled.predict(X * x_scale) / y_scale, expected.predict(X),
                               rtol=1e-8)  # fmt: skip


@pytest.mark.parametrize("x_scale, y_scale", [(1e-200, 1.0), (1.0, 1e160), (1.0, 1e-200)])
def test_lasso_cv_choice_does_not_depend_on_units(regression, x_scale, y_scale):
    # alpha_max scales with X' y, so the grid follows the units; the held-out losses
    # must neither overflow (y ~ 1e160) nor underflow (y ~ 1e-200).
    X, y = regression
    params = {"l1_ratio": 1.0, "alphas": 8, "cv": 3, "tol": 1e-10}
    expected = BCDRegressorCV(**params).fit(X, y)
    scaled = BCDRegressorCV(**params).fit(X * x_scale, y * y_scale)
    np.testing.assert_allclose(scaled.alphas_, expected.alphas_ * y_scale * x_scale, rtol=1e-10)
    assert scaled.alpha_ == pytest.approx(expected.alpha_ * y_scale * x_scale, rel=1e-10)
    np.testing.assert_allclose(scaled.predict(X * x_scale) / y_scale, expected.predict(X),
                               rtol=1e-6)  # fmt: skip


def test_cv_with_fewer_samples_than_folds_names_x():
    X, y = np.arange(4.0).reshape(2, 2), np.array([1.0, 2.0])
    with pytest.raises(ValueError, match=r"X has 2 samples.*3 folds"):
        BCDRegressorCV(cv=3).fit(X, y)
