"""The row-block machinery of the solve passes: GIL-free BLAS calls and threads."""

import numpy as np
import pytest
import scipy.linalg

from regkit.sketching._blas import gram_upper, solve_rows_upper
from regkit.sketching._reduce import reduce_rows


@pytest.fixture
def block():
    return np.random.default_rng(0).standard_normal((300, 7))


def test_solve_rows_upper_matches_scipy(block):
    rng = np.random.default_rng(1)
    R = np.triu(rng.standard_normal((7, 7))) + 3 * np.eye(7)
    Z = solve_rows_upper(np.asfortranarray(R), block.copy())
    expected = scipy.linalg.solve_triangular(R, block.T, trans="T").T
    np.testing.assert_allclose(Z, expected, rtol=1e-13, atol=1e-13)


def test_gram_upper_is_the_upper_triangle_of_xtx(block):
    gram = gram_upper(block)
    np.testing.assert_allclose(np.triu(gram), np.triu(block.T @ block), rtol=1e-13)
    assert not np.tril(gram, -1).any()


@pytest.mark.parametrize("bad", ["fortran", "float32", "columns"])
def test_blas_helpers_refuse_layouts_they_would_misread(block, bad):
    R = np.asfortranarray(np.eye(7))
    if bad == "fortran":
        block = np.asfortranarray(block)
    elif bad == "float32":
        block = block.astype(np.float32)
    else:
        block = block[:, :5].copy()
    with pytest.raises(ValueError, match="C-contiguous float64"):
        solve_rows_upper(R, block)


def _gram_term(X, row_start):
    return X.T @ X + row_start  # depends on where the block starts


@pytest.mark.parametrize("threads", [2, 3])
def test_threaded_reduce_equals_serial_sum(threads):
    X = np.random.default_rng(2).standard_normal((1000, 4))
    serial = reduce_rows(_gram_term, [X], (4, 4), block_rows=64, threads=1)
    threaded = reduce_rows(_gram_term, [X], (4, 4), block_rows=64, threads=threads)
    again = reduce_rows(_gram_term, [X], (4, 4), block_rows=64, threads=threads)
    starts = np.arange(0, 1000, 64).sum()
    np.testing.assert_allclose(serial, X.T @ X + starts, rtol=1e-12)
    np.testing.assert_allclose(threaded, serial, rtol=1e-12)
    np.testing.assert_array_equal(threaded, again)  # block order fixes the sums


@pytest.mark.parametrize("condition_number", [1e2, 1e8])  # SYRK path, triangular-solve path
def test_precondition_fit_does_not_depend_on_the_thread_count(condition_number):
    from threadpoolctl import threadpool_limits

    from regkit.sketching import SketchedLinearRegression, make_sketching_problem

    A, b, x_star = make_sketching_problem(
        150_000,
        12,
        coherent=True,
        condition_number=condition_number,
        residual_norm=1e-6,
        random_state=0,
    )
    model = SketchedLinearRegression(method="precondition", fit_intercept=False, random_state=0)
    default = model.fit(A, b).coef_.copy()
    with threadpool_limits(1, user_api="blas"):
        single = model.fit(A, b).coef_
    np.testing.assert_allclose(single, default, rtol=1e-12, atol=0)
    np.testing.assert_allclose(default, x_star, rtol=1e-6)
