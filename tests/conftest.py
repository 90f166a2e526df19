import os

import numpy as np
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture
def pyplot():
    """matplotlib.pyplot with the Agg backend; figures are closed after the test."""
    plt = pytest.importorskip("matplotlib.pyplot")
    yield plt
    plt.close("all")


@pytest.fixture
def regression_data():
    """A small, easy regression problem (standardised inputs, 2 informative-ish outputs)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((240, 4))
    y = (
        X @ np.array([1.5, -2.0, 0.5, 0.0])
        + 0.3 * np.sin(3 * X[:, 0])
        + 0.05 * rng.standard_normal(240)
    )
    return X, y


requires_cuda = pytest.mark.skipif(
    not __import__("torch").cuda.is_available(), reason="needs a CUDA device"
)
