"""Deep regressors trained on regkit's shared PyTorch engine."""

from regkit.regression._csib import CSIBRegressor, csib_beta_sweep
from regkit.regression._histogram import HistogramRegressor
from regkit.regression._histogram_encoding import (
    bin_centers,
    histogram_mean,
    histogram_quantiles,
    hl_gauss_encode,
    one_hot_encode,
    padded_support,
    two_hot_encode,
)
from regkit.regression._neural import NeuralRegressor
from regkit.regression._supremix import SupReMixRegressor

__all__ = [
    "CSIBRegressor",
    "HistogramRegressor",
    "NeuralRegressor",
    "SupReMixRegressor",
    "bin_centers",
    "csib_beta_sweep",
    "histogram_mean",
    "histogram_quantiles",
    "hl_gauss_encode",
    "one_hot_encode",
    "padded_support",
    "two_hot_encode",
]
