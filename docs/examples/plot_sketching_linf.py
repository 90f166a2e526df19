"""
=================================================================
Coordinate-wise error of sketched least squares on coherent rows
=================================================================

Sketch-and-solve replaces ``min ||Ax - b||`` (n rows) by ``min ||SAx - Sb||`` (m
rows). Song, Ye, Yin and Zhang (ICML 2023) showed that dense sketches keep *every
coordinate* of the answer within ``(eps / sqrt(d)) ||r|| ||A^+||`` of the exact
solution. Here we check it on a *coherent* matrix, where a few rows carry almost
all the leverage: the dense sketches (Gaussian, SRHT) and the sparse sign
embedding stay inside their radius; CountSketch, which hashes each row to a
single place, sometimes lets two of those rows collide and leaves it.
"""

# %%
# A problem with a known answer
# -----------------------------
# :func:`~regkit.sketching.make_sketching_problem` builds ``b = A x* + r`` with
# ``A^T r = 0``, so ``x*`` is the exact least-squares solution, and puts almost all
# the leverage on ``d`` rows.
import os

import matplotlib.pyplot as plt
import numpy as np

from regkit.plotting import SketchErrorDisplay
from regkit.sketching import SketchedLinearRegression, make_sketching_problem

# The test suite runs every gallery script with REGKIT_QUICK=1 (smaller budgets).
QUICK = os.environ.get("REGKIT_QUICK") == "1"
n, d = (2048, 8) if QUICK else (8192, 20)
sizes = [64, 128, 256, 512] if QUICK else [100, 200, 400, 800, 1600]
seeds = 5 if QUICK else 30

A, b, x_star = make_sketching_problem(n, d, coherent=True, condition_number=10.0, random_state=0)
leverage = (np.linalg.svd(A, full_matrices=False)[0] ** 2).sum(axis=1)
print(f"{(leverage > 0.5).sum()} rows hold leverage > 0.5 (of {n})")

# %%
# Error against sketch size, and against the radius
# -------------------------------------------------
# Left: the median (circles) and worst (triangles) l-inf error over the seeds, with
# each sketch's radius dashed (proven for Gaussian, calibrated for SRHT and
# sparse sign). Right: error divided by the radius; the guarantee is to stay
# below 1. CountSketch has no radius of its own and is divided by the Gaussian one.
display = SketchErrorDisplay.from_problem(
    A,
    b,
    x_star,
    sketches=("gaussian", "srht", "sparse_sign", "count"),
    sketch_sizes=sizes,
    n_seeds=seeds,
)
fig, (ax_size, ax_radius) = plt.subplots(1, 2, figsize=(11, 4.5))
display.plot(ax=ax_size, kind="size")
ax_size.set_title("l-inf error against sketch size")
display.plot(ax=ax_radius, kind="radius")
ax_radius.set_title("l-inf error over the radius")
fig.tight_layout()

# %%
# The estimator
# -------------
# :class:`~regkit.sketching.SketchedLinearRegression` picks m from the target
# ``eps`` and reports the radius it promises (estimated from the sketch).
model = SketchedLinearRegression(
    "srht", method="sketch_and_solve", fit_intercept=False, random_state=0
)
model.fit(A, b)
error = np.abs(model.coef_ - x_star).max()
print(f"m = {model.sketch_size_}: l-inf error {error:.3g} <= radius {model.linf_radius_:.3g}")
plt.show()
