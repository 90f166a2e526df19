"""Demo tasks of :mod:`regkit.linear_model` (see :mod:`regkit._demo`)."""

from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import ElasticNet, Lasso, LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from regkit._demo import DemoTask
from regkit.datasets import load_diabetes


def _split(X, y, quick, stratify=False):
    if quick:
        X, y = X[:300], y[:300]
    parts = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y if stratify else None)
    return dict(zip(["X_train", "X_test", "y_train", "y_test"], parts))


def _accuracy(model, data):
    return model.score(data["X_test"], data["y_test"])


def demo_tasks(quick):
    from regkit.linear_model import BCDLogisticRegression, BCDRegressor

    X, y = load_diabetes(return_X_y=True)
    regression = {
        "BCDRegressor (lasso)": BCDRegressor(alpha=0.5, l1_ratio=1.0),
        "sklearn Lasso": Lasso(alpha=0.5),
        "BCDRegressor (elastic net)": BCDRegressor(alpha=0.05, l1_ratio=0.5),
        "sklearn ElasticNet": ElasticNet(alpha=0.05, l1_ratio=0.5),
    }
    Xc, yc = load_breast_cancer(return_X_y=True)
    classification = {
        "BCDLogisticRegression": BCDLogisticRegression(C=1.0),
        "sklearn LogisticRegression": LogisticRegression(C=1.0),
        "BCDLogisticRegression (L1)": BCDLogisticRegression(C=1.0, l1_ratio=1.0),
        "sklearn LogisticRegression (L1, saga)": LogisticRegression(
            C=1.0, l1_ratio=1.0, solver="saga", max_iter=5000
        ),
    }
    return [
        DemoTask(
            "linear_model",
            "diabetes",
            _split(X.to_numpy(), y.to_numpy(), quick),
            {name: make_pipeline(StandardScaler(), m) for name, m in regression.items()},
        ),
        DemoTask(
            "linear_model",
            "breast_cancer",
            _split(Xc, yc, quick, stratify=True),
            {name: make_pipeline(StandardScaler(), m) for name, m in classification.items()},
            metric="test accuracy",
            score=_accuracy,
        ),
    ]
