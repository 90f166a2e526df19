"""Sketched least squares with a coordinate-wise (l-inf) guarantee.

Row sketches ``S`` (m x n, m << n) shrink a tall least-squares problem
``min ||Ax - b||`` to ``min ||SAx - Sb||`` (sketch-and-solve, Song, Ye, Yin and
Zhang, ICML 2023) or build a preconditioner from ``SA`` that makes an exact solve
cheap (sketch-and-precondition). Every sketch is applied block by block with
chunking-independent seeds, so in-memory, streamed (``partial_fit``) and dask
inputs give the same answer. NumPy/SciPy only; never imports torch.
"""

from regkit.sketching._bounds import linf_radius, sketch_size
from regkit.sketching._estimator import SketchedLinearRegression
from regkit.sketching._operators import (
    BaseSketch,
    CountSketch,
    GaussianSketch,
    RademacherSketch,
    SparseSignSketch,
    SRHTSketch,
    get_sketch,
)
from regkit.sketching._problems import make_sketching_problem
from regkit.sketching._reduce import reduce_rows, sketch_dask
from regkit.sketching._solve import RankDeficiencyWarning

__all__ = [
    "BaseSketch",
    "CountSketch",
    "GaussianSketch",
    "RademacherSketch",
    "RankDeficiencyWarning",
    "SRHTSketch",
    "SketchedLinearRegression",
    "SparseSignSketch",
    "get_sketch",
    "linf_radius",
    "make_sketching_problem",
    "reduce_rows",
    "sketch_dask",
    "sketch_size",
]
