"""Greedy block coordinate descent against scikit-learn, skglm and celer.

Every timed row is a race at the same accuracy: each solver starts at tol=1e-6 and
its tol is divided by 10 until an independent check computed here from its
coefficients passes (a relative duality gap ``gap / P(0) <= 1e-6``, the dual point
being the rescaled residual; for MCP the relative stationarity), then every solver
is timed in interleaved rounds (order rotated each round, BLAS on one thread, after
a warm-up that also compiles numba kernels) and the median is reported with the
ratio regkit / fastest other solver.

Parts (``--parts``):

- ``lasso``: single Lasso fits at ``alpha_max / 20`` and ``/ 100`` on a dense AR(1)
  design (rho = 0.5, 5% true non-zeros, SNR 3) of 2000 x 500 and 10000 x 5000 and a
  sparse 1%-dense 20000 x 20000 design, against scikit-learn, skglm and celer.
- ``path``: the full path (100 alphas, ``eps = 1e-3``, scikit-learn's grid), every
  point at gap <= 1e-6: :func:`bcd_path` vs ``enet_path``, skglm's and celer's
  ``Lasso.path``, on the dense 2000 x 500 and the sparse 20000 x 20000 problem.
- ``cv``: :class:`BCDRegressorCV` (5 folds, the path's grid and tolerances) vs
  scikit-learn's and celer's ``LassoCV`` and skglm's path on the same folds.
- ``mcp``: MCP (gamma = 3, unit-norm columns) vs skglm's ``MCPRegression``.
- ``rules``: one run per greedy selection rule (working sets, fixed and variable
  blocks) showing their distinct choices and progress (issue #15).
- ``logistic``: L2 logistic regression vs scikit-learn's lbfgs, liblinear, saga.
- ``paper``: iterations to relative suboptimality 1e-6 for the rules, blocks and
  updates of Nutini, Laradji & Schmidt (2022) on problems like their A and E.

Every row also reports regkit's objective minus the best other solver's, relative to
the objective at 0 (negative: regkit's is lower).

Usage: python benchmarks/bench_bcd.py [--quick] [--repeats N] [--parts lasso,path,...]
       [--problems dense-small,dense-large,sparse] [--path-sparse-n N] [--plot FILE]
       [--anchors sklearn,skglm,celer]

``--problems`` selects the Lasso problems and ``--path-sparse-n`` shrinks the sparse
problem of the path, CV and MCP parts (the full run takes far longer than the single
fits); a reduced run says so in its command line.
"""

import argparse
import functools
import statistics
import time
import warnings

import numpy as np
import pandas as pd
import scipy.sparse as sp
import scipy.sparse.linalg
from scipy.special import expit, log_expit, xlogy
from sklearn.datasets import make_moons
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Lasso as SkLasso
from sklearn.linear_model import LassoCV, LogisticRegression, enet_path
from sklearn.model_selection import KFold
from threadpoolctl import threadpool_limits

from regkit.linear_model import BCDLogisticRegression, BCDRegressor, BCDRegressorCV, bcd_path
from regkit.linear_model._label_propagation import knn_graph
from regkit.optim import L1, MCP, BCDSolver, GraphQuadratic, LeastSquares

try:  # benchmark-only anchors: pip install regkit[bench]
    import skglm
except ImportError:
    skglm = None
try:
    import celer
    import celer.homotopy
except ImportError:
    celer = None

TARGET = 1e-6
# scikit-learn's Lasso solvers race unless --anchors leaves them out.
SKLEARN = True


def selected(solvers):
    """``solvers`` without scikit-learn's entry when it is not raced."""
    return {name: f for name, f in solvers.items() if SKLEARN or name != "sklearn"}


