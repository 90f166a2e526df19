"""Seeds: every random draw of a fit comes from its own generator, so threads are safe."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch

from regkit.nn import Dropout, current_generator, make_generator, make_mlp, use_generator

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _state(model):
    return {k: v.clone() for k, v in model.module_.state_dict().items()}


def test_fits_in_two_threads_equal_sequential_fits_bit_for_bit(regression_data, make_neural):
    X, y = regression_data[0][:128], regression_data[1][:128]
    # Two fits per seed, so that fits with the same seed run at the same time.
    seeds = [0, 1, 2, 3] * 2

    def fit(seed):
        model = make_neural(
            max_epochs=2, batch_size=32, early_stopping=True, device="cpu", random_state=seed
        )
        return model.fit(X, y)

    sequential = [fit(seed) for seed in seeds]
    with ThreadPoolExecutor(max_workers=2) as pool:
        threaded = list(pool.map(fit, seeds))
    for seed, one, other in zip(seeds, sequential, threaded):
        first, second = _state(one), _state(other)
        assert first.keys() == second.keys()
        for key in first:
            assert torch.equal(first[key], second[key]), (seed, key)
        np.testing.assert_array_equal(one.predict(X), other.predict(X))
    # The seed matters: the stochastic options are on and draw from it.
    assert not np.array_equal(sequential[0].predict(X), sequential[1].predict(X))


def test_fit_never_seeds_or_reads_the_global_generator(regression_data, monkeypatch, make_neural):
    X, y = regression_data

    def refuse(*args, **kwargs):
        raise AssertionError("torch's global random state was used")

    for name in ("manual_seed", "seed", "initial_seed", "get_rng_state", "set_rng_state"):
        monkeypatch.setattr(torch, name, refuse)
    monkeypatch.setattr(torch.random, "fork_rng", refuse)
    before = torch.default_generator.get_state()
    make_neural(max_epochs=2, batch_size=32, device="cpu", random_state=0).fit(X, y)
    # Nothing drew from it either (a draw advances its state).
    assert torch.equal(torch.default_generator.get_state(), before)


def test_fit_leaves_global_random_state_alone(regression_data, make_neural):
    X, y = regression_data
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    make_neural(max_epochs=2, device="cpu", random_state=0).fit(X, y)
    np.testing.assert_array_equal(torch.rand(3), expected)


def test_layers_draw_from_the_active_generator():
    with use_generator(make_generator(5)):
        a = make_mlp(3, (4,), n_outputs=1, dropout=0.5)
        mask_a = a[2](torch.ones(20))
    with use_generator(make_generator(5)):
        b = make_mlp(3, (4,), n_outputs=1, dropout=0.5)
        mask_b = b[2](torch.ones(20))
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert torch.equal(mask_a, mask_b)
    assert current_generator() is None  # the block ended


def test_dropout_keeps_the_expected_share_and_scale():
    layer = Dropout(0.25)
    with use_generator(make_generator(0)):
        out = layer(torch.ones(100_000))
    kept = out > 0
    assert abs(kept.float().mean().item() - 0.75) < 0.01
    assert torch.allclose(out[kept], torch.tensor(1 / 0.75))
    assert torch.equal(Dropout(1.0)(torch.ones(3)), torch.zeros(3))
    with pytest.raises(ValueError, match="dropout probability"):
        Dropout(1.5)


def test_use_generator_wants_a_cpu_generator():
    with pytest.raises(TypeError, match=r"CPU torch\.Generator"), use_generator(42):
        pass


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_fits_are_seeded_and_predict_rows_independently(regression_data, make_neural):
    X, y = regression_data
    first = make_neural(max_epochs=2, batch_size=32, device="cuda", random_state=0).fit(X, y)
    second = make_neural(max_epochs=2, batch_size=32, device="cuda", random_state=0).fit(X, y)
    np.testing.assert_array_equal(first.predict(X), second.predict(X))
    alone = np.concatenate([first.predict(X[i : i + 1]) for i in range(20)])
    np.testing.assert_array_equal(alone, first.predict(X)[:20])
