"""SupReMix against its contrastive baselines and the supervised deep regressors.

Five models share one encoder (an MLP with a 128-wide hidden layer and a 64-wide
embedding layer, ReLU), one optimiser (Adam, batch 128) and one budget:

- ``SupReMix``, ``RNC``, ``SupCon``: :class:`~regkit.regression.SupReMixRegressor`
  with ``loss="supremix"``, ``"rnc"`` and ``"supcon"``; the same augmentations,
  projection head, ``PRETRAIN_EPOCHS`` epochs of contrastive pretraining at
  ``PRETRAIN_LR``, then the second stage (``head``; lr 1e-3 to fine-tune, 1e-2 for a
  linear probe) for up to
  ``MAX_EPOCHS`` epochs with early stopping;
- ``MSE``: :class:`~regkit.regression.NeuralRegressor` with hidden layers
  (128, 64), the same network without the projection head;
- ``HL-Gauss``: :class:`~regkit.regression.HistogramRegressor` on the same layers;

both supervised models train for up to ``PRETRAIN_EPOCHS + MAX_EPOCHS`` epochs with
the same early stopping (15% of the training rows held out, patience 20).

Data (offline), each split 75/25 at random per seed, inputs standardised:

- ``diabetes`` (scikit-learn, 442 rows, 10 features);
- ``friedman1`` (Friedman #1, 2,000 rows, 10 features, noise sd 1);
- ``randhie`` (statsmodels, doctor visits of the RAND health insurance experiment;
  a fixed random subsample of 4,000 of its 20,190 rows, 9 features): an
  **imbalanced** count target, 74% of the rows below 4 visits, a long tail up to 77.

Metrics on the test rows: RMSE, MAE, **rare MAE** (the MAE of the test rows whose
target falls in a *rare bin*: the training targets are cut into 20 equal-width
bins over their range, and a bin is rare when it holds fewer than 2% of the
training rows; test targets outside the training range count as rare; about 5% of
the rows of each dataset, on randhie 10.4 visits and more; the analogue of the
"few-shot" columns of the imbalanced-regression benchmarks), **ordinality** (the
Spearman correlation between the Euclidean distances of the embeddings of 2,000
fixed random pairs of test rows and the distances of their targets; the
embeddings are ``transform`` for the contrastive models and the last hidden
layer for the others) and seconds per epoch (median; ``pretrain s/epoch`` is the
contrastive stage).

Tables: medians over the seeds; then, paired by split, the median over seeds of
each model's MAE (and rare MAE) divided by SupReMix's on the same split, and the
number of seeds on which SupReMix had the lower one.

The SupReMix setting (``SUPREMIX``) was chosen with ``--search`` on seeds 100-102
(other splits and initialisations than the reported seeds 0-4) over the grids in
``SEARCH_ROUNDS``, ranked by the worst, over the datasets, of the median MAE
ratio to MSE. Round 3 (longer pretraining, the squared label distance) ran after
the reported run and kept the setting, so the reported run stands as it was. The
contrastive baselines share the head, augmentations, temperature (RNC: its
reference temperature 2 on unnormalised embeddings, as its scale differs) and
budget.

Reduced against the issue, to fit about 20 CPU-minutes in one process on the
shared 2-core box: small tabular datasets instead of the paper's image and text
benchmarks (and randhie subsampled to 4,000 rows), a 2-layer MLP encoder, 30
pretraining epochs instead of the reference's 100 (the second stage up to 150,
with early stopping). The reported run (5 seeds, one process, one thread) takes
about 4 CPU-minutes. Accuracy columns are deterministic given the seeds; the
seconds columns are single-run medians over epochs and seeds, noisy on a shared
machine, to be read as ratios.

Usage::

    python benchmarks/bench_supremix.py                     # 5 seeds, one process
    python benchmarks/bench_supremix.py --quick             # smoke run, 400 rows, 1 seed
    python benchmarks/bench_supremix.py --search 1          # a tuning round (seeds 100-102)
"""

import argparse
import itertools
import multiprocessing
import time
import warnings

