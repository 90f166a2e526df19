"""Greedy block coordinate descent (NumPy / SciPy / numba; never torch).

A composable engine in the spirit of skglm: a smooth *datafit* times a separable
*penalty*, minimised by :class:`BCDSolver` with a chosen *selection rule* (cyclic,
random, Lipschitz sampling, Gauss-Southwell and its Lipschitz, diagonal and
quadratic variants, proximal GS-q), *blocks* (a fixed partition, a block chosen each
iteration, forests of a graph) and *update* (1/L_b gradient, adaptive L, matrix,
Newton with line search, message passing), after Nutini, Laradji & Schmidt,
"Let's make block coordinate descent converge faster", JMLR 23 (2022).
"""

from regkit.optim._blocks import greedy_forest, is_forest, make_partition
from regkit.optim._datafits import (
    BaseDatafit,
    GraphQuadratic,
    LeastSquares,
    Logistic,
    MultinomialLogistic,
)
from regkit.optim._penalties import (
    L1,
    L2,
    ElasticNet,
    NonNegative,
    NoPenalty,
    SeparablePenalty,
)
from regkit.optim._selection import SELECTIONS
from regkit.optim._solver import BCDResult, BCDSolver
from regkit.optim._updates import UPDATES, solve_block_qp

__all__ = [
    "L1",
    "L2",
    "SELECTIONS",
    "UPDATES",
    "BCDResult",
    "BCDSolver",
    "BaseDatafit",
    "ElasticNet",
    "GraphQuadratic",
    "LeastSquares",
    "Logistic",
    "MultinomialLogistic",
    "NoPenalty",
    "NonNegative",
    "SeparablePenalty",
    "greedy_forest",
    "is_forest",
    "make_partition",
    "solve_block_qp",
]
