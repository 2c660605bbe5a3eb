"""The speed options do not change the step's mathematics: one train step's loss and gradients on
a fixed batch with `jit_compile` and with `mixed_precision`, against the plain step.

Tolerances: XLA reorders float32 sums, so loss rtol 1e-5 and gradients rtol 1e-3 / atol 1e-6.
bfloat16 keeps 8 mantissa bits, so there the loss agrees to 2% and the gradient to cosine > 0.98.

XLA draws other random streams than TF's kernels for the same stateless seed, so the XLA test
swaps the stateless uniform (masking, Gumbel noise, exit sampling) for an integer hash that both
compute alike; dropout is 0 in this config.
"""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from electra_tf import configs
from electra_tf.pretraining.model import SpecialTokens
from electra_tf.pretraining.registry import registered_methods
from pretrain.trainer import Trainer
from tests.pretraining.helpers import batch_of

SPECIAL = SpecialTokens(mask_id=103, cls_id=101, sep_id=102)


def _hash(values: tf.Tensor) -> tf.Tensor:
    """int64 → int64 in [0, 2^32): a 32-bit integer mix (identical under XLA and TF kernels)."""
    low, shift, mix = (
        tf.constant(0xFFFFFFFF, tf.int64),
        tf.constant(16, tf.int64),
        tf.constant(0x45D9F3B, tf.int64),
    )
    x = tf.bitwise.bitwise_and(values, low)
    for _ in range(2):
        x = tf.bitwise.bitwise_and(tf.bitwise.bitwise_xor(tf.bitwise.right_shift(x, shift), x) * mix, low)
    return tf.bitwise.bitwise_xor(tf.bitwise.right_shift(x, shift), x)


def hashed_uniform(shape, seed, minval=0.0, maxval=1.0, dtype=tf.float32, **_):
    seed = tf.cast(seed, tf.int64)
    index = tf.range(tf.reduce_prod(tf.cast(shape, tf.int64)), dtype=tf.int64)
    bits = _hash(index * 2654435761 + _hash(seed[0] * 40503 + seed[1]))
    u = tf.cast(tf.bitwise.right_shift(bits, tf.constant(8, tf.int64)), tf.float32) / float(1 << 24)
    return tf.reshape(tf.cast(minval + (maxval - minval) * u, dtype), shape)


def hashed_split(seed, num=2, **_):
    seed = tf.cast(seed, tf.int64)
    index = tf.range(2 * num, dtype=tf.int64)
    return tf.reshape(_hash(index * 7919 + _hash(seed[0] * 31 + seed[1])), [num, 2])


def _config(method: str, **extra) -> configs.PretrainingConfig:
    exits = {"exit_layers": [1, 2], "exit_loss_weights": [1, 2], "adaptive_init_probs": [0.5, 0.5]}
    hparams = {
        "method": method,
        "vocab_size": 300,
        "embedding_size": 16,
        "max_seq_length": 32,
        "train_batch_size": 4,
        "generator_hidden_size": 0.5,
        "model_hparam_overrides": {
            "hidden_size": 32,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "intermediate_size": 64,
            "hidden_dropout_prob": 0.0,
            "attention_probs_dropout_prob": 0.0,
        },
        **(exits if "exit" in method else {}),
    }
    return configs.config_from_hparams("m", "/nonexistent", {**hparams, **extra})


def _one_step(config, batch, weights=None):
    """(loss, gradients as numpy) of one step of a fresh Trainer (weights copied from `weights`)."""
    dataset = tf.data.Dataset.from_tensors(batch).repeat()
    trainer = Trainer(config, tf.distribute.get_strategy(), SPECIAL, [], log=lambda _: None, dataset=dataset)
    if weights is not None:
        for var, value in zip(trainer.model.weights, weights, strict=True):
            var.assign(value)
    seed = tf.constant([3, 4], tf.int64)
    step = tf.function(
        lambda b, s: trainer.loss_and_gradients(b, s)[:2], jit_compile=config.jit_compile or None
    )
    scalars, grads = trainer.strategy.run(step, args=(batch, seed))
    weights = [v.numpy() for v in trainer.model.weights]
    return float(scalars["losses"]["total"]), [tf.convert_to_tensor(g).numpy() for g in grads], weights


@pytest.mark.slow
@pytest.mark.parametrize("method", ["electra"])
def test_xla_step_equals_the_plain_step(method, monkeypatch):
    monkeypatch.setattr(tf.random, "stateless_uniform", hashed_uniform)
    monkeypatch.setattr(tf.random.experimental, "stateless_split", hashed_split)
    batch = batch_of(4, 32, 300, seed=1)
    loss, grads, weights = _one_step(_config(method), batch)
    xla_loss, xla_grads, _ = _one_step(_config(method, jit_compile=True), batch, weights)
    assert loss > 1.0
    np.testing.assert_allclose(xla_loss, loss, rtol=1e-5)
    for a, b in zip(xla_grads, grads, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("method", registered_methods())
def test_mixed_precision_step_is_the_plain_step_in_bfloat16(method):
    batch = batch_of(4, 32, 300, seed=2)
    loss, grads, weights = _one_step(_config(method, mixed_precision=False), batch)
    mixed_loss, mixed_grads, _ = _one_step(_config(method, mixed_precision=True), batch, weights)
    assert mixed_loss != loss  # bfloat16 really computed
    np.testing.assert_allclose(mixed_loss, loss, rtol=2e-2)
    flat, mixed_flat = (
        np.concatenate([g.ravel() for g in grads]),
        np.concatenate([g.ravel() for g in mixed_grads]),
    )
    cosine = flat @ mixed_flat / (np.linalg.norm(flat) * np.linalg.norm(mixed_flat))
    assert cosine > 0.98, cosine


def test_auto_precision_is_bfloat16_where_native(monkeypatch):
    from electra_tf import precision

    dataset = tf.data.Dataset.from_tensors(batch_of(4, 32, 300, seed=2)).repeat()
    for native in (True, False):
        monkeypatch.setattr(precision, "native_bfloat16", lambda n=native: (n, "patched"))
        lines = []
        trainer = Trainer(
            _config("electra"), tf.distribute.get_strategy(), SPECIAL, [], lines.append, dataset
        )
        assert trainer.config.mixed_precision is native  # resolved: hparams.json records the choice
        blocks = [
            layer for layer in trainer.model.submodules if "TransformerEncoderBlock" in type(layer).__name__
        ]
        assert blocks and {b.compute_dtype for b in blocks} == {"bfloat16" if native else "float32"}
        assert {v.dtype for v in trainer.model.weights} <= {tf.float32, tf.int64, tf.int32, tf.bool}
        assert lines[0] == f"precision: {precision.describe(native)} (mixed_precision auto: patched)"
