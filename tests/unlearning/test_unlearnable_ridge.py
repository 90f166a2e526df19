"""UnlearnableRidge: forgetting rows equals refitting without them, and refuses the impossible."""

import copy

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import Ridge

from regkit.unlearning import UnlearnableRidge


def dense_ridge(X, Y, weights, alphas, fit_intercept):
    """Reference: each target's ridge as one stacked least-squares problem (SVD)."""
    n, d = X.shape
    root = np.sqrt(weights)[:, None]
    design = np.c_[X, np.ones(n)] if fit_intercept else X
    coefs, intercepts = [], []
    for j in range(Y.shape[1]):
        penalty = np.sqrt(alphas[j]) * np.eye(d, design.shape[1])  # intercept not penalised
        A = np.vstack([root * design, penalty])
        b = np.r_[root[:, 0] * Y[:, j], np.zeros(d)]
        solution = np.linalg.lstsq(A, b, rcond=None)[0]
        coefs.append(solution[:d])
        intercepts.append(solution[d] if fit_intercept else 0.0)
    return np.array(coefs), np.array(intercepts)


@st.composite
def problems(draw):
    seed = draw(st.integers(0, 2**32 - 1))
    d = draw(st.integers(1, 5))
    n = draw(st.integers(d + 3, 30))
    n_targets = draw(st.sampled_from([None, 1, 3]))  # None: 1-D y
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) * rng.uniform(0.1, 10, d) + rng.uniform(-50, 50, d)
    Y = rng.standard_normal((n, n_targets or 1)) * 3 + 2
    weights = rng.uniform(0.1, 5, n) if draw(st.booleans()) else None
    # At least d + 2 rows remain: the refit is well posed. Forgetting nearly every
    # row is a cancellation, tested on its own below.
    n_forget = draw(st.integers(1, n - d - 2))
    forget = np.sort(rng.choice(n, n_forget, replace=False))
    alpha = draw(st.floats(0.01, 10.0))
    alpha = alpha if n_targets in (None, 1) or draw(st.booleans()) else alpha * np.arange(1, 4)
    return {
        "X": X,
        "y": Y[:, 0] if n_targets is None else Y,
        "weights": weights,
        "forget": forget,
        "alpha": alpha,
        "fit_intercept": draw(st.booleans()),
    }


