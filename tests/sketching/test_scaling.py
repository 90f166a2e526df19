"""SketchedLinearRegression at any representable scale of X and y, on every path."""

import warnings

import dask.array as da
import numpy as np
import pytest
from sklearn.linear_model import LinearRegression

from regkit.sketching import (
    RankDeficiencyWarning,
    SketchedLinearRegression,
    make_sketching_problem,
)

N, D = 3000, 4


def _data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N, D)) + np.array([0.0, 1.0, -2.0, 0.5])
    y = X @ [1.0, 2.0, 3.0, 4.0] + 3.0 + rng.standard_normal(N)
    return X, y


def _fit(path, X, y):
    if path == "precondition":
        return SketchedLinearRegression(method="precondition", random_state=0).fit(X, y)
    if path == "sketch_and_solve":
        model = SketchedLinearRegression(method="sketch_and_solve", random_state=0)
        return model.fit(X, y, sample_weight=np.linspace(0.5, 2.0, len(X)))
    if path == "exact":  # fewer rows than a sketch: solved exactly
        return SketchedLinearRegression(random_state=0).fit(X[:30], y[:30])
    if path == "dask":
        dX, dy = da.from_array(X, chunks=(700, D)), da.from_array(y, chunks=700)
        return SketchedLinearRegression(random_state=0).fit(dX, dy)
    model = SketchedLinearRegression(random_state=0)
    for start in range(0, len(X), 1100):
        model.partial_fit(X[start : start + 1100], y[start : start + 1100])
    return model


PATHS = ["precondition", "sketch_and_solve", "exact", "dask", "partial_fit"]
X_SCALES = [1e-300, 1e-200, 1e160, 1e300]
Y_SCALES = [1.0, 1e-300, 1e-200, 1e160, 1e300]


@pytest.fixture(scope="module")
def unscaled():
    X, y = _data()
    return {path: _fit(path, X, y) for path in PATHS}


@pytest.mark.parametrize("y_scale", Y_SCALES, ids=lambda s: f"y{s:.0e}")
@pytest.mark.parametrize("x_scale", X_SCALES, ids=lambda s: f"X{s:.0e}")
@pytest.mark.parametrize("path", PATHS)
def test_any_representable_scale_gives_the_unscaled_fit(path, x_scale, y_scale, unscaled):
    X, y = _data()
    # The coefficients (1 to 4) scale by y_scale / x_scale: representable within 1e+-300.
    if abs(np.log10(y_scale / x_scale) if y_scale / x_scale > 0 else 999) > 300:
        with pytest.raises(ValueError, match="Rescale X or y"):
            _fit(path, X * x_scale, y * y_scale)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no overflow along the way
        model = _fit(path, X * x_scale, y * y_scale)
    reference = unscaled[path]
    np.testing.assert_allclose(model.coef_ * (x_scale / y_scale), reference.coef_, rtol=1e-9)
    assert model.intercept_ / y_scale == pytest.approx(reference.intercept_, rel=1e-9)
    # Same predictions, hence the same R^2, as on the unscaled data.
    prediction = model.predict(X[:100] * x_scale) / y_scale
    np.testing.assert_allclose(prediction, reference.predict(X[:100]), rtol=1e-9)
    if path in {"sketch_and_solve", "dask", "partial_fit"}:
        # The l-inf radius is in the units of the coefficients.
        expected = reference.linf_radius_ * (y_scale / x_scale)
        assert model.linf_radius_ == pytest.approx(expected, rel=1e-6)


def test_exact_and_precondition_match_linear_regression_at_extreme_scales():
    X, y = _data()
    reference = LinearRegression().fit(X, y)
    for x_scale, y_scale in [(1e-300, 1e-300), (1e300, 1.0), (1e-200, 1e-150), (1e306, 1e306)]:
        model = SketchedLinearRegression(random_state=0).fit(X * x_scale, y * y_scale)
        assert model.method_ == "precondition"
        np.testing.assert_allclose(
            model.coef_ * x_scale / y_scale, reference.coef_, rtol=1e-10, atol=0
        )


