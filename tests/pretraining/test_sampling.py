"""Gumbel-max sampling frequencies (chi-square vs softmax), token replacement and RTD labels."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from electra_tf.pretraining.sampling import (
    gumbel_max_sample,
    gumbel_max_sample_per_example,
    replace_tokens,
    rtd_labels,
)

LOGITS = np.array([2.0, 1.0, 0.0, -1.0, 0.5], np.float32)
CHI2_CRIT_DF4 = 18.47  # chi-square critical value, 4 degrees of freedom, p = 0.001


def softmax(x):
    e = np.exp(x - x.max())
    return e / e.sum()


def sample_counts(temperature, seed=(1, 2), batch=4, slots=5000):
    logits = tf.broadcast_to(tf.constant(LOGITS), [batch, slots, len(LOGITS)])
    ids = tf.function(gumbel_max_sample)(logits, temperature, tf.constant(seed, tf.int64))
    assert ids.dtype == tf.int32 and ids.shape == (batch, slots)
    return np.bincount(np.asarray(ids).ravel(), minlength=len(LOGITS))


def chi_square(counts, probs):
    expected = counts.sum() * probs
    return float(((counts - expected) ** 2 / expected).sum())


def test_frequencies_match_softmax_of_scaled_logits():
    for temperature in (1.0, 2.0, 0.7):
        counts = sample_counts(temperature)
        assert chi_square(counts, softmax(LOGITS / temperature)) < CHI2_CRIT_DF4, temperature


def test_chi_square_detects_wrong_temperature():
    counts = sample_counts(2.0)
    assert chi_square(counts, softmax(LOGITS)) > 10 * CHI2_CRIT_DF4  # the test can fail


def test_temperature_effect():
    cold, hot = sample_counts(0.05), sample_counts(100.0)
    assert cold[0] / cold.sum() > 0.99  # near argmax
    assert np.abs(hot / hot.sum() - 0.2).max() < 0.02  # near uniform


def test_deterministic_per_seed_and_no_gradient():
    logits = tf.Variable(tf.random.stateless_normal([2, 3, 7], seed=[0, 1]))
    with tf.GradientTape() as tape:
        a = gumbel_max_sample(logits, 1.0, tf.constant([9, 9]))
        loss = tf.reduce_sum(tf.cast(a, tf.float32) * logits[..., 0])
    assert np.array_equal(a, gumbel_max_sample(logits, 1.0, tf.constant([9, 9])))
    grad = tape.gradient(loss, logits)
    assert np.count_nonzero(grad[..., 1:]) == 0  # only the explicit use of logits has a gradient
    different = [gumbel_max_sample(logits, 1.0, tf.constant([s, 0])) for s in range(5)]
    assert any(not np.array_equal(a, d) for d in different)


def test_replace_tokens_and_labels():
    ids = tf.constant([[101, 5, 6, 7, 102, 0], [101, 8, 9, 102, 0, 0]], tf.int64)
    mask = tf.constant([[1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 0, 0]], tf.int64)
    positions = tf.constant([[3, 1, 0], [2, 0, 0]])
    new_ids = tf.constant([[70, 5, 99], [44, 99, 99]])  # slot (0,1) samples the original id 5
    weights = tf.constant([[1.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    corrupted = tf.function(replace_tokens)(ids, positions, new_ids, weights)
    assert corrupted.dtype == tf.int32
    assert corrupted.numpy().tolist() == [[101, 5, 6, 70, 102, 0], [101, 8, 44, 102, 0, 0]]
    labels = rtd_labels(ids, corrupted, mask)
    assert labels.dtype == tf.int32
    assert labels.numpy().tolist() == [[0, 0, 0, 1, 0, 0], [0, 0, 1, 0, 0, 0]]
    padded = rtd_labels(ids, tf.constant([[101, 5, 6, 7, 102, 3]] * 2), mask)
    assert padded.numpy()[0, 5] == 0  # a difference on padding is never labelled


def test_xla_compiles():
    f = tf.function(lambda lg, s: gumbel_max_sample(lg, 0.5, s), jit_compile=True)
    out = f(tf.zeros([2, 3, 11]), tf.constant([1, 2]))
    assert out.shape == (2, 3) and np.all((out >= 0) & (out < 11))


@pytest.mark.parametrize("jit", [False, True])
def test_per_example_seeds(jit):
    logits = tf.random.stateless_normal([3, 4, 9], seed=[2, 3])
    seeds = tf.constant([[0, 1], [0, 2], [5, 1]], tf.int64)
    # XLA and the TF kernels draw different streams from one seed: compare within one mode
    whole = tf.function(gumbel_max_sample_per_example, jit_compile=jit)(logits, 0.8, seeds)
    single = tf.function(gumbel_max_sample, jit_compile=jit)
    assert whole.dtype == tf.int32 and whole.shape == (3, 4)
    for b in range(3):
        assert np.array_equal(whole[b : b + 1], single(logits[b : b + 1], 0.8, seeds[b]))


def test_per_example_frequencies_match_softmax():
    many = tf.broadcast_to(tf.constant(LOGITS), [2000, 10, len(LOGITS)])
    seeds = tf.stack([tf.zeros([2000], tf.int64), tf.range(2000, dtype=tf.int64)], axis=1)
    sampled = tf.function(gumbel_max_sample_per_example)(many, 1.5, seeds)
    counts = np.bincount(np.asarray(sampled).ravel(), minlength=len(LOGITS))
    assert chi_square(counts, softmax(LOGITS / 1.5)) < CHI2_CRIT_DF4
