"""Dynamic MLM masking inside the train step (docs/design.md, 'Masking').

Candidates are the real tokens (`input_mask == 1`) that are not special ids ([CLS], [SEP],
[MASK]). Each example gets `k = max(1, min(N, round(mask_prob * num_tokens)))` positions,
where `num_tokens = sum(input_mask)` (special tokens included, as upstream) and the product is
rounded in float32 with `tf.round` (half to even), as upstream; `k` is further capped by the
number of candidates (so an example without candidates gets none). Positions are drawn
uniformly *without* replacement: every candidate gets an i.i.d. uniform key and the `k`
largest keys win. 85% of the chosen positions become `[MASK]`, the other 15% keep their
token; there is no random-token replacement.

Everything is a pure function of `(inputs, seed)` built from stateless random ops, so it runs
inside `tf.function` (also with `jit_compile=True`) and in a `tf.distribute` replica context.
The caller owns the RNG state, e.g. `seed = generator.make_seeds(1)[:, 0]` from a checkpointed
`tf.random.Generator`. `mask_inputs_per_example` takes one seed per example instead, so an
example's masking is independent of how the global batch is split over replicas. One seed gives
one result per execution mode; XLA-compiled and plain TF kernels draw different streams.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import tensorflow as tf

from electra_tf.pretraining.sampling import per_example_noise, replace_tokens, sample_unigram_per_example
from electra_tf.pretraining.seeds import TOKEN_DRAW_STREAM, stream

KEEP_ORIGINAL_PROB = 0.15  # share of chosen positions that keep their original token


class MaskedBatch(NamedTuple):
    """Result of `mask_inputs`; B = batch, L = sequence length, N = max_predictions.

    masked_input_ids: [B, L] int32, the inputs with the chosen `[MASK]` replacements.
    masked_positions: [B, N] int32, chosen positions; unused slots are 0.
    masked_ids: [B, N] int32, original token ids at those positions; unused slots are 0.
    masked_weights: [B, N] float32, 1.0 for used slots, 0.0 for unused ones.
    """

    masked_input_ids: tf.Tensor
    masked_positions: tf.Tensor
    masked_ids: tf.Tensor
    masked_weights: tf.Tensor


def num_to_predict(input_mask: tf.Tensor, mask_prob: float, max_predictions: int) -> tf.Tensor:
    """[B, L] mask -> [B] int32 `max(1, min(N, round(mask_prob * sum(mask))))` (float32 round)."""
    num_tokens = tf.reduce_sum(tf.cast(input_mask, tf.float32), axis=-1)
    k = tf.cast(tf.round(num_tokens * tf.constant(mask_prob, tf.float32)), tf.int32)
    return tf.maximum(1, tf.minimum(max_predictions, k))


def candidate_mask(input_ids: tf.Tensor, input_mask: tf.Tensor, special_ids: Sequence[int]) -> tf.Tensor:
    """[B, L] bool: real tokens whose id is not in `special_ids`."""
    candidates = tf.not_equal(tf.cast(input_mask, tf.int32), 0)
    ids = tf.cast(input_ids, tf.int32)
    for special in special_ids:
        candidates = tf.logical_and(candidates, tf.not_equal(ids, int(special)))
    return candidates


def _split(seed: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """[2] seed -> two independent [2] seeds (position keys, mask-or-keep draws)."""
    key_seed, draw_seed = tf.unstack(tf.random.experimental.stateless_split(seed, num=2))
    return key_seed, draw_seed


def _check_length(input_ids: tf.Tensor, n: int) -> None:
    static_len = input_ids.shape[-1]
    if static_len is not None and static_len < n:
        raise ValueError(f"max_predictions={n} exceeds the sequence length {static_len}")


def mask_inputs(
    input_ids: tf.Tensor,
    input_mask: tf.Tensor,
    *,
    mask_prob: float,
    max_predictions: int,
    mask_id: int,
    special_ids: Sequence[int],
    seed: tf.Tensor,
) -> MaskedBatch:
    """Chooses and masks positions of a batch (see the module docstring for the rule).

    Args:
      input_ids: [B, L] int32 or int64 token ids.
      input_mask: [B, L] int32 or int64, 1 on real tokens and 0 on padding.
      mask_prob: share of tokens to predict (0.15).
      max_predictions: N, a Python int (`int((mask_prob + 0.005) * L)` = 19 for L = 128); N <= L.
      mask_id: id of `[MASK]`.
      special_ids: ids never chosen ([CLS], [SEP], [MASK]); padding is never chosen either.
      seed: shape [2] int32/int64 tensor for the stateless random ops.

    Returns:
      `MaskedBatch` with N = max_predictions slots per example. Slots are in random order;
      the first `k` of each row are used.
    """
    n = int(max_predictions)
    _check_length(input_ids, n)
    key_seed, draw_seed = _split(seed)
    shape = tf.shape(input_ids)
    keys = tf.random.stateless_uniform(shape, seed=key_seed, dtype=tf.float32)
    draws = tf.random.stateless_uniform([shape[0], n], seed=draw_seed, dtype=tf.float32)
    return _select_and_mask(input_ids, input_mask, keys, draws, mask_prob, n, mask_id, special_ids)


def mask_inputs_per_example(
    input_ids: tf.Tensor,
    input_mask: tf.Tensor,
    seeds: tf.Tensor,
    *,
    mask_prob: float,
    max_predictions: int,
    mask_id: int,
    special_ids: Sequence[int],
) -> MaskedBatch:
    """`mask_inputs` with one seed per example: seeds [B, 2] int32/int64.

    Row b equals `mask_inputs(input_ids[b:b+1], input_mask[b:b+1], seed=seeds[b], ...)`, so an
    example's masking does not depend on which other examples share its (per-replica) batch.
    The draws are made per row inside a `tf.map_fn`.
    """
    n = int(max_predictions)
    _check_length(input_ids, n)
    length = tf.shape(input_ids)[1]

    def row_draws(seed):
        key_seed, draw_seed = _split(seed)
        return (
            tf.random.stateless_uniform([length], seed=key_seed, dtype=tf.float32),
            tf.random.stateless_uniform([n], seed=draw_seed, dtype=tf.float32),
        )

    signature = (tf.TensorSpec([None], tf.float32), tf.TensorSpec([n], tf.float32))
    keys, draws = tf.map_fn(row_draws, seeds, fn_output_signature=signature)
    return _select_and_mask(input_ids, input_mask, keys, draws, mask_prob, n, mask_id, special_ids)


def _select_and_mask(
    input_ids: tf.Tensor,
    input_mask: tf.Tensor,
    keys: tf.Tensor,
    draws: tf.Tensor,
    mask_prob: float,
    n: int,
    mask_id: int,
    special_ids: Sequence[int],
) -> MaskedBatch:
    """The masking rule given uniform draws: keys [B, L] rank candidates, draws [B, N] decide
    mask (>= 0.15) or keep (< 0.15) per slot."""
    ids = tf.cast(input_ids, tf.int32)
    candidates = candidate_mask(ids, input_mask, special_ids)
    num_candidates = tf.reduce_sum(tf.cast(candidates, tf.int32), axis=-1)
    k = tf.minimum(num_to_predict(input_mask, mask_prob, n), num_candidates)  # [B]

    keys = tf.where(candidates, keys, -1.0)  # non-candidates rank below every candidate
    _, top_positions = tf.math.top_k(keys, k=n, sorted=True)  # [B, N], distinct per row

    used = tf.range(n)[tf.newaxis, :] < k[:, tf.newaxis]  # [B, N]
    positions = tf.where(used, top_positions, 0)
    masked_ids = tf.where(used, tf.gather(ids, top_positions, batch_dims=1), 0)
    weights = tf.cast(used, tf.float32)

    to_mask = tf.logical_and(used, draws >= KEEP_ORIGINAL_PROB)  # [B, N]
    hits = tf.one_hot(positions, depth=tf.shape(ids)[1], dtype=tf.int32)  # [B, N, L]
    at_masked = tf.reduce_sum(hits * tf.cast(to_mask, tf.int32)[:, :, tf.newaxis], axis=1) > 0
    masked_input_ids = tf.where(at_masked, tf.constant(mask_id, tf.int32), ids)
    return MaskedBatch(masked_input_ids, positions, masked_ids, weights)


def randomize_masked(
    masked: MaskedBatch, seeds: tf.Tensor, share: float, cdf: tf.Tensor, mask_id: int
) -> MaskedBatch:
    """BERT's random-token corruption on top of ELECTRA's masking: each `[MASK]`ed slot becomes a
    token drawn from `cdf` [V] (`sampling.unigram_cdf`) with probability share / 0.85, so `share`
    of all chosen positions hold a random token, 15% keep theirs and the rest stay `[MASK]`.
    seeds: [B, 2] per-example seeds. Positions, targets and weights are unchanged."""
    n = masked.masked_positions.shape[1]
    ids = masked.masked_input_ids
    at_slot = tf.gather(ids, masked.masked_positions, batch_dims=1)  # [B,N]
    u = per_example_noise(seeds, [n], tf.random.stateless_uniform)  # [B,N]
    chosen = (at_slot == mask_id) & (u < share / (1.0 - KEEP_ORIGINAL_PROB)) & (masked.masked_weights > 0)
    draws = sample_unigram_per_example(cdf, stream(seeds, TOKEN_DRAW_STREAM), n)  # [B,N]
    new_ids = replace_tokens(ids, masked.masked_positions, draws, tf.cast(chosen, tf.float32))
    return masked._replace(masked_input_ids=new_ids)
