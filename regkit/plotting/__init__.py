"""Display objects in the style of scikit-learn's ``*Display`` classes.

Each Display stores computed data in ``__init__``, is built by ``from_estimator`` /
``from_predictions``-style class methods, and draws with ``plot(ax=None, **kwargs)``,
keeping ``ax_``, ``figure_`` and its artists for restyling. matplotlib (the ``plot``
extra) is imported only when ``plot`` is called.
"""

from regkit.plotting._components import ForecastComponentsDisplay
from regkit.plotting._distribution import PredictedDistributionDisplay
from regkit.plotting._forecast import ARCoefficientsDisplay, ForecastDisplay
from regkit.plotting._information_plane import InformationPlaneDisplay
from regkit.plotting._sketch_error import SketchErrorDisplay
from regkit.plotting._unlearning import UnlearningDisplay

__all__ = [
    "ARCoefficientsDisplay",
    "ForecastComponentsDisplay",
    "ForecastDisplay",
    "InformationPlaneDisplay",
    "PredictedDistributionDisplay",
    "SketchErrorDisplay",
    "UnlearningDisplay",
]
