"""The `mlm` control: BERT's 80/10/10 corruption of the chosen slots (shares against binomial
bounds, draws uniform over the vocabulary), BERT's loss recomputed in numpy from the model's own
layers, one encoder pass per step, a frozen RTD head, and the refusals."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from electra_tf import configs
from electra_tf.modeling.heads import gather_positions
from electra_tf.pretraining.methods.mlm import bert_corruption
from electra_tf.pretraining.model import build_pretrainer
from tests.pretraining.helpers import (
    SPECIAL,
    CountingBlock,
    batch_of,
    mask_like_the_pretrainer,
    replacement_seeds,
    tiny_config,
)

SEED = tf.constant([5, 9], tf.int64)


def _selected(masked) -> list[tuple[int, int]]:
    positions, weights = masked.masked_positions.numpy(), masked.masked_weights.numpy()
    return [(b, int(positions[b, k])) for b, k in zip(*np.nonzero(weights > 0), strict=True)]


def test_bert_corruption_is_80_10_10_at_the_chosen_slots_only():
    config = tiny_config("mlm", mask_prob=0.5)
    model = build_pretrainer(config, SPECIAL)
    batch = batch_of(64, 32, 300, seed=3)
    masked = mask_like_the_pretrainer(model, batch, SEED)
    out = bert_corruption(batch["input_ids"], masked, replacement_seeds(batch, SEED), 103, 300, 0.8, 0.1)
    ids, new = batch["input_ids"].numpy(), out.numpy()
    chosen = _selected(masked)
    outside = np.ones_like(ids, bool)
    for b, p in chosen:
        outside[b, p] = False
    np.testing.assert_array_equal(new[outside], ids[outside])
    slots = np.array([new[b, p] for b, p in chosen])
    originals = np.array([ids[b, p] for b, p in chosen])
    n = len(slots)
    assert n > 600
    is_mask = slots == 103
    kept = slots == originals
    random = ~is_mask & ~kept  # a random draw may equal the original: P = 1/300, within the bounds
    for share, expected in (
        (is_mask.mean(), 0.8),
        (kept.mean(), 0.1 + 0.1 / 300),
        (random.mean(), 0.1 * 299 / 300),
    ):
        assert abs(share - expected) < 4 * np.sqrt(expected * (1 - expected) / n), (share, expected)
    draws = slots[random]
    assert draws.min() >= 0 and draws.max() < 300
    assert (draws < 110).any()  # BERT draws from the whole vocabulary, reserved ids included
    assert abs(draws.mean() - 149.5) < 4 * 86.6 / np.sqrt(len(draws))  # uniform on [0, 300): sd 86.6


def test_the_loss_is_berts_mean_cross_entropy_and_the_encoder_runs_once():
    model = build_pretrainer(tiny_config("mlm", mask_prob=0.3), SPECIAL)
    batch = batch_of(4, 32, 300, seed=5)
    model(batch, SEED, 0)
    encoder = model.discriminator.encoder
    assert model.method.encoder is encoder  # one tower: the discriminator's
    counter = tf.Variable(0)
    for i in range(len(encoder.blocks)):
        encoder.blocks[i] = CountingBlock(encoder.blocks[i], counter)
    out = model(batch, SEED, 0, training=False)
    assert int(counter.numpy()) == 2  # 2 layers, run once (the stage runs none)
    assert set(out.losses) == {"mlm", "disc"} and out.losses["disc"].weight == 0.0
    assert not out.labels.numpy().any()
    # independent recomputation: BERT's input, the model's layers, numpy softmax cross-entropy
    masked = mask_like_the_pretrainer(model, batch, SEED)
    corrupted = bert_corruption(
        batch["input_ids"], masked, replacement_seeds(batch, SEED), 103, 300, 0.8, 0.1
    )
    emb = model.embeddings(corrupted, batch["segment_ids"])
    hidden = encoder(emb, batch["input_mask"])[-1]
    logits = model.method.head(
        gather_positions(hidden, masked.masked_positions), model.embeddings.word_embeddings
    )
    logits = logits.numpy().astype(np.float64)
    log_probs = logits - logits.max(-1, keepdims=True)
    log_probs -= np.log(np.exp(log_probs).sum(-1, keepdims=True))
    targets, weights = masked.masked_ids.numpy(), masked.masked_weights.numpy()
    ce = -np.take_along_axis(log_probs, targets[..., None], -1)[..., 0]
    np.testing.assert_allclose(float(out.losses["mlm"].numerator), (ce * weights).sum(), rtol=1e-5)
    assert float(out.losses["mlm"].denominator) == weights.sum()
    correct = ((logits.argmax(-1) == targets) * weights).sum()
    assert float(out.sums["mlm_correct"]) == correct and float(out.sums["masked"]) == weights.sum()


def test_the_rtd_head_gets_a_zero_gradient_and_the_layout_is_upstreams():
    tf_keras.utils.set_random_seed(0)  # dropout under TF_DETERMINISTIC_OPS
    model = build_pretrainer(tiny_config("mlm"), SPECIAL)
    batch = batch_of(2, 32, 300)
    with tf.GradientTape() as tape:
        out = model(batch, SEED, 0, training=True)
        loss = sum(t.weight * t.numerator / t.denominator for t in out.losses.values())
    names = [v.name for v in model.trainable_variables]
    grads = dict(zip(names, tape.gradient(loss, model.trainable_variables), strict=True))
    head = [n for n in names if "discriminator_predictions" in n]
    assert len(head) == 4 and all(not np.any(grads[n].numpy()) for n in head)  # zero, not None
    encoder = [n for n in names if "discriminator" in n and "encoder" in n]
    assert encoder and all(np.any(grads[n].numpy()) for n in encoder if "kernel" in n)
    assert any("generator_predictions" in n for n in names)
    assert not any("generator/encoder" in n for n in names)  # no tower of its own


@pytest.mark.parametrize(
    "extra, message",
    [
        ({"mlm_mask_token_share": 1.2}, r"mlm_mask_token_share must be in \[0, 1\], got 1.2"),
        ({"mlm_mask_token_share": 0.95, "mlm_random_token_share": 0.1}, r"must be at most 1"),
        ({"random_token_share": 0.1}, r"random_token_share must be 0 with method mlm"),
        ({"disc_mlm_weight": 1.0}, r"disc_mlm_weight must be 0 with method mlm"),
    ],
)
def test_bad_hparams_are_refused(extra, message):
    with pytest.raises(configs.ConfigError, match=message):
        tiny_config("mlm", **extra)
