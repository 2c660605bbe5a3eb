"""The unigram method: draws at the selected positions only, labels where ids differ, and a model
built without token counts (to read or convert a checkpoint) that cannot train."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from electra_tf import configs
from electra_tf.pretraining.model import build_pretrainer
from tests.pretraining.helpers import (
    SPECIAL,
    batch_of,
    mask_like_the_pretrainer,
    replacement_seeds,
    tiny_config,
    token_counts,
)

SEED = tf.constant([3, 4], tf.int64)


def test_unigram_method_writes_draws_at_the_selected_positions_only():
    counts = token_counts()
    config = tiny_config("unigram", mask_prob=0.3)
    model = build_pretrainer(config, SPECIAL, token_counts=lambda: counts)
    batch = batch_of(6, 32, 300, seed=1)
    masked = mask_like_the_pretrainer(model, batch, SEED)
    tf.function(lambda b: model(b, SEED, 0, training=False).labels)(batch)  # first use traced
    out = model(batch, SEED, 0, training=False)
    ids = batch["input_ids"].numpy()
    labels = out.labels.numpy()
    selected = np.zeros_like(ids, bool)
    positions, weights = masked.masked_positions.numpy(), masked.masked_weights.numpy()
    for b in range(ids.shape[0]):
        selected[b, positions[b][weights[b] > 0]] = True
    assert not labels[~selected].any()  # nothing outside the selection is replaced
    assert labels[selected].mean() > 0.8  # a draw rarely equals the original
    # the model's corruption, recomputed: labels are 1 exactly where the discriminator's ids differ
    corrupted = model.method(
        model.embeddings, batch, masked, replacement_seeds(batch, SEED)
    ).corrupted_ids.numpy()
    np.testing.assert_array_equal(labels, (corrupted != ids).astype(np.int32))
    assert np.isin(corrupted[selected], np.flatnonzero(counts)).all()
    assert set(out.losses) == {"disc"}


def test_unigram_without_token_counts_builds_but_cannot_train():
    model = build_pretrainer(tiny_config("unigram"), SPECIAL)  # e.g. to read or convert a checkpoint
    with pytest.raises(configs.ConfigError, match="token counts"):
        model(batch_of(2, 32, 300), SEED, 0)
