"""
===========================================================
Greedy block selection rules for coordinate descent
===========================================================

Block coordinate descent updates a few coordinates at a time. *Which* block it picks
matters as much as how it updates it: Nutini, Laradji & Schmidt (2022) show that
greedy rules which account for curvature -- Gauss-Southwell-Lipschitz (GSL,
``||g_b||^2 / L_b``) and Gauss-Southwell-Quadratic (GSQ, ``g_b' H_b^-1 g_b``) -- beat
cyclic and random selection and plain Gauss-Southwell (GS, ``||g_b||``), most of all
when the coordinates have very different scales. Here we reproduce that on a
least-squares problem with badly scaled, sparse columns (like the paper's problem
A), with :class:`~regkit.optim.BCDSolver`.
"""

# %%
# A badly scaled least-squares problem
# ------------------------------------
import os

import matplotlib.pyplot as plt
import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg

from regkit.optim import L1, BCDSolver, LeastSquares

QUICK = os.environ.get("REGKIT_QUICK") == "1"
n, p = (200, 400) if QUICK else (1000, 2000)
rng = np.random.default_rng(0)
A = (rng.standard_normal((n, p)) + 1.0) * 10.0 * rng.standard_normal(p)
A[rng.uniform(size=(n, p)) > 10 * np.log(n) / n] = 0.0
A = sp.csc_array(A)
w = np.zeros(p)
w[rng.choice(p, p // 10, replace=False)] = rng.standard_normal(p // 10)
b = A @ w + rng.standard_normal(n)
datafit = LeastSquares(A, b)
x_star = scipy.sparse.linalg.lsqr(A, b, atol=1e-15, btol=1e-15, iter_lim=50_000)[0]
f_star = datafit.value(datafit.init_state(x_star[:, None]))

# %%
# Rules compared
# --------------
# Blocks of 20 coordinates chosen afresh every iteration ("variable blocks"), with
# the 1/L_b gradient update and with the matrix update (exact minimisation of the
# block's quadratic).
max_iter = 150 if QUICK else 600
fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
for ax, update in zip(axes, ["gradient", "matrix"]):
    for rule in ["cyclic", "random", "gs", "gsl", "gsq"]:
        result = BCDSolver(
            selection=rule, blocks="variable", block_size=20, update=update,
            tol=0.0, max_iter=max_iter, check_every=10**9, random_state=0,
        ).solve(datafit)  # fmt: skip
        objective = np.array([r["objective"] for r in result.history])
        rel = np.maximum((objective - f_star) / (objective[0] - f_star), 1e-16)
        ax.semilogy(rel, label=rule.upper() if rule.startswith("gs") else rule)
    ax.set(title=f"{update} update", xlabel="iteration")
axes[0].set_ylabel("(f - f*) / (f(0) - f*)")
axes[1].legend()
fig.tight_layout()

# %%
# L1: the support is found in finitely many iterations
# ----------------------------------------------------
# With an L1 penalty, proximal greedy selection (GS-q) identifies the optimal
# support after finitely many iterations; with a Newton-type update on a block at
# least as large as the support the method then converges very fast.
alpha = 0.05 * np.max(np.abs(A.T @ b)) / n
result = BCDSolver(selection="gs-q", block_size=50, update="newton", tol=1e-10).solve(
    datafit, L1(alpha)
)
print(f"support of size {result.history[-1]['support_size']} fixed from iteration "
      f"{result.support_identified_at} of {result.n_iter}")  # fmt: skip
plt.show()
