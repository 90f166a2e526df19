"""Contrastive regression losses of regkit.nn against hand values and direct references."""

import json
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from regkit.nn import (
    SupReMixMixtures,
    draw_supremix_mixtures,
    rnc_loss,
    supcon_loss,
    supremix_loss,
)

E = math.e


def _normal(seed, *shape):
    return torch.from_numpy(np.random.default_rng(seed).standard_normal(shape))


def _two_views(seed, b, d=5, noise=0.3):
    """Embeddings of two noisy views of ``b`` rows (float64) and the repeated targets."""
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((b, d))
    views = [base + noise * rng.standard_normal((b, d)) for _ in range(2)]
    y = rng.standard_normal(b)
    return torch.from_numpy(np.concatenate(views)), torch.from_numpy(np.concatenate([y, y]))


# ------------------------------------------------------------------- references
def _standardized(y):
    y = np.asarray(y, dtype=float)
    sd = y.std()
    return (y - y.mean()) / sd if sd > 0 else np.zeros_like(y)


def _weight(gap, distance):
    if distance is None:
        return 1.0
    return 1 + (abs(gap) if distance == "l1" else gap**2)


def _supremix_reference(z, y, mixtures, temperature, distance, normalize=True, weight=None):
    """The paper's formula with every mixture materialised, one anchor at a time.

    Each contrast term is (vector, label, count, is_positive); mixtures are built
    from detached rows, so the gradient reaches them only through the anchor.
    Without mixtures (``negative_share=None``, no positive columns) it is SupCon.
    """
    if normalize:
        z = z / z.norm(dim=1, keepdim=True)
    u, y = _standardized(y), np.asarray(y, dtype=float)
    fixed = z.detach()
    share, below, above, multiplicity = (None if t is None else np.asarray(t) for t in mixtures)
    n = len(z)
    total, total_weight = 0.0, 0.0
    for i in range(n):
        terms = [(z[k], u[k], 1.0, y[k] == y[i]) for k in range(n) if k != i]
        if share is not None:
            for k in range(n):
                if y[k] != y[i]:
                    lam = float(share[i, k])
                    mixed = lam * fixed[i] + (1 - lam) * fixed[k]
                    terms.append((mixed, lam * u[i] + (1 - lam) * u[k], 1.0, False))
        for t in range(below.shape[1]):
            count = float(multiplicity[i, t])
            if count > 0:
                j, k = below[i, t], above[i, t]
                alpha = (u[k] - u[i]) / (u[k] - u[j])
                mixed = alpha * fixed[j] + (1 - alpha) * fixed[k]
                terms.append((mixed, alpha * u[j] + (1 - alpha) * u[k], count, True))
        scores = [z[i] @ vector / temperature for vector, *_ in terms]
        log_d = torch.log(
            sum(
                c * _weight(label - u[i], distance) * torch.exp(s)
                for s, (_, label, c, _) in zip(scores, terms)
            )
        )
        positives = [(c, s) for s, (_, _, c, positive) in zip(scores, terms) if positive]
        if not positives:
            continue
        loss_i = -sum(c * (s - log_d) for c, s in positives) / sum(c for c, _ in positives)
        w = 1.0 if weight is None else float(weight[i])
        total, total_weight = total + w * loss_i, total_weight + w
    return total / total_weight


def _no_mixtures(n):
    empty = torch.zeros(n, 0, dtype=torch.long)
    return SupReMixMixtures(None, empty, empty, torch.zeros(n, 0))


def _rnc_reference(z, y, temperature):
    """Rank-N-Contrast by its definition: a triple loop, O(n^3)."""
    z, y = np.asarray(z, dtype=float), np.asarray(y, dtype=float)
    n = len(z)
    s = -np.linalg.norm(z[:, None] - z[None], axis=-1) / temperature
    total = 0.0
    for i in range(n):
        for j in range(n):
            if j == i:
                continue
            far = [k for k in range(n) if k != i and abs(y[k] - y[i]) >= abs(y[j] - y[i])]
            total -= s[i, j] - np.log(sum(np.exp(s[i, k]) for k in far))
    return total / (n * (n - 1))


