"""ForecastDisplay, ARCoefficientsDisplay and the ``regkit forecast`` command."""

import itertools

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
    np.testing.assert_allclose(printed, expected.to_numpy(), rtol=1e-5)  # 6 digits
    assert png.stat().st_size > 0


def test_cli_forecast_arnet_and_errors(tmp_path, capsys, monthly):
    path = tmp_path / "data.csv"
    monthly.rename_axis("ds").to_csv(path)
    argv = ["forecast", str(path), "--time-col", "ds", "--value-col", "y", "--lags", "4"]
    assert main([*argv, "--horizon", "2"]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 3
    assert main([*argv[:4], "--value-col", "nope", "--horizon", "2"]) == 2
    assert "nope" in capsys.readouterr().err


def test_forecast_display_draws_interval_band(pyplot, monthly):
    model = NaiveForecaster(seasonal_period=12).fit(monthly)
    display = ForecastDisplay.from_forecaster(model, 12, coverage=0.8)
    (path,) = display.band_.get_paths()
    lower, upper = model.predict_interval(12, coverage=0.8).T.to_numpy()
    assert path.vertices[:, 1].min() == pytest.approx(lower.min())
    assert path.vertices[:, 1].max() == pytest.approx(upper.max())
    assert "80% interval" in [t.get_text() for t in display.ax_.get_legend().get_texts()]
    with pytest.raises(ValueError, match="one \\(lower, upper\\) row"):
        ForecastDisplay(y_history=[1.0, 2.0], y_forecast=[3.0], y_interval=[[1, 2], [3, 4]])


def _overlapping_labels(ax):
    ax.figure.canvas.draw()
    boxes = [t.get_window_extent() for t in ax.get_xticklabels() if t.get_text()]
    return any(a.overlaps(b) for a, b in itertools.pairwise(boxes))


def test_date_labels_do_not_overlap(pyplot):
    index = pd.date_range("2000-01-01", periods=24 * 400, freq="h")
    y = pd.Series(np.sin(np.arange(len(index)) / 24), index=index)
    display = ForecastDisplay.from_forecaster(NaiveForecaster().fit(y), 48)
    assert not _overlapping_labels(display.ax_)


def test_forecast_display_picks_one_of_many_series(pyplot, monthly):
    wide = pd.DataFrame({"a": monthly, "b": monthly * 2})
    model = NaiveForecaster().fit(wide)
    display = ForecastDisplay.from_forecaster(model, 3, series="b")
    np.testing.assert_allclose(display.lines_["forecast"].get_ydata(), 2 * monthly.iloc[-1])
    with pytest.raises(ValueError, match="series"):
        ForecastDisplay.from_forecaster(model, 3, series="c")


def test_components_display(pyplot, monthly):
    from regkit.forecasting import ARNetForecaster
    from regkit.plotting import ForecastComponentsDisplay

    model = ARNetForecaster(
        n_lags=2,
        seasonality="yearly",
        max_epochs=5,
        device="cpu",
        random_state=0,
        calibration_size=None,
    ).fit(monthly)
    display = ForecastComponentsDisplay.from_forecaster(model, n_history=36)
    assert list(display.lines_) == ["baseline", "autoregression", "seasonality"]
    expected = model.predict_components()["seasonality"].iloc[-36:]
    np.testing.assert_allclose(display.lines_["seasonality"].get_ydata(), expected)


def _write(tmp_path, frame, name="data.csv"):
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return str(path)


def test_cli_float_time_column_is_integer_time(tmp_path, capsys):
    frame = pd.DataFrame({"t": np.arange(40, dtype=float), "y": np.arange(40.0) % 5})
    argv = ["forecast", _write(tmp_path, frame), "--time-col", "t", "--value-col", "y"]
    assert main([*argv, "--model", "naive", "--horizon", "2"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines == ["t,y", "40,4", "41,4"]
    frame["t"] = frame["t"] / 2
    assert main([argv[0], _write(tmp_path, frame), *argv[2:], "--horizon", "2"]) == 2
    assert "not whole" in capsys.readouterr().err


def test_cli_errors_are_clear(tmp_path, capsys):
    assert main(["demo", "--area", "bogus"]) == 2
    assert "unknown --area bogus" in capsys.readouterr().err
    argv = ["--time-col", "t", "--value-col", "y", "--horizon", "2"]
    assert main(["forecast", str(tmp_path), *argv]) == 2
    assert "is a directory" in capsys.readouterr().err


def test_cli_missing_dates_and_date_format(tmp_path, capsys):
    dates = pd.date_range("2020-01-01", periods=30, freq="D").delete(10)
    frame = pd.DataFrame({"day": dates.strftime("%d/%m/%Y"), "y": np.arange(29.0)})
    path = _write(tmp_path, frame)
    argv = ["forecast", path, "--time-col", "day", "--value-col", "y", "--model", "naive"]
    assert main([*argv, "--horizon", "1", "--missing", "interpolate"]) == 2
    assert "--date-format" in capsys.readouterr().err
    argv += ["--date-format", "%d/%m/%Y", "--horizon", "1"]
    assert main(argv) == 2
    assert "--missing interpolate" in capsys.readouterr().err
    assert main([*argv, "--missing", "interpolate"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[1] == "2020-01-31,28"


def test_cli_digits_and_coverage(tmp_path, capsys, monthly):
    path = tmp_path / "data.csv"
    (monthly * 1000 / 3).rename_axis("ds").to_csv(path)
    argv = ["forecast", str(path), "--time-col", "ds", "--value-col", "y", "--model", "naive"]
    png = tmp_path / "band.png"
    assert main([*argv, "--horizon", "2", "--coverage", "0.9", "--plot", str(png)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "ds,y,lower,upper"
    value = lines[1].split(",")[1]
    assert len(value.replace(".", "").replace("-", "")) <= 6
    model = NaiveForecaster().fit(monthly * 1000 / 3)
    lower = model.predict_interval(2, coverage=0.9)["lower"].iloc[0]
    assert float(lines[1].split(",")[2]) == pytest.approx(lower, rel=1e-5)
    assert png.stat().st_size > 0
