"""The dask path on a dask.distributed LocalCluster: same answers as in memory."""

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

from regkit.sketching import (  # noqa: E402
    GaussianSketch,
    SketchedLinearRegression,
    SparseSignSketch,
    SRHTSketch,
)


@pytest.fixture(scope="module")
def client():
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((6000, 5)) + 1.0
    Y = X @ rng.standard_normal((5, 2)) + 3.0 + rng.standard_normal((6000, 2))
    w = rng.uniform(0.5, 2.0, 6000)
    return X, Y, w


@pytest.mark.parametrize("cls", [GaussianSketch, SRHTSketch, SparseSignSketch])
@pytest.mark.parametrize("chunk", [1000, 777])
def test_sketch_dask_equals_numpy(client, data, cls, chunk):
    X = data[0]
    sketch = cls(64, random_state=0, tile_rows=1024)
    np.testing.assert_allclose(
        sketch.apply(da.from_array(X, chunks=(chunk, 5))), sketch.apply(X), atol=1e-11
    )


@pytest.mark.parametrize("method", ["sketch_and_solve", "precondition"])
@pytest.mark.parametrize("chunk", [1500, 913])
def test_fit_on_dask_equals_numpy(client, data, method, chunk):
    X, Y, w = data
    params = {"method": method, "n_sketch_rows": 200, "random_state": 0}
    local = SketchedLinearRegression(**params).fit(X, Y, sample_weight=w)
    Xd = da.from_array(X, chunks=(chunk, 2))  # column chunks are merged
    # y as a dask array with other chunks, or in memory: both are aligned to X.
    y = da.from_array(Y, chunks=(500, 2)) if chunk == 1500 else Y
    remote = SketchedLinearRegression(**params).fit(Xd, y, sample_weight=w)
    assert remote.method_ == method and remote.n_features_in_ == 5
    np.testing.assert_allclose(remote.coef_, local.coef_, rtol=1e-10)
    np.testing.assert_allclose(remote.intercept_, local.intercept_, rtol=1e-10)
    prediction = remote.predict(Xd)
    assert isinstance(prediction, da.Array)
    np.testing.assert_allclose(prediction.compute(), local.predict(X), rtol=1e-10)


def test_auto_sketches_and_solves_dask(client, data):
    X, Y, _ = data
    model = SketchedLinearRegression(random_state=0).fit(da.from_array(X, chunks=2000), Y[:, 0])
    assert model.method_ == "sketch_and_solve" and np.isfinite(model.linf_radius_)


def test_small_dask_input_is_solved_exactly(client, data):
    X, Y, _ = data
    model = SketchedLinearRegression().fit(da.from_array(X[:40], chunks=10), Y[:40, 0])
    assert model.method_ == "exact"


def test_nan_in_a_dask_block_is_reported(client, data):
    X = data[0].copy()
    X[4321, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        SketchedLinearRegression(method="sketch_and_solve", n_sketch_rows=100).fit(
            da.from_array(X, chunks=1000), data[1][:, 0]
        )