def _permuted_mixtures(mixtures, perm):
    """The same mixtures after the rows are reordered as ``z[perm]``."""
    inverse = torch.argsort(perm)
    share, below, above, multiplicity = mixtures
    return SupReMixMixtures(
        None if share is None else share[perm][:, perm],
        inverse[below[perm]],
        inverse[above[perm]],
        multiplicity[perm],
    )


# ------------------------------------------------------------ hand-computed values
# Two rows, two views each: z = e1, e1, e2, e2 with y = 0, 0, 1, 1, so the
# standardised targets are -1, -1, 1, 1 and every negative is 2 standard
# deviations away; at temperature 1 each anchor scores 1 with its other view
# and 0 with the negatives. Every anchor has the same loss.
_Z4 = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]], dtype=torch.float64)
_Y4 = torch.tensor([0.0, 0.0, 1.0, 1.0], dtype=torch.float64)


@pytest.mark.parametrize(
    ("distance", "expected"),
    [
        ("l1", math.log(E + 2 * 3) - 1),  # weights 1 + |2| = 3
        ("l2", math.log(E + 2 * 5) - 1),  # weights 1 + 2^2 = 5
        (None, math.log(E + 2) - 1),  # plain SupCon
    ],
)
def test_supcon_hand_values_on_four_rows(distance, expected):
    loss = supcon_loss(_Z4, _Y4, temperature=1.0, distance=distance)
    assert loss.item() == pytest.approx(expected, rel=1e-12)


def test_supremix_hand_value_with_negative_mixtures():
    # Shares 1/2: each anchor gets two mixtures (e1 + e2) / 2 with the negatives,
    # score 1/2, label 0, one standard deviation from the anchor, weight 2.
    share = torch.full((4, 4), 0.5, dtype=torch.float64)
    empty = _no_mixtures(4)
    mixtures = empty._replace(negative_share=share)
    loss = supremix_loss(_Z4, _Y4, temperature=1.0, mixtures=mixtures)
    assert loss.item() == pytest.approx(math.log(E + 6 + 2 * 2 * math.sqrt(E)) - 1, rel=1e-12)


def test_supremix_hand_value_with_a_positive_mixture():
    # One view: z = e1, e2, e3, e2 with y = 0, 1, 2, 1; standardised -r, 0, r, 0
    # with r = sqrt(2). Anchors 1 and 3 each have the other as a positive (score
    # 1) and the mixture (e1 + e3) / 2 of rows 0 and 2 (alpha = 1/2, score 0,
    # label 0, weight 1); rows 0 and 2 weigh 1 + r. Anchors 0 and 2 have no
    # positive and are left out.
    z = torch.tensor([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0], [0, 1.0, 0]], dtype=torch.float64)
    y = torch.tensor([0.0, 1.0, 2.0, 1.0], dtype=torch.float64)
    r = math.sqrt(2)
    expected = math.log(2 * (1 + r) + E + 1) - (1 + 0) / 2
    by_hand = SupReMixMixtures(
        None,
        torch.zeros(4, 1, dtype=torch.long),
        torch.full((4, 1), 2),
        torch.tensor([[0.0], [1.0], [0.0], [1.0]]),
    )
    loss = supremix_loss(z, y, temperature=1.0, mixtures=by_hand)
    assert loss.item() == pytest.approx(expected, rel=1e-12)
    # The window (2 sd > r) admits exactly that pair: every draw finds it.
    drawn = supremix_loss(
        z,
        y,
        temperature=1.0,
        window=2.0,
        negative_mixtures=False,
        n_positive_mixtures=7,
        generator=torch.Generator().manual_seed(3),
    )
    assert drawn.item() == pytest.approx(expected, rel=1e-12)


