"""Greedy block coordinate descent (NumPy / SciPy / numba; never torch).

A composable engine in the spirit of skglm: a smooth *datafit* times a *penalty*,
minimised by :class:`BCDSolver` with a chosen *selection rule* (cyclic, random,
Lipschitz sampling, Gauss-Southwell and its Lipschitz, diagonal and quadratic
variants, proximal GS-q), *blocks* (a fixed partition, a block chosen each
iteration, forests of a graph) and *update* (1/L_b gradient, adaptive L, matrix,
Newton with line search, message passing), after Nutini, Laradji & Schmidt,
"Let's make block coordinate descent converge faster", JMLR 23 (2022). Datafits
and penalties talk to the solver only through :class:`BaseDatafit` and
:class:`BasePenalty`.
"""

from regkit.optim._blocks import greedy_forest, is_forest, make_partition
from regkit.optim._datafits import BaseDatafit
from regkit.optim._graph import GraphQuadratic
from regkit.optim._group import GroupLasso
from regkit.optim._least_squares import LeastSquares
from regkit.optim._logistic_datafits import Logistic, MultinomialLogistic
from regkit.optim._nonconvex import MCP, SCAD
from regkit.optim._penalties import (
    L1,
    L2,
    BasePenalty,
    ElasticNet,
    NonNegative,
    NoPenalty,
    SeparablePenalty,
    WeightedL1,
)
from regkit.optim._selection import SELECTIONS
from regkit.optim._solver import BCDResult, BCDSolver
from regkit.optim._updates import UPDATES, solve_block_qp

__all__ = [
    "L1",
    "L2",
    "MCP",
    "SCAD",
    "SELECTIONS",
    "UPDATES",
    "BCDResult",
    "BCDSolver",
    "BaseDatafit",
    "BasePenalty",
    "ElasticNet",
    "GraphQuadratic",
    "GroupLasso",
    "LeastSquares",
    "Logistic",
    "MultinomialLogistic",
    "NoPenalty",
    "NonNegative",
    "SeparablePenalty",
    "WeightedL1",
    "greedy_forest",
    "is_forest",
    "make_partition",
    "solve_block_qp",
]
