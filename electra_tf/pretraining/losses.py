"""ELECTRA losses (paper eq. 4): generator MLM and discriminator RTD.

The `*_sums` functions return (numerator, denominator) so a trainer can normalise by the
denominator summed over replicas; the plain functions are the upstream per-batch form
`sum(w * loss) / (sum(w) + 1e-6)`. The weighted total (gen_weight, disc_weight) is the trainer's.
Logits of any float dtype are computed in float32.
"""

from __future__ import annotations

import tensorflow as tf

_EPS = 1e-6


def mlm_loss_sums(
    logits: tf.Tensor, target_ids: tf.Tensor, weights: tf.Tensor
) -> tuple[tf.Tensor, tf.Tensor]:
    """(Σ w·CE, Σ w) of the generator's softmax cross-entropy at the masked slots.

    Args:
      logits: [B, N, V] generator logits at the masked positions.
      target_ids: [B, N] int original ids.
      weights: [B, N] float, 0 on unused slots.
    """
    ce = tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=tf.cast(target_ids, tf.int32), logits=tf.cast(logits, tf.float32)
    )
    w = tf.cast(weights, tf.float32)
    return tf.reduce_sum(w * ce), tf.reduce_sum(w)


def rtd_loss_sums(
    disc_logits: tf.Tensor, labels: tf.Tensor, input_mask: tf.Tensor
) -> tuple[tf.Tensor, tf.Tensor]:
    """(Σ mask·CE, Σ mask) of the discriminator's sigmoid cross-entropy over real tokens.

    Args:
      disc_logits: [B, L] logits of "replaced".
      labels: [B, L] int/float, 1 = replaced.
      input_mask: [B, L], 1 on real tokens.
    """
    ce = tf.nn.sigmoid_cross_entropy_with_logits(
        labels=tf.cast(labels, tf.float32), logits=tf.cast(disc_logits, tf.float32)
    )
    mask = tf.cast(input_mask, tf.float32)
    return tf.reduce_sum(mask * ce), tf.reduce_sum(mask)


def mlm_loss(logits: tf.Tensor, target_ids: tf.Tensor, weights: tf.Tensor) -> tf.Tensor:
    """Scalar float32 `Σ w·CE / (Σ w + 1e-6)` (see `mlm_loss_sums`)."""
    numerator, denominator = mlm_loss_sums(logits, target_ids, weights)
    return numerator / (denominator + _EPS)


def rtd_loss(disc_logits: tf.Tensor, labels: tf.Tensor, input_mask: tf.Tensor) -> tf.Tensor:
    """Scalar float32 `Σ mask·CE / (Σ mask + 1e-6)` (see `rtd_loss_sums`)."""
    numerator, denominator = rtd_loss_sums(disc_logits, labels, input_mask)
    return numerator / (denominator + _EPS)
