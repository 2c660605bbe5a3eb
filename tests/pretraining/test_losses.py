"""Losses against hand-computed values; metric counts and streaming AUC against numpy."""

from __future__ import annotations

import math

import numpy as np
import pytest
import tensorflow as tf

from electra_tf.pretraining.losses import mlm_loss, mlm_loss_sums, rtd_loss, rtd_loss_sums
from electra_tf.pretraining.metrics import (
    StreamingAUC,
    disc_counts,
    mlm_accuracy_counts,
    sampled_accuracy_counts,
)
from tests.helpers import run_program


def test_mlm_loss_hand_computed():
    ln3 = math.log(3.0)
    # softmax([0, ln3, 0]) = [1/5, 3/5, 1/5]; uniform logits give CE = ln 3
    logits = tf.constant([[[0.0, ln3, 0.0], [0.0, 0.0, 0.0]], [[0.0, ln3, 0.0], [9.0, -9.0, 3.0]]])
    targets = tf.constant([[1, 2], [0, 1]])
    weights = tf.constant([[1.0, 1.0], [0.5, 0.0]])
    expected = (math.log(5 / 3) + ln3 + 0.5 * math.log(5)) / (2.5 + 1e-6)
    assert float(mlm_loss(logits, targets, weights)) == pytest.approx(expected, rel=1e-6)
    assert float(mlm_loss(logits, targets, tf.zeros([2, 2]))) == 0.0


def test_rtd_loss_and_total_hand_computed():
    ln3 = math.log(3.0)
    # sigmoid(ln3) = 3/4: label 1 -> ln(4/3), label 0 -> ln 4; logit 0 -> ln 2
    logits = tf.constant([[ln3, ln3, 0.0, 50.0], [0.0, -50.0, 0.0, 0.0]])
    labels = tf.constant([[1, 0, 1, 0], [0, 1, 0, 0]])
    mask = tf.constant([[1, 1, 1, 0], [1, 0, 0, 0]])
    expected = (math.log(4 / 3) + math.log(4) + 2 * math.log(2)) / (4 + 1e-6)
    rtd = rtd_loss(logits, labels, mask)
    assert float(rtd) == pytest.approx(expected, rel=1e-6)
    assert 2.0 + 50.0 * float(rtd) == pytest.approx(2.0 + 50 * expected, rel=1e-6)


def test_first_step_scale():
    v = 30522
    mlm = mlm_loss(tf.zeros([1, 2, v]), tf.constant([[5, 7]]), tf.ones([1, 2]))
    rtd = rtd_loss(tf.zeros([1, 4]), tf.constant([[0, 1, 0, 0]]), tf.ones([1, 4]))
    assert float(mlm) + 50.0 * float(rtd) == pytest.approx(math.log(v) + 50 * math.log(2), rel=1e-5)


def test_counts_match_numpy():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(3, 5, 4)).astype(np.float32)
    targets = rng.integers(0, 4, size=(3, 5))
    weights = (rng.random((3, 5)) < 0.7).astype(np.float32)
    hit = logits.argmax(-1) == targets
    correct, count = mlm_accuracy_counts(logits, targets, weights)
    assert (float(correct), float(count)) == (float((hit * weights).sum()), float(weights.sum()))
    sampled = rng.integers(0, 4, size=(3, 5))
    correct, count = sampled_accuracy_counts(sampled, targets, weights)
    assert float(correct) == float(((sampled == targets) * weights).sum())

    d_logits = rng.normal(size=(4, 9)).astype(np.float32)
    labels = rng.integers(0, 2, size=(4, 9))
    mask = (rng.random((4, 9)) < 0.8).astype(np.int64)
    c = {k: float(v) for k, v in tf.function(disc_counts)(d_logits, labels, mask).items()}
    pred, real = d_logits > 0, mask == 1
    assert c["tp"] == np.sum(pred & (labels == 1) & real)
    assert c["fp"] == np.sum(pred & (labels == 0) & real)
    assert c["fn"] == np.sum(~pred & (labels == 1) & real)
    assert c["tn"] == np.sum(~pred & (labels == 0) & real)
    assert c["correct"] == np.sum((pred == (labels == 1)) & real) and c["count"] == real.sum()


def rank_auc(scores, labels):
    """Mann-Whitney AUC with average ranks for ties."""
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    for value in np.unique(scores):
        tie = scores == value
        ranks[tie] = ranks[tie].mean()
    n_pos, n_neg = labels.sum(), (1 - labels).sum()
    return (ranks[labels == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def test_streaming_auc_matches_rank_auc():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, size=(6, 4, 32))
    probs = 1 / (1 + np.exp(-(rng.normal(size=labels.shape) + 0.8 * labels)))
    mask = (rng.random(labels.shape) < 0.75).astype(np.float32)
    auc = StreamingAUC()
    update = tf.function(auc.update_state)
    for b in range(6):  # streamed over batches
        update(labels[b], probs[b].astype(np.float32), mask[b])
    real = mask.ravel() == 1
    expected = rank_auc(probs.ravel()[real], labels.ravel()[real])
    assert 0.6 < expected < 0.8 and abs(float(auc.result()) - expected) < 0.01
    auc.reset_state()
    assert float(auc.result()) == 0.0
    auc.update_state(np.array([1, 0, 0]), np.array([0.9, 0.2, 0.6]))
    assert float(auc.result()) == pytest.approx(1.0)  # the pos beats both negatives
    auc.update_state(np.array([1]), np.array([0.1]))
    assert float(auc.result()) == pytest.approx(2 / 4)


def test_streaming_auc_under_mirrored_strategy():
    """tests/programs/mirrored_auc.py: logical CPU devices need a TensorFlow of their own."""
    proc = run_program("-m", "tests.programs.mirrored_auc", timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    replicas, mirrored, single, after_reset = proc.stdout.split()[-4:]
    # per replica the AUCs are 1 and 1/4; the summed histograms give the global 11/16
    assert int(replicas) == 2 and float(mirrored) == float(single) == pytest.approx(11 / 16)
    assert float(after_reset) == 0.0


def test_loss_sums_are_numerator_and_denominator():
    """The pretrainer normalises Σ numerators by the replica-summed denominator: check both parts."""
    logits = tf.constant([[[2.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])  # [1, 2, 3]
    num, den = mlm_loss_sums(logits, tf.constant([[0, 2]]), tf.constant([[1.0, 0.5]]))
    ce0 = -math.log(math.exp(2) / (math.exp(2) + 2))
    ce1 = -math.log(1 / (math.e + 2))
    assert float(num) == pytest.approx(ce0 + 0.5 * ce1, rel=1e-6) and float(den) == 1.5
    disc_logits, labels = tf.constant([[0.0, 3.0, 9.0]]), tf.constant([[1, 0, 1]])
    num, den = rtd_loss_sums(disc_logits, labels, tf.constant([[1, 1, 0]]))
    expected = math.log(2) + math.log(1 + math.exp(3))  # masked third token does not count
    assert float(num) == pytest.approx(expected, rel=1e-6) and float(den) == 2.0
