import pytest

from regkit.forecasting import ARNetRegressor
from regkit.regression import (
    CSIBRegressor,
    HistogramRegressor,
    NeuralRegressor,
    SupReMixRegressor,
)

# Every neural estimator of regkit, small, with its stochastic options on (dropout,
# CS-IB's noisy representation, AR-Net's ramped regulariser, SupReMix's augmentations).
SMALL = {
    "NeuralRegressor": lambda **p: NeuralRegressor((16, 8), dropout=0.2, **p),
    "HistogramRegressor": lambda **p: HistogramRegressor((16,), n_bins=20, dropout=0.2, **p),
    "CSIBRegressor": lambda **p: CSIBRegressor(
        (16,), representation_size=4, decoder_layer_sizes=(8,), stochastic=True, dropout=0.2, **p
    ),
    "ARNetRegressor": lambda **p: ARNetRegressor(ar_layers=(8,), sparsity=0.5, **p),
    # Two training stages (contrastive pretraining, then the probe), augmentations and
    # SupReMix's mixtures all draw from the fit's generator.
    "SupReMixRegressor": lambda **p: SupReMixRegressor(
        (16,), embedding_size=8, projection_size=4, dropout=0.2, pretrain_epochs=2, **p
    ),
}


@pytest.fixture(params=sorted(SMALL))
def make_neural(request):
    """A factory of one small neural estimator (each of them in turn)."""
    return SMALL[request.param]
