"""The pretrainer: first-step loss at ELECTRA-small size, registry, replica-independent randomness."""

from __future__ import annotations

import math

import numpy as np
import pytest
import tensorflow as tf

from electra_tf import configs
from electra_tf.pretraining.methods import registered_methods
from electra_tf.pretraining.model import SpecialTokens, build_pretrainer

SPECIAL = SpecialTokens(mask_id=103, cls_id=101, sep_id=102)


def mask_like_the_pretrainer(model, batch: dict, seed: tf.Tensor):
    """The `MaskedBatch` that `model(batch, seed, 0)` draws (its per-example seeds, its specials)."""
    from electra_tf.pretraining import masking
    from electra_tf.pretraining.methods import per_example_seeds

    special = model.special
    return masking.mask_inputs_per_example(
        batch["input_ids"],
        batch["input_mask"],
        per_example_seeds(seed, 0, tf.shape(batch["input_ids"])[0]),
        mask_prob=model.mask_prob,
        max_predictions=model.max_predictions,
        mask_id=special.mask_id,
        special_ids=(special.cls_id, special.sep_id, special.mask_id),
    )


def _batch(batch_size: int, length: int, vocab: int, seed: int = 0) -> dict[str, tf.Tensor]:
    rng = np.random.default_rng(seed)
    ids = rng.integers(110, vocab, size=(batch_size, length))
    n = rng.integers(length // 2, length + 1, size=batch_size)
    mask = (np.arange(length)[None, :] < n[:, None]).astype(np.int32)
    ids[:, 0] = SPECIAL.cls_id
    ids[np.arange(batch_size), n - 1] = SPECIAL.sep_id
    ids = ids * mask
    segment = ((np.arange(length)[None, :] > n[:, None] // 2) & (mask == 1)).astype(np.int32)
    return {
        "input_ids": tf.constant(ids, tf.int32),
        "input_mask": tf.constant(mask),
        "segment_ids": tf.constant(segment),
    }


def _total(out) -> float:
    return sum(t.weight * float(t.numerator) / (float(t.denominator) + 1e-6) for t in out.losses.values())


def test_first_step_loss_of_electra_small_is_uniform_guess():
    """Acceptance 2: ≈ ln 30522 + 50·ln 2 ≈ 45.0 (generator uniform, discriminator at 1/2)."""
    config = configs.config_from_hparams("m", "/d")
    model = build_pretrainer(config, SPECIAL)
    out = model(_batch(8, 128, 30522), tf.constant([1, 2], tf.int64), 0, training=False)
    expected = math.log(30522) + 50 * math.log(2)
    assert abs(_total(out) - expected) / expected < 0.10, _total(out)
    assert (
        abs(float(out.losses["mlm"].numerator) / float(out.losses["mlm"].denominator) - math.log(30522)) < 1.0
    )
    assert len(model.discriminator.encoder.blocks) == 12 and model.discriminator.encoder.hidden_size == 256
    assert model.method.encoder.hidden_size == 64 and len(model.method.encoder.blocks) == 12


def test_randomness_does_not_depend_on_how_the_batch_is_split():
    config = configs.config_from_hparams(
        "m",
        "/d",
        {
            "vocab_size": 300,
            "embedding_size": 16,
            "model_hparam_overrides": {
                "hidden_size": 32,
                "num_hidden_layers": 2,
                "num_attention_heads": 2,
                "intermediate_size": 64,
            },
        },
    )
    model = build_pretrainer(config, SPECIAL)
    batch = _batch(6, 32, 300, seed=3)
    seed = tf.constant([5, 9], tf.int64)
    whole = model(batch, seed, 0, training=False)
    halves = [
        model({k: v[a:b] for k, v in batch.items()}, seed, a, training=False) for a, b in ((0, 4), (4, 6))
    ]
    for name in whole.losses:
        np.testing.assert_allclose(
            float(whole.losses[name].numerator),
            sum(float(h.losses[name].numerator) for h in halves),
            rtol=1e-5,
        )
    np.testing.assert_array_equal(whole.labels.numpy(), np.concatenate([h.labels.numpy() for h in halves]))
    other = model(batch, tf.constant([5, 10], tf.int64), 0, training=False)
    assert not np.array_equal(whole.labels.numpy(), other.labels.numpy())


def test_registry_names_the_registered_methods():
    assert {"electra", "adaptive_exit_gen", "early_exit_disc"} <= set(registered_methods())
    config = configs.config_from_hparams("m", "/d", {"method": "no_such_method"})
    with pytest.raises(
        configs.ConfigError, match="unknown method 'no_such_method'; registered methods: .*electra"
    ):
        build_pretrainer(config, SPECIAL)
