"""ForecastDisplay, ARCoefficientsDisplay and the ``regkit forecast`` command."""

import numpy as np
import pandas as pd
import pytest

from regkit.cli import main
from regkit.datasets import make_ar_process
from regkit.forecasting import AutoRegForecaster, NaiveForecaster
from regkit.plotting import ARCoefficientsDisplay, ForecastDisplay


@pytest.fixture
def monthly():
    values = make_ar_process(120, [0.7], random_state=0) + 10
    return pd.Series(values, index=pd.date_range("2010-01-01", periods=120, freq="MS"), name="y")


def test_forecast_display_from_forecaster(pyplot, monthly):
    model = NaiveForecaster(seasonal_period=12).fit(monthly.iloc[:108])
    display = ForecastDisplay.from_forecaster(model, 12, y_true=monthly.iloc[108:], n_history=24)
    assert set(display.lines_) == {"history", "forecast", "actual"}
    _, y = display.lines_["forecast"].get_data()
    np.testing.assert_allclose(y, monthly.iloc[96:108].to_numpy())
    assert len(display.lines_["history"].get_xdata()) == 24
    assert display.ax_.get_legend() is not None


def test_forecast_display_places_arrays_after_history():
    display = ForecastDisplay(y_history=np.zeros(5), y_forecast=[1.0, 2.0], y_true=[1.5, 2.5])
    assert display.y_forecast.index.tolist() == [5, 6]
    assert display.y_true.index.tolist() == [5, 6]


def test_coefficients_display(pyplot):
    y = make_ar_process(500, {1: 0.5, 3: -0.3}, random_state=0)
    model = AutoRegForecaster(n_lags=5).fit(y)
    display = ARCoefficientsDisplay.from_estimator(model, true_coef={1: 0.5, 3: -0.3})
    np.testing.assert_allclose(display.stem_.markerline.get_ydata(), model.coef_)
    np.testing.assert_array_equal(display.true_coef, [0.5, 0.0, -0.3, 0.0, 0.0])
    with pytest.raises(ValueError, match="1-D"):
        ARCoefficientsDisplay(coef=np.zeros((2, 3)))


def test_cli_forecast_prints_csv(tmp_path, capsys, monthly):
    path = tmp_path / "data.csv"
    monthly.rename_axis("ds").to_csv(path)
    png = tmp_path / "out.png"
    argv = [
        "forecast", str(path), "--time-col", "ds", "--value-col", "y",
        "--model", "autoreg", "--lags", "3", "--horizon", "4", "--plot", str(png),
    ]  # fmt: skip
    assert main(argv) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "ds,y" and lines[1].startswith("2020-01-01,") and len(lines) == 5
    expected = AutoRegForecaster(n_lags=3).fit(monthly).predict(4)
    printed = [float(line.split(",")[1]) for line in lines[1:]]
    np.testing.assert_allclose(printed, expected.to_numpy())
    assert png.stat().st_size > 0


def test_cli_forecast_arnet_and_errors(tmp_path, capsys, monthly):
    path = tmp_path / "data.csv"
    monthly.rename_axis("ds").to_csv(path)
    argv = ["forecast", str(path), "--time-col", "ds", "--value-col", "y", "--lags", "4"]
    assert main([*argv, "--horizon", "2"]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 3
    assert main([*argv[:4], "--value-col", "nope", "--horizon", "2"]) == 2
    assert "nope" in capsys.readouterr().err
