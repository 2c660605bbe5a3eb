"""ELECTRA losses (paper eq. 4): generator MLM, discriminator RTD and their weighted sum.

All are per-replica scalars, normalised the upstream way: `sum(w * loss) / (sum(w) + 1e-6)`.
Logits of any float dtype are computed in float32.
"""

from __future__ import annotations

import tensorflow as tf

_EPS = 1e-6


def mlm_loss(logits: tf.Tensor, target_ids: tf.Tensor, weights: tf.Tensor) -> tf.Tensor:
    """Weighted mean softmax cross-entropy of the generator at the masked slots.

    Args:
      logits: [B, N, V] generator logits at the masked positions.
      target_ids: [B, N] int original ids.
      weights: [B, N] float, 0 on unused slots.

    Returns:
      scalar float32 `sum(w * CE) / (sum(w) + 1e-6)`.
    """
    ce = tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=tf.cast(target_ids, tf.int32), logits=tf.cast(logits, tf.float32)
    )
    w = tf.cast(weights, tf.float32)
    return tf.reduce_sum(w * ce) / (tf.reduce_sum(w) + _EPS)


def rtd_loss(disc_logits: tf.Tensor, labels: tf.Tensor, input_mask: tf.Tensor) -> tf.Tensor:
    """Sigmoid cross-entropy of the discriminator averaged over real tokens.

    Args:
      disc_logits: [B, L] logits of "replaced".
      labels: [B, L] int/float, 1 = replaced.
      input_mask: [B, L], 1 on real tokens.

    Returns:
      scalar float32 `sum(mask * CE) / (sum(mask) + 1e-6)`.
    """
    ce = tf.nn.sigmoid_cross_entropy_with_logits(
        labels=tf.cast(labels, tf.float32), logits=tf.cast(disc_logits, tf.float32)
    )
    mask = tf.cast(input_mask, tf.float32)
    return tf.reduce_sum(mask * ce) / (tf.reduce_sum(mask) + _EPS)


def total_loss(
    mlm: tf.Tensor, rtd: tf.Tensor, gen_weight: float | tf.Tensor, disc_weight: float | tf.Tensor
) -> tf.Tensor:
    """Scalar `gen_weight * mlm + disc_weight * rtd` (defaults in the config: 1 and 50)."""
    return tf.cast(gen_weight, tf.float32) * mlm + tf.cast(disc_weight, tf.float32) * rtd