def test_columns_of_very_different_units():
    # Columns 1e-150 and 1e150 apart: kappa(X) ~ 1e300, but each column is well
    # determined. Without equilibration the rank test drops all but the largest.
    X, y = _data()
    units = np.array([1e-150, 1.0, 1e150, 1e-8])
    exact = LinearRegression().fit(X, y).coef_
    for method in ["precondition", "sketch_and_solve"]:
        model = SketchedLinearRegression(method=method, random_state=0).fit(X * units, y)
        assert model.rank_ == D
        tolerance = 1e-10 if method == "precondition" else 0.05
        np.testing.assert_allclose(model.coef_ * units, exact, rtol=tolerance)
    small = SketchedLinearRegression().fit(X[:30] * units, y[:30])
    assert small.method_ == "exact" and small.rank_ == D
    np.testing.assert_allclose(
        small.coef_ * units, LinearRegression().fit(X[:30], y[:30]).coef_, rtol=1e-8
    )


def test_a_constant_column_stays_at_rounding_level():
    # Centring leaves only rounding of a constant column: equilibrated on its
    # uncentred scale, it is recognised as rank deficient (coefficient ~0).
    X, y = _data()
    X = np.column_stack([X, np.full(N, 1e10)])
    expected = LinearRegression().fit(X[:, :D], y).coef_
    with pytest.warns(RankDeficiencyWarning, match="rank 4 < n_features=5"):
        model = SketchedLinearRegression(method="precondition", random_state=0).fit(X, y)
    np.testing.assert_allclose(model.coef_[:D], expected, rtol=1e-9)
    assert abs(model.coef_[D]) < 1e-12


@pytest.mark.parametrize("x_scale, y_scale", [(1e-200, 1e-250), (1e300, 1e300), (1e-300, 1.0)])
def test_linf_guarantee_holds_on_scaled_data(x_scale, y_scale):
    A, b, x_star = make_sketching_problem(
        4000, 8, coherent=True, condition_number=10.0, residual_norm=3.0, random_state=1
    )
    units = np.geomspace(1e-3, 1e3, 8) * x_scale  # mixed column units too
    model = SketchedLinearRegression(
        "gaussian", method="sketch_and_solve", fit_intercept=False, random_state=0
    ).fit(A * units, b * y_scale)
    truth = x_star / units * y_scale
    error = np.abs(model.coef_ - truth).max()
    assert 0 < error <= model.linf_radius_ < np.inf


def test_to_data_units_refuses_what_float64_cannot_hold():
    from regkit.sketching._scaling import to_data_units

    coef_eq = np.array([[0.5], [1e-20]])
    # The second coefficient underflows but carries less than rounding: allowed.
    coef = to_data_units(coef_eq, np.array([0, 1060]), np.array([3]))
    np.testing.assert_array_equal(coef[:, 0], [4.0, 0.0])
    with pytest.raises(ValueError, match="order 1e310"):  # 0.5 * 2**1030
        to_data_units(coef_eq, np.array([-1010, 0]), np.array([20]))
    with pytest.raises(ValueError, match="order 1e-331"):  # 0.5 * 2**-1100
        to_data_units(np.array([[0.5]]), np.array([1100]), np.array([0]))


def test_data_scale_is_exact_and_keeps_entries_below_one():
    from regkit.sketching._scaling import DataScale, column_exponents

    rng = np.random.default_rng(1)
    X = rng.standard_normal((50, 3)) * [1e300, 1.0, 1e-300]
    Y = rng.standard_normal((50, 2)) * [1e-200, 1e200]
    w = rng.uniform(0, 1e250, 50)
    scale = DataScale.of(X, Y, w)
    assert scale.w % 2 == 0 and len(set(scale.x)) == 1  # one power for all of X
    Xs, Ys, ws = scale.apply(X, Y, w)
    assert np.abs(Xs).max() < 1 and (np.abs(Ys).max(axis=0) < 1).all() and ws.max() < 1
    np.testing.assert_array_equal(np.ldexp(Ys, scale.y), Y)  # powers of two: exact
    np.testing.assert_array_equal(column_exponents(np.array([[0.0, 3.0], [0.0, -5.0]])), [0, 3])
