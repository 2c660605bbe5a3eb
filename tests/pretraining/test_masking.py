"""mask_inputs against the rule in docs/design.md, 'Masking', over many random draws, checked with numpy."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from electra_tf.pretraining.masking import mask_inputs, mask_inputs_per_example

CLS, SEP, MASK = 101, 102, 103
L, N, PROB = 128, 19, 0.15
# 0.15 * n lands on .5 for 10, 30, 50, 70, 90, 110 (tf.round: half to even); 2 has no candidates.
LENGTHS = [2, 3, 5, 10, 13, 30, 50, 64, 70, 90, 110, 127, 128]


def make_batch(lengths, rng, length=L):
    """[CLS] tokens [SEP] then padding; tokens avoid the special ids except a few planted [MASK]/[SEP]."""
    ids = np.zeros((len(lengths), length), np.int64)
    mask = np.zeros_like(ids)
    for row, n in enumerate(lengths):
        body = rng.integers(1000, 30000, size=max(n - 2, 0))
        if len(body) > 6:
            body[[1, 4]] = [MASK, SEP]  # specials inside the text are never chosen either
        ids[row, :n] = np.concatenate([[CLS], body, [SEP]])[:n]
        mask[row, :n] = 1
    return ids, mask


@tf.function
def run(ids, mask, seed):
    return mask_inputs(
        ids, mask, mask_prob=PROB, max_predictions=N, mask_id=MASK, special_ids=[CLS, SEP, MASK], seed=seed
    )


def expected_count(ids_row, mask_row):
    num_tokens = int(mask_row.sum())
    k = int(np.round(np.float32(PROB) * np.float32(num_tokens)))  # upstream: float32, half-to-even
    candidates = int(((mask_row == 1) & ~np.isin(ids_row, [CLS, SEP, MASK])).sum())
    return min(max(1, min(N, k)), candidates)


@pytest.fixture(scope="module")
def draws():
    rng = np.random.default_rng(0)
    ids, mask = make_batch(LENGTHS * 20, rng)
    outs = [run(ids, mask, tf.constant([s, 7], tf.int64)) for s in range(10)]
    return ids, mask, [tuple(np.asarray(t) for t in o) for o in outs]


def test_counts_positions_and_ids(draws):
    ids, mask, outs = draws
    for masked_ids_in, pos, tgt, w in outs:
        assert masked_ids_in.dtype == np.int32 and pos.dtype == np.int32 and tgt.dtype == np.int32
        assert w.dtype == np.float32 and pos.shape == (ids.shape[0], N) == w.shape == tgt.shape
        for r in range(ids.shape[0]):
            k = expected_count(ids[r], mask[r])
            assert w[r].tolist() == [1.0] * k + [0.0] * (N - k), (r, mask[r].sum())
            used = pos[r, :k]
            assert len(set(used.tolist())) == k  # without replacement
            assert np.all(mask[r, used] == 1)  # never padding
            assert not np.isin(ids[r, used], [CLS, SEP, MASK]).any()  # never special tokens
            assert np.array_equal(tgt[r, :k], ids[r, used])
            assert not pos[r, k:].any() and not tgt[r, k:].any()


def test_replacement_split_and_untouched_positions(draws):
    ids, _, outs = draws
    masked = kept = 0
    for masked_ids_in, pos, _, w in outs:
        chosen = np.zeros(ids.shape, bool)
        for r in range(ids.shape[0]):
            chosen[r, pos[r, w[r] > 0]] = True
        assert np.array_equal(masked_ids_in[~chosen], ids[~chosen])
        became_mask = masked_ids_in[chosen] == MASK
        assert np.all(masked_ids_in[chosen][~became_mask] == ids[chosen][~became_mask])
        masked += became_mask.sum()
        kept += (~became_mask).sum()
    total = masked + kept
    share, sd = masked / total, np.sqrt(0.85 * 0.15 / total)
    assert total > 5000 and abs(share - 0.85) < 4 * sd, (share, total)


def test_selected_share_and_uniform_over_candidates():
    rng = np.random.default_rng(1)
    ids, mask = make_batch([40] * 400, rng)
    ids[:] = ids[0]  # one example repeated: every candidate must be equally likely
    out = run(ids, mask, tf.constant([3, 4], tf.int32))
    pos, w = np.asarray(out.masked_positions), np.asarray(out.masked_weights)
    assert np.all(w.sum(1) == 6)  # round(0.15 * 40) = 6 of 40 tokens = 15%
    cand = np.flatnonzero((mask[0] == 1) & ~np.isin(ids[0], [CLS, SEP, MASK]))
    counts = np.bincount(pos[w > 0], minlength=L)[cand]
    expected = 400 * 6 / len(cand)
    chi2 = ((counts - expected) ** 2 / expected).sum()
    assert chi2 < 70.0, chi2  # df = 35, p = 0.001 critical value 66.6 (plus a little slack)
    assert counts.sum() == 400 * 6


def test_determinism_and_seed_dependence():
    ids, mask = make_batch([128] * 8, np.random.default_rng(2))
    a = run(ids, mask, tf.constant([5, 6], tf.int64))
    b = run(ids, mask, tf.constant([5, 6], tf.int64))
    c = run(ids, mask, tf.constant([5, 7], tf.int64))
    for x, y in zip(a, b, strict=True):
        assert np.array_equal(x, y)
    assert not np.array_equal(a.masked_positions, c.masked_positions)


def test_int32_inputs_xla_and_generator_seed():
    ids, mask = make_batch([20, 128, 2], np.random.default_rng(3))
    gen = tf.random.Generator.from_seed(11)

    @tf.function(jit_compile=True)
    def jit_run(i, m):
        seed = gen.make_seeds(1)[:, 0]
        return mask_inputs(
            i, m, mask_prob=PROB, max_predictions=N, mask_id=MASK, special_ids=[CLS, SEP, MASK], seed=seed
        )

    out = jit_run(tf.constant(ids, tf.int32), tf.constant(mask, tf.int32))
    assert np.asarray(out.masked_weights).sum(1).tolist() == [3, 19, 0]
    again = jit_run(tf.constant(ids, tf.int32), tf.constant(mask, tf.int32))
    assert not np.array_equal(out.masked_positions[1], again.masked_positions[1])  # generator advanced


@pytest.mark.parametrize("jit", [False, True])
def test_per_example_seeds_make_rows_independent_of_the_batch(jit):
    ids, mask = make_batch([30, 128, 2, 77], np.random.default_rng(5))
    seeds = tf.constant([[1, 10], [1, 11], [1, 12], [4, 13]], tf.int64)
    kwargs = dict(mask_prob=PROB, max_predictions=N, mask_id=MASK, special_ids=[CLS, SEP, MASK])
    # XLA and the TF kernels draw different streams from one seed: compare within one mode
    per_example = tf.function(lambda i, m, s: mask_inputs_per_example(i, m, s, **kwargs), jit_compile=jit)
    single = tf.function(lambda i, m, s: mask_inputs(i, m, seed=s, **kwargs), jit_compile=jit)
    whole = per_example(ids, mask, seeds)
    for b in range(4):
        row = single(ids[b : b + 1], mask[b : b + 1], seeds[b])
        for got, want in zip(whole, row, strict=True):
            assert np.array_equal(np.asarray(got)[b : b + 1], want), b
    halves = [per_example(ids[h : h + 2], mask[h : h + 2], seeds[h : h + 2]) for h in (0, 2)]
    assert np.array_equal(np.concatenate([x.masked_input_ids for x in halves]), whole.masked_input_ids)
    assert np.asarray(whole.masked_weights).sum(1).tolist() == [4, 19, 0, 12]


def test_rejects_too_many_predictions():
    ids, mask = make_batch([8], np.random.default_rng(4), length=8)
    with pytest.raises(ValueError, match="max_predictions"):
        mask_inputs(ids, mask, mask_prob=PROB, max_predictions=9, mask_id=MASK, special_ids=[], seed=[1, 2])
