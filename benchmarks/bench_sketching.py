"""Sketched least squares against exact solvers, same data, same process.

Two tables:

1. Speed and accuracy. For each (n, d) and problem (incoherent rows with condition
   number 1e2, coherent rows with 1e10; ``--full-grid`` for all four pairs), every
   method solves ``min ||Ax - b||`` where the exact solution ``x*`` is known:
   ``np.linalg.lstsq``, ``scipy.linalg.lstsq`` (gelsy, its fastest driver) and
   Cholesky normal equations as anchors; regkit's precondition path and
   sketch-and-solve with each sketch (sizes from ``sketch_size(eps=0.5,
   delta=0.01)``). Columns: median seconds over repeats, ratio to
   ``np.linalg.lstsq``, "passes" (seconds over the time to read A once, a GEMV),
   relative error ``||x - x*|| / ||x*||`` and l-inf error over the proven/calibrated
   radius (sketch-and-solve must stay below 1).
2. Failure rates over 100 seeds: fixed A and b, the fraction of seeds whose
   sketch-and-solve leaves the radius (delta = 0.01 promised), on incoherent,
   coherent and spiky-residual problems, with a 95% Clopper-Pearson upper bound.

``np.linalg.lstsq`` is called with its default ``rcond`` (``eps * max(n, d)``): at
n = 2^20 that cut-off (2.3e-10) exceeds ``1/kappa = 1e-10``, so it drops the smallest
singular direction of the ill-conditioned problems; ``gelsy`` and regkit keep it.

Dense sketches (Gaussian, Rademacher) cost O(mnd) (a minute and more at
n = 2^18): they are timed only on the first problem of a size with
``m n d <= 8e10`` and shown as NaN elsewhere; their accuracy is in table 2.

Run ``python benchmarks/bench_sketching.py`` (about 15 minutes on 2 cores) or
``--quick`` (a minute); ``--n 1048576 --d 50 200 --skip-failures`` runs a subset.

``--against PATH`` compares two versions of regkit instead (no anchors): this
checkout and the one whose ``regkit`` package lies in PATH, each in its own worker
process on the same data, fits interleaved (ABBA order), medians and the ratio
this / other. On a shared, noisy machine this is the fair test of a regression.
"""

import argparse
import gc
import os
import time

import numpy as np
import pandas as pd
import scipy.fft
import scipy.linalg
from scipy.stats import beta

from regkit.sketching import (
    SketchedLinearRegression,
    linf_radius,
    make_sketching_problem,
    sketch_size,
)

EPS, DELTA = 0.5, 0.01
# A nearly consistent problem: at condition number 1e10 the least-squares solution
# itself moves by u * kappa^2 * ||r||, so a large residual would make every exact
# solver look wrong. The l-inf radius scales with ||r||, so the ratio does not care.
RESIDUAL_NORM = 1e-6
DENSE_BUDGET = 8e10  # m * n * d above which dense sketches are skipped


