"""CS-IB against the MSE-trained NeuralRegressor: accuracy, FGSM robustness, cost.

Both models get the same network (encoder, 32-wide representation, decoder; for
the MSE model the same widths as hidden layers), the same optimiser, epochs, batch
size and early stopping, on standardised inputs, with 5 seeds per dataset. The
table reports medians over seeds of the clean test RMSE, the test RMSE under FGSM
attacks of radius 0.05 and 0.1 (l-infinity, standardised input units) and the
seconds per training epoch, with ratios CS-IB / MSE. A second table times one
training step (forward, loss, backward) for growing batch sizes: the kernels are
N x N, so CS-IB's step grows quadratically with the batch.

The defaults (``beta=0.01``, stochastic ``t``, ``sigma_x=1``, ``sigma_y=2`` standard
deviations of ``y``) are the best single setting found for the three datasets; the
search and the table are in docs/user_guide/csib.rst.

Run ``python benchmarks/bench_csib.py`` (1 minute on an idle core, 5 on busy ones) or
``--quick`` for a smoke run.
"""

import argparse
import time

import numpy as np
import pandas as pd
import torch
from sklearn.datasets import make_friedman1
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from regkit.datasets import load_diabetes, load_randhie
from regkit.nn import fgsm_rmse
from regkit.regression import CSIBRegressor, NeuralRegressor

EPS = (0.05, 0.1)
ENCODER, REPRESENTATION, DECODER = (64,), 32, (64,)


def datasets(quick):
    friedman_X, friedman_y = make_friedman1(n_samples=1500, noise=1.0, random_state=0)
    randhie_X, randhie_y = load_randhie(return_X_y=True)
    rows = np.random.default_rng(0).choice(len(randhie_X), 3000, replace=False)
    data = {
        "diabetes": load_diabetes(return_X_y=True),
        "friedman1": (friedman_X, friedman_y),
        "randhie (3000 rows)": (randhie_X.iloc[rows], randhie_y.iloc[rows]),
    }
    data = {name: (np.asarray(X, float), np.asarray(y, float)) for name, (X, y) in data.items()}
    if quick:
        data = {name: (X[:400], y[:400]) for name, (X, y) in data.items()}
    return data


def models(seed, beta, max_epochs, batch_size, stochastic=False, sigma_y="median"):
    engine = {
        "max_epochs": max_epochs,
        "batch_size": batch_size,
        "learning_rate": 1e-3,
        "early_stopping": True,
        "validation_fraction": 0.15,
        "n_iter_no_change": 20,
        "device": "cpu",
        "random_state": seed,
    }
    return {
        "CS-IB": CSIBRegressor(
            ENCODER,
            representation_size=REPRESENTATION,
            decoder_layer_sizes=DECODER,
            beta=beta,
            stochastic=stochastic,
            sigma_y=sigma_y,
            **engine,
        ),
        "MSE": NeuralRegressor((*ENCODER, REPRESENTATION, *DECODER), **engine),
    }


def run_accuracy(data, seeds, beta, max_epochs, batch_size, stochastic, sigma_y):
    rows = []
    for name, (X, y) in data.items():
        for seed in range(seeds):
            X_train, X_test, y_train, y_test = train_test_split(
                X, y, test_size=0.25, random_state=seed
            )
            scaler = StandardScaler().fit(X_train)
            X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
            for model_name, model in models(
                seed, beta, max_epochs, batch_size, stochastic, sigma_y
            ).items():
                model.fit(X_train, y_train)
                clean, *attacked = fgsm_rmse(model, X_test, y_test, eps=(0.0, *EPS))
                seconds = np.median([record["seconds"] for record in model.history_])
                rows.append(
                    {
                        "dataset": name,
                        "model": model_name,
                        "seed": seed,
                        "clean": clean,
                        **{f"fgsm {eps}": value for eps, value in zip(EPS, attacked)},
                        "s/epoch": seconds,
                        "epochs": model.n_iter_,
                    }
                )
            print(f"  {name} seed {seed} done", flush=True)
    return pd.DataFrame(rows)


def summarise(results):
    medians = results.groupby(["dataset", "model"]).median(numeric_only=True).drop(columns="seed")
    table = medians.unstack("model")
    columns = {}
    for metric in ["clean", *(f"fgsm {eps}" for eps in EPS), "s/epoch"]:
        columns[f"{metric} CS-IB"] = table[(metric, "CS-IB")]
        columns[f"{metric} MSE"] = table[(metric, "MSE")]
        columns[f"{metric} ratio"] = table[(metric, "CS-IB")] / table[(metric, "MSE")]
    return pd.DataFrame(columns)


def step_seconds(batch_sizes, n_features=10, repeats=5):
    """Seconds of one training step (forward, loss, backward) per batch size."""
    rng = np.random.default_rng(0)
    rows = []
    for batch_size in batch_sizes:
        X = rng.standard_normal((batch_size, n_features))
        y = X[:, 0] + rng.standard_normal(batch_size)
        row = {"batch size": batch_size}
        for name, model in models(0, 0.01, 1, batch_size).items():
            model.fit(X, y)  # builds the module and the target scaling
            X_t = torch.as_tensor(X, dtype=torch.float32)
            y_t = torch.as_tensor((y[:, None] - model.y_mean_) / model.y_scale_).float()
            module = model.module_.train()
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                model._loss(module, X_t, y_t, None).backward()
                times.append(time.perf_counter() - start)
            row[f"{name} ms/step"] = 1e3 * np.median(times)
        row["ratio"] = row["CS-IB ms/step"] / row["MSE ms/step"]
        rows.append(row)
    return pd.DataFrame(rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small data, 2 seeds, 20 epochs")
    parser.add_argument("--beta", type=float, default=0.01, help="CS-IB compression weight")
    parser.add_argument(
        "--deterministic", action="store_true", help="deterministic representation t"
    )
    parser.add_argument(
        "--sigma-y", default="2.0", help='target kernel width (std of y) or "median"'
    )
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    stochastic = not args.deterministic
    sigma_y = args.sigma_y if args.sigma_y == "median" else float(args.sigma_y)
    seeds = args.seeds or (2 if args.quick else 5)
    max_epochs = 20 if args.quick else 200
    print(
        f"CS-IB: beta={args.beta}, stochastic={stochastic}, sigma_x=1, sigma_y={sigma_y}, "
        f"sigma_t=median; seeds={seeds}, "
        f"max_epochs={max_epochs} (early stopping, patience 20), batch 128, Adam lr 1e-3, "
        f"torch threads={args.threads}"
    )
    results = run_accuracy(
        datasets(args.quick), seeds, args.beta, max_epochs, 128, stochastic, sigma_y
    )
    pd.set_option("display.width", 250)
    print("\nTest RMSE (clean and FGSM), seconds per epoch: medians over seeds")
    print(summarise(results).round(3).to_string())
    batch_sizes = [64, 256] if args.quick else [64, 128, 256, 512, 1024, 2048]
    print("\nOne training step (10 features), median of 5")
    print(step_seconds(batch_sizes).round(2).to_string(index=False))


if __name__ == "__main__":
    main()
