"""SketchedLinearRegression against exact least squares (numpy, scipy, scikit-learn)."""

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression

from regkit.sketching import (
    RankDeficiencyWarning,
    SketchedLinearRegression,
    SparseSignSketch,
    make_sketching_problem,
)


def _relative(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(b)


@pytest.mark.parametrize("coherent", [False, True], ids=["incoherent", "coherent"])
@pytest.mark.parametrize("condition_number", [1e2, 1e6, 1e10])
def test_precondition_matches_lstsq(condition_number, coherent):
    A, b, x_star = make_sketching_problem(
        3000,
        12,
        coherent=coherent,
        condition_number=condition_number,
        residual_norm=1e-8,
        random_state=0,
    )
    x_lstsq = np.linalg.lstsq(A, b, rcond=None)[0]
    model = SketchedLinearRegression(method="precondition", fit_intercept=False, random_state=0)
    x = model.fit(A, b).coef_
    assert model.method_ == "precondition"
    assert model.n_iter_ == 2 and len(model.history_) == 2
    # Fitted values agree with lstsq to 1e-10 at every condition number...
    assert _relative(A @ x, A @ x_lstsq) < 1e-10
    # ...and the coefficients are as accurate as lstsq's own (both err by up to
    # u * kappa, 1e-6 at kappa = 1e10, so they can only agree that closely where
    # kappa is moderate).
    assert np.linalg.norm(x - x_star) <= 10 * np.linalg.norm(x_lstsq - x_star) + 1e-14
    if condition_number <= 1e6:
        assert _relative(x, x_lstsq) < 1e-10
        # The normal equations square the condition number and lose those digits.
        x_normal = np.linalg.solve(A.T @ A, A.T @ b)
        assert condition_number < 1e3 or _relative(x_normal, x_lstsq) > 1e-9


def test_precondition_with_intercept_weights_and_multi_output():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((5000, 6)) * [1, 10, 100, 1, 1, 0.01] + 5.0
    Y = X @ rng.standard_normal((6, 3)) + rng.standard_normal((5000, 3)) + [1.0, -2.0, 3.0]
    w = rng.uniform(0, 3, 5000)
    model = SketchedLinearRegression(method="precondition", random_state=0).fit(X, Y, w)
    reference = LinearRegression().fit(X, Y, sample_weight=w)
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-10)
    np.testing.assert_allclose(model.intercept_, reference.intercept_, rtol=1e-10)
    assert model.coef_.shape == (3, 6) and model.intercept_.shape == (3,)
    np.testing.assert_array_equal(model.linf_radius_, np.zeros(3))
    np.testing.assert_allclose(model.predict(X), reference.predict(X), rtol=1e-9)


@pytest.mark.parametrize("sketch", ["gaussian", "rademacher", "srht", "sparse_sign"])
def test_sketch_and_solve_within_radius(sketch):
    A, b, x_star = make_sketching_problem(
        4000, 8, coherent=True, condition_number=10.0, residual_norm=3.0, random_state=1
    )
    model = SketchedLinearRegression(
        sketch, method="sketch_and_solve", fit_intercept=False, eps=0.5, random_state=0
    ).fit(A, b)
    assert model.method_ == "sketch_and_solve" and model.n_iter_ == 1
    error = np.abs(model.coef_ - x_star).max()
    assert 0 < error <= model.linf_radius_
    # The radius is a plug-in estimate: close to the one from the true ||r|| and ||A^+||.
    true_radius = 0.5 / np.sqrt(8) * 3.0 * 10.0
    assert 0.5 * true_radius < model.linf_radius_ < 2 * true_radius


def test_intercept_and_weights_are_exact_transformations_of_the_sketch():
    # Centring after the pass is exact: same sketch as centring before it.
    rng = np.random.default_rng(3)
    X = rng.standard_normal((3000, 4)) + 2.0
    y = X @ [1.0, 2.0, 3.0, 4.0] + 7.0 + rng.standard_normal(3000)
    w = rng.uniform(0.5, 2.0, 3000)
    params = {"method": "sketch_and_solve", "n_sketch_rows": 200, "random_state": 0}
    fitted = SketchedLinearRegression(**params).fit(X, y, sample_weight=w)
    mean_x, mean_y = w @ X / w.sum(), w @ y / w.sum()
    root = np.sqrt(w)[:, None]
    manual = SketchedLinearRegression(fit_intercept=False, **params).fit(
        (X - mean_x) * root, (y - mean_y) * root[:, 0]
    )
    np.testing.assert_allclose(fitted.coef_, manual.coef_, rtol=1e-10)
    assert fitted.intercept_ == pytest.approx(mean_y - mean_x @ fitted.coef_)


