"""The pretrainer: first-step loss at ELECTRA-small size, registry, replica-independent randomness."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from electra_tf import configs
from electra_tf.pretraining import methods
from electra_tf.pretraining.model import SpecialTokens, build_pretrainer
from electra_tf.pretraining.registry import get_method, registered_methods
from tests.pretraining.helpers import batch_of

SPECIAL = SpecialTokens(mask_id=103, cls_id=101, sep_id=102)


def _total(out) -> float:
    return sum(t.weight * float(t.numerator) / (float(t.denominator) + 1e-6) for t in out.losses.values())


def test_first_step_loss_of_electra_small_is_uniform_guess():
    """Acceptance 2: ≈ ln 30522 + 50·ln 2 ≈ 45.0 (generator uniform, discriminator at 1/2)."""
    tf_keras.utils.set_random_seed(0)  # initial weights independent of the tests run before
    config = configs.config_from_hparams("m", "/d")
    model = build_pretrainer(config, SPECIAL)
    out = model(batch_of(8, 128, 30522), tf.constant([1, 2], tf.int64), 0, training=False)
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
    batch = batch_of(6, 32, 300, seed=3)
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
    # every file of electra_tf/pretraining/methods/ (an independent list) registers the methods
    # whose parts it defines, and no method is built elsewhere
    folder = os.path.dirname(methods.__file__)
    files = {f[:-3] for f in os.listdir(folder) if f.endswith(".py") and not f.startswith("_")}
    modules = {get_method(name).build_replacement.__module__ for name in registered_methods()}
    assert modules == {f"{methods.__name__}.{f}" for f in files - {"exit_hparams"}}
    assert configs.BASELINE_METHOD in registered_methods()
    message = "unknown method 'no_such_method'; registered methods: .*electra"
    with pytest.raises(configs.ConfigError, match=message):  # at parse time
        configs.config_from_hparams("m", "/d", {"method": "no_such_method"})
    with pytest.raises(configs.ConfigError, match=message):  # a config made without the parser
        build_pretrainer(configs.PretrainingConfig(method="no_such_method"), SPECIAL)
