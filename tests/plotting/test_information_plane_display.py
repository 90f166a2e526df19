"""InformationPlaneDisplay from a fitted CS-IB model and from a beta sweep."""

import numpy as np
import pytest

from regkit.plotting import InformationPlaneDisplay
from regkit.regression import CSIBRegressor, NeuralRegressor, csib_beta_sweep

SMALL = {"representation_size": 4, "decoder_layer_sizes": (8,), "random_state": 0}


def test_from_estimator_plots_the_history(pyplot, regression_data):
    X, y = regression_data
    model = CSIBRegressor((8,), max_epochs=4, **SMALL).fit(X, y)
    display = InformationPlaneDisplay.from_estimator(model)
    np.testing.assert_array_equal(display.i_xt, [r["i_xt"] for r in model.history_])
    np.testing.assert_array_equal(display.line_.get_ydata(), [r["i_yt"] for r in model.history_])
    assert display.ax_.get_xlabel().startswith("I(x; t)")
    assert display.figure_ is display.ax_.figure


def test_from_sweep_annotates_each_beta(pyplot, regression_data):
    X, y = regression_data
    table = csib_beta_sweep(CSIBRegressor((8,), max_epochs=2, **SMALL), X, y, [0.0, 0.5])
    _, ax = pyplot.subplots()
    display = InformationPlaneDisplay.from_sweep(table, ax=ax, colorbar=False)
    assert display.ax_ is ax
    assert [text.get_text() for text in ax.texts] == ["β=0", "β=0.5"]


def test_refuses_models_without_information_history(regression_data):
    X, y = regression_data
    model = NeuralRegressor((4,), max_epochs=1, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="information-plane history"):
        InformationPlaneDisplay.from_estimator(model)
    with pytest.raises(ValueError, match="same length"):
        InformationPlaneDisplay(i_xt=[0.1, 0.2], i_yt=[0.1])