def test_rnc_hand_value_on_four_rows_with_tied_distances():
    # z = y = 0, 1, 2, 3 at temperature 1: s_ij = -|i - j|. For anchors 1 and 2
    # two rows are one unit away (a tie): they share the denominator.
    y = torch.tensor([0.0, 1.0, 2.0, 3.0], dtype=torch.float64)
    ends = math.log(1 + E**-1 + E**-2) + math.log(1 + E**-1) + 0  # anchors 0 and 3
    inner = 2 * math.log(2 + E**-1) + 0  # anchors 1 and 2
    expected = (2 * ends + 2 * inner) / 12
    assert rnc_loss(y[:, None], y, temperature=1.0).item() == pytest.approx(expected, rel=1e-12)


# ------------------------------------------------------ equality with references
@pytest.mark.parametrize("distance", ["l1", "l2", None])
@pytest.mark.parametrize("seed", [0, 1])
def test_supremix_matches_materialised_reference(distance, seed):
    z, y = _two_views(seed, 7)
    mixtures = draw_supremix_mixtures(
        y, window=1.0, n_positive_mixtures=3, generator=torch.Generator().manual_seed(seed)
    )
    assert (mixtures.positive_multiplicity > 0).any()  # the case is exercised
    loss = supremix_loss(z, y, temperature=0.3, distance=distance, mixtures=mixtures)
    expected = _supremix_reference(z, y, mixtures, 0.3, distance)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-10)


def test_supremix_gradient_matches_materialised_reference():
    z, y = _two_views(2, 4)
    mixtures = draw_supremix_mixtures(
        y, window=1.5, n_positive_mixtures=2, generator=torch.Generator().manual_seed(0)
    )
    z1, z2 = z.clone().requires_grad_(), z.clone().requires_grad_()
    supremix_loss(z1, y, mixtures=mixtures).backward()
    _supremix_reference(z2, y, mixtures, 0.5, "l1").backward()
    assert torch.isfinite(z1.grad).all() and z1.grad.abs().sum() > 0
    np.testing.assert_allclose(z1.grad.numpy(), z2.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_supremix_without_mixtures_is_the_weighted_supcon_loss():
    z, y = _two_views(3, 9)
    for distance in ["l1", "l2", None]:
        loss = supremix_loss(z, y, distance=distance, mixtures=_no_mixtures(len(z)))
        same = supremix_loss(
            z, y, distance=distance, n_positive_mixtures=0, negative_mixtures=False
        )
        expected = supcon_loss(z, y, distance=distance)
        reference = _supremix_reference(z, y, _no_mixtures(len(z)), 0.5, distance)
        assert loss.item() == pytest.approx(expected.item(), rel=1e-12)
        assert same.item() == pytest.approx(expected.item(), rel=1e-12)
        assert expected.item() == pytest.approx(reference.item(), rel=1e-10)


def test_supcon_without_weights_is_khosla_supcon_with_label_classes():
    # SupCon (Khosla et al. 2020) written with the positives averaged outside the
    # log; rows with equal labels are one class.
    z, y = _two_views(4, 6)
    y[:3] = y[6:9] = 0.25  # a class of six rows
    zn = (z / z.norm(dim=1, keepdim=True)).numpy()
    s = zn @ zn.T / 0.2
    total = 0.0
    for i in range(len(zn)):
        others = [a for a in range(len(zn)) if a != i]
        log_d = np.log(np.exp(s[i, others]).sum())
        positives = [p for p in others if y[p] == y[i]]
        total += -np.mean([s[i, p] - log_d for p in positives])
    loss = supcon_loss(z, y, temperature=0.2, distance=None)
    assert loss.item() == pytest.approx(total / len(zn), rel=1e-10)


@settings(max_examples=25, deadline=None)
@given(
    labels=st.lists(st.integers(0, 3), min_size=2, max_size=7),
    seed=st.integers(0, 2**16),
    temperature=st.sampled_from([0.5, 2.0]),
)
def test_rnc_matches_cubic_reference(labels, seed, temperature):
    y = torch.tensor(labels, dtype=torch.float64)  # small integers: many ties
    z = _normal(seed, len(labels), 3)
    expected = _rnc_reference(z, y, temperature)
    assert rnc_loss(z, y, temperature=temperature).item() == pytest.approx(expected, rel=1e-10)


def test_rnc_two_views_match_reference():
    z, y = _two_views(5, 10)
    assert rnc_loss(z, y).item() == pytest.approx(_rnc_reference(z, y, 2.0), rel=1e-10)


def test_sample_weight_weights_the_anchor_terms():
    z, y = _two_views(6, 5)
    w = torch.tensor([0.0, 2.0, 1.0, 0.5, 3.0] * 2, dtype=torch.float64)
    mixtures = draw_supremix_mixtures(y, generator=torch.Generator().manual_seed(1))
    loss = supremix_loss(z, y, sample_weight=w, mixtures=mixtures)
    expected = _supremix_reference(z, y, mixtures, 0.5, "l1", weight=w)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-10)
    assert supcon_loss(z, y, sample_weight=3 * w).item() == pytest.approx(
        supcon_loss(z, y, sample_weight=w).item(), rel=1e-12
    )
    # Anchor weights for RNC: zero weight on one view leaves the other's mean.
    half = torch.cat([torch.ones(5), torch.zeros(5)]).double()
    per_pair = rnc_loss(z, y, sample_weight=half) * 5 + rnc_loss(z, y, sample_weight=1 - half) * 5
    assert per_pair.item() == pytest.approx(10 * rnc_loss(z, y).item(), rel=1e-12)


