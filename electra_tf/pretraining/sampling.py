"""Replacement sampling for ELECTRA (paper eq. 1-2): Gumbel-max over generator logits.

`argmax(logits / T + g)` with `g = -log(-log(u))`, `u ~ U(0, 1)` i.i.d., is an exact sample
from `softmax(logits / T)`. The noise is drawn with stateless ops from a caller-owned seed, so
the functions run inside `tf.function` (also `jit_compile=True`) and in replica contexts.
A seed fixes the sample per execution mode (XLA and plain TF kernels draw different streams).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

_TINY = float(np.finfo(np.float32).tiny)  # keeps log(u) finite; u < 1 keeps -log(u) > 0


def gumbel_noise(shape: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """Standard Gumbel noise of `shape`, float32, from a shape-[2] stateless seed."""
    u = tf.random.stateless_uniform(shape, seed=seed, minval=_TINY, maxval=1.0, dtype=tf.float32)
    return -tf.math.log(-tf.math.log(u))


def gumbel_max_sample(logits: tf.Tensor, temperature: float | tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """Samples token ids from `softmax(logits / temperature)` without gradient.

    Args:
      logits: [B, N, V] generator logits (any float dtype; computed in float32).
      temperature: positive scalar.
      seed: shape [2] int32/int64 tensor for the stateless noise.

    Returns:
      [B, N] int32 sampled ids.
    """
    return _gumbel_argmax(logits, temperature, lambda shape: gumbel_noise(shape, seed))


def gumbel_max_sample_per_example(
    logits: tf.Tensor, temperature: float | tf.Tensor, seeds: tf.Tensor
) -> tf.Tensor:
    """`gumbel_max_sample` with one seed per example: logits [B, N, V], seeds [B, 2] -> [B, N] int32.

    Row b equals `gumbel_max_sample(logits[b:b+1], temperature, seeds[b])`, independent of the
    rest of the batch (noise drawn per row inside a `tf.map_fn`).
    """
    return _gumbel_argmax(
        logits, temperature, lambda shape: per_example_noise(seeds, shape[1:], gumbel_noise)
    )


def per_example_noise(seeds: tf.Tensor, shape, draw) -> tf.Tensor:
    """seeds [B, 2] → float32 [B, *shape] whose row b is `draw(shape, seeds[b])` (a stateless
    sampler), so an example's noise does not depend on how the batch is split over replicas."""
    return tf.map_fn(lambda s: draw(shape, s), seeds, fn_output_signature=tf.TensorSpec(None, tf.float32))


def _gumbel_argmax(logits, temperature, make_noise) -> tf.Tensor:
    logits = tf.cast(tf.stop_gradient(logits), tf.float32)
    scaled = logits / tf.cast(temperature, tf.float32)
    noisy = scaled + tf.reshape(make_noise(tf.shape(scaled)), tf.shape(scaled))
    return tf.stop_gradient(tf.argmax(noisy, axis=-1, output_type=tf.int32))


def replace_tokens(
    input_ids: tf.Tensor, positions: tf.Tensor, new_ids: tf.Tensor, weights: tf.Tensor
) -> tf.Tensor:
    """Writes `new_ids` into `input_ids` at `positions` where `weights > 0`.

    Args:
      input_ids: [B, L] int ids.
      positions: [B, N] int positions; the used ones (weight > 0) must be distinct per row, as
        `mask_inputs` guarantees.
      new_ids: [B, N] int ids to write.
      weights: [B, N] float; slots with weight 0 are ignored.

    Returns:
      [B, L] int32 ids.
    """
    ids = tf.cast(input_ids, tf.int32)
    hits = _slot_hits(positions, weights, tf.shape(ids)[1])  # [B,N,L]
    written = tf.reduce_sum(hits, axis=1) > 0  # [B, L]
    values = tf.reduce_sum(hits * tf.cast(new_ids, tf.int32)[:, :, tf.newaxis], axis=1)
    return tf.where(written, values, ids)


def _slot_hits(positions: tf.Tensor, weights: tf.Tensor, length) -> tf.Tensor:
    """positions [B, N] int, weights [B, N] → int32 [B, N, L]: one-hot of each used slot's position."""
    used = tf.cast(weights > 0, tf.int32)[:, :, tf.newaxis]  # [B, N, 1]
    return tf.one_hot(tf.cast(positions, tf.int32), depth=length, dtype=tf.int32) * used


def selected_mask(positions: tf.Tensor, weights: tf.Tensor, length) -> tf.Tensor:
    """positions [B, N] int, weights [B, N] (0 = unused slot) → [B, L] int32, 1 at selected positions."""
    return tf.minimum(tf.reduce_sum(_slot_hits(positions, weights, length), axis=1), 1)


def rtd_labels(original_ids: tf.Tensor, corrupted_ids: tf.Tensor, input_mask: tf.Tensor) -> tf.Tensor:
    """[B, L] int32 replaced-token labels: 1 where the ids differ on real tokens, else 0.

    A position whose sampled token equals the original is labelled 0 ("original").
    """
    differs = tf.not_equal(tf.cast(original_ids, tf.int32), tf.cast(corrupted_ids, tf.int32))
    return tf.cast(differs, tf.int32) * tf.cast(tf.not_equal(input_mask, 0), tf.int32)


def unigram_cdf(counts, never_ids=()) -> np.ndarray:
    """Token counts [V] → float32 [V] cumulative distribution of the unigram distribution with
    `never_ids` given no mass; the last entry is exactly 1.

    Raises:
      ValueError: no token with a positive count is left.
    """
    mass = np.asarray(counts, np.float64).copy()
    mass[[i for i in never_ids if 0 <= i < len(mass)]] = 0.0
    if mass.sum() <= 0:
        raise ValueError("unigram distribution: no token with a positive count")
    cdf = np.cumsum(mass / mass.sum())
    cdf[np.flatnonzero(mass)[-1] :] = 1.0
    return cdf.astype(np.float32)


def sample_unigram_per_example(cdf: tf.Tensor, seeds: tf.Tensor, num: int) -> tf.Tensor:
    """Inverse-CDF draws from `cdf` [V] (see `unigram_cdf`), `num` per example: seeds [B, 2] →
    int32 [B, num]; row b depends on seeds[b] only. A token with no mass is never drawn."""
    u = per_example_noise(seeds, [num], tf.random.stateless_uniform)  # [B,num] in [0, 1)
    flat = tf.reshape(u, [1, -1])
    ids = tf.searchsorted(tf.reshape(tf.cast(cdf, tf.float32), [1, -1]), flat, side="right")
    return tf.reshape(tf.cast(ids, tf.int32), tf.shape(u))


def unigram_corruption(ids: tf.Tensor, input_mask, masked, seeds, cdf) -> tuple:
    """ids, input_mask [B, L] int, `masked` (a `masking.MaskedBatch`: its positions and weights
    [B, N]), seeds [B, 2], cdf [V] → (corrupted ids [B, L] int32 with unigram draws at the selected
    positions, RTD labels [B, L] int32)."""
    new_ids = sample_unigram_per_example(cdf, seeds, masked.masked_positions.shape[1])  # [B,N]
    corrupted = replace_tokens(ids, masked.masked_positions, new_ids, masked.masked_weights)
    return corrupted, rtd_labels(ids, corrupted, input_mask)
