"""Named streams of the pretrainer's stateless randomness.

Each step draws one [2] seed from the checkpointed `tf.random.Generator`; every random choice of
the step derives its own seed from it, so the choices are independent of each other and of the
replica split. Per-example seeds make example i of the global batch draw the same numbers
whichever replica holds it.
"""

from __future__ import annotations

import tensorflow as tf

# Offsets added to the second seed word: one stream per use.
REPLACEMENT_STREAM = 7  # the replacement method's per-example draws (e.g. Gumbel noise)
STEP_STREAM = 11  # draws shared by every replica in a step (e.g. the adaptive exit)
RANDOM_TOKEN_STREAM = 13  # `random_token_share`: which slots get a random token
TOKEN_DRAW_STREAM = 1  # relative to RANDOM_TOKEN_STREAM: which token each of those slots gets
# Per-example seed: (seed[0], seed[1] * EXAMPLE_STRIDE + global example index); a prime stride
# keeps the streams of consecutive steps apart for batches below it.
EXAMPLE_STRIDE = 1_000_003


def per_example_seeds(seed: tf.Tensor, first_index: tf.Tensor, batch_size: tf.Tensor) -> tf.Tensor:
    """[2] seed, global index of the first local example → [B, 2] seeds, one per example."""
    index = tf.cast(first_index, tf.int64) + tf.range(tf.cast(batch_size, tf.int64))
    seed = tf.cast(seed, tf.int64)
    return tf.stack([tf.fill(tf.shape(index), seed[0]), seed[1] * EXAMPLE_STRIDE + index], axis=1)


def stream(seeds: tf.Tensor, offset: int) -> tf.Tensor:
    """Seeds [..., 2] of another stream: the second word moved by `offset`."""
    seeds = tf.convert_to_tensor(seeds)
    return seeds + tf.constant([0, offset], dtype=seeds.dtype)