@settings(max_examples=60, deadline=None)
@given(problems())
def test_forget_equals_refitting_the_remaining_rows(problem):
    X, y, weights, forget = problem["X"], problem["y"], problem["weights"], problem["forget"]
    params = {"alpha": problem["alpha"], "fit_intercept": problem["fit_intercept"]}
    keep = np.setdiff1d(np.arange(len(X)), forget)

    def rows(index):
        return X[index], y[index], None if weights is None else weights[index]

    model = UnlearnableRidge(**params).fit(X, y, sample_weight=weights)
    model.forget(*rows(forget))
    refit = UnlearnableRidge(**params).fit(*rows(keep))

    Y = y.reshape(len(y), -1)
    w = np.ones(len(X)) if weights is None else weights
    alphas = np.broadcast_to(problem["alpha"], (Y.shape[1],))
    coef, intercept = dense_ridge(X[keep], Y[keep], w[keep], alphas, params["fit_intercept"])
    if y.ndim == 1:
        coef, intercept = coef[0], intercept[0]
    for fitted in (model, refit):
        np.testing.assert_allclose(fitted.coef_, coef, rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(fitted.intercept_, intercept, rtol=1e-10, atol=1e-10)
    # Predictions carry the coefficients' error times the size of the rows.
    row_size = np.abs(X).sum(axis=1).max()
    np.testing.assert_allclose(
        model.predict(X), refit.predict(X), rtol=1e-10, atol=1e-10 * row_size
    )
    assert model.n_samples_seen_ == len(keep)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_forgetting_all_but_one_row(fit_intercept):
    # The remaining scatter is 0 (or rank one) and is recovered by cancellation: its
    # rounding is eps times the removed statistics, divided by alpha in the solve.
    rng = np.random.default_rng(9)
    X = rng.standard_normal((25, 3)) * 5 + 20
    y = rng.standard_normal(25)
    model = UnlearnableRidge(alpha=0.1, fit_intercept=fit_intercept).fit(X, y)
    model.forget(X[1:], y[1:])
    refit = UnlearnableRidge(alpha=0.1, fit_intercept=fit_intercept).fit(X[:1], y[:1])
    np.testing.assert_allclose(model.coef_, refit.coef_, rtol=0, atol=1e-11)
    np.testing.assert_allclose(model.predict(X[:1]), refit.predict(X[:1]), rtol=1e-10)


def test_matches_sklearn_ridge_multi_output_with_weights():
    rng = np.random.default_rng(1)
    X, Y = rng.standard_normal((60, 4)), rng.standard_normal((60, 2))
    w = rng.uniform(0.5, 2.0, 60)
    alpha = np.array([0.3, 3.0])
    model = UnlearnableRidge(alpha=alpha).fit(X, Y, w).forget(X[:25], Y[:25], w[:25])
    expected = Ridge(alpha=alpha, solver="svd").fit(X[25:], Y[25:], w[25:])
    np.testing.assert_allclose(model.coef_, expected.coef_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(model.intercept_, expected.intercept_, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_large_feature_means_do_not_cancel(fit_intercept):
    # A column with mean 1e6 and spread 1: raw sums X^T X would lose every digit of
    # the spread in the subtraction; the shifted centred statistics keep them.
    rng = np.random.default_rng(2)
    X = rng.standard_normal((80, 3)) + np.array([0.0, 1e6, 5.0])
    y = X @ [1.0, 0.5, -2.0] + rng.standard_normal(80)
    model = UnlearnableRidge(alpha=0.5, fit_intercept=fit_intercept).fit(X, y)
    model.forget(X[:50], y[:50])
    coef, _ = dense_ridge(X[50:], y[50:, None], np.ones(30), [0.5], fit_intercept)
    np.testing.assert_allclose(model.coef_, coef[0], rtol=1e-9)


def test_rows_read_in_several_blocks():
    # More rows than one block of the statistics pass, in fit and in forget.
    rng = np.random.default_rng(10)
    X = rng.standard_normal((40_000, 3)) + 7.0
    y = X @ [1.0, -1.0, 2.0] + rng.standard_normal(40_000)
    w = rng.uniform(0.5, 1.5, 40_000)
    model = UnlearnableRidge(alpha=2.0).fit(X, y, w).forget(X[:20_000], y[:20_000], w[:20_000])
    coef, intercept = dense_ridge(X[20_000:], y[20_000:, None], w[20_000:], [2.0], True)
    np.testing.assert_allclose(model.coef_, coef[0], rtol=1e-10)
    np.testing.assert_allclose(model.intercept_, intercept[0], rtol=1e-10)


def test_forgetting_in_steps_and_adding_back():
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((40, 3)), rng.standard_normal(40)
    once = UnlearnableRidge().fit(X, y).forget(X[:12], y[:12])
    steps = UnlearnableRidge().fit(X, y).forget(X[:5], y[:5]).forget(X[5:12], y[5:12])
    np.testing.assert_allclose(steps.coef_, once.coef_, rtol=1e-12, atol=1e-14)
    # partial_fit is the inverse of forget: fit on part, add the rest == fit on all.
    added = UnlearnableRidge().fit(X[:12], y[:12]).partial_fit(X[12:], y[12:])
    full = UnlearnableRidge().fit(X, y)
    np.testing.assert_allclose(added.coef_, full.coef_, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(added.intercept_, full.intercept_, rtol=1e-12, atol=1e-14)


def test_alpha_zero_gives_the_minimum_norm_solution():
    rng = np.random.default_rng(4)
    base = rng.standard_normal((30, 2))
    X = np.c_[base, base[:, 0]]  # a duplicated column: singular normal equations
    y = base @ [1.0, 2.0] + 0.1 * rng.standard_normal(30)
    model = UnlearnableRidge(alpha=0.0).fit(X, y).forget(X[:5], y[:5])
    Xc, yc = X[5:] - X[5:].mean(axis=0), y[5:] - y[5:].mean()
    np.testing.assert_allclose(model.coef_, np.linalg.lstsq(Xc, yc, rcond=None)[0], atol=1e-10)


def test_parameters_changed_after_fit_apply_at_the_next_update():
    rng = np.random.default_rng(5)
    X, y = rng.standard_normal((30, 2)), rng.standard_normal(30)
    model = UnlearnableRidge(alpha=1.0).fit(X, y).set_params(alpha=7.0, fit_intercept=False)
    model.forget(X[:3], y[:3])
    refit = UnlearnableRidge(alpha=7.0, fit_intercept=False).fit(X[3:], y[3:])
    np.testing.assert_allclose(model.coef_, refit.coef_, rtol=1e-12)


def _refusal_cases():
    rng = np.random.default_rng(6)
    X = rng.standard_normal((20, 2))
    y = X @ [1.0, -1.0] + rng.standard_normal(20)
    w = np.ones(20)
    return (
        X,
        y,
        w,
        {
            "more rows than fitted": (np.r_[X, X[:1]], np.r_[y, y[:1]], None, "fitted on 20 rows"),
            "every row": (X, y, None, "leave nothing"),
            "more weight": (X[:2], y[:2], np.array([15.0, 15.0]), "total weight"),
            "never seen": (X[:1] + 50.0, y[:1], None, "negative eigenvalue"),
            "other target": (X[:3], y[:3] + 100.0, None, "negative eigenvalue"),
        },
    )


@pytest.mark.parametrize("case", list(_refusal_cases()[3]))
def test_refuses_rows_it_never_saw_and_keeps_its_state(case):
    X, y, w, cases = _refusal_cases()
    model = UnlearnableRidge().fit(X, y, w)
    before = copy.deepcopy(model)
    X_bad, y_bad, w_bad, message = cases[case]
    with pytest.raises(ValueError, match=message):
        model.forget(X_bad, y_bad, w_bad)
    np.testing.assert_array_equal(model.coef_, before.coef_)
    assert model.intercept_ == before.intercept_
    for got, expected in zip(model.statistics_, before.statistics_):
        np.testing.assert_array_equal(got, expected)


def test_forgetting_an_outlier_twice_is_refused():
    rng = np.random.default_rng(7)
    X, y = rng.standard_normal((30, 2)), rng.standard_normal(30)
    X[0] = [40.0, -30.0]
    model = UnlearnableRidge().fit(X, y).forget(X[:1], y[:1])
    with pytest.raises(ValueError, match="already forgotten"):
        model.forget(X[:1], y[:1])


def test_bad_input():
    X, y = np.arange(20.0).reshape(10, 2), np.arange(10.0)
    with pytest.raises(NotFittedError):
        UnlearnableRidge().forget(X, y)
    model = UnlearnableRidge().fit(X, y)
    with pytest.raises(ValueError, match="features"):
        model.forget(X[:, :1], y)
    with pytest.raises(ValueError, match="targets"):
        model.forget(X[:2], np.ones((2, 2)))
    with pytest.raises(ValueError, match="NaN"):
        model.forget(np.array([[np.nan, 1.0]]), y[:1])
    with pytest.raises(ValueError, match=r"[Nn]egative"):
        model.forget(X[:2], y[:2], sample_weight=[-1.0, 1.0])
    with pytest.raises(ValueError, match="alpha"):
        UnlearnableRidge(alpha=np.array([1.0, 2.0])).fit(X, y)
    with pytest.raises(ValueError, match="alpha"):
        UnlearnableRidge(alpha=-1.0).fit(X, y)


def test_inputs_are_not_modified_or_kept():
    rng = np.random.default_rng(8)
    X, y, w = rng.standard_normal((20, 2)), rng.standard_normal(20), rng.uniform(1, 2, 20)
    copies = [a.copy() for a in (X, y, w)]
    model = UnlearnableRidge().fit(X, y, w)
    prediction = model.predict(copies[0])
    model.forget(X[:3], y[:3], w[:3])
    for array, original in zip((X, y, w), copies):
        np.testing.assert_array_equal(array, original)
    refit = UnlearnableRidge().fit(X, y, w)
    X *= 10.0  # the model keeps statistics, not references to the caller's arrays
    np.testing.assert_array_equal(refit.predict(copies[0]), prediction)
