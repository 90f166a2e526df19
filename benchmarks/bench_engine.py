"""The neural engine against a bare PyTorch loop, and NeuralRegressor against sklearn.

Part 1 trains the same MLP on the same standardised randhie data with regkit's engine
and with a hand-written minibatch loop (Adam, shuffled batches, one ``loss.item()`` per
batch as in every tutorial), alternating the two so machine noise hits both, and
prints the median seconds per epoch and their ratio (goal: <= 1.10). The engine's
epoch includes what the bare loop does not do: the divergence checks, the history
record, the stopping rule and callbacks.

Part 2 fits NeuralRegressor and scikit-learn's MLPRegressor (same architecture,
batch size, learning rate, early stopping) on diabetes and randhie over 5 seeds and
prints median test RMSE and fit seconds. MLPRegressor does not scale the target, so it
is also shown inside a TransformedTargetRegressor that does.

Usage: python benchmarks/bench_engine.py [--quick] [--only {overhead,accuracy}]
"""

import argparse
import statistics
import time
import warnings

import pandas as pd
import torch
from sklearn.compose import TransformedTargetRegressor
from sklearn.metrics import root_mean_squared_error
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from regkit.datasets import load_diabetes, load_randhie
from regkit.regression import NeuralRegressor

HIDDEN = (100, 100)
BATCH = 128
LR = 1e-3


def bare_torch_epochs(X, y, n_epochs, seed):
    """A hand-written training loop: the reference the engine must not be slower than."""
    torch.manual_seed(seed)
    layers, width = [], X.shape[1]
    for size in HIDDEN:
        layers += [torch.nn.Linear(width, size), torch.nn.ReLU()]
        width = size
    model = torch.nn.Sequential(*layers, torch.nn.Linear(width, 1))
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    X_t = torch.as_tensor(X, dtype=torch.float32)
    y_t = torch.as_tensor(((y - y.mean()) / y.std()).reshape(-1, 1), dtype=torch.float32)
    seconds = []
    for _ in range(n_epochs):
        start = time.perf_counter()
        order = torch.randperm(len(X_t))
        running = 0.0
        for begin in range(0, len(X_t), BATCH):
            idx = order[begin : begin + BATCH]
            loss = torch.nn.functional.mse_loss(model(X_t[idx]), y_t[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            running += loss.item()
        seconds.append(time.perf_counter() - start)
    return seconds


def engine_epochs(X, y, n_epochs, seed):
    model = NeuralRegressor(
        hidden_layer_sizes=HIDDEN,
        batch_size=BATCH,
        learning_rate=LR,
        max_epochs=n_epochs,
        n_iter_no_change=None,  # a fixed budget: time full epochs only
        device="cpu",
        random_state=seed,
    )
    start = time.perf_counter()
    model.fit(X, y)
    total = time.perf_counter() - start
    return [record["seconds"] for record in model.history_], total


def part_engine_overhead(quick):
    X, y = load_randhie(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    y = y.to_numpy(float)
    n_epochs, repeats = (3, 3) if quick else (10, 5)
    bare, engine, engine_fit = [], [], []
    for repeat in range(repeats):
        bare += bare_torch_epochs(X, y, n_epochs, repeat)
        seconds, total = engine_epochs(X, y, n_epochs, repeat)
        engine += seconds
        engine_fit.append(total / n_epochs)
    table = pd.DataFrame(
        {
            "bare torch loop": [statistics.median(bare)],
            "regkit engine (epoch)": [statistics.median(engine)],
            "regkit engine (whole fit / epochs)": [statistics.median(engine_fit)],
        },
        index=["median s/epoch"],
    )
    table["ratio epoch"] = table["regkit engine (epoch)"] / table["bare torch loop"]
    table["ratio whole fit"] = (
        table["regkit engine (whole fit / epochs)"] / table["bare torch loop"]
    )
    print(
        f"\n## Engine overhead: randhie {X.shape}, MLP {HIDDEN}, batch {BATCH}, "
        f"{repeats} repeats x {n_epochs} epochs, torch threads {torch.get_num_threads()}"
    )
    print(table.to_string(float_format=lambda v: f"{v:.4f}"))


def models(seed, max_epochs):
    common = {"hidden_layer_sizes": HIDDEN, "early_stopping": True, "random_state": seed}
    mlp = MLPRegressor(**common, max_iter=max_epochs, batch_size=BATCH, learning_rate_init=LR)
    return {
        "regkit NeuralRegressor": NeuralRegressor(
            **common, max_epochs=max_epochs, batch_size=BATCH, learning_rate=LR, device="cpu"
        ),
        "sklearn MLPRegressor": mlp,
        "sklearn MLPRegressor + scaled y": TransformedTargetRegressor(
            regressor=mlp, transformer=StandardScaler()
        ),
    }


def part_accuracy(quick):
    seeds = range(2 if quick else 5)
    max_epochs = 20 if quick else 200
    rows = []
    for name, loader in [("diabetes", load_diabetes), ("randhie", load_randhie)]:
        X, y = loader(return_X_y=True)
        if quick:
            X, y = X.iloc[:2000], y.iloc[:2000]
        results = {}
        for seed in seeds:
            X_train, X_test, y_train, y_test = train_test_split(
                X, y, test_size=0.25, random_state=seed
            )
            for model_name, model in models(seed, max_epochs).items():
                pipeline = make_pipeline(StandardScaler(), model)
                start = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    pipeline.fit(X_train, y_train)
                seconds = time.perf_counter() - start
                rmse = root_mean_squared_error(y_test, pipeline.predict(X_test))
                results.setdefault(model_name, []).append((rmse, seconds))
        for model_name, values in results.items():
            rmses, seconds = zip(*values)
            rows.append(
                {
                    "dataset": name,
                    "model": model_name,
                    "median test RMSE": statistics.median(rmses),
                    "median fit s": statistics.median(seconds),
                }
            )
    table = pd.DataFrame(rows)
    base = table[table.model == "regkit NeuralRegressor"].set_index("dataset")
    table["RMSE / regkit"] = table["median test RMSE"] / table.dataset.map(base["median test RMSE"])
    table["fit s / regkit"] = table["median fit s"] / table.dataset.map(base["median fit s"])
    print(f"\n## Accuracy: {len(seeds)} seeds (split and model seed), medians")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", choices=["overhead", "accuracy"], default=None)
    args = parser.parse_args()
    if args.only != "accuracy":
        part_engine_overhead(args.quick)
    if args.only != "overhead":
        part_accuracy(args.quick)


if __name__ == "__main__":
    main()