# --------------------------------------------------------------- invariances
@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**16), b=st.integers(2, 8))
def test_losses_are_invariant_to_permuting_the_batch(seed, b):
    z, y = _two_views(seed, b)
    perm = torch.from_numpy(np.random.default_rng(seed + 1).permutation(len(z)))
    mixtures = draw_supremix_mixtures(
        y, window=1.0, n_positive_mixtures=4, generator=torch.Generator().manual_seed(seed)
    )
    moved = _permuted_mixtures(mixtures, perm)
    for loss, kwargs, moved_kwargs in [
        (supremix_loss, {"mixtures": mixtures}, {"mixtures": moved}),
        (supcon_loss, {}, {}),
        (rnc_loss, {}, {}),
    ]:
        before = loss(z, y, **kwargs).item()
        after = loss(z[perm], y[perm], **moved_kwargs).item()
        assert after == pytest.approx(before, rel=1e-12, abs=1e-12)


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    scale=st.floats(1e-3, 1e4),
    shift=st.floats(-1e4, 1e4),
)
def test_losses_are_invariant_to_rescaling_y(seed, scale, shift):
    z, y = _two_views(seed, 6)
    moved = scale * y + shift

    def supremix(targets):
        generator = torch.Generator().manual_seed(seed)  # same draws for both
        return supremix_loss(z, targets, window=1.0, generator=generator).item()

    assert supremix(moved) == pytest.approx(supremix(y), rel=1e-9)
    assert supcon_loss(z, moved).item() == pytest.approx(supcon_loss(z, y).item(), rel=1e-9)
    assert rnc_loss(z, -moved).item() == pytest.approx(rnc_loss(z, y).item(), rel=1e-12)


def test_target_scale_fixes_the_units():
    z, y = _two_views(7, 6)
    for scale in [0.5, 4.0]:
        a = supcon_loss(z, y, target_scale=scale)
        b = supcon_loss(z, 10 * y - 3, target_scale=10 * scale)
        assert a.item() == pytest.approx(b.item(), rel=1e-10)
    assert supcon_loss(z, y, target_scale=0.5).item() != pytest.approx(
        supcon_loss(z, y, target_scale=4.0).item(), rel=1e-3
    )