# --- data ---------------------------------------------------------------------------
def ar_design(n, p, rho=0.5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    for j in range(1, p):  # AR(1) across columns; data generation only
        X[:, j] = rho * X[:, j - 1] + np.sqrt(1 - rho**2) * X[:, j]
    return np.asfortranarray(X), rng


def lasso_data(kind, n, p, seed=0):
    if kind == "dense":
        X, rng = ar_design(n, p, seed=seed)
    else:
        rng = np.random.default_rng(seed)
        X = sp.random(n, p, density=0.01, format="csc", random_state=rng,
                      data_rvs=rng.standard_normal)  # fmt: skip
    w = np.zeros(p)
    support = rng.choice(p, max(1, p // 20), replace=False)
    w[support] = rng.standard_normal(len(support))
    y = X @ w
    y = y + rng.standard_normal(n) * np.std(y) / 3
    return X, y


def lasso_primal(X, y, w, alpha):
    """The Lasso objective relative to its value at 0."""
    r = y - X @ w
    return (r @ r / 2 + len(y) * alpha * np.abs(w).sum()) / (y @ y / 2)


def lasso_relgap(X, y, w, alpha, intercept=0.0):
    n = len(y)
    r = y - X @ w - intercept
    primal = r @ r / (2 * n) + alpha * np.abs(w).sum()
    scale = min(1.0, n * alpha / max(np.max(np.abs(X.T @ r)), 1e-300))
    nu = scale * r
    dual = (nu @ y - 0.5 * nu @ nu) / n
    return (primal - dual) / (y @ y / (2 * n))


def path_relgap(X, y, alphas, coefs):
    """Worst relative gap over the path points (coefs: (n_features, n_alphas))."""
    return max(lasso_relgap(X, y, coefs[:, k], a) for k, a in enumerate(alphas))


def mcp_value(t, alpha, gamma):
    t = np.abs(t)
    return np.where(t <= gamma * alpha, alpha * t - t * t / (2 * gamma), gamma * alpha**2 / 2)


def mcp_objective(X, y, w, alpha, gamma):
    """The MCP objective relative to its value at 0."""
    r = y - X @ w
    return (r @ r / 2 + len(y) * mcp_value(w, alpha, gamma).sum()) / (y @ y / 2)


def mcp_stationarity(X, y, w, alpha, gamma):
    """Largest violation of ``0 in grad + d mcp`` relative to its value at 0."""
    n = len(y)
    grad = -X.T @ (y - X @ w) / n
    slope = np.sign(w) * np.maximum(alpha - np.abs(w) / gamma, 0.0)
    viol = np.where(w != 0, grad + slope, np.maximum(np.abs(grad) - alpha, 0.0))
    zero = np.maximum(np.abs(X.T @ y / n) - alpha, 0.0)
    return np.max(np.abs(viol)) / max(np.max(zero), 1e-300)


def logistic_data(n, p, seed=0):
    X, rng = ar_design(n, p, seed=seed)
    w = rng.standard_normal(p) / np.sqrt(p)
    y = np.where(rng.uniform(size=n) < expit(3 * X @ w), 1, -1)
    return np.ascontiguousarray(X), y


def logistic_relgap(X, y, w, C):
    n = len(y)
    lam = 1.0 / (C * n)
    z = y * (X @ w)
    primal = -np.mean(log_expit(z)) + 0.5 * lam * w @ w
    theta = expit(-z)  # the dual point -loss'(z); the L2 conjugate needs no rescaling
    dual = -np.mean(xlogy(theta, theta) + xlogy(1 - theta, 1 - theta))
    u = X.T @ (theta * y) / n
    dual -= u @ u / (2 * lam)
    return (primal - dual) / np.log(2)


def sklearn_alphas(X, y, n_alphas=100, eps=1e-3):
    """scikit-learn's automatic grid (no intercept)."""
    alpha_max = np.max(np.abs(X.T @ y)) / len(y)
    return np.geomspace(alpha_max, alpha_max * eps, n_alphas)


def markdown(df, digits=3):
    """A DataFrame as a markdown table (floats rounded), without extra dependencies."""

    def cell(v, column):
        if isinstance(v, float):
            scientific = column.startswith("obj.")  # differences near rounding level
            return "nan" if np.isnan(v) else f"{v:.1e}" if scientific else f"{v:.{digits}f}"
        return str(v)

    lines = ["| " + " | ".join(map(str, df.columns)) + " |",
             "|" + "|".join("---" for _ in df.columns) + "|"]  # fmt: skip
    lines += ["| " + " | ".join(cell(v, c) for v, c in zip(row, df.columns)) + " |"
              for row in df.itertuples(index=False)]  # fmt: skip
    return "\n".join(lines)


# --- protocol ------------------------------------------------------------------------
def calibrate(run, check, max_tries=5):
    """Loosest tol (1e-6 / 10^k) whose result passes ``check``: (tol, value, result)."""
    tol = 1e-6
    run(tol)  # warm-up: imports, numba kernels, caches
    for _ in range(max_tries):
        result = run(tol)
        value = check(result)
        if value <= TARGET:
            return tol, value, result
        tol /= 10
    return None, value, result


def race(solvers, repeats):
    """Interleaved timing. ``solvers``: name -> (run(tol), check(result)).

    Returns name -> (median seconds or NaN, tol, check value, result at that tol).
    """
    tols = {name: calibrate(run, check) for name, (run, check) in solvers.items()}
    times = {name: [] for name in solvers}
    names = [name for name in solvers if tols[name][0] is not None]
    for r in range(repeats):
        order = names[r % len(names) :] + names[: r % len(names)] if names else []
        for name in order:
            start = time.perf_counter()
            solvers[name][0](tols[name][0])
            times[name].append(time.perf_counter() - start)
    return {
        name: (statistics.median(times[name]) if times[name] else float("nan"), *tols[name])
        for name in solvers
    }


def race_row(row, solvers, repeats, objective=None):
    """Race ``solvers`` into ``row``; with ``objective(result)`` (relative to P(0)), also
    regkit's objective minus the best one found (negative: regkit's is lower)."""
    results = race(solvers, repeats)
    for name, (secs, tol, value, _) in results.items():
        row[name] = secs
        print(f"  {row['problem']} {row.get('alpha', '')} {name}: {secs:.3f}s tol={tol} "
              f"check={value:.1e}", flush=True)  # fmt: skip
    anchors = [row[k] for k in solvers if k != "regkit"]
    row["regkit / fastest"] = row["regkit"] / np.nanmin(anchors) if anchors else np.nan
    if objective is not None:
        values = {name: objective(res[3]) for name, res in results.items()}
        others = [v for name, v in values.items() if name != "regkit"]
        row["obj. regkit - best other (rel.)"] = values["regkit"] - min(others)
    return results


# --- Lasso: single fits, paths, CV -----------------------------------------------------
def single_solvers(X, y, alpha):
    makers = {
        "regkit": lambda t: BCDRegressor(alpha=alpha, l1_ratio=1.0, fit_intercept=False,
                                         tol=t, max_iter=10_000),
        "sklearn": lambda t: SkLasso(alpha=alpha, fit_intercept=False, tol=t, max_iter=100_000),
    }  # fmt: skip
    makers = selected(makers)
    if skglm is not None:
        makers["skglm"] = lambda t: skglm.Lasso(alpha=alpha, fit_intercept=False, tol=t)
    if celer is not None:
        makers["celer"] = lambda t: celer.Lasso(alpha=alpha, fit_intercept=False, tol=t)
    check = lambda coef: lasso_relgap(X, y, coef, alpha)  # noqa: E731
    return {name: (lambda t, m=m: m(t).fit(X, y).coef_.ravel(), check)
            for name, m in makers.items()}  # fmt: skip


def problem_sizes(quick, problems, path_sparse_n=None):
    """``{part: {key: (kind, n, p)}}``: the selected problems, the sparse one of the path,
    CV and MCP parts optionally smaller (``path_sparse_n`` rows and columns)."""
    if quick:
        sizes = {"dense-small": ("dense", 500, 200), "dense-large": ("dense", 1000, 1000),
                 "sparse": ("sparse", 2000, 2000)}  # fmt: skip
    else:
        sizes = {"dense-small": ("dense", 2000, 500), "dense-large": ("dense", 10000, 5000),
                 "sparse": ("sparse", 20000, 20000)}  # fmt: skip
    sizes = {key: sizes[key] for key in problems}
    later = dict(sizes)
    if path_sparse_n and "sparse" in later:
        later["sparse"] = ("sparse", path_sparse_n, path_sparse_n)
    later.pop("dense-large", None)
    return {"lasso": sizes, "path": later}


def lasso_problems(sizes, part="path"):
    return [(key, *size) for key, size in sizes[part].items()]


def lasso_part(sizes, repeats):
    rows = []
    for _, kind, n, p in lasso_problems(sizes, "lasso"):
        X, y = lasso_data(kind, n, p)
        alpha_max = np.max(np.abs(X.T @ y)) / n
        for div in (20, 100):
            alpha = alpha_max / div
            row = {"problem": f"{kind} {n}x{p}", "alpha": f"max/{div}"}
            objective = functools.partial(lasso_primal, X, y, alpha=alpha)
            race_row(row, single_solvers(X, y, alpha), repeats, objective)
            rows.append(row)
    return pd.DataFrame(rows)


def path_solvers(X, y, alphas):
    check = lambda coefs: path_relgap(X, y, alphas, coefs)  # noqa: E731
    runs = {
        "regkit": lambda t: bcd_path(X, y, l1_ratio=1.0, alphas=alphas, tol=t,
                                     max_iter=10_000)[1],
        "sklearn": lambda t: enet_path(X, y, l1_ratio=1.0, alphas=alphas, tol=t,
                                       max_iter=100_000)[1],
    }  # fmt: skip
    runs = selected(runs)
    if skglm is not None:
        runs["skglm"] = lambda t: skglm.Lasso(fit_intercept=False, tol=t).path(X, y, alphas)[1]
    if celer is not None:
        runs["celer"] = lambda t: celer.Lasso(fit_intercept=False, tol=t).path(X, y, alphas)[1]
    return {name: (run, check) for name, run in runs.items()}


def path_part(sizes, repeats):
    rows, tols = [], {}
    for key, kind, n, p in lasso_problems(sizes):
        X, y = lasso_data(kind, n, p)
        alphas = sklearn_alphas(X, y)
        row = {"problem": f"{kind} {n}x{p}", "alpha": "100 alphas"}
        solvers = path_solvers(X, y, alphas)
        results = race(solvers, repeats)
        tols[key] = {name: tol for name, (_, tol, _, _) in results.items()}
        for name, (secs, tol, value, _) in results.items():
            row[name] = secs
            print(f"  path {row['problem']} {name}: {secs:.3f}s tol={tol} worst gap={value:.1e}",
                  flush=True)  # fmt: skip
        row["regkit / fastest"] = row["regkit"] / np.nanmin(
            [row[k] for k in solvers if k != "regkit"]
        )
        # Per alpha: regkit's objective minus the best other solver's; the worst alpha.
        values = {name: np.array([lasso_primal(X, y, res[3][:, k], a)
                                  for k, a in enumerate(alphas)])
                  for name, res in results.items()}  # fmt: skip
        best_other = np.min([v for name, v in values.items() if name != "regkit"], axis=0)
        row["obj. regkit - best other (rel., worst alpha)"] = np.max(values["regkit"] - best_other)
        rows.append(row)
    return pd.DataFrame(rows), tols


def _centred_fold(X, y, train):
    """A training fold centred as scikit-learn's LinearModelCV does (sparse: X's offset)."""
    Xt, yt = X[train], y[train]
    x_mean = np.asarray(Xt.mean(axis=0)).ravel()
    y_mean = yt.mean()
    return Xt, yt - y_mean, x_mean, y_mean


def anchor_cv(name, X, y, alphas, folds, tol):
    """skglm's or celer's warm-started path on the same folds and grid, then the refit."""
    mse = np.zeros((len(alphas), len(folds)))
    for f, (train, test) in enumerate(folds):
        Xt, yt, x_mean, y_mean = _centred_fold(X, y, train)
        if name == "skglm":
            coefs = skglm.Lasso(fit_intercept=True, tol=tol).path(X[train], y[train], alphas)[1]
            coefs, intercepts = coefs[:-1], coefs[-1]
        elif sp.issparse(X):
            ones = np.ones(len(x_mean))
            coefs = celer.homotopy.celer_path(Xt, yt, "lasso", alphas=alphas, tol=tol,
                                              X_offset=x_mean, X_scale=ones)[1]  # fmt: skip
            intercepts = y_mean - x_mean @ coefs
        else:
            coefs = celer.Lasso(fit_intercept=False, tol=tol).path(Xt - x_mean, yt, alphas)[1]
            intercepts = y_mean - x_mean @ coefs
        pred = X[test] @ coefs + intercepts
        mse[:, f] = np.mean((pred - y[test][:, None]) ** 2, axis=0)
    best = alphas[int(np.argmin(mse.mean(axis=1)))]
    refit = (skglm.Lasso if name == "skglm" else celer.Lasso)(alpha=best, tol=tol).fit(X, y)
    return refit, best


def cv_part(sizes, repeats, path_tols):
    rows = []
    folds_of = KFold(5)
    for key, kind, n, p in lasso_problems(sizes):
        X, y = lasso_data(kind, n, p)
        folds = list(folds_of.split(X))
        tols = path_tols.get(key, {})
        makers = {
            "regkit": lambda t: BCDRegressorCV(l1_ratio=1.0, cv=folds_of, tol=t,
                                               max_iter=10_000),
            "sklearn": lambda t: LassoCV(cv=folds_of, tol=t, max_iter=100_000),
        }  # fmt: skip
        makers = selected(makers)
        chosen, times = {}, {name: [] for name in makers}
        # celer's LassoCV does not run with scikit-learn >= 1.7 (n_alphas): both anchors
        # run their own paths on the same folds and grid here.
        times.update({name: [] for name, mod in (("skglm", skglm), ("celer", celer)) if mod})
        for r in range(repeats + 1):  # the first round warms up
            for name in list(times):
                tol = tols.get(name) or 1e-6
                start = time.perf_counter()
                if name in ("skglm", "celer"):  # needs the grid: runs after regkit
                    model, chosen[name] = anchor_cv(name, X, y, chosen["_grid"], folds, tol)
                else:
                    model = makers[name](tol).fit(X, y)
                    chosen[name] = model.alpha_
                    if name == "regkit":
                        chosen["_grid"] = model.alphas_
                if r > 0:
                    times[name].append(time.perf_counter() - start)
        row = {"problem": f"{kind} {n}x{p}", "alpha": "CV 5 folds"}
        for name, ts in times.items():
            row[name] = statistics.median(ts)
            print(f"  cv {row['problem']} {name}: {row[name]:.3f}s alpha_={chosen[name]:.4g}",
                  flush=True)  # fmt: skip
        row["same alpha_"] = len({round(v, 12) for k, v in chosen.items() if k != "_grid"}) == 1
        row["regkit / fastest"] = row["regkit"] / np.nanmin(
            [row[k] for k in times if k != "regkit"]
        )
        rows.append(row)
    return pd.DataFrame(rows)


def mcp_solvers(X, y, alpha, gamma):
    makers = {
        "regkit": lambda t: BCDRegressor(penalty=MCP(alpha, gamma), fit_intercept=False, tol=t,
                                         max_iter=10_000),
    }  # fmt: skip
    if skglm is not None:
        makers["skglm"] = lambda t: skglm.MCPRegression(alpha=alpha, gamma=gamma,
                                                        fit_intercept=False, tol=t)  # fmt: skip
    check = lambda w: mcp_stationarity(X, y, w, alpha, gamma)  # noqa: E731
    return {name: (lambda t, m=m: m(t).fit(X, y).coef_, check) for name, m in makers.items()}


def mcp_part(sizes, repeats, gamma=3.0):
    rows = []
    for _, kind, n, p in lasso_problems(sizes):
        X, y = lasso_data(kind, n, p)
        norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=0)).ravel() if sp.issparse(X)
                        else (X**2).sum(axis=0)) / np.sqrt(n)  # fmt: skip
        X = X @ sp.diags_array(1 / norms) if sp.issparse(X) else np.asfortranarray(X / norms)
        X = sp.csc_array(X) if sp.issparse(X) else X
        alpha_max = np.max(np.abs(X.T @ y)) / n
        for div in (20, 100):
            alpha = alpha_max / div
            solvers = mcp_solvers(X, y, alpha, gamma)
            row = {"problem": f"{kind} {n}x{p}", "alpha": f"max/{div}"}
            objective = functools.partial(mcp_objective, X, y, alpha=alpha, gamma=gamma)
            race_row(row, solvers, repeats, objective)
            rows.append(row)
    return pd.DataFrame(rows)