import numpy as np
import pandas as pd
import torch
from scipy.stats import spearmanr
from sklearn.datasets import make_friedman1
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from regkit.datasets import load_diabetes, load_randhie
from regkit.regression import HistogramRegressor, NeuralRegressor, SupReMixRegressor

DATASETS = ("diabetes", "friedman1", "randhie")
IMBALANCED = "randhie"
ENCODER, EMBEDDING = (128,), 64
PRETRAIN_EPOCHS, PRETRAIN_LR, MAX_EPOCHS = 30, 1e-3, 150
# The chosen SupReMix setting (see --search); the baselines share all but the loss.
SUPREMIX = {"head": "finetune", "temperature": 0.5, "window": 0.5}
CONTRASTIVE = {"SupReMix": "supremix", "RNC": "rnc", "SupCon": "supcon"}
MODELS = (*CONTRASTIVE, "MSE", "HL-Gauss")
# A linear probe on a frozen encoder takes larger steps (the reference: 0.1).
SECOND_STAGE_LR = {"linear": 1e-2, "finetune": 1e-3}
# The tuning rounds of --search (each a grid); the second refines the first's best.
SEARCH_ROUNDS = {
    1: {"head": ["linear", "finetune"], "temperature": [0.2, 0.5], "window": [0.5, 1.0]},
    2: {
        "head": ["finetune"],
        "temperature": [0.5],
        "window": [0.5, 1.0],
        "pretrain_learning_rate": [1e-3, 3e-3],
        "augment_noise": [0.05, 0.1],
    },
    # Longer pretraining (the reference's 100 epochs) and the squared label distance.
    3: {
        "head": ["finetune"],
        "temperature": [0.5],
        "window": [0.5],
        "pretrain_epochs": [30, 100],
        "distance": ["l1", "l2"],
    },
}
SETTING_NAMES = sorted({name for grid in SEARCH_ROUNDS.values() for name in grid})
SEARCH_SEEDS = (100, 101, 102)
RARE_SHARE, N_BINS, N_PAIRS = 0.02, 20, 2000


def load(name, quick):
    """``(X, y)`` of a dataset as float arrays (the first 400 rows with ``quick``)."""
    if name == "diabetes":
        X, y = load_diabetes(return_X_y=True)
    elif name == "friedman1":
        X, y = make_friedman1(n_samples=2000, noise=1.0, random_state=0)
    else:
        X, y = load_randhie(return_X_y=True)
        rows = np.random.default_rng(0).choice(len(X), 4000, replace=False)
        X, y = np.asarray(X)[rows], np.asarray(y)[rows]
    X, y = np.asarray(X, float), np.asarray(y, float)
    return (X[:400], y[:400]) if quick else (X, y)


def make_model(label, seed, quick, setting=SUPREMIX):
    setting = dict(setting)
    pretrain = setting.pop("pretrain_epochs", PRETRAIN_EPOCHS)
    pretrain, max_epochs = (3, 10) if quick else (pretrain, MAX_EPOCHS)
    engine = {
        "batch_size": 128,
        "learning_rate": 1e-3,
        "early_stopping": True,
        "validation_fraction": 0.15,
        "n_iter_no_change": 20,
        "device": "cpu",
        "random_state": seed,
    }
    if label == "MSE":
        return NeuralRegressor((*ENCODER, EMBEDDING), max_epochs=pretrain + max_epochs, **engine)
    if label == "HL-Gauss":
        return HistogramRegressor((*ENCODER, EMBEDDING), max_epochs=pretrain + max_epochs, **engine)
    loss = CONTRASTIVE[label]
    engine["learning_rate"] = SECOND_STAGE_LR[setting["head"]]
    if loss == "rnc":  # its own temperature: scores are distances, not cosines
        setting["temperature"] = None
    return SupReMixRegressor(
        ENCODER,
        embedding_size=EMBEDDING,
        loss=loss,
        pretrain_epochs=pretrain,
        max_epochs=max_epochs,
        **{"pretrain_learning_rate": PRETRAIN_LR, **setting},
        **engine,
    )