def test_one_view_and_constant_targets():
    # No anchor has a positive: the loss is 0 and its gradient is 0.
    z = _normal(8, 6, 3).requires_grad_()
    y = torch.arange(6.0)
    loss = supcon_loss(z, y)
    loss.backward()
    assert loss.item() == 0.0 and torch.equal(z.grad, torch.zeros_like(z))
    # Constant targets: every other row is a positive, every weight is 1, no mixture.
    z, _ = _two_views(8, 4)
    constant = torch.full((8,), 5.0, dtype=torch.float64)
    generator = torch.Generator().manual_seed(0)
    a = supremix_loss(z, constant, generator=generator)
    assert a.item() == pytest.approx(supcon_loss(z, constant, distance=None).item(), rel=1e-12)


# -------------------------------------------------------- mixtures and alignment
def test_mixture_labels_stay_with_their_mixtures():
    # The reference sorts each anchor's mixture labels apart from its mixtures.
    # y = 0, 3, 2, 1 (two views): the negative mixtures of anchor 0 come in the
    # order k = 1, 2, 3 with decreasing labels, which sorting reverses. Row 1 is
    # far in label but close in embedding, row 3 the opposite, so their
    # mixtures' scores differ and the pairing of weights with mixtures matters.
    y = torch.tensor([0.0, 3.0, 2.0, 1.0] * 2, dtype=torch.float64)
    rows = [[1.0, 0.0, 0.0], [1.0, 0.2, 0.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.3]]
    z = torch.tensor(rows * 2, dtype=torch.float64)
    share = torch.full((8, 8), 0.25, dtype=torch.float64)
    mixtures = _no_mixtures(8)._replace(negative_share=share)
    loss = supremix_loss(z, y, temperature=0.2, mixtures=mixtures)
    aligned = _supremix_reference(z, y, mixtures, 0.2, "l1")
    assert loss.item() == pytest.approx(aligned.item(), rel=1e-10)

    # The reference's pairing: the same mixtures, their labels sorted per anchor.
    zn = (z / z.norm(dim=1, keepdim=True)).numpy()
    u = _standardized(y)
    total = 0.0
    for i in range(8):
        others = [k for k in range(8) if k != i]
        mixed = [k for k in range(8) if y[k] != y[i]]
        scores = [zn[i] @ (0.25 * zn[i] + 0.75 * zn[k]) / 0.2 for k in mixed]
        labels = sorted(0.25 * u[i] + 0.75 * u[k] for k in mixed)
        d = sum((1 + abs(u[k] - u[i])) * math.exp(zn[i] @ zn[k] / 0.2) for k in others)
        d += sum((1 + abs(lab - u[i])) * math.exp(s) for lab, s in zip(labels, scores))
        positives = [k for k in others if y[k] == y[i]]
        total += -np.mean([zn[i] @ zn[p] / 0.2 - math.log(d) for p in positives])
    misaligned = total / 8
    assert abs(loss.item() - misaligned) > 0.02  # 0.04 here; the tolerance above is 1e-10


def test_reordering_the_positive_mixtures_changes_nothing():
    z, y = _two_views(10, 8)
    mixtures = draw_supremix_mixtures(
        y, window=1.0, n_positive_mixtures=6, generator=torch.Generator().manual_seed(4)
    )
    columns = torch.from_numpy(
        np.random.default_rng(0).permuted(np.tile(np.arange(6), (16, 1)), axis=1)
    )
    shuffled = mixtures._replace(
        positive_below=mixtures.positive_below.gather(1, columns),
        positive_above=mixtures.positive_above.gather(1, columns),
        positive_multiplicity=mixtures.positive_multiplicity.gather(1, columns),
    )
    a = supremix_loss(z, y, mixtures=mixtures)
    b = supremix_loss(z, y, mixtures=shuffled)
    assert a.item() == pytest.approx(b.item(), rel=1e-12)


