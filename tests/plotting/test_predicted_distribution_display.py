"""PredictedDistributionDisplay draws densities that integrate to one."""

import numpy as np
import pytest
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from regkit.plotting import PredictedDistributionDisplay
from regkit.regression import HistogramRegressor


@pytest.fixture(scope="module")
def fitted(regression_data_module):
    X, y = regression_data_module
    model = HistogramRegressor(
        hidden_layer_sizes=(16,), n_bins=20, max_epochs=3, device="cpu", random_state=0
    )
    return make_pipeline(StandardScaler(), model).fit(X, y), X, y


@pytest.fixture(scope="module")
def regression_data_module():
    rng = np.random.default_rng(0)
    X = 10 * rng.standard_normal((100, 2))
    return X, X[:, 0] + rng.standard_normal(100)


def test_from_estimator_through_a_pipeline(pyplot, fitted):
    pipeline, X, y = fitted
    display = PredictedDistributionDisplay.from_estimator(
        pipeline, X[:2], y=y[:2], labels=["a", "b"]
    )
    edges, p = pipeline[-1].predict_distribution(pipeline[0].transform(X[:2]))
    np.testing.assert_allclose(display.probabilities, p)
    assert len(display.stairs_) == 2
    assert [t.get_text() for t in display.ax_.get_legend().get_texts()] == ["a", "b"]
    for stairs in display.stairs_:
        heights = stairs.get_data().values
        np.testing.assert_allclose(np.sum(heights * np.diff(edges)), 1.0)
    assert len(display.ax_.lines) == 2  # the observed targets


def test_plot_on_given_axes(pyplot):
    _, ax = pyplot.subplots()
    display = PredictedDistributionDisplay(
        bin_edges=[0.0, 0.5, 2.0], probabilities=[0.5, 0.5]
    ).plot(ax=ax, linewidth=3)
    assert display.ax_ is ax and display.figure_ is ax.figure
    np.testing.assert_allclose(display.stairs_[0].get_data().values, [1.0, 1 / 3])


def test_bad_inputs(fitted):
    with pytest.raises(ValueError, match="bin_edges"):
        PredictedDistributionDisplay(bin_edges=[0.0, 1.0], probabilities=[[0.5, 0.5]])
    with pytest.raises(TypeError, match="predict_distribution"):
        PredictedDistributionDisplay.from_estimator(Ridge().fit([[0.0], [1.0]], [0, 1]), [[0]])