# --- selection rules (issue #15) --------------------------------------------------------
def rules_part(quick):
    """Each greedy rule makes its own choice: working sets, variable and fixed blocks."""
    n, p = (300, 600) if quick else (1000, 2000)
    A, b = lasso_data("dense", n, p, seed=1)
    A = A * np.random.default_rng(1).uniform(0.2, 5.0, p)  # unequal column scales
    alpha = np.max(np.abs(A.T @ b)) / n / 20
    datafit = LeastSquares(A, b)
    ref = BCDSolver(tol=1e-12, max_iter=10_000).solve(datafit, L1(alpha))
    f_star = ref.history[-1]["objective"]
    f0 = ref.history[0]["objective"]
    rows = []
    settings = {"working set, newton": {}, "working set, gradient": {"update": "gradient"},
                "variable blocks (50), gradient": {"block_size": 50, "update": "gradient"},
                "fixed blocks (50), gradient": {"blocks": "fixed", "block_size": 50,
                                                "update": "gradient"}}  # fmt: skip
    for setting, kw in settings.items():
        first = {}
        for rule in ("gs", "gsl", "gsd", "gsq", "gs-q"):
            start = time.perf_counter()
            try:
                res = BCDSolver(selection=rule, tol=0.0,
                                max_iter=60 if "working" in setting else 400,
                                **kw).solve(datafit, L1(alpha))  # fmt: skip
            except ValueError:  # gsl in working sets: refused as an alias of gs-q
                first[rule] = None
                rows.append({"setting": setting, "rule": rule,
                             "iters to 1e-6": "refused (alias of gs-q)"})  # fmt: skip
                continue
            secs = time.perf_counter() - start
            obj = np.array([r["objective"] for r in res.history])
            rel = np.maximum((obj - f_star) / (f0 - f_star), 1e-16)
            hit = np.flatnonzero(rel <= TARGET)
            block = res.history[1]["block"]
            first[rule] = set(np.asarray(block).tolist()) if block is not None else None
            at = lambda k, rel=rel: f"{rel[min(k, len(rel) - 1)]:.2e}"  # noqa: E731
            rows.append({"setting": setting, "rule": rule, "rel. subopt. @1": at(1),
                         "@5": at(5), "@20": at(20),
                         "iters to 1e-6": int(hit[0]) if hit.size else f">{len(rel) - 1}",
                         "first block = gs-q's": None, "s": round(secs, 2)})  # fmt: skip
        for row in rows[-5:]:
            a, ref_block = first[row["rule"]], first["gs-q"]
            row["first block = gs-q's"] = None if a is None or ref_block is None else a == ref_block
    return pd.DataFrame(rows)


