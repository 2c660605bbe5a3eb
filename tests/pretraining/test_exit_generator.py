"""Adaptive Early-Exit (Gen): compute really skipped, the exit-weighted MLM loss, per-exit sums."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from electra_tf import configs
from electra_tf.modeling.heads import gather_positions
from electra_tf.pretraining import losses, masking
from electra_tf.pretraining.methods import per_example_seeds
from electra_tf.pretraining.model import SpecialTokens, build_pretrainer
from tests.pretraining.test_model import _batch

SPECIAL = SpecialTokens(mask_id=103, cls_id=101, sep_id=102)


def tiny_config(**extra) -> configs.PretrainingConfig:
    hparams = {
        "method": "adaptive_exit_gen",
        "vocab_size": 300,
        "embedding_size": 16,
        "generator_hidden_size": 0.5,
        "max_seq_length": 32,
        "model_hparam_overrides": {
            "hidden_size": 32,
            "num_hidden_layers": 12,
            "num_attention_heads": 2,
            "intermediate_size": 64,
        },
    }
    return configs.config_from_hparams("m", "/d", {**hparams, **extra})


FOUR_LAYERS = {"hidden_size": 32, "num_hidden_layers": 4, "num_attention_heads": 2, "intermediate_size": 64}


class CountingBlock(tf_keras.layers.Layer):
    """Wraps an encoder block; adds 1 to `counter` each time the block really executes."""

    def __init__(self, block, counter):
        super().__init__()
        self.block, self.counter = block, counter

    def call(self, inputs, training=None):
        with tf.control_dependencies([self.counter.assign_add(1)]):
            return self.block(inputs, training=training)


def force_exit(model, exit_index: int) -> None:
    dist = model.method.distribution
    dist.state.assign(dist.rule.initial_state(np.eye(4)[exit_index] * (1 - 3e-9) + 1e-9))


@pytest.mark.parametrize(
    "jit_compile, overrides, cases",
    [
        (False, {}, [(0, 3), (3, 12), (1, 6)]),  # ELECTRA-small's exits 3, 6, 9, 12
        # XLA: a 4-layer model (compiling 12 layers' branches takes long on 2 cores)
        (
            True,
            {"model_hparam_overrides": FOUR_LAYERS, "exit_layers": [1, 2, 3, 4]},
            [(0, 1), (3, 4), (2, 3)],
        ),
    ],
)
def test_only_the_layers_up_to_the_sampled_exit_run(jit_compile, overrides, cases):
    """Acceptance 2: with P one-hot on exit 1 the generator executes exactly 3 layers per step."""
    tf_keras.utils.set_random_seed(0)  # dropout under TF_DETERMINISTIC_OPS
    model = build_pretrainer(tiny_config(**overrides), SPECIAL)
    batch = _batch(4, 32, 300)
    model(batch, tf.constant([0, 0], tf.int64), 0)  # builds every variable
    counter = tf.Variable(0, dtype=tf.int64)
    blocks = model.method.encoder.blocks
    for i in range(len(blocks)):
        blocks[i] = CountingBlock(blocks[i], counter)

    @tf.function(jit_compile=jit_compile)
    def step(seed):  # forward only: the counters sit in the forward pass (a backward pass adds none)
        out = model(batch, seed, 0, training=True)
        return out.losses["mlm"].numerator + out.losses["disc"].numerator

    for exit_index, layers in cases:
        force_exit(model, exit_index)
        counter.assign(0)
        for n in range(3):
            step(tf.constant([n, 5], tf.int64))
        assert int(counter.numpy()) == 3 * layers, (exit_index, int(counter.numpy()))


def test_mlm_loss_is_the_weighted_mean_of_the_heads_that_ran():
    """Exit j: Σ_{i≤j} w_i·CE_i / Σ_{i≤j} w_i, head i reading concat(h_3..h_ℓi) at the masked slots."""
    model = build_pretrainer(tiny_config(exit_loss_weights=[1, 2, 3, 4]), SPECIAL)
    batch = _batch(4, 32, 300, seed=2)
    seed = tf.constant([4, 1], tf.int64)
    model(batch, seed, 0)
    gen = model.method
    for exit_index in range(4):
        force_exit(model, exit_index)
        out = model(batch, seed, 0, training=False)
        # independent recomputation of the same forward pass: all 12 layers, then each head
        seeds = per_example_seeds(seed, 0, 4)
        masked = masking.mask_inputs_per_example(
            batch["input_ids"],
            batch["input_mask"],
            seeds,
            mask_prob=0.15,
            max_predictions=model.max_predictions,
            mask_id=103,
            special_ids=(101, 102, 103),
        )
        emb = model.embeddings(masked.masked_input_ids, batch["segment_ids"])
        hidden = gen.encoder.call(emb, batch["input_mask"])  # all 12 layers
        exits = [gather_positions(hidden[n - 1], masked.masked_positions) for n in (3, 6, 9, 12)]
        total, weights = 0.0, [1.0, 2.0, 3.0, 4.0][: exit_index + 1]
        for i, w in enumerate(weights):
            inputs = tf.concat(exits[: i + 1], axis=-1)
            assert inputs.shape[-1] == 16 * (i + 1)
            logits = gen.heads[i](inputs, model.embeddings.word_embeddings)
            ce, count = losses.mlm_loss_sums(logits, masked.masked_ids, masked.masked_weights)
            total += w * float(ce)
        expected = total / sum(weights)
        np.testing.assert_allclose(float(out.losses["mlm"].numerator), expected, rtol=1e-5)
        assert float(out.losses["mlm"].denominator) == float(count)
        # per-exit discriminator sums go to the chosen exit only
        for k, n in enumerate((3, 6, 9, 12)):
            tokens = float(out.sums[f"exit_{n}_disc_tokens"])
            assert tokens == (float(out.sums["disc_tokens"]) if k == exit_index else 0.0)


def test_without_concat_each_head_reads_its_own_exit():
    model = build_pretrainer(tiny_config(exit_concat=False), SPECIAL)
    model(_batch(2, 32, 300), tf.constant([0, 0], tf.int64), 0)
    assert [h.dense.kernel.shape[0] for h in model.method.heads] == [16, 16, 16, 16]
    concat = build_pretrainer(tiny_config(), SPECIAL)
    concat(_batch(2, 32, 300), tf.constant([0, 0], tf.int64), 0)
    assert [h.dense.kernel.shape[0] for h in concat.method.heads] == [16, 32, 48, 64]


def test_exit_layers_beyond_the_generator_are_rejected():
    with pytest.raises(configs.ConfigError, match="exit_layers"):
        build_pretrainer(tiny_config(generator_layers=0.5), SPECIAL)
    with pytest.raises(configs.ConfigError, match="one value per exit"):
        tiny_config(exit_layers=[3, 6])
    with pytest.raises(configs.ConfigError, match="increasing"):
        tiny_config(exit_layers=[3, 3, 9, 12])