def test_drawn_positive_pairs_bracket_the_anchor_inside_the_window():
    y = _normal(11, 40)
    window = 0.7
    mixtures = draw_supremix_mixtures(
        y, window=window, n_positive_mixtures=16, generator=torch.Generator().manual_seed(0)
    )
    u = _standardized(y.numpy())
    # Admissible pairs, counted by brute force.
    below = (u[None, :] > u[:, None] - window) & (u[None, :] < u[:, None])
    above = (u[None, :] < u[:, None] + window) & (u[None, :] > u[:, None])
    count = below.sum(1) * above.sum(1)
    assert count.max() > 0
    np.testing.assert_allclose(mixtures.positive_multiplicity.sum(1).numpy(), count)
    used = mixtures.positive_multiplicity.numpy() > 0
    rows = np.nonzero(used)[0]
    j, k = mixtures.positive_below.numpy()[used], mixtures.positive_above.numpy()[used]
    assert below[rows, j].all() and above[rows, k].all()


def test_draws_cover_the_admissible_pairs_uniformly():
    # Anchor 2 of y = 0..4 with a window of 2 standard deviations (sd = sqrt(2)):
    # rows 0, 1 below and 3, 4 above, so four pairs, each with probability 1/4.
    y = torch.arange(5.0)
    mixtures = draw_supremix_mixtures(
        y, window=2.0, n_positive_mixtures=4000, generator=torch.Generator().manual_seed(0)
    )
    pairs = mixtures.positive_below[2] * 10 + mixtures.positive_above[2]
    counts = torch.bincount(pairs, minlength=50)[[3, 4, 13, 14]]
    assert counts.sum() == 4000
    assert ((counts - 1000).abs() < 120).all()  # 4 binomial sd is 110


def test_negative_shares_follow_the_beta_law():
    mixtures = draw_supremix_mixtures(
        torch.arange(300.0), beta=(2.0, 8.0), generator=torch.Generator().manual_seed(0)
    )
    share = mixtures.negative_share.flatten()
    assert share.min() >= 0 and share.max() <= 1
    assert share.mean().item() == pytest.approx(0.2, abs=2e-3)  # 90000 draws, sd 4e-4
    assert share.var().item() == pytest.approx(2 * 8 / (10**2 * 11), rel=0.03)


def test_sampled_positives_approach_the_full_set():
    # With every admissible pair listed once, the loss is the reference code's
    # (all pairs); many draws, each counted N_i / m times, approach it.
    z, y = _two_views(12, 6)
    u = _standardized(y.numpy())
    window, n = 1.0, len(y)
    pairs = [
        [
            (j, k)
            for j in range(n)
            for k in range(n)
            if u[i] - window < u[j] < u[i] < u[k] < u[i] + window
        ]
        for i in range(n)
    ]
    m = max(map(len, pairs))
    below, above = torch.zeros(n, m, dtype=torch.long), torch.zeros(n, m, dtype=torch.long)
    multiplicity = torch.zeros(n, m, dtype=torch.float64)
    for i, listed in enumerate(pairs):
        for t, (j, k) in enumerate(listed):
            below[i, t], above[i, t], multiplicity[i, t] = j, k, 1.0
    every_pair = SupReMixMixtures(None, below, above, multiplicity)
    exact = supremix_loss(z, y, mixtures=every_pair).item()
    assert exact == pytest.approx(_supremix_reference(z, y, every_pair, 0.5, "l1").item())
    sampled = supremix_loss(
        z,
        y,
        window=window,
        negative_mixtures=False,
        n_positive_mixtures=20000,
        generator=torch.Generator().manual_seed(0),
    ).item()
    assert sampled == pytest.approx(exact, abs=2e-3)
    assert abs(exact - supcon_loss(z, y).item()) > 0.05  # the mixtures matter


# ------------------------------------------------------------ randomness
def test_same_generator_seed_gives_the_same_loss():
    z, y = _two_views(13, 10)

    def loss(seed):
        return supremix_loss(z, y, window=1.0, generator=torch.Generator().manual_seed(seed))

    assert torch.equal(loss(0), loss(0))
    assert loss(0).item() != loss(1).item()


