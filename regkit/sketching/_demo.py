"""Demo tasks of :mod:`regkit.sketching` (see :mod:`regkit._demo`)."""

from sklearn.linear_model import LinearRegression
from sklearn.model_selection import train_test_split

from regkit._demo import DemoTask
from regkit.datasets import load_fair, load_randhie


def _split(X, y, quick):
    if quick:
        X, y = X.iloc[:3000], y.iloc[:3000]
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
    return {"X_train": X_train, "X_test": X_test, "y_train": y_train, "y_test": y_test}


def sketching_models():
    """Both sketched methods next to the exact least-squares anchor."""
    from regkit.sketching import SketchedLinearRegression

    return {
        "SketchedLinearRegression (precondition)": SketchedLinearRegression(
            method="precondition", random_state=0
        ),
        "SketchedLinearRegression (sketch-and-solve, SRHT)": SketchedLinearRegression(
            "srht", method="sketch_and_solve", random_state=0
        ),
        "sklearn LinearRegression": LinearRegression(),
    }


def demo_tasks(quick):
    return [
        DemoTask("sketching", name, _split(*loader(return_X_y=True), quick), sketching_models())
        for name, loader in [("randhie", load_randhie), ("fair", load_fair)]
    ]