def test_multi_output_equals_separate_fits():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((2000, 3))
    Y = X @ rng.standard_normal((3, 2)) + rng.standard_normal((2000, 2))
    params = {"method": "sketch_and_solve", "n_sketch_rows": 100, "random_state": 0}
    both = SketchedLinearRegression(**params).fit(X, Y)
    for k in range(2):
        one = SketchedLinearRegression(**params).fit(X, Y[:, k])
        np.testing.assert_allclose(both.coef_[k], one.coef_, rtol=1e-12)
        assert both.linf_radius_[k] == pytest.approx(one.linf_radius_)


@pytest.mark.parametrize("sketch", ["gaussian", "srht", "count"])
def test_partial_fit_equals_fit_whatever_the_chunks(sketch):
    rng = np.random.default_rng(5)
    X = rng.standard_normal((3000, 4))
    y = X @ [1.0, -1.0, 2.0, 0.5] + rng.standard_normal(3000)
    w = rng.uniform(0.5, 2.0, 3000)
    params = {"sketch": sketch, "n_sketch_rows": 300, "random_state": 7}
    whole = SketchedLinearRegression(method="sketch_and_solve", **params).fit(X, y, w)
    streamed = SketchedLinearRegression(**params)
    for start, stop in [(0, 1), (1, 1000), (1000, 1777), (1777, 3000)]:
        streamed.partial_fit(X[start:stop], y[start:stop], w[start:stop])
    assert streamed.n_rows_seen_ == 3000
    np.testing.assert_allclose(streamed.coef_, whole.coef_, rtol=1e-10)
    assert streamed.intercept_ == pytest.approx(whole.intercept_, rel=1e-10)


def test_reproducible_and_auto():
    A, b, _ = make_sketching_problem(3000, 5, random_state=0)
    first = SketchedLinearRegression(method="sketch_and_solve", random_state=3).fit(A, b)
    second = SketchedLinearRegression(method="sketch_and_solve", random_state=3).fit(A, b)
    np.testing.assert_array_equal(first.coef_, second.coef_)
    assert SketchedLinearRegression(random_state=0).fit(A, b).method_ == "precondition"


def test_small_n_falls_back_to_exact_solve():
    rng = np.random.default_rng(6)
    X, y = rng.standard_normal((30, 8)), rng.standard_normal(30)
    model = SketchedLinearRegression(method="sketch_and_solve").fit(X, y)
    assert model.method_ == "exact" and model.sketch_ is None and model.sketch_size_ == 30
    np.testing.assert_allclose(model.coef_, LinearRegression().fit(X, y).coef_, rtol=1e-10)
    # n < d: the minimum-norm solution, as LinearRegression gives.
    X, y = rng.standard_normal((5, 8)), rng.standard_normal(5)
    model = SketchedLinearRegression().fit(X, y)
    np.testing.assert_allclose(model.coef_, LinearRegression().fit(X, y).coef_, atol=1e-12)


@pytest.mark.parametrize("method", ["sketch_and_solve", "precondition"])
def test_rank_deficient_design_warns_and_gives_minimum_norm(method):
    rng = np.random.default_rng(7)
    X = rng.standard_normal((4000, 4))
    X = np.column_stack([X, X[:, 0] + X[:, 1]])  # rank 4 of 5
    y = X @ [1.0, 2.0, 0.0, -1.0, 0.0] + 0.01 * rng.standard_normal(4000)
    model = SketchedLinearRegression(method=method, n_sketch_rows=400, random_state=0)
    with pytest.warns(RankDeficiencyWarning, match="rank 4 < n_features=5"):
        model.fit(X, y)
    assert model.rank_ == 4
    minimum_norm = LinearRegression().fit(X, y).coef_
    tolerance = 1e-10 if method == "precondition" else 0.05
    np.testing.assert_allclose(model.coef_, minimum_norm, atol=tolerance)
    if method == "sketch_and_solve":
        assert model.linf_radius_ == np.inf