def rare_rows(y_train, y_test):
    """Test rows whose target lies in a rare bin of the training targets (or outside)."""
    counts, edges = np.histogram(y_train, bins=N_BINS)
    rare_bins = np.flatnonzero(counts < RARE_SHARE * len(y_train))
    bins = np.clip(np.searchsorted(edges, y_test, side="right") - 1, 0, N_BINS - 1)
    outside = (y_test < edges[0]) | (y_test > edges[-1])
    return np.isin(bins, rare_bins) | outside


@torch.no_grad()
def embeddings(model, X):
    """The representation a probe would see: ``transform``, or the last hidden layer."""
    if isinstance(model, SupReMixRegressor):
        return model.transform(X)
    hidden = model.module_[:-1]  # the MLP without its output layer
    return hidden(torch.as_tensor(X, dtype=torch.float32)).double().numpy()


def ordinality(Z, y, seed):
    """Spearman correlation of embedding distances and target distances over fixed pairs."""
    rng = np.random.default_rng(seed)
    i, j = rng.integers(len(y), size=(2, N_PAIRS))
    keep = i != j
    i, j = i[keep], j[keep]
    return spearmanr(np.linalg.norm(Z[i] - Z[j], axis=1), np.abs(y[i] - y[j])).statistic


def evaluate(task):
    """Fit one model on one split; its test metrics and seconds per epoch."""
    dataset, seed, label, setting, quick = task
    torch.set_num_threads(1)
    X, y = load(dataset, quick)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=seed)
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    model = make_model(label, seed, quick, setting)
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence and histogram-support notices
        model.fit(X_train, y_train)
    errors = model.predict(X_test) - y_test
    rare = rare_rows(y_train, y_test)
    history = pd.DataFrame(model.history_)
    stage = history.get("stage", pd.Series(["fit"] * len(history)))
    pretrain = history["seconds"][stage == "pretrain"]
    return {
        "dataset": dataset,
        "model": label,
        "seed": seed,
        **{key: setting.get(key) for key in SETTING_NAMES},
        "rmse": np.sqrt(np.mean(errors**2)),
        "mae": np.mean(np.abs(errors)),
        "rare mae": np.mean(np.abs(errors[rare])) if rare.any() else np.nan,
        "rare rows": int(rare.sum()),
        "ordinality": ordinality(embeddings(model, X_test), y_test, seed),
        "s/epoch": history["seconds"][stage != "pretrain"].median(),
        "pretrain s/epoch": pretrain.median() if len(pretrain) else np.nan,
        "epochs": model.n_iter_,
    }


def run_tasks(tasks, jobs):
    if jobs <= 1:
        return pd.DataFrame([evaluate(task) for task in tasks])
    with multiprocessing.get_context("spawn").Pool(jobs) as pool:
        return pd.DataFrame(list(pool.imap_unordered(evaluate, tasks)))


METRICS = ["rmse", "mae", "rare mae", "ordinality", "s/epoch", "pretrain s/epoch"]


def medians(results):
    table = results.groupby(["dataset", "model"], sort=False)[METRICS].median()
    order = pd.MultiIndex.from_product([DATASETS, MODELS])
    return table.reindex([key for key in order if key in table.index])


def paired(results):
    """Per split, each model's MAE and rare MAE over SupReMix's: medians and SupReMix wins."""
    rows = []
    for metric in ("mae", "rare mae"):
        wide = results.pivot_table(index=["dataset", "seed"], columns="model", values=metric)
        ratio = wide.div(wide["SupReMix"], axis=0)
        for model in MODELS[1:]:
            by_dataset = ratio[model].groupby("dataset")
            wins = (ratio[model] > 1).groupby("dataset").sum()
            for dataset, value in by_dataset.median().items():
                rows.append(
                    {
                        "dataset": dataset,
                        "model": model,
                        f"{metric} / SupReMix": value,
                        f"{metric}: SupReMix wins": f"{wins[dataset]}/{by_dataset.size()[dataset]}",
                    }
                )
    frame = pd.DataFrame(rows).groupby(["dataset", "model"], sort=False).first()
    order = pd.MultiIndex.from_product([DATASETS, MODELS[1:]])
    return frame.reindex([key for key in order if key in frame.index])


