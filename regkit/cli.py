"""The ``regkit`` command line (also ``python -m regkit``).

Subcommands are registered in :data:`COMMANDS`: each is a pair of functions, one
that adds its arguments to an :mod:`argparse` parser and one that runs it.
"""

import argparse
import sys
import warnings


def _add_demo(parser):
    parser.add_argument("--quick", action="store_true", help="small data and budgets")
    parser.add_argument("--area", action="append", help="only this area (repeatable)")


def _run_demo(args):
    from regkit._demo import run_demo

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
        "--model", choices=["arnet", "autoreg", "naive"], default="arnet", help="forecaster"
    )
    parser.add_argument("--lags", type=int, default=24, help="AR order (arnet, autoreg)")
    parser.add_argument("--horizon", type=int, required=True, help="steps to forecast")
    parser.add_argument("--n-forecasts", type=int, default=1, help="arnet: steps predicted at once")
    parser.add_argument(
        "--sparsity", type=float, default=None, help="arnet: expected share of non-zero lags"
    )
    parser.add_argument(
        "--seasonal-period", type=int, default=1, help="naive: season length (1: last value)"
    )
    parser.add_argument(
        "--missing",
        choices=["raise", "interpolate", "ffill"],
        default="raise",
        help="what to do with missing values",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (arnet)")
    parser.add_argument("--plot", metavar="PNG", help="also draw history and forecast to PNG")


def _read_series(path, time_col, value_col):
    import pandas as pd

    frame = pd.read_csv(path)
    for column in (time_col, value_col):
        if column not in frame.columns:
            raise ValueError(f"column {column!r} not in {path}; columns: {list(frame.columns)}")
    times = frame[time_col]
    if not pd.api.types.is_integer_dtype(times):
        times = pd.to_datetime(times)
    series = pd.Series(frame[value_col].to_numpy(float), index=pd.Index(times), name=value_col)
    series = series.sort_index()
    series.index.name = time_col
    return series


def _run_forecast(args):
    from regkit.forecasting import ARNetForecaster, AutoRegForecaster, NaiveForecaster

    y = _read_series(args.csv, args.time_col, args.value_col)
    if args.model == "arnet":
        model = ARNetForecaster(
            n_lags=args.lags,
            n_forecasts=args.n_forecasts,
            sparsity=args.sparsity,
            missing=args.missing,
            random_state=args.seed,
        )
    elif args.model == "autoreg":
        model = AutoRegForecaster(n_lags=args.lags, missing=args.missing)
    else:
        model = NaiveForecaster(seasonal_period=args.seasonal_period, missing=args.missing)
    forecast = model.fit(y).predict(args.horizon)
    forecast.to_frame(args.value_col).to_csv(sys.stdout, index_label=args.time_col)
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        from regkit.plotting import ForecastDisplay

        display = ForecastDisplay.from_forecaster(model, args.horizon, n_history=10 * args.horizon)
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
    except (ValueError, FileNotFoundError) as exc:
        print(f"regkit {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
