"""The ``regkit demo`` table: every estimator on bundled real data, next to its anchors.

Each area contributes a module ``regkit/<area>/_demo.py`` defining
``demo_tasks(quick)``, which returns a list of :class:`DemoTask`. A task holds one
dataset split and the models to compare on it; the demo fits each model, times the
fit and scores it on the held-out part.
"""

import importlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sklearn.metrics import r2_score

# Areas are listed here once; an area whose module is absent (or whose optional
# extra is missing) is skipped.
AREA_MODULES = (
    "regkit.regression._demo",
    "regkit.forecasting._demo",
    "regkit.unlearning._demo",
    "regkit.sketching._demo",
    "regkit.linear_model._demo",
)


def _fit(model, data):
    return model.fit(data["X_train"], data["y_train"])


def _r2(model, data):
    return r2_score(data["y_test"], model.predict(data["X_test"]))


@dataclass
class DemoTask:
    """One comparison in the demo table.

    Parameters
    ----------
    area : str
        Row group, e.g. ``"regression"``.
    dataset : str
        Name of the data shown in the table.
    data : dict
        Whatever ``fit`` and ``score`` need; by default ``X_train``, ``y_train``,
        ``X_test``, ``y_test``.
    models : dict of str to estimator
        The regkit estimators and their anchors, by display name.
    metric : str, default="test R2"
        Name of the score column entry.
    fit : callable, default=fits on ``X_train, y_train``
        ``fit(model, data)``.
    score : callable, default=R2 on ``X_test, y_test``
        ``score(model, data) -> float``.
    """

    area: str
    dataset: str
    data: dict
    models: dict
    metric: str = "test R2"
    fit: Callable[[Any, dict], Any] = _fit
    score: Callable[[Any, dict], float] = _r2
    notes: dict = field(default_factory=dict)


def collect_tasks(quick=False):
    """Gather the demo tasks of every area that is installed."""
    tasks = []
    for name in AREA_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and (name.startswith(exc.name) or exc.name.split(".")[0] != "regkit"):
                continue  # area not built yet, or its optional extra is missing
            raise
        tasks.extend(module.demo_tasks(quick))
    return tasks


def run_demo(quick=False, areas=None, echo=None):
    """Fit every demo model and return the results table.

    Parameters
    ----------
    quick : bool, default=False
        Smaller data and budgets (used by the tests).
    areas : collection of str or None
        Restrict to these areas.
    echo : callable or None
        Called with a progress message before each fit.

    Returns
    -------
    table : DataFrame
        Columns ``area``, ``dataset``, ``model``, ``metric``, ``score``, ``fit_seconds``.
    """
    rows = []
    for task in collect_tasks(quick):
        if areas and task.area not in areas:
            continue
        for model_name, model in task.models.items():
            if echo is not None:
                echo(f"{task.area}: {model_name} on {task.dataset}")
            start = time.perf_counter()
            task.fit(model, task.data)
            seconds = time.perf_counter() - start
            rows.append(
                {
                    "area": task.area,
                    "dataset": task.dataset,
                    "model": model_name,
                    "metric": task.metric,
                    "score": float(task.score(model, task.data)),
                    "fit_seconds": seconds,
                }
            )
    return pd.DataFrame(
        rows, columns=["area", "dataset", "model", "metric", "score", "fit_seconds"]
    )