# --- logistic ----------------------------------------------------------------------------
def logistic_part(quick, repeats):
    problems = [(2000, 100)] if quick else [(5000, 100), (20000, 500)]
    C = 1.0
    rows = []
    for n, p in problems:
        X, y = logistic_data(n, p)
        check = lambda w, X=X, y=y: logistic_relgap(X, y, w, C)  # noqa: E731
        makers = {
            "regkit": lambda t: BCDLogisticRegression(C=C, fit_intercept=False, tol=t),
            "lbfgs": lambda t: LogisticRegression(C=C, fit_intercept=False, tol=t,
                                                  max_iter=10_000),
            "liblinear": lambda t: LogisticRegression(C=C, fit_intercept=False, tol=t,
                                                      solver="liblinear", max_iter=10_000),
        }  # fmt: skip
        solvers = {name: (lambda t, m=m, X=X, y=y: m(t).fit(X, y).coef_.ravel(), check)
                   for name, m in makers.items()}  # fmt: skip
        row = {"problem": f"dense {n}x{p}", "alpha": f"C={C}"}
        race_row(row, solvers, repeats)
        rows.append(row)
    return pd.DataFrame(rows)


# --- the paper's experiments -----------------------------------------------------------
def problem_a(n, p, seed=0):
    """Least squares built like the paper's problem A (sparse, badly scaled columns)."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, p)) + 1.0
    A *= 10.0 * rng.standard_normal(p)  # columns with very different scales
    A[rng.uniform(size=(n, p)) > 10 * np.log(n) / n] = 0.0
    w = np.zeros(p)
    support = rng.choice(p, p // 10, replace=False)
    w[support] = rng.standard_normal(len(support))
    b = A @ w + rng.standard_normal(n)
    A = sp.csc_array(A)
    datafit = LeastSquares(A, b)
    x_star = scipy.sparse.linalg.lsqr(A, b, atol=1e-15, btol=1e-15, iter_lim=100_000)[0]
    f_star = datafit.value(datafit.init_state(x_star[:, None]))
    return datafit, f_star


def problem_e(n_points, n_labels, seed=0):
    """Label propagation on a two-moons 5-NN graph (0/1 weights), like problem E."""
    X, y = make_moons(n_points, noise=0.05, random_state=seed)
    rng = np.random.default_rng(seed)
    labelled = rng.choice(n_points, n_labels, replace=False)
    unl = np.setdiff1d(np.arange(n_points), labelled)
    W = knn_graph(X, 5)
    degree = np.asarray(W[unl].sum(axis=1)).ravel()
    Q = sp.csr_array(sp.diags_array(degree) - W[unl][:, unl])
    c = np.asarray(W[unl][:, labelled] @ np.where(y[labelled] == 1, 1.0, -1.0))
    datafit = GraphQuadratic(Q, c)
    x_star = scipy.sparse.linalg.spsolve(sp.csc_array(Q), c)
    f_star = datafit.value(datafit.init_state(x_star[:, None]))
    return datafit, f_star


def run_config(datafit, f_star, max_iter, **kw):
    res = BCDSolver(tol=0.0, max_iter=max_iter, check_every=10**9, random_state=0, **kw).solve(
        datafit
    )
    obj = np.array([r["objective"] for r in res.history])
    rel = np.maximum((obj - f_star) / (obj[0] - f_star), 1e-16)
    hit = np.flatnonzero(rel <= TARGET)
    return rel, (int(hit[0]) if hit.size else None)


def paper_configs(tau):
    configs = []
    for update in ("gradient", "matrix"):
        for blocks in ("fixed", "variable"):
            for rule in ("cyclic", "random", "gs", "gsl", "gsd", "gsq"):
                configs.append((f"{rule} {blocks[:1].upper()}B {update}",
                                {"selection": rule, "blocks": blocks, "block_size": tau,
                                 "update": update}))  # fmt: skip
    return configs


GRAPH_CONFIGS = [
    ("red-black cyclic FB message-passing",
     {"selection": "cyclic", "blocks": "fixed", "partition": "red-black"}),
    ("forest-partition cyclic FB message-passing",
     {"selection": "cyclic", "blocks": "fixed", "partition": "forest"}),
    ("random forest VB message-passing", {"selection": "random", "blocks": "forest"}),
    ("greedy forest (GS) VB message-passing", {"selection": "gs", "blocks": "forest"}),
    ("greedy forest (GSL) VB message-passing", {"selection": "gsl", "blocks": "forest"}),
]  # fmt: skip


def paper_part(quick, plot):
    tau = 20 if quick else 50
    max_iter = 400 if quick else 3000
    problems = {
        "A (least squares)": problem_a(*((300, 600) if quick else (1000, 2000))),
        "E (label propagation)": problem_e(*((600, 30) if quick else (2000, 100))),
    }
    rows, curves = {}, {}
    for pname, (datafit, f_star) in problems.items():
        todo = paper_configs(tau) + (
            [(n, {**k, "update": "message-passing"}) for n, k in GRAPH_CONFIGS]
            if isinstance(datafit, GraphQuadratic) else []
        )  # fmt: skip
        for name, kw in todo:
            if kw.get("blocks") == "fixed" and "partition" not in kw:
                kw = {**kw, "partition": "sort"}
            start = time.perf_counter()
            rel, hit = run_config(datafit, f_star, max_iter, **kw)
            secs = time.perf_counter() - start
            rows.setdefault(name, {})[f"{pname}: iters to 1e-6"] = (
                hit if hit is not None else f">{max_iter}"
            )
            rows[name][f"{pname}: rel. subopt. @{max_iter}"] = f"{rel[-1]:.1e}"
            rows[name][f"{pname}: s"] = round(secs, 2)
            curves[(pname, name)] = rel
            print(f"  {pname} {name}: {hit} ({rel[-1]:.1e}) {secs:.1f}s", flush=True)
    table = pd.DataFrame.from_dict(rows, orient="index").astype(object).fillna("")
    if plot:
        save_plot(plot, problems, curves)
    return table


def save_plot(path, problems, curves):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # Colour: selection rule (or graph block scheme); line style: update;
    # line width: variable (thick) vs fixed (thin) blocks.
    schemes = ["cyclic", "random", "gs", "gsl", "gsd", "gsq", "red-black", "forest-partition",
               "random forest", "greedy forest (GS)", "greedy forest (GSL)"]  # fmt: skip
    styles = {"gradient": "--", "matrix": "-", "message-passing": "-."}
    fig, axes = plt.subplots(1, len(problems), figsize=(13, 5))
    for ax, pname in zip(axes, problems):
        for (pn, name), rel in curves.items():
            if pn != pname:
                continue
            scheme = max((sc for sc in schemes if name.startswith(sc + " ")), key=len)
            update = name.rsplit(" ", 1)[1]
            ax.semilogy(rel, styles[update], color=f"C{schemes.index(scheme)}",
                        lw=1.8 if " VB " in name else 0.9, label=name)  # fmt: skip
        ax.set(title=pname, xlabel="iteration", ylabel="(f - f*) / (f(0) - f*)")
        ax.axhline(TARGET, color="k", lw=0.5)
    axes[-1].legend(fontsize=6, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"convergence plot saved to {path}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small problems (seconds)")
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds per row")
    parser.add_argument("--parts", default="lasso,path,cv,mcp,rules,logistic,paper")
    parser.add_argument("--plot", default=None, help="save the paper part's curves here")
    parser.add_argument(
        "--problems",
        default="dense-small,dense-large,sparse",
        help="Lasso problems (the path, CV and MCP parts skip dense-large)",
    )
    parser.add_argument(
        "--path-sparse-n",
        type=int,
        default=None,
        help="rows = columns of the sparse problem in the path, CV, MCP parts",
    )
    parser.add_argument(
        "--anchors",
        default="sklearn,skglm,celer",
        help="anchors the Lasso parts race (logistic always races scikit-learn's); fewer "
        "for the largest problems, where one CV round of some anchor takes an hour",
    )
    args = parser.parse_args()
    global skglm, celer, SKLEARN
    warnings.simplefilter("ignore", ConvergenceWarning)
    missing = [name for name, mod in (("skglm", skglm), ("celer", celer)) if mod is None]
    if missing:
        print(f"not installed (skipped): {', '.join(missing)}; pip install regkit[bench]")
    anchors = set(filter(None, args.anchors.split(",")))
    skglm = skglm if "skglm" in anchors else None
    celer = celer if "celer" in anchors else None
    SKLEARN = "sklearn" in anchors
    # Every solver single-threaded: CD solvers are sequential anyway, and on a shared
    # 2-core machine multi-threaded BLAS on small blocks mostly measures contention.
    threadpool_limits(1)
    parts = args.parts.split(",")
    pd.set_option("display.width", 250)
    pd.set_option("display.max_columns", 30)
    path_tols = {}
    sizes = problem_sizes(args.quick, args.problems.split(","), args.path_sparse_n)
    if "lasso" in parts:
        print("== Lasso: seconds to relative duality gap <= 1e-6 (checked here)")
        print(markdown(lasso_part(sizes, args.repeats)))
    if "path" in parts or "cv" in parts:
        print("== Lasso path, 100 alphas: seconds until every point has gap <= 1e-6")
        table, path_tols = path_part(sizes, args.repeats)
        print(markdown(table))
    if "cv" in parts:
        print("== LassoCV, 5 folds x 100 alphas, each solver at its path tolerance")
        print(markdown(cv_part(sizes, max(1, args.repeats - 2), path_tols)))
    if "mcp" in parts:
        print("== MCP (gamma=3): seconds to relative stationarity <= 1e-6 (checked here)")
        print(markdown(mcp_part(sizes, args.repeats)))
    if "rules" in parts:
        print("== Selection rules: distinct choices and progress (Lasso, alpha_max/20)")
        print(markdown(rules_part(args.quick)))
    if "logistic" in parts:
        print("== L2 logistic: seconds to relative duality gap <= 1e-6 (checked here)")
        print(markdown(logistic_part(args.quick, args.repeats)))
    if "paper" in parts:
        print("== Paper (Nutini et al. 2022): iterations to relative suboptimality <= 1e-6")
        print(markdown(paper_part(args.quick, args.plot).reset_index(names="config")))


if __name__ == "__main__":
    main()