def test_no_global_random_state_is_used():
    z, y = _two_views(14, 6)
    state = torch.random.get_rng_state()
    supremix_loss(z, y, generator=torch.Generator().manual_seed(0))
    supremix_loss(z, y)  # a private generator seeded by the operating system
    assert torch.equal(state, torch.random.get_rng_state())


# ------------------------------------------------------------ gradients
@pytest.mark.parametrize("loss", [supcon_loss, rnc_loss])
def test_gradcheck(loss):
    z, y = _two_views(15, 4, d=3)
    assert torch.autograd.gradcheck(lambda z: loss(z, y), (z.clone().requires_grad_(),))


@pytest.mark.parametrize(
    "loss",
    [
        lambda z, y: supremix_loss(z, y, generator=torch.Generator().manual_seed(0)),
        supcon_loss,
        rnc_loss,
        lambda z, y: rnc_loss(z, y, normalize=True),
    ],
)
def test_gradients_reach_every_row_of_z_in_float32(loss):
    z, y = _two_views(16, 12)
    z = z.float().requires_grad_()
    value = loss(z, y.float())
    value.backward()
    assert value.dtype == torch.float32 and torch.isfinite(value)
    assert torch.isfinite(z.grad).all() and (z.grad.abs().sum(dim=1) > 0).all()


def test_gradients_flow_into_an_encoder():
    z, y = _two_views(17, 8)
    encoder = torch.nn.Linear(5, 4).double()
    loss = supremix_loss(encoder(z), y, generator=torch.Generator().manual_seed(0))
    loss.backward()
    assert encoder.weight.grad.abs().sum() > 0


def test_rnc_gradient_is_finite_when_rows_coincide():
    z = torch.tensor([[0.0, 1.0], [0.0, 1.0], [2.0, 0.0]], dtype=torch.float64)
    z.requires_grad_()
    rnc_loss(z, torch.tensor([0.0, 0.0, 1.0])).backward()
    assert torch.isfinite(z.grad).all()