def markdown(frame):
    """A pipe table of ``frame`` with its index as columns (4 significant digits)."""
    frame = frame.reset_index()
    cells = [
        [f"{v:.4g}" if isinstance(v, float) else str(v) for v in row]
        for row in frame.itertuples(index=False)
    ]
    header = [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in cells])


def goals(table):
    lines = []
    best_mae = table["mae"].groupby("dataset").idxmin().map(lambda key: key[1])
    wins = [dataset for dataset, model in best_mae.items() if model == "SupReMix"]
    lines.append(
        f"best median MAE: {dict(best_mae)} -> SupReMix best on {len(wins)} of "
        f"{len(best_mae)} (goal: at least 2): {'met' if len(wins) >= 2 else 'MISSED'}"
    )
    if IMBALANCED in best_mae:
        rare = table.loc[IMBALANCED, "rare mae"]
        lines.append(
            f"best median rare MAE on {IMBALANCED}: {rare.idxmin()} (goal: SupReMix): "
            f"{'met' if rare.idxmin() == 'SupReMix' else 'MISSED'}"
        )
    return "\n".join(lines)


def search(round_, jobs, quick):
    """Every setting of a grid on the search seeds, against MSE on the same splits."""
    grid = SEARCH_ROUNDS[round_]
    names = list(grid)
    settings = [dict(zip(names, values)) for values in itertools.product(*grid.values())]
    tasks = [(d, s, "MSE", {}, quick) for d in DATASETS for s in SEARCH_SEEDS]
    tasks += [
        (d, s, "SupReMix", g, quick) for g in settings for d in DATASETS for s in SEARCH_SEEDS
    ]
    results = run_tasks(tasks, jobs)
    mse = results[results["model"] == "MSE"].set_index(["dataset", "seed"])
    rows = results[results["model"] == "SupReMix"].set_index(["dataset", "seed"])
    for metric in ("mae", "rare mae"):
        rows[f"{metric} / MSE"] = rows[metric] / mse[metric].reindex(rows.index)
    medians = rows.reset_index().groupby([*names, "dataset"])[["mae / MSE", "rare mae / MSE"]]
    summary = medians.median().unstack("dataset")
    summary.columns = [f"{metric} {dataset}" for metric, dataset in summary.columns]
    summary["worst mae / MSE"] = summary[[f"mae / MSE {d}" for d in DATASETS]].max(axis=1)
    return summary.sort_values("worst mae / MSE")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="400 rows, 1 seed, few epochs")
    parser.add_argument("--seeds", type=int, default=None, help="number of seeds (default 5)")
    parser.add_argument("--jobs", type=int, default=1, help="fits in parallel processes")
    parser.add_argument(
        "--search", type=int, choices=sorted(SEARCH_ROUNDS), help="a tuning round (seeds 100-102)"
    )
    args = parser.parse_args()
    pd.set_option("display.width", 250)
    start = time.perf_counter()
    if args.search:
        print(f"Search round {args.search}, seeds {list(SEARCH_SEEDS)}: medians of SupReMix / MSE")
        print(markdown(search(args.search, args.jobs, args.quick)))
        print(f"\n{time.perf_counter() - start:.0f} s")
        return
    seeds = range(args.seeds or (1 if args.quick else 5))
    tasks = [(d, s, m, SUPREMIX, args.quick) for d in DATASETS for s in seeds for m in MODELS]
    results = run_tasks(tasks, args.jobs)
    table = medians(results)
    setting = {"pretrain_epochs": PRETRAIN_EPOCHS, "pretrain_learning_rate": PRETRAIN_LR}
    setting.update(SUPREMIX)
    print(
        f"SupReMix setting {setting}; seeds {list(seeds)}; "
        f"rare: bins with < {RARE_SHARE:.0%} of the training rows"
    )
    print("\nMedians over seeds (rare rows per split: ", end="")
    print(results.groupby("dataset")["rare rows"].median().to_dict(), ")")
    print(markdown(table))
    print("\nPaired by split: median over seeds of the ratio to SupReMix, seeds SupReMix won")
    print(markdown(paired(results)))
    print("\n" + goals(table))
    print(f"\n{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
