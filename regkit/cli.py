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


COMMANDS = {
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