# ------------------------------------------------------------ memory at B = 512
def _peak_allocated_bytes(step, tmp_path):
    """Peak of the bytes held by tensors allocated during ``step`` (the profiler's log)."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        step()
    trace = tmp_path / "trace.json"
    prof.export_chrome_trace(str(trace))
    events = [e for e in json.loads(trace.read_text())["traceEvents"] if e["name"] == "[memory]"]
    assert events  # the profiler did record the allocations
    events.sort(key=lambda e: (e["ts"], e["args"].get("Ev Idx", 0)))
    held = peak = 0
    for event in events:
        held += event["args"]["Bytes"]
        peak = max(peak, held)
    return peak


@pytest.mark.parametrize(
    ("loss", "bound"),
    [
        (lambda z, y: supremix_loss(z, y, generator=torch.Generator().manual_seed(0)), 20),
        (supcon_loss, 20),
        (rnc_loss, 24),
    ],
)
def test_memory_at_batch_512_is_within_the_stated_bound(loss, bound, tmp_path):
    # Two views of 512 rows, d = 128, float32: forward and backward together stay
    # within ``bound`` n x n float32 matrices (stated in the docstrings); SupReMix's
    # dense mixture tensor would take n^3 d floats = 550 GB.
    n, d = 1024, 128
    z = _normal(18, n, d).float().requires_grad_()
    y = _normal(19, n // 2).float().repeat(2)
    peak = _peak_allocated_bytes(lambda: loss(z, y).backward(), tmp_path)
    assert peak > 4 * n * n  # at least one n x n matrix: the measurement is real
    assert peak <= bound * 4 * n * n + 4 * n * (d + 64)


# ------------------------------------------------------------ validation
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"temperature": 0.0}, "temperature"),
        ({"temperature": float("nan")}, "temperature"),
        ({"window": -1.0}, "window"),
        ({"beta": (2.0,)}, "beta"),
        ({"beta": (2.0, 0.0)}, "beta"),
        ({"distance": "huber"}, "distance"),
        ({"n_positive_mixtures": -1}, "n_positive_mixtures"),
        ({"n_positive_mixtures": 2.5}, "n_positive_mixtures"),
        ({"target_scale": 0.0}, "target_scale"),
        ({"sample_weight": torch.ones(3)}, "sample_weight"),
        ({"sample_weight": -torch.ones(8)}, "sample_weight"),
    ],
)
def test_bad_parameters_are_refused(kwargs, match):
    z, y = _two_views(20, 4)
    with pytest.raises(ValueError, match=match):
        supremix_loss(z, y, **kwargs)


def test_bad_inputs_are_refused():
    z, y = _two_views(21, 4)
    with pytest.raises(ValueError, match="y must have shape"):
        supcon_loss(z, y[:5])
    with pytest.raises(ValueError, match="finite"):
        rnc_loss(z, torch.full((8,), float("nan")))
    with pytest.raises(TypeError, match="z must be"):
        supcon_loss(z.numpy(), y)
    with pytest.raises(TypeError, match="z must be"):
        rnc_loss(z[:, 0], y)
    with pytest.raises(ValueError, match="at least 2 rows"):
        supcon_loss(z[:1], y[:1])
    with pytest.raises(TypeError, match="generator"):
        supremix_loss(z, y, generator=0)
    with pytest.raises(TypeError, match="mixtures"):
        supremix_loss(z, y, mixtures=(None, None, None, None))


def test_bad_mixtures_are_refused():
    y = torch.tensor([0.0, 1.0, 2.0] * 2, dtype=torch.float64)
    z = _normal(22, 6, 3)
    good = SupReMixMixtures(
        torch.full((6, 6), 0.5),
        torch.zeros(6, 1, dtype=torch.long),
        torch.full((6, 1), 2),
        torch.tensor([[0.0], [1.0], [0.0]] * 2),
    )
    supremix_loss(z, y, mixtures=good)
    with pytest.raises(ValueError, match="negative_share"):
        supremix_loss(z, y, mixtures=good._replace(negative_share=torch.full((6, 6), 1.5)))
    with pytest.raises(ValueError, match="bracket"):
        supremix_loss(
            z, y, mixtures=good._replace(positive_above=torch.ones(6, 1, dtype=torch.long))
        )
    with pytest.raises(ValueError, match="outside"):
        supremix_loss(z, y, mixtures=good._replace(positive_above=torch.full((6, 1), 6)))
    with pytest.raises(ValueError, match="shape"):
        supremix_loss(z, y, mixtures=good._replace(positive_multiplicity=torch.ones(6, 2)))
    with pytest.raises(ValueError, match="may be None"):
        supremix_loss(z, y, mixtures=good._replace(positive_below=None))
    with pytest.raises(ValueError, match="non-negative"):
        supremix_loss(z, y, mixtures=good._replace(positive_multiplicity=-torch.ones(6, 1)))


# ------------------------------------------------------------ devices
@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("loss", ["supremix", "supcon", "rnc"])
def test_cuda_matches_cpu_with_a_cpu_generator(loss):
    # The draws come from the CPU generator whatever the device of z, so a seed
    # gives the same mixtures, and the same loss, on both devices.
    z, y = _two_views(23, 64, d=16)
    functions = {
        "supremix": lambda z, y: supremix_loss(z, y, generator=torch.Generator().manual_seed(0)),
        "supcon": supcon_loss,
        "rnc": rnc_loss,
    }
    on_cpu = functions[loss](z, y)
    z_cuda = z.cuda().requires_grad_()
    on_cuda = functions[loss](z_cuda, y.cuda())
    on_cuda.backward()
    assert on_cuda.device.type == "cuda" and torch.isfinite(z_cuda.grad).all()
    assert on_cuda.item() == pytest.approx(on_cpu.item(), rel=1e-10)
