"""
======================================================================
Regularisation paths, cross-validation and a non-convex penalty
======================================================================

:func:`~regkit.linear_model.bcd_path` computes a whole lasso / elastic-net path,
each strength warm-started from the previous solution, and
:class:`~regkit.linear_model.BCDRegressorCV` picks the strength by
cross-validation over such paths, with scikit-learn's grid, folds and choice
rule (so it agrees with :class:`~sklearn.linear_model.LassoCV`). Last, a
non-convex penalty (:class:`~regkit.optim.MCP`) recovers a sparse signal without
the shrinkage that biases the lasso's large coefficients.
"""

# %%
# The lasso path on the diabetes data
# -----------------------------------
import os

import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import LassoCV
from sklearn.preprocessing import StandardScaler

from regkit.datasets import load_diabetes
from regkit.linear_model import BCDRegressor, BCDRegressorCV, bcd_path
from regkit.optim import MCP

QUICK = os.environ.get("REGKIT_QUICK") == "1"
n_alphas = 20 if QUICK else 100
X, y = load_diabetes(return_X_y=True)
names = list(X.columns)
X = StandardScaler().fit_transform(X)
y = (y - y.mean()).to_numpy()

alphas, coefs, gaps = bcd_path(X, y, l1_ratio=1.0, n_alphas=n_alphas, tol=1e-8)
print(f"{len(alphas)} strengths, largest duality gap {gaps.max():.1e}")

fig, ax_path = plt.subplots(figsize=(7, 4.2))
for j, name in enumerate(names):
    ax_path.semilogx(alphas, coefs[j], label=name)
ax_path.set(xlabel="alpha", ylabel="coefficient", title="Lasso path (bcd_path)")
ax_path.invert_xaxis()
ax_path.legend(fontsize=7, ncol=2)
fig.tight_layout()

# %%
# Choosing alpha by 5-fold cross-validation
# -----------------------------------------
# The held-out mean squared error of every point of the path on every fold is in
# ``mse_path_``; the chosen strength minimises its mean. scikit-learn's LassoCV,
# on the same folds and grid, picks the same point.
model = BCDRegressorCV(l1_ratio=1.0, alphas=n_alphas, cv=5, tol=1e-8).fit(X, y)
reference = LassoCV(alphas=n_alphas, cv=5, tol=1e-10, max_iter=100_000).fit(X, y)
print(f"alpha_ = {model.alpha_:.4g} (LassoCV: {reference.alpha_:.4g}), "
      f"{int(np.sum(model.coef_ != 0))} of {X.shape[1]} features kept")  # fmt: skip
mean, spread = model.mse_path_.mean(axis=1), model.mse_path_.std(axis=1)
fig, ax_cv = plt.subplots(figsize=(7, 4.2))
ax_cv.semilogx(model.alphas_, mean, color="k")
ax_cv.fill_between(model.alphas_, mean - spread, mean + spread, alpha=0.2, color="k")
ax_cv.axvline(model.alpha_, ls="--", color="C3", label="alpha_")
ax_cv.set(xlabel="alpha", ylabel="held-out MSE", title="5-fold CV (BCDRegressorCV)")
ax_cv.invert_xaxis()
ax_cv.legend()
fig.tight_layout()

# %%
# MCP recovers a sparse signal without the lasso's bias
# ------------------------------------------------------
# The lasso pays ``alpha`` per unit of every coefficient, so the strength that
# removes the noise features also shrinks the true ones. MCP's slope falls to 0
# beyond ``gamma * alpha``: large coefficients are left alone.
rng = np.random.default_rng(0)
n, p = 200, 100
design = rng.standard_normal((n, p)) + 0.5 * rng.standard_normal((n, 1))  # correlated
true = np.zeros(p)
true[rng.choice(p, 6, replace=False)] = rng.choice([-1, 1], 6) * rng.uniform(1.0, 3.0, 6)
target = design @ true + 0.5 * rng.standard_normal(n)
alpha = 0.15
lasso = BCDRegressor(alpha=alpha, penalty="l1").fit(design, target)
mcp = BCDRegressor(penalty=MCP(alpha, gamma=3.0)).fit(design, target)
for name, est in (("lasso", lasso), ("MCP", mcp)):
    found = set(np.flatnonzero(est.coef_))
    print(f"{name:5s}: error {np.linalg.norm(est.coef_ - true):.3f}, "
          f"{len(found & set(np.flatnonzero(true)))}/6 true features, "
          f"{len(found - set(np.flatnonzero(true)))} false ones")  # fmt: skip

fig, ax = plt.subplots(figsize=(9, 3.5))
support = np.flatnonzero(true)
ax.plot(support, true[support], "ko", ms=9, mfc="none", label="true")
ax.plot(support, lasso.coef_[support], "C0v", label="lasso")
ax.plot(support, mcp.coef_[support], "C3^", label="MCP")
ax.axhline(0, color="k", lw=0.5)
ax.set(xlabel="feature", ylabel="coefficient", title="Estimates on the true support")
ax.legend()
fig.tight_layout()
plt.show()
