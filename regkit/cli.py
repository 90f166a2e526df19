"""The ``regkit`` command line (also ``python -m regkit``).

Subcommands are registered in :data:`COMMANDS`: each is a pair of functions, one
that adds its arguments to an :mod:`argparse` parser and one that runs it.
"""

import argparse
import sys
import warnings
from pathlib import Path


def _add_demo(parser):
    parser.add_argument("--quick", action="store_true", help="small data and budgets")
    parser.add_argument("--area", action="append", help="only this area (repeatable)")


def _run_demo(args):
    from regkit._demo import AREA_MODULES, run_demo

    areas = [name.split(".")[1] for name in AREA_MODULES]
    unknown = sorted(set(args.area or ()) - set(areas))
    if unknown:
        raise ValueError(f"unknown --area {', '.join(unknown)}; choose from {', '.join(areas)}.")
    with warnings.catch_warnings():
        # Anchors stopped by their iteration cap warn; the table shows their score.
        warnings.simplefilter("ignore")
        table = run_demo(
            quick=args.quick,
            areas=args.area,
            echo=lambda msg: print(f"fitting {msg}", file=sys.stderr),
        )
    with_scores = table.assign(
        score=table["score"].map("{:.4f}".format),
        fit_seconds=table["fit_seconds"].map("{:.2f}".format),
    )
    print(with_scores.to_string(index=False))
    return 0


def _add_info(parser):
    pass


def _run_info(args):
    import regkit

    regkit.show_versions()
    return 0


def _add_forecast(parser):
    parser.add_argument("csv", help="CSV file with a time column and a value column")
    parser.add_argument("--time-col", required=True, help="column of dates or integer times")
    parser.add_argument("--value-col", required=True, help="column of the series to forecast")
    parser.add_argument(
        "--date-format",
        default=None,
        help="strftime format of the time column, e.g. %%d/%%m/%%Y (default: inferred)",
    )
    parser.add_argument(
        "--model", choices=["arnet", "autoreg", "naive"], default="arnet", help="forecaster"
    )
    parser.add_argument("--lags", type=int, default=24, help="AR order (arnet, autoreg)")
    parser.add_argument("--horizon", type=int, required=True, help="steps to forecast")
    parser.add_argument("--n-forecasts", type=int, default=1, help="arnet: steps predicted at once")
    parser.add_argument(
        "--sparsity", type=float, default=None, help="arnet: expected share of non-zero lags"
    )
    parser.add_argument(
        "--seasonality",
        default=None,
        help="arnet: Fourier seasonality from the dates: daily, weekly, yearly or auto",
    )
    parser.add_argument(
        "--seasonal-period", type=int, default=1, help="naive: season length (1: last value)"
    )
    parser.add_argument(
        "--missing",
        choices=["raise", "interpolate", "ffill"],
        default="raise",
        help="what to do with missing values and missing dates",
    )
    parser.add_argument(
        "--coverage",
        type=float,
        default=None,
        help="also print (and plot) a prediction interval of this coverage, e.g. 0.9",
    )
    parser.add_argument("--digits", type=int, default=6, help="significant digits printed")
    parser.add_argument("--seed", type=int, default=0, help="random seed (arnet)")
    parser.add_argument("--plot", metavar="PNG", help="also draw history and forecast to PNG")


def _read_times(times, date_format):
    import numpy as np
    import pandas as pd

    if pd.api.types.is_numeric_dtype(times) and not pd.api.types.is_bool_dtype(times):
        values = times.to_numpy(dtype=float)
        if not (np.isfinite(values).all() and (values == np.round(values)).all()):
            raise ValueError(
                "the time column holds numbers that are not whole: give integer times "
                "(0, 1, 2, ...) or dates."
            )
        return pd.Index(values.astype(np.int64))
    try:
        return pd.DatetimeIndex(pd.to_datetime(times, format=date_format))
    except (TypeError, ValueError) as exc:
        hint = "" if date_format else " (pass --date-format, e.g. --date-format %d/%m/%Y)"
        raise ValueError(f"cannot read the time column as dates{hint}: {exc}") from exc


def _read_series(path, time_col, value_col, date_format=None):
    import pandas as pd

    if Path(path).is_dir():
        raise ValueError(f"{path} is a directory; give the path of a CSV file.")
    frame = pd.read_csv(path)
    for column in (time_col, value_col):
        if column not in frame.columns:
            raise ValueError(f"column {column!r} not in {path}; columns: {list(frame.columns)}")
    times = _read_times(frame[time_col], date_format)
    try:
        values = frame[value_col].to_numpy(float)
    except ValueError as exc:
        raise ValueError(f"column {value_col!r} must hold numbers: {exc}") from exc
    series = pd.Series(values, index=times, name=value_col).sort_index()
    series.index.name = time_col
    return series


def _forecaster(args):
    from regkit.forecasting import ARNetForecaster, AutoRegForecaster, NaiveForecaster

    if args.model == "arnet":
        return ARNetForecaster(
            n_lags=args.lags,
            n_forecasts=args.n_forecasts,
            sparsity=args.sparsity,
            seasonality=args.seasonality,
            missing=args.missing,
            # The calibration network of the intervals is fitted only when asked for.
            calibration_size=None if args.coverage is None else 0.2,
            random_state=args.seed,
        )
    if args.model == "autoreg":
        return AutoRegForecaster(n_lags=args.lags, missing=args.missing)
    return NaiveForecaster(seasonal_period=args.seasonal_period, missing=args.missing)


def _run_forecast(args):
    y = _read_series(args.csv, args.time_col, args.value_col, args.date_format)
    model = _forecaster(args)
    try:
        model.fit(y)
    except ValueError as exc:
        if "missing=" in str(exc):
            raise ValueError(f"{exc} On the command line: --missing interpolate or ffill.") from exc
        raise
    table = model.predict(args.horizon).to_frame(args.value_col)
    if args.coverage is not None:
        table = table.join(model.predict_interval(args.horizon, coverage=args.coverage))
    table.to_csv(sys.stdout, index_label=args.time_col, float_format=f"%.{args.digits}g")
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        from regkit.plotting import ForecastDisplay

        display = ForecastDisplay.from_forecaster(
            model, args.horizon, coverage=args.coverage, n_history=10 * args.horizon
        )
        display.figure_.savefig(args.plot, dpi=120, bbox_inches="tight")
        print(f"plot written to {args.plot}", file=sys.stderr)
    return 0


COMMANDS = {
    "forecast": (
        "forecast a series from a CSV file (AR-Net, AutoReg or naive); prints CSV",
        _add_forecast,
        _run_forecast,
    ),
    "demo": (
        "fit every estimator on bundled real data next to scikit-learn baselines",
        _add_demo,
        _run_demo,
    ),
    "info": ("versions, compute device and threads", _add_info, _run_info),
}


def build_parser():
    """Return the :class:`argparse.ArgumentParser` of the ``regkit`` command."""
    import regkit

    parser = argparse.ArgumentParser(
        prog="regkit", description="regkit: research estimators with a scikit-learn API."
    )
    parser.add_argument("--version", action="version", version=f"regkit {regkit.__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (help_text, add_arguments, _) in COMMANDS.items():
        add_arguments(subparsers.add_parser(name, help=help_text, description=help_text))
    return parser


def main(argv=None):
    """Run the ``regkit`` command; return its exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return COMMANDS[args.command][2](args)
    except (ValueError, TypeError, OSError) as exc:
        print(f"regkit {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
