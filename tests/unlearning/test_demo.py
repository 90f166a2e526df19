"""The unlearning rows of ``regkit demo``."""

import numpy as np

from regkit._demo import run_demo


def test_demo_unlearns_with_every_method():
    table = run_demo(quick=True, areas=["unlearning"])
    methods = [
        "NeuralRegressor (original)",
        "RetrainUnlearner",
        "FineTuneUnlearner",
        "GaussianUnlearner",
        "BlindspotUnlearner",
    ]
    assert table["model"].tolist() == methods * 2
    assert np.isfinite(table["score"]).all()
    error, distance = (table[table.metric.str.contains(word)] for word in ("MAE", "W-distance"))
    scores = dict(zip(distance["model"], distance["score"]))
    assert scores["RetrainUnlearner"] == 0.0
    # The original model is the farthest from the retrained one on the forgotten rows.
    assert scores["NeuralRegressor (original)"] == max(scores.values())
    assert error["fit_seconds"].gt(0).all()
