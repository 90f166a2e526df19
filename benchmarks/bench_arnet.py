"""AR-Net against classic least-squares AR on the paper's sparse synthetic study.

Reproduces the sparse experiment of Triebe et al. (2019, Fig. 4 and 8) side by side:
a stationary AR(3) with coefficients [0.2, 0.3, -0.5] and unit Gaussian noise,
fitted with an over-specified order p, for n training rows.

Part 1 (accuracy): for n in {1e3, 1e4, 1e5} and p in {3, 10, 20, 50, 100, 200, 500,
1000} (p <= n / 5), the median over seeds of

- sTPE = 100 * sum|w_hat - w| / sum(|w_hat| + |w|) over all p coefficients, and
- one-step MSE on 5000 held-out steps of the same series (the noise variance is 1),

for ``ARNetRegressor(sparsity=3/p)`` with its defaults, numpy least squares
(``np.linalg.lstsq`` on the lag matrix with a constant) and statsmodels
``AutoReg(trend="c")`` (the same estimator as least squares; run only where it
takes under a minute). The ratio column is sTPE(AR-Net) / sTPE(least squares).

Part 2 (speed): fit seconds against p in {8, 32, 128, 512, 1024} at n = 1e5, median
over repeats, with the ratio AR-Net / least squares. Every model gets the same
float64 lag matrix (built outside the timer; AutoReg builds its own); torch and
BLAS run on one thread each, so that the comparison is fair on a shared machine.

Usage: python benchmarks/bench_arnet.py [--quick] [--seeds N]
"""

import argparse
import time
import warnings

import numpy as np
import pandas as pd
import torch
from threadpoolctl import threadpool_limits

from regkit.datasets import make_ar_process
from regkit.forecasting import ARNetRegressor, make_lag_features

TRUE = np.array([0.2, 0.3, -0.5])
N_TEST = 5000


def stpe(coef):
    true = np.zeros(len(coef))
    true[:3] = TRUE
    return 100 * np.abs(coef - true).sum() / (np.abs(coef).sum() + np.abs(true).sum())


def series(n, p, seed):
    y = make_ar_process(n + p + N_TEST, {1: 0.2, 2: 0.3, 3: -0.5}, random_state=seed)
    X, target = make_lag_features(y, p)
    return y[: n + p], X[:n], target[:n], X[n:], target[n:]


def fit_lstsq(X, target):
    design = np.column_stack([np.ones(len(X)), X])
    params = np.linalg.lstsq(design, target, rcond=None)[0]
    return params[1:], params[0]


def fit_autoreg(y, p):
    from statsmodels.tsa.ar_model import AutoReg

    params = AutoReg(y, lags=p, trend="c").fit().params
    return params[1:], params[0]


def fit_arnet(X, target, p, seed):
    model = ARNetRegressor(sparsity=3 / p if p > 3 else None, device="cpu", random_state=seed)
    model.fit(X, target)
    return model.coef_, model.intercept_


def timed(fn, *args):
    start = time.perf_counter()
    coef, intercept = fn(*args)
    return coef, intercept, time.perf_counter() - start


def autoreg_affordable(n, p):
    return n * p * p <= 2e8


def accuracy_table(ns, ps, seeds):
    rows = []
    for n in ns:
        for p in ps:
            if p > n / 5:
                continue
            results = {"AR-Net": [], "least squares": [], "AutoReg": []}
            for seed in seeds:
                y, X, target, X_test, target_test = series(n, p, seed)
                fits = {
                    "AR-Net": timed(fit_arnet, X, target, p, seed),
                    "least squares": timed(fit_lstsq, X, target),
                }
                if autoreg_affordable(n, p):
                    fits["AutoReg"] = timed(fit_autoreg, y, p)
                for name, (coef, intercept, seconds) in fits.items():
                    mse = np.mean((X_test @ coef + intercept - target_test) ** 2)
                    results[name].append((stpe(coef), mse, seconds))
            row = {"n": n, "p": p}
            for name, values in results.items():
                med = np.median(values, axis=0) if values else [np.nan] * 3
                row[f"sTPE {name}"] = med[0]
                row[f"MSE {name}"] = med[1]
            row["sTPE ratio AR-Net/LS"] = row["sTPE AR-Net"] / row["sTPE least squares"]
            rows.append(row)
            print(f"  n={n} p={p} done", flush=True)
    return pd.DataFrame(rows)


def speed_table(n, ps, repeats):
    rows = []
    for p in ps:
        times = {"AR-Net": [], "least squares": [], "AutoReg": []}
        for seed in range(repeats):
            y, X, target, _, _ = series(n, p, seed)
            times["AR-Net"].append(timed(fit_arnet, X, target, p, seed)[2])
            times["least squares"].append(timed(fit_lstsq, X, target)[2])
            if autoreg_affordable(n, p) and seed == 0:
                times["AutoReg"].append(timed(fit_autoreg, y, p)[2])
            del X
        row = {"n": n, "p": p}
        row.update({f"{k} s": np.median(v) if v else np.nan for k, v in times.items()})
        row["ratio AR-Net/LS"] = row["AR-Net s"] / row["least squares s"]
        rows.append(row)
        print(f"  timing p={p} done", flush=True)
    return pd.DataFrame(rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small grid, one seed")
    parser.add_argument("--seeds", type=int, default=None, help="seeds per cell")
    args = parser.parse_args()
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    if args.quick:
        ns, ps, speed_ps, n_speed = [1000, 10_000], [3, 20, 100], [8, 128], 10_000
        seeds, repeats = range(args.seeds or 1), 1
    else:
        ns, ps = [1000, 10_000, 100_000], [3, 10, 20, 50, 100, 200, 500, 1000]
        speed_ps, n_speed = [8, 32, 128, 512, 1024], 100_000
        seeds, repeats = range(args.seeds or 3), 2
    start = time.perf_counter()
    with threadpool_limits(1):
        accuracy = accuracy_table(ns, ps, list(seeds))
        speed = speed_table(n_speed, speed_ps, repeats)
    fmt = {"float_format": "{:.3g}".format, "index": False}
    print(f"\nsTPE and one-step test MSE, median over {len(seeds)} seeds")
    print(accuracy.to_string(**fmt))
    print(f"\nfit seconds at n = {n_speed}, median over {repeats} repeats (1 thread each)")
    print(speed.to_string(**fmt))
    print(f"\ntotal {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
