"""The sketch operators: linear, reproducible, isotropic, and blind to chunking."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from regkit.sketching import (
    CountSketch,
    GaussianSketch,
    RademacherSketch,
    SparseSignSketch,
    SRHTSketch,
    get_sketch,
)

SKETCHES = [GaussianSketch, RademacherSketch, SRHTSketch, CountSketch, SparseSignSketch]
IDS = [cls.name for cls in SKETCHES]
# Small tiles so that a few hundred rows already span several tiles.
SMALL_TILE = 64


def _make(cls, m=24, seed=0):
    return cls(m, random_state=seed, tile_rows=SMALL_TILE)


@pytest.mark.parametrize("cls", SKETCHES, ids=IDS)
def test_linear(cls):
    rng = np.random.default_rng(0)
    A, B = rng.standard_normal((2, 300, 3))
    S = _make(cls)
    np.testing.assert_allclose(S.apply(2.0 * A - 3.0 * B), 2.0 * S.apply(A) - 3.0 * S.apply(B))
    # Applying the operator equals multiplying by its dense matrix.
    np.testing.assert_allclose(S.apply(A), S.to_dense(300) @ A, atol=1e-12)


@pytest.mark.parametrize("cls", SKETCHES, ids=IDS)
def test_reproducible_from_random_state(cls):
    A = np.random.default_rng(1).standard_normal((200, 2))
    np.testing.assert_array_equal(_make(cls, seed=5).apply(A), _make(cls, seed=5).apply(A))
    assert not np.allclose(_make(cls, seed=5).apply(A), _make(cls, seed=6).apply(A))
    # A vector gives the sketch of the corresponding column.
    np.testing.assert_allclose(_make(cls).apply(A[:, 0]), _make(cls).apply(A)[:, 0])


@pytest.mark.parametrize("cls", SKETCHES, ids=IDS)
@settings(max_examples=8, deadline=None)
@given(cuts=st.lists(st.integers(1, 299), max_size=6))
def test_chunked_equals_whole(cls, cuts):
    A = np.random.default_rng(2).standard_normal((300, 3))
    S = _make(cls)
    edges = [0, *sorted(set(cuts)), 300]
    chunked = sum(S.apply_block(A[a:b], a) for a, b in itertools.pairwise(edges))
    np.testing.assert_allclose(chunked, S.apply(A), atol=1e-12)


@pytest.mark.parametrize("cls", SKETCHES, ids=IDS)
def test_expected_gram_is_identity(cls):
    # E[S^T S] = I: the average over many seeds of S^T S is the identity, within a
    # tolerance of a few standard errors (each entry has variance about 1/m per draw).
    n, m, draws = 40, 16, 300
    total = np.zeros((n, n))
    for seed in range(draws):
        S = cls(m, random_state=seed, tile_rows=32).to_dense(n)
        total += S.T @ S
    mean = total / draws
    tolerance = 6 * np.sqrt(2.0 / (m * draws))
    assert np.abs(np.diag(mean) - 1).max() < tolerance
    assert np.abs(mean - np.diag(np.diag(mean))).max() < tolerance


def test_structure_of_sparse_and_sign_sketches():
    S = CountSketch(10, random_state=0).to_dense(50)
    np.testing.assert_array_equal(np.count_nonzero(S, axis=0), 1)
    S = SparseSignSketch(12, nnz_per_column=3, random_state=0).to_dense(50)
    np.testing.assert_array_equal(np.count_nonzero(S, axis=0), 3)
    np.testing.assert_allclose(np.abs(S[S != 0]), 1 / np.sqrt(3))
    S = RademacherSketch(9, random_state=0).to_dense(20)
    np.testing.assert_allclose(np.abs(S), 1 / 3)


def test_srht_is_orthogonal_when_it_keeps_every_row():
    # m = T keeps every output of an orthonormal transform of signed, permuted rows.
    S = SRHTSketch(64, random_state=0, tile_rows=64).to_dense(64)
    np.testing.assert_allclose(S.T @ S, np.eye(64), atol=1e-12)


def test_srht_uses_sign_diagonal_not_gaussian():
    # The transform of one basis vector has entries of equal magnitude up to the DCT
    # basis: a Gaussian diagonal would scale columns by random magnitudes.
    S = SRHTSketch(64, random_state=3, tile_rows=64).to_dense(64)
    np.testing.assert_allclose(np.linalg.norm(S, axis=0), 1.0)


def test_get_sketch_and_bad_input():
    assert get_sketch("gaussian") is GaussianSketch
    assert get_sketch(SRHTSketch) is SRHTSketch
    with pytest.raises(ValueError, match="sketch must be one of"):
        get_sketch("hadamard")
    with pytest.raises(ValueError, match="n_rows must be a positive int"):
        GaussianSketch(0)
    with pytest.raises(ValueError, match="tile_rows must be at least n_rows"):
        SRHTSketch(100, tile_rows=64)
    with pytest.raises(ValueError, match="nnz_per_column"):
        SparseSignSketch(10, nnz_per_column=0)


@pytest.mark.parametrize("cls", SKETCHES, ids=IDS)
def test_guarantee_is_documented(cls):
    assert cls.guarantee in {"proven", "measured", "none"}
    assert cls.guarantee.capitalize() in cls.__doc__ or cls.guarantee in cls.__doc__
    assert (cls.guarantee == "none") == (not np.isfinite(cls.linf_constant))


@pytest.mark.parametrize("cls", SKETCHES, ids=IDS)
def test_zero_rows_give_the_zero_sketch(cls):
    S = _make(cls)
    np.testing.assert_array_equal(S.apply(np.zeros((0, 3))), np.zeros((24, 3)))
    np.testing.assert_array_equal(S.apply(np.zeros(0)), np.zeros(24))
    np.testing.assert_array_equal(S.apply_block(np.zeros((0, 2)), 100), np.zeros((24, 2)))
    assert S.to_dense(0).shape == (24, 0)


@pytest.mark.parametrize("cls", SKETCHES, ids=IDS)
def test_apply_refuses_what_is_not_a_matrix_of_rows(cls):
    import dask.array as da

    S = _make(cls)
    with pytest.raises(ValueError, match=r"1-D or 2-D.*shape \(5, 2, 2\)"):
        S.apply(np.ones((5, 2, 2)))
    with pytest.raises(ValueError, match="1-D or 2-D"):
        S.apply(da.ones((50, 2, 2), chunks=10))
    with pytest.raises(ValueError, match="1-D or 2-D"):
        S.apply(np.float64(3.0))
    with pytest.raises(ValueError, match="numeric"):
        S.apply(np.array([["a", "b"], ["c", "d"]]))
    with pytest.raises(ValueError, match="row_start"):
        S.apply_block(np.ones((5, 2)), -1)
    with pytest.raises(ValueError, match="n must be"):
        S.to_dense(-1)