@pytest.mark.parametrize(
    "params, X_change, match",
    [
        ({}, "nan", "NaN"),
        ({"n_sketch_rows": 3}, None, "n_sketch_rows=3 must exceed n_features=5"),
        ({"sketch": "count", "method": "sketch_and_solve"}, None, "no l-inf guarantee"),
        ({"method": "gauss"}, None, "method"),
        ({"eps": 0.0}, None, "eps"),
        ({"sketch": "hadamard"}, None, "sketch"),
    ],
)
def test_bad_input(params, X_change, match):
    rng = np.random.default_rng(8)
    X, y = rng.standard_normal((2000, 5)), rng.standard_normal(2000)
    if X_change == "nan":
        X[3, 2] = np.nan
    with pytest.raises(ValueError, match=match):
        SketchedLinearRegression(**params).fit(X, y)


def test_partial_fit_rejects_precondition_and_target_changes():
    rng = np.random.default_rng(9)
    X, y = rng.standard_normal((100, 3)), rng.standard_normal(100)
    with pytest.raises(ValueError, match="partial_fit streams it once"):
        SketchedLinearRegression(method="precondition").partial_fit(X, y)
    model = SketchedLinearRegression(n_sketch_rows=50).partial_fit(X, y)
    with pytest.raises(ValueError, match="targets"):
        model.partial_fit(X, np.column_stack([y, y]))


@pytest.mark.parametrize("cheap_below", [0.0, np.inf], ids=["triangular", "gram"])
@pytest.mark.parametrize("keep_blocks", [False, True])
def test_precondition_branches_reach_lstsq(monkeypatch, cheap_below, keep_blocks):
    """Both Gram branches (Z = A R^-1 by triangular solves, or R^-T A^T A R^-1) and
    keeping Z between passes give the lstsq solution at a moderate condition number."""
    from regkit.sketching import _solve
    from regkit.sketching._reduce import reduce_rows

    monkeypatch.setattr(_solve, "CHEAP_REFINEMENT_CONDITION", cheap_below)
    A, b, _ = make_sketching_problem(
        4000, 10, coherent=True, condition_number=1e3, residual_norm=1e-3, random_state=0
    )
    SA = SparseSignSketch(40, random_state=0).apply(A)

    def reduce(func, shape, args):
        return reduce_rows(func, [A, b[:, None], None], shape, block_rows=999, args=args)

    exponents = np.zeros(10, dtype=int), np.zeros(1, dtype=int)
    coef, rank, history = _solve.precondition_solve(
        reduce, SA, np.zeros(10), np.zeros(1), 2, *exponents, keep_blocks=keep_blocks
    )
    x_lstsq = np.linalg.lstsq(A, b, rcond=None)[0]
    assert rank == 10 and len(history) == 3
    assert _relative(coef[:, 0], x_lstsq) < 1e-10


@pytest.mark.parametrize("n_features_after", [3, 5])
def test_fit_ends_a_stream_and_partial_fit_starts_a_new_one(n_features_after):
    rng = np.random.default_rng(10)
    X, y = rng.standard_normal((600, 5)), rng.standard_normal(600)
    X2 = rng.standard_normal((600, n_features_after))
    y2 = X2 @ np.arange(1.0, n_features_after + 1) + rng.standard_normal(600)
    model = SketchedLinearRegression(n_sketch_rows=60, random_state=0)
    model.partial_fit(X[:300], y[:300]).partial_fit(X[300:], y[300:])
    model.fit(X2, y2)
    model.partial_fit(X2[:300], y2[:300])
    fresh = SketchedLinearRegression(n_sketch_rows=60, random_state=0).partial_fit(
        X2[:300], y2[:300]
    )
    assert model.n_rows_seen_ == 300 and model.n_features_in_ == n_features_after
    np.testing.assert_array_equal(model.coef_, fresh.coef_)
    assert model.intercept_ == fresh.intercept_


def _state(model):
    return {
        name: (value.copy() if isinstance(value, np.ndarray) else value)
        for name, value in vars(model).items()
    }


def _assert_same_state(before, model):
    after = vars(model)
    assert set(after) == set(before)
    for name, value in before.items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(after[name], value)
        else:  # the same objects (a stream, a sketch) or equal values
            assert after[name] is value or after[name] == value, name


