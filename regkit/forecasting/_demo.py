"""Demo tasks of :mod:`regkit.forecasting` (see :mod:`regkit._demo`)."""

from regkit._demo import DemoTask
from regkit.datasets import load_co2
from regkit.forecasting._arnet_forecaster import ARNetForecaster
from regkit.forecasting._autoreg import AutoRegForecaster
from regkit.forecasting._metrics import mean_absolute_scaled_error
from regkit.forecasting._naive import NaiveForecaster

SEASON = 12  # monthly data, yearly cycle
COVERAGE = 0.8


def _fit(model, data):
    return model.fit(data["y_train"])


def _mase(model, data):
    forecast = model.predict(len(data["y_test"]))
    return mean_absolute_scaled_error(
        data["y_test"], forecast, data["y_train"], seasonal_period=SEASON
    )


def _already_fitted(model, data):
    # The coverage task scores the models the MASE task has just fitted.
    return model


def _coverage(model, data):
    interval = model.predict_interval(len(data["y_test"]), coverage=COVERAGE)
    inside = (data["y_test"] >= interval["lower"]) & (data["y_test"] <= interval["upper"])
    return float(inside.mean())


def demo_tasks(quick):
    y = load_co2()
    if quick:
        y = y.iloc[-240:]
    horizon = 24
    data = {"y_train": y.iloc[:-horizon], "y_test": y.iloc[-horizon:]}
    models = {
        # Short trending series: SGD needs more epochs than the automatic budget to
        # match least squares' precision on a near unit root, and its lags are not
        # sparse (the regulariser is left off; see the gallery example).
        "ARNetForecaster": ARNetForecaster(
            n_lags=36, max_epochs=20 if quick else 200, random_state=0
        ),
        "statsmodels AutoReg": AutoRegForecaster(n_lags=36),
        "seasonal naive": NaiveForecaster(seasonal_period=SEASON),
    }
    dataset = f"co2 (last {horizon} months)"
    return [
        DemoTask("forecasting", dataset, data, models, metric="test MASE", fit=_fit, score=_mase),
        DemoTask(
            "forecasting",
            dataset,
            data,
            models,
            metric=f"test {COVERAGE:.0%} interval coverage",
            fit=_already_fitted,
            score=_coverage,
        ),
    ]