def timed(func, repeats):
    """Median seconds over repeats (a single run when the first one is slow)."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - start)
        if times[0] > 5.0:
            break
    return float(np.median(times)), result


def anchors(A, b):
    def normal_equations():
        try:
            factor = scipy.linalg.cho_factor(A.T @ A, check_finite=False)
        except np.linalg.LinAlgError:  # kappa^2 beyond 1/eps: A^T A is not numerically PD
            return np.full(A.shape[1], np.nan)
        return scipy.linalg.cho_solve(factor, A.T @ b, check_finite=False)

    return {
        "np.linalg.lstsq": lambda: np.linalg.lstsq(A, b, rcond=None)[0],
        "scipy.linalg.lstsq (gelsy)": lambda: scipy.linalg.lstsq(
            A, b, lapack_driver="gelsy", check_finite=False
        )[0],
        "Cholesky normal equations": normal_equations,
    }


def regkit_methods(n, d):
    methods = {
        "regkit precondition (sparse sign)": ("precondition", "auto"),
        "regkit precondition (SRHT)": ("precondition", "srht"),
        "regkit sketch-and-solve SRHT": ("sketch_and_solve", "srht"),
        "regkit sketch-and-solve sparse sign": ("sketch_and_solve", "sparse_sign"),
        "regkit sketch-and-solve CountSketch": ("sketch_and_solve", "count"),
        "regkit sketch-and-solve Gaussian": ("sketch_and_solve", "gaussian"),
        "regkit sketch-and-solve Rademacher": ("sketch_and_solve", "rademacher"),
    }
    for name, (method, sketch) in methods.items():
        rows = None
        if sketch == "count":  # no l-inf size: the SRHT's, for a like-for-like radius
            rows = sketch_size(n, d, EPS, DELTA, "srht")
        model = SketchedLinearRegression(
            sketch,
            method=method,
            n_sketch_rows=rows,
            eps=EPS,
            delta=DELTA,
            fit_intercept=False,
            random_state=0,
        )
        yield name, model


def speed_table(sizes, problems, repeats):
    rows = []
    for n, d in sizes:
        for index, (coherent, condition) in enumerate(problems):
            A, b, x_star = make_sketching_problem(
                n,
                d,
                coherent=coherent,
                condition_number=condition,
                residual_norm=RESIDUAL_NORM,
                random_state=0,
            )
            problem = {
                "n": n,
                "d": d,
                "rows": "coherent" if coherent else "incoherent",
                "cond": f"{condition:.0e}",
            }
            vector = np.ones(d)
            read_seconds, _ = timed(lambda A=A, v=vector: A @ v, 5)
            sigma_min = 1.0 / condition
            reference = None
            entries = [(name, None, func) for name, func in anchors(A, b).items()]
            entries += [(name, model, None) for name, model in regkit_methods(n, d)]
            for name, model, func in entries:
                m = None
                if model is not None:
                    method = model.method
                    sketch = model.sketch if model.sketch != "auto" else "sparse_sign"
                    if method == "sketch_and_solve" and sketch in {"gaussian", "rademacher"}:
                        m = sketch_size(n, d, EPS, DELTA, sketch)
                        if index > 0 or m * n * d > DENSE_BUDGET:
                            rows.append({**problem, "method": name, "m": m, "seconds": np.nan})
                            continue

                    def func(model=model, A=A, b=b):
                        return model.fit(A, b).coef_

                seconds, x = timed(func, repeats)
                if model is not None:
                    m = model.sketch_size_
                if reference is None:
                    reference = seconds
                # CountSketch has no radius of its own: compare with the SRHT's.
                radius = (
                    linf_radius(
                        m,
                        d,
                        DELTA,
                        residual_norm=RESIDUAL_NORM,
                        sigma_min=sigma_min,
                        sketch="srht" if sketch == "count" else sketch,
                    )
                    if model is not None and model.method_ == "sketch_and_solve"
                    else np.nan
                )
                rows.append(
                    {
                        **problem,
                        "method": name,
                        "m": m,
                        "seconds": seconds,
                        "ratio vs np.lstsq": seconds / reference,
                        "passes": seconds / read_seconds,
                        "rel err": np.linalg.norm(x - x_star) / np.linalg.norm(x_star),
                        "linf err / radius": np.abs(x - x_star).max() / radius,
                    }
                )
                print(
                    f"  n={n} d={d} {problem['rows']} cond={problem['cond']}: {name} "
                    f"{seconds:.3f}s",
                    flush=True,
                )
            del A, b
            gc.collect()
    return pd.DataFrame(rows)


def failure_table(n, d, seeds):
    """Fraction of seeds outside the radius, for each sketch and hard problem."""
    from regkit.sketching import get_sketch

    rows = []
    kinds = {
        "incoherent": {},
        "coherent": {"coherent": True},
        "spiky residual": {"spiky": True},
        "coherent + spiky": {"coherent": True, "spiky": True},
    }
    for kind, options in kinds.items():
        A, b, x_star = make_sketching_problem(n, d, random_state=0, **options)
        Ab = np.column_stack([A, b])
        for name in ["gaussian", "rademacher", "srht", "sparse_sign", "count"]:
            cls = get_sketch(name)
            reference = "srht" if name == "count" else name
            m = sketch_size(n, d, EPS, DELTA, reference)
            radius = linf_radius(m, d, DELTA, sketch=reference)
            start = time.perf_counter()
            failures = 0
            for seed in range(seeds):
                SAb = cls(m, random_state=seed).apply(Ab)
                x = np.linalg.lstsq(SAb[:, :-1], SAb[:, -1], rcond=None)[0]
                failures += np.abs(x - x_star).max() > radius
            upper = beta.ppf(0.95, failures + 1, seeds - failures) if failures < seeds else 1.0
            rows.append(
                {
                    "problem": kind,
                    "sketch": name,
                    "m": m,
                    "failures": f"{failures}/{seeds}",
                    "rate": failures / seeds,
                    "95% upper": upper,
                    "seconds per seed": (time.perf_counter() - start) / seeds,
                }
            )
            print(f"  failures {kind} {name}: {failures}/{seeds}", flush=True)
    return pd.DataFrame(rows)


# One process per version of regkit: reads one job per line, answers in JSON.
AB_WORKER = """
import json, sys, time
import numpy as np
from regkit.sketching import SketchedLinearRegression, make_sketching_problem
cache = {}
for line in sys.stdin:
    job = json.loads(line)
    key = (job["n"], job["d"], job["coherent"], job["cond"])
    if key not in cache:
        cache.clear()
        cache[key] = make_sketching_problem(
            job["n"], job["d"], coherent=job["coherent"], condition_number=job["cond"],
            residual_norm=job["residual"], random_state=0)
    A, b, x_star = cache[key]
    model = SketchedLinearRegression(
        job["sketch"], method=job["method"], fit_intercept=False, random_state=0)
    start = time.perf_counter()
    model.fit(A, b)
    seconds = time.perf_counter() - start
    error = float(np.linalg.norm(model.coef_ - x_star) / np.linalg.norm(x_star))
    print(json.dumps({"seconds": seconds, "rel_err": error}), flush=True)
