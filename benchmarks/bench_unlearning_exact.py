"""Exact unlearning against retraining, same data, same process.

Two tables:

1. ``UnlearnableRidge.forget`` of ``k`` rows against the anchor, scikit-learn's
   ``Ridge`` refitted on the remaining rows (its default solver), for several
   ``n`` and ``d``. Columns: median seconds over interleaved repeats, the ratio
   forget / refit, the largest coefficient difference to the refit (the
   exactness claim), and the one-time cost: ``UnlearnableRidge.fit`` over
   ``Ridge.fit`` on all rows. Forgetting costs ``O(k d^2 + d^3)``; refitting
   ``O(n d^2)``.
2. ``SISARegressor.forget`` on offline data (RAND HIE, 20190 rows; Fair, 6366
   rows) with decision trees: seconds to forget one row and a random 5 % of rows,
   against refitting the whole SISA model and a single tree on the remaining rows,
   and the test R^2 of SISA against the single tree (what sharding costs).

Run ``python benchmarks/bench_unlearning_exact.py`` (a few minutes on 2 cores) or
``--quick``; ``--repeats`` sets the repeats.
"""

import argparse
import time

import numpy as np
import pandas as pd
from sklearn.linear_model import Ridge
from sklearn.metrics import r2_score
from sklearn.model_selection import train_test_split
from sklearn.tree import DecisionTreeRegressor

from regkit.datasets import load_fair, load_randhie
from regkit.unlearning import SISARegressor, UnlearnableRidge


def interleaved(functions, repeats):
    """Median seconds of each function, repeats interleaved (A B A B ...)."""
    times = {name: [] for name in functions}
    results = {}
    for _ in range(repeats):
        for name, func in functions.items():
            start = time.perf_counter()
            results[name] = func()
            times[name].append(time.perf_counter() - start)
    return {name: float(np.median(t)) for name, t in times.items()}, results


def ridge_table(shapes, n_forget, repeats):
    rows = []
    for n, d in shapes:
        rng = np.random.default_rng(n + d)
        X = rng.standard_normal((n, d)) + rng.uniform(-5, 5, d)
        y = X @ rng.standard_normal(d) + rng.standard_normal(n)
        fitted = UnlearnableRidge(alpha=1.0).fit(X, y)

        def forget(fitted=fitted, X=X, y=y):
            # A shallow copy, so each repeat forgets from the same fitted model
            # (forget reassigns its attributes, never mutates them).
            model = UnlearnableRidge(alpha=1.0)
            model.__dict__.update(fitted.__dict__)
            return model.forget(X[:n_forget], y[:n_forget])

        functions = {
            "forget": forget,
            "Ridge refit": lambda X=X, y=y: Ridge(alpha=1.0).fit(X[n_forget:], y[n_forget:]),
            "fit": lambda X=X, y=y: UnlearnableRidge(alpha=1.0).fit(X, y),
            "Ridge fit": lambda X=X, y=y: Ridge(alpha=1.0).fit(X, y),
        }
        seconds, results = interleaved(functions, repeats)
        gap = np.abs(results["forget"].coef_ - results["Ridge refit"].coef_).max()
        rows.append(
            {
                "n": n,
                "d": d,
                "k": n_forget,
                "forget s": seconds["forget"],
                "Ridge refit s": seconds["Ridge refit"],
                "ratio": seconds["forget"] / seconds["Ridge refit"],
                "max coef diff": gap,
                "fit / Ridge fit": seconds["fit"] / seconds["Ridge fit"],
            }
        )
    return pd.DataFrame(rows)


def sisa_row(train, test, n_shards, rows_to_forget, repeats):
    """Time forgetting ``rows_to_forget`` from a SISA model against two refits."""
    (X_train, y_train), (X_test, y_test) = train, test
    keep = np.setdiff1d(np.arange(len(X_train)), rows_to_forget)
    tree = DecisionTreeRegressor(min_samples_leaf=20, random_state=0)
    sisa = SISARegressor(tree, n_shards=n_shards, random_state=0).fit(X_train, y_train)

    def forget():
        # A shallow copy, so each repeat forgets from the same fitted model
        # (forget builds new lists and models, never mutates the old ones).
        model = SISARegressor()
        model.__dict__.update(sisa.__dict__)
        return model.forget(rows_to_forget)

    functions = {
        "SISA forget": forget,
        "SISA refit": lambda: SISARegressor(tree, n_shards=n_shards, random_state=0).fit(
            X_train[keep], y_train[keep]
        ),
        "tree refit": lambda: DecisionTreeRegressor(min_samples_leaf=20, random_state=0).fit(
            X_train[keep], y_train[keep]
        ),
    }
    seconds, results = interleaved(functions, repeats)
    return {
        "shards": n_shards,
        "retrained shards": len(results["SISA forget"].retrained_shards_),
        "SISA forget s": seconds["SISA forget"],
        "SISA refit s": seconds["SISA refit"],
        "tree refit s": seconds["tree refit"],
        "forget / tree refit": seconds["SISA forget"] / seconds["tree refit"],
        "SISA test R2": r2_score(y_test, results["SISA forget"].predict(X_test)),
        "tree test R2": r2_score(y_test, results["tree refit"].predict(X_test)),
    }


def sisa_table(datasets, shard_counts, repeats):
    rows = []
    for name, (X, y) in datasets.items():
        X, y = X.to_numpy(dtype=float), y.to_numpy(dtype=float)
        X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
        rng = np.random.default_rng(1)
        forget_sets = {
            "1 row": rng.choice(len(X_train), 1, replace=False),
            "5 % rows": rng.choice(len(X_train), len(X_train) // 20, replace=False),
        }
        for n_shards in shard_counts:
            for label, rows_to_forget in forget_sets.items():
                row = sisa_row(
                    (X_train, y_train), (X_test, y_test), n_shards, rows_to_forget, repeats
                )
                rows.append({"data": name, "forget": label, **row})
    return pd.DataFrame(rows)


def markdown(table):
    """A markdown table (3 significant digits), without optional dependencies."""

    def cell(value):
        return f"{value:.3g}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
    lines += [
        "| " + " | ".join(cell(v) for v in row) + " |" for row in table.itertuples(index=False)
    ]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, 3 repeats")
    parser.add_argument("--repeats", type=int, default=None)
    args = parser.parse_args()
    repeats = args.repeats or (3 if args.quick else 7)
    shapes = [(10_000, 20), (100_000, 20)]
    if not args.quick:  # (1e6, 100) would need ~3 GB on a shared machine: left out
        shapes += [(1_000_000, 20), (10_000, 100), (100_000, 100)]
    print("## UnlearnableRidge.forget vs Ridge refit\n")
    table = ridge_table(shapes, n_forget=100, repeats=repeats)
    print(markdown(table), flush=True)
    print("\n## SISARegressor.forget (decision trees) vs refitting\n")
    datasets = {"randhie": load_randhie(return_X_y=True), "fair": load_fair(return_X_y=True)}
    shard_counts = [5] if args.quick else [5, 20]
    print(markdown(sisa_table(datasets, shard_counts, repeats)))


if __name__ == "__main__":
    main()
