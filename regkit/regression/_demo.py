"""Demo tasks of :mod:`regkit.regression` (see :mod:`regkit._demo`)."""

from sklearn.linear_model import Ridge
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from regkit._demo import DemoTask
from regkit.datasets import load_diabetes, load_randhie


def _split(X, y, quick):
    if quick:
        X, y = X.iloc[:400], y.iloc[:400]
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
    return {"X_train": X_train, "X_test": X_test, "y_train": y_train, "y_test": y_test}


def regression_models(quick):
    """The deep regressors and their scikit-learn anchors, each behind a scaler."""
    from regkit.regression import CSIBRegressor, HistogramRegressor, NeuralRegressor

    epochs = 20 if quick else 200
    return {
        "NeuralRegressor": make_pipeline(
            StandardScaler(),
            NeuralRegressor(
                hidden_layer_sizes=(64, 64), max_epochs=epochs, early_stopping=True, random_state=0
            ),
        ),
        "HistogramRegressor (HL-Gauss)": make_pipeline(
            StandardScaler(),
            HistogramRegressor(
                hidden_layer_sizes=(64, 64), max_epochs=epochs, early_stopping=True, random_state=0
            ),
        ),
        "CSIBRegressor": make_pipeline(
            StandardScaler(),
            CSIBRegressor(
                hidden_layer_sizes=(64,),
                representation_size=32,
                decoder_layer_sizes=(64,),
                max_epochs=epochs,
                early_stopping=True,
                random_state=0,
            ),
        ),
        "sklearn MLPRegressor": make_pipeline(
            StandardScaler(),
            MLPRegressor(
                hidden_layer_sizes=(64, 64), max_iter=epochs, early_stopping=True, random_state=0
            ),
        ),
        "sklearn Ridge": make_pipeline(StandardScaler(), Ridge()),
    }


def demo_tasks(quick):
    return [
        DemoTask(
            "regression", name, _split(*loader(return_X_y=True), quick), regression_models(quick)
        )
        for name, loader in [("diabetes", load_diabetes), ("randhie", load_randhie)]
    ]