"""

AB_METHODS = {
    "precondition (sparse sign)": ("precondition", "auto"),
    "sketch-and-solve SRHT": ("sketch_and_solve", "srht"),
    "sketch-and-solve sparse sign": ("sketch_and_solve", "sparse_sign"),
}


def _worker(path):
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": os.path.abspath(path)}
    return subprocess.Popen(
        [sys.executable, "-c", AB_WORKER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )


def _ask(worker, job):
    import json

    worker.stdin.write(json.dumps(job) + "\n")
    worker.stdin.flush()
    return json.loads(worker.stdout.readline())


def ab_table(other_path, sizes, problems, repeats):
    """This checkout against another one, interleaved fit by fit (ABBA)."""
    this_path = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    workers = {"this": _worker(this_path), "other": _worker(other_path)}
    rows = []
    try:
        for n, d in sizes:
            for coherent, condition in problems:
                for name, (method, sketch) in AB_METHODS.items():
                    job = {
                        "n": n,
                        "d": d,
                        "coherent": coherent,
                        "cond": condition,
                        "residual": RESIDUAL_NORM,
                        "method": method,
                        "sketch": sketch,
                    }
                    results = {"this": [], "other": []}
                    for side in ("this", "other"):  # warm-up: data, imports, JIT
                        _ask(workers[side], job)
                    for repeat in range(repeats):
                        order = ("this", "other") if repeat % 2 == 0 else ("other", "this")
                        for side in order:
                            results[side].append(_ask(workers[side], job))
                    this = float(np.median([r["seconds"] for r in results["this"]]))
                    other = float(np.median([r["seconds"] for r in results["other"]]))
                    rows.append(
                        {
                            "n": n,
                            "d": d,
                            "rows": "coherent" if coherent else "incoherent",
                            "cond": f"{condition:.0e}",
                            "method": name,
                            "this s": this,
                            "other s": other,
                            "this / other": this / other,
                            "this rel err": results["this"][-1]["rel_err"],
                            "other rel err": results["other"][-1]["rel_err"],
                        }
                    )
                    print(f"  {name} n={n} d={d}: {this:.3f} s / {other:.3f} s", flush=True)
    finally:
        for worker in workers.values():
            worker.stdin.close()
            worker.wait()
    return pd.DataFrame(rows)


def markdown(frame):
    """A markdown table (no tabulate dependency), numbers to 3 significant digits."""

    def cell(value):
        if isinstance(value, float) and value.is_integer() and abs(value) >= 100:
            return str(int(value))  # row counts (a float column when NaN is present)
        return f"{value:.3g}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(map(str, frame.columns)) + " |"]
    lines.append("|" + "---|" * len(frame.columns))
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(False)]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, few seeds")
    parser.add_argument("--full-grid", action="store_true", help="all 4 (rows, cond) pairs")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n", type=int, nargs="+", help="only these n (e.g. --n 1048576)")
    parser.add_argument("--d", type=int, nargs="+", help="only these d (e.g. --d 50 200)")
    parser.add_argument("--skip-failures", action="store_true", help="speed table only")
    parser.add_argument(
        "--against", metavar="PATH", help="compare with the regkit package found in PATH"
    )
    args = parser.parse_args(argv)
    if args.quick:
        sizes, seeds, (fn, fd) = [(1 << 14, 20)], 20, (1 << 12, 10)
    else:
        sizes = [(1 << 18, 50), (1 << 18, 200), (1 << 20, 50), (1 << 20, 200)]
        seeds, (fn, fd) = 100, (1 << 13, 20)
    if args.n or args.d:
        ns = args.n or sorted({n for n, _ in sizes})
        ds = args.d or sorted({d for _, d in sizes})
        sizes = [(n, d) for n in ns for d in ds]
    problems = [(False, 1e2), (True, 1e10)]
    if args.full_grid:
        problems = [(False, 1e2), (True, 1e2), (False, 1e10), (True, 1e10)]
    from threadpoolctl import threadpool_info

    for pool in threadpool_info():
        print(
            f"# {pool['internal_api']} {pool['version']} {pool.get('architecture')} "
            f"threads={pool['num_threads']} ({os.path.basename(pool['filepath'])})"
        )
    print(f"# OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')}", flush=True)
    if args.against:
        print(f"== this checkout against {args.against} (interleaved, medians)", flush=True)
        print()
        print(markdown(ab_table(args.against, sizes, problems, args.repeats)))
        return
    # BLAS uses every core for the anchors; let the DCT of the SRHT do the same.
    with scipy.fft.set_workers(os.cpu_count()):
        print("== speed and accuracy", flush=True)
        speed = speed_table(sizes, problems, args.repeats)
        failures = None
        if not args.skip_failures:
            print(f"== failure rates (n={fn}, d={fd}, eps={EPS}, delta={DELTA})", flush=True)
            failures = failure_table(fn, fd, seeds)
    print()
    print(markdown(speed))
    if failures is not None:
        print()
        print(markdown(failures))


if __name__ == "__main__":
    main()
