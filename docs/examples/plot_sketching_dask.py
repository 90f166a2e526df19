"""
==========================================================
Sketched least squares on a dask array larger than memory
==========================================================

A dask array can describe more rows than fit in memory: each chunk is made (read
from disk, generated, fetched) when a task needs it, and dropped after.
:class:`~regkit.sketching.SketchedLinearRegression` fits such an array in one pass:
every chunk becomes a small partial sketch, and a tree reduction adds them up.
:func:`~regkit.sketching.reduce_rows` runs the same kind of one-pass sum for
statistics of your own. Here both run on dask's threads scheduler and on a
``distributed`` ``LocalCluster``, and give the same numbers.
"""

# %%
# A design that never exists in memory
# ------------------------------------
# Every chunk is drawn from its own seed when a task asks for it. At the full
# budget the design has 2**24 rows (2.5 GiB); no more than a few chunks of
# 40 MiB are in memory at any time.
import os
import time

import dask
import dask.array as da
import matplotlib.pyplot as plt
import numpy as np
from distributed import Client, LocalCluster
from matplotlib.ticker import MaxNLocator

from regkit.sketching import SketchedLinearRegression, reduce_rows

# The test suite runs every gallery script with REGKIT_QUICK=1 (smaller data).
QUICK = os.environ.get("REGKIT_QUICK") == "1"
N_CHUNKS, CHUNK_ROWS, N_FEATURES = (8, 1 << 14, 20) if QUICK else (64, 1 << 18, 20)
TRUE_COEF = np.linspace(-2.0, 2.0, N_FEATURES)


def make_chunk(index):
    """Rows ``index * CHUNK_ROWS`` to ``(index + 1) * CHUNK_ROWS`` of the data."""
    rng = np.random.default_rng([2024, index])
    X = rng.standard_normal((CHUNK_ROWS, N_FEATURES))
    y = X @ TRUE_COEF + 1.0 + 3.0 * rng.standard_normal(CHUNK_ROWS)
    return X, y


chunks = [dask.delayed(make_chunk, nout=2)(index) for index in range(N_CHUNKS)]
X = da.concatenate(
    [da.from_delayed(X_chunk, (CHUNK_ROWS, N_FEATURES), dtype=float) for X_chunk, _ in chunks]
)
y = da.concatenate([da.from_delayed(y_chunk, (CHUNK_ROWS,), dtype=float) for _, y_chunk in chunks])
print(
    f"X: {X.shape[0]:,} rows x {N_FEATURES} columns = {X.nbytes / 2**30:.2f} GiB, "
    f"in {X.numblocks[0]} chunks of {CHUNK_ROWS * N_FEATURES * 8 / 2**20:.0f} MiB"
)

# %%
# One pass on the threads scheduler
# ---------------------------------
# On a dask array ``method="auto"`` sketches and solves: one pass, each task
# returning an ``(m + 1) x (d + 2)`` partial sketch. The same ``random_state``
# gives the same sketch for any chunking (randomness is drawn per fixed tile of
# rows), so the answer does not depend on how the data are cut.
model = SketchedLinearRegression(random_state=0)
start = time.perf_counter()
with dask.config.set(scheduler="threads"):
    model.fit(X, y)
print(
    f"{model.method_} with {model.sketch_size_} sketch rows in "
    f"{time.perf_counter() - start:.1f} s; l-inf radius {model.linf_radius_:.2e}"
)

# %%
# The exact answer in one more pass, with ``reduce_rows``
# -------------------------------------------------------
# :func:`~regkit.sketching.reduce_rows` sums ``func(*blocks, row_start)`` over the
# row chunks. The normal equations of the design with an intercept column are
# such a sum. They square the condition number, which is harmless here (the
# columns are independent, kappa is about 1); for ill-conditioned data fit
# ``SketchedLinearRegression(method="precondition")`` instead: three passes, the
# accuracy of ``np.linalg.lstsq``.


def normal_equations(X_block, y_block, row_start):
    A = np.column_stack([X_block, np.ones(len(X_block))])
    return np.column_stack([A.T @ A, A.T @ y_block])


with dask.config.set(scheduler="threads"):
    gram = reduce_rows(normal_equations, [X, y], (N_FEATURES + 1, N_FEATURES + 2))
exact = np.linalg.solve(gram[:, :-1], gram[:, -1])
error = np.abs(model.coef_ - exact[:-1])
print(f"largest error {error.max():.2e} = {error.max() / model.linf_radius_:.2f} x the radius")

# %%
# The same fit on a cluster
# -------------------------
# With a ``distributed`` client the tasks run on its workers; only the partial
# sketches travel. A ``LocalCluster`` stands in for a real one here (connect
# ``Client("scheduler-address:8786")`` to use machines). The tree reduction adds
# the partial sketches in the same order, so the coefficients are the same.
with (
    LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
    ) as cluster,
    Client(cluster),
):
    on_cluster = SketchedLinearRegression(random_state=0).fit(X, y)
    first_rows = on_cluster.predict(X[:3]).compute()  # predict stays lazy on dask
print(f"largest difference to the threads fit: {np.abs(on_cluster.coef_ - model.coef_).max()}")
print("first predictions:", np.round(first_rows, 3))

# %%
# Every coefficient within the radius
# -----------------------------------
# The guarantee is coordinate-wise: with probability ``1 - delta`` every
# coefficient of the sketched fit lies within ``linf_radius_`` of the exact
# least-squares coefficient.
fig, ax = plt.subplots(figsize=(7, 4))
ax.bar(np.arange(N_FEATURES), error, color="tab:blue", label="|sketched - exact|")
ax.axhline(model.linf_radius_, color="tab:red", linestyle="--", label="l-inf radius")
ax.xaxis.set_major_locator(MaxNLocator(integer=True))
ax.set(
    xlabel="coefficient",
    ylabel="absolute error",
    title=f"{X.shape[0]:,} rows sketched to {model.sketch_size_} in one pass",
)
ax.legend()
fig.tight_layout()
plt.show()