def test_failed_fit_leaves_the_fitted_model_as_it_was():
    import pandas as pd

    rng = np.random.default_rng(11)
    X = pd.DataFrame(rng.standard_normal((500, 3)), columns=["a", "b", "c"])
    y = X.to_numpy() @ [1.0, 2.0, 3.0] + rng.standard_normal(500)
    model = SketchedLinearRegression(random_state=0).fit(X, y)
    before = _state(model)
    other = pd.DataFrame(rng.standard_normal((500, 2)), columns=["u", "v"])
    with pytest.raises(ValueError, match="sample_weight"):
        model.fit(other, y, sample_weight=np.r_[-1.0, np.ones(499)])
    _assert_same_state(before, model)
    with pytest.raises(ValueError, match="Rescale X or y"):
        model.fit(other * 1e300, y * 1e-100)
    _assert_same_state(before, model)
    np.testing.assert_allclose(model.predict(X), before["coef_"] @ X.T + before["intercept_"])


def test_failed_partial_fit_leaves_the_stream_as_it_was():
    rng = np.random.default_rng(12)
    X, y = rng.standard_normal((900, 4)), rng.standard_normal(900)
    streamed = SketchedLinearRegression(n_sketch_rows=80, random_state=0)
    streamed.partial_fit(X[:300], y[:300])
    before = _state(streamed)
    failures = [
        (X[300:600, :3], y[300:600], None, "features"),
        (X[300:600], np.column_stack([y, y])[300:600], None, "targets"),
        (X[300:600], y[300:600], -np.ones(300), "sample_weight"),
    ]
    for X_chunk, y_chunk, weights, match in failures:
        with pytest.raises(ValueError, match=match):
            streamed.partial_fit(X_chunk, y_chunk, sample_weight=weights)
        _assert_same_state(before, streamed)
    # A chunk that is valid on its own but makes the solution overflow: the solve
    # fails after the chunk was sketched, and the stream is kept as it was.
    tiny = SketchedLinearRegression(n_sketch_rows=80, random_state=0)
    tiny.partial_fit(X[:300] * 1e-300, y[:300] * 1e5)
    before_tiny = _state(tiny)
    with pytest.raises(ValueError, match="Rescale X or y"):
        tiny.partial_fit(X[300:600] * 1e-300, y[300:600] * 1e15)
    _assert_same_state(before_tiny, tiny)
    assert tiny._stream.n_rows == 300
    streamed.partial_fit(X[300:], y[300:])
    clean = SketchedLinearRegression(n_sketch_rows=80, random_state=0)
    clean.partial_fit(X[:300], y[:300]).partial_fit(X[300:], y[300:])
    np.testing.assert_array_equal(streamed.coef_, clean.coef_)
    assert streamed.n_rows_seen_ == 900


@pytest.mark.parametrize("where", ["numpy", "dask", "dask weights", "partial_fit"])
def test_negative_sample_weight_is_refused(where):
    import dask.array as da

    rng = np.random.default_rng(13)
    X, y = rng.standard_normal((2000, 3)), rng.standard_normal(2000)
    w = np.ones(2000)
    w[1500] = -0.5
    model = SketchedLinearRegression(method="sketch_and_solve", random_state=0)
    with pytest.raises(ValueError, match=r"(?i)negative.*sample_weight|sample_weight.*negative"):
        if where == "numpy":
            model.fit(X, y, sample_weight=w)
        elif where == "partial_fit":
            model.partial_fit(X, y, sample_weight=w)
        else:
            dX, dy = da.from_array(X, chunks=(500, 3)), da.from_array(y, chunks=500)
            weights = da.from_array(w, chunks=500) if where == "dask weights" else w
            model.fit(dX, dy, sample_weight=weights)
    assert not hasattr(model, "coef_")


def test_all_zero_dask_weights_are_refused():
    import dask.array as da

    X, y = np.ones((2000, 2)), np.ones(2000)
    dX, dy = da.from_array(X, chunks=(500, 2)), da.from_array(y, chunks=500)
    with pytest.raises(ValueError, match="sample_weight sums to zero"):
        SketchedLinearRegression(random_state=0).fit(
            dX, dy, sample_weight=da.zeros(2000, chunks=500)
        )
