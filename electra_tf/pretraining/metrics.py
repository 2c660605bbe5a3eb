"""Per-batch metric sums/counts (no Keras state) and a streaming, replica-safe ROC AUC.

The count functions return float32 scalars, so a trainer can sum them over replicas
(`strategy.reduce(SUM, ...)`) and steps before dividing; a mean of per-replica ratios would be
biased when replicas see different numbers of tokens.
"""

from __future__ import annotations

import tensorflow as tf


def _weighted_hits(predicted: tf.Tensor, target_ids: tf.Tensor, weights: tf.Tensor) -> tuple:
    hit = tf.cast(tf.equal(tf.cast(predicted, tf.int32), tf.cast(target_ids, tf.int32)), tf.float32)
    w = tf.cast(weights, tf.float32)
    return tf.reduce_sum(w * hit), tf.reduce_sum(w)


def mlm_accuracy_counts(logits: tf.Tensor, target_ids: tf.Tensor, weights: tf.Tensor) -> tuple:
    """Generator argmax accuracy: logits [B, N, V], targets [B, N], weights [B, N] ->
    (weighted correct sum, weight sum), both float32 scalars."""
    return _weighted_hits(tf.argmax(logits, axis=-1, output_type=tf.int32), target_ids, weights)


def sampled_accuracy_counts(sampled_ids: tf.Tensor, target_ids: tf.Tensor, weights: tf.Tensor) -> tuple:
    """Share of sampled replacements equal to the original: sampled [B, N], targets [B, N],
    weights [B, N] -> (weighted correct sum, weight sum), float32 scalars."""
    return _weighted_hits(sampled_ids, target_ids, weights)


def disc_counts(disc_logits: tf.Tensor, labels: tf.Tensor, input_mask: tf.Tensor) -> dict[str, tf.Tensor]:
    """Discriminator confusion counts over real tokens, prediction = logit > 0.

    Args:
      disc_logits: [B, L]; labels: [B, L] (1 = replaced); input_mask: [B, L].

    Returns:
      dict of float32 scalars: tp, fp, fn, tn, correct (= tp + tn), count (= real tokens).
    """
    mask = tf.cast(input_mask, tf.float32)
    pred = tf.cast(disc_logits > 0, tf.float32)
    label = tf.cast(labels, tf.float32)
    tp = tf.reduce_sum(mask * pred * label)
    fp = tf.reduce_sum(mask * pred * (1.0 - label))
    fn = tf.reduce_sum(mask * (1.0 - pred) * label)
    tn = tf.reduce_sum(mask * (1.0 - pred) * (1.0 - label))
    return {"tp": tp, "fp": fp, "fn": fn, "tn": tn, "correct": tp + tn, "count": tf.reduce_sum(mask)}


class StreamingAUC(tf.Module):
    """ROC AUC accumulated over batches from two score histograms (own implementation).

    Scores in [0, 1] fall into `num_bins` equal bins; the positive and negative weight per bin
    is accumulated. AUC = P(score_pos > score_neg) + 0.5 * P(same bin), i.e. the Mann-Whitney
    statistic with pairs inside one bin counted as ties (the trapezoidal ROC over the bin edges);
    it is exact up to that binning (|error| <= share of pairs sharing a bin).

    Distribution: the two histograms are `tf.Variable`s with
    `synchronization=ON_READ, aggregation=SUM`, created by the constructor — construct it under
    `strategy.scope()`. `update_state` may run in a replica context (inside `strategy.run`,
    each replica adds to its own copy, no communication) or in the cross-replica/default
    context; `result()` read in cross-replica context sums the replica copies. `reset_state()`
    (alias `reset()`) sets all copies to 0 (call it outside `strategy.run`).
    """

    def __init__(self, num_bins: int = 1000, name: str = "streaming_auc"):
        super().__init__(name=name)
        self.num_bins = int(num_bins)
        kwargs = dict(
            trainable=False,
            synchronization=tf.VariableSynchronization.ON_READ,
            aggregation=tf.VariableAggregation.SUM,
        )
        self.positives = tf.Variable(tf.zeros([self.num_bins]), name="positives", **kwargs)
        self.negatives = tf.Variable(tf.zeros([self.num_bins]), name="negatives", **kwargs)

    def update_state(self, labels: tf.Tensor, probabilities: tf.Tensor, sample_weight=None) -> None:
        """Adds a batch (Keras argument order y_true, y_pred): labels [...] in {0, 1},
        probabilities [...] in [0, 1], sample_weight [...] (e.g. the input mask; default 1);
        all of one shape."""
        p = tf.reshape(tf.cast(probabilities, tf.float32), [-1])
        y = tf.reshape(tf.cast(labels, tf.float32), [-1])
        w = tf.ones_like(p) if sample_weight is None else tf.reshape(tf.cast(sample_weight, tf.float32), [-1])
        bins = tf.clip_by_value(tf.cast(tf.floor(p * self.num_bins), tf.int32), 0, self.num_bins - 1)
        self.positives.assign_add(tf.math.unsorted_segment_sum(w * y, bins, self.num_bins))
        self.negatives.assign_add(tf.math.unsorted_segment_sum(w * (1.0 - y), bins, self.num_bins))

    def result(self) -> tf.Tensor:
        """Scalar float32 AUC; 0 when either class is empty."""
        pos = tf.convert_to_tensor(self.positives)
        neg = tf.convert_to_tensor(self.negatives)
        neg_below = tf.cumsum(neg, exclusive=True)
        wins = tf.reduce_sum(pos * (neg_below + 0.5 * neg))
        return tf.math.divide_no_nan(wins, tf.reduce_sum(pos) * tf.reduce_sum(neg))

    def reset_state(self) -> None:
        """Clears the histograms (in every replica copy)."""
        self.positives.assign(tf.zeros([self.num_bins]))
        self.negatives.assign(tf.zeros([self.num_bins]))

    reset = reset_state
