"""Early-Exit (Disc): exit choice and probe cadence vs numpy, heads trained up to the exit only,
one shared encoder, compute really skipped."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from electra_tf import configs
from electra_tf.pretraining import losses
from electra_tf.pretraining.methods.early_exit_disc import ExitSectionPolicy, choose_exit_section
from electra_tf.pretraining.model import SpecialTokens, build_pretrainer
from electra_tf.pretraining.seeds import per_example_seeds
from tests.pretraining.helpers import CountingBlock, batch_of, mask_like_the_pretrainer

SPECIAL = SpecialTokens(mask_id=103, cls_id=101, sep_id=102)


def tiny_config(layers: int = 12, **extra) -> configs.PretrainingConfig:
    hparams = {
        "method": "early_exit_disc",
        "vocab_size": 300,
        "embedding_size": 16,
        "max_seq_length": 32,
        "model_hparam_overrides": {
            "hidden_size": 32,
            "num_hidden_layers": layers,
            "num_attention_heads": 2,
            "intermediate_size": 64,
        },
    }
    return configs.config_from_hparams("m", "/d", {**hparams, **extra})


def numpy_exit_choice(accuracy: np.ndarray) -> tuple[float, int]:
    """The paper's rule, independently: threshold = mean; exit = first section at or above it."""
    threshold = np.float32(np.mean(accuracy.astype(np.float64)))
    above = [k for k, a in enumerate(accuracy) if a >= threshold]
    return float(threshold), above[0] if above else int(np.argmax(accuracy))


def test_threshold_and_exit_section_match_numpy():
    cases = [np.array([0.6, 0.7, 0.8, 0.75], np.float32)]  # mean 0.7125 → layer 9 (index 2)
    rng = np.random.default_rng(0)
    cases += [rng.uniform(0.4, 1.0, size=4).astype(np.float32) for _ in range(200)]
    cases += [np.full(4, 0.3, np.float32), np.array([0.9, 0.5, 0.5, 0.5], np.float32)]
    for accuracy in cases:
        threshold, section = choose_exit_section(tf.constant(accuracy))
        expected_threshold, expected_section = numpy_exit_choice(accuracy)
        np.testing.assert_allclose(float(threshold), expected_threshold, rtol=1e-6)
        assert int(section) == expected_section, accuracy
    assert int(choose_exit_section(tf.constant(cases[0]))[1]) == 2
    assert int(choose_exit_section(tf.constant([0.9, 0.5, 0.5, 0.5]))[1]) == 0


def test_probe_cadence_and_state_follow_a_numpy_simulation():
    """Steps 0, N, 2N, … are probes: they run the last section and set threshold and exit section
    from the counts recorded after them; other steps run the exit section and change nothing."""
    every, tokens = 4, 200.0
    policy = ExitSectionPolicy(4, every)
    rng = np.random.default_rng(1)
    exit_section, threshold, accuracy = 3, 0.0, np.zeros(4, np.float32)
    for step in range(14):
        probe = step % every == 0
        assert bool(policy.is_probe()) == probe
        assert int(policy.section_to_run()) == (3 if probe else exit_section)
        correct = rng.integers(0, 201, size=4).astype(np.float32)
        policy.record(tf.constant(correct), tf.constant(tokens))
        if probe:
            accuracy = correct / tokens
            threshold, exit_section = numpy_exit_choice(accuracy)
        assert int(policy.steps.numpy()) == step + 1
        assert int(policy.exit_section.numpy()) == exit_section
        np.testing.assert_allclose(policy.threshold.numpy(), threshold, rtol=1e-6)
        np.testing.assert_allclose(policy.section_accuracy.numpy(), accuracy, rtol=1e-6)


def _set_step(model, steps: int, exit_section: int) -> None:
    model.discriminator.policy.steps.assign(steps)
    model.discriminator.policy.exit_section.assign(exit_section)


def test_only_the_heads_up_to_the_exit_section_are_trained():
    """Non-probe step at section 2 of 4: heads 1–2 get gradients, heads 3–4 none; the RTD loss is
    Σ w_i·RTD_i / Σ w_i over heads 1–2. A probe step trains all four."""
    model = build_pretrainer(tiny_config(4, exit_layers=[1, 2, 3, 4], exit_update_every=10), SPECIAL)
    batch, seed = batch_of(4, 32, 300, seed=4), tf.constant([3, 1], tf.int64)
    model(batch, seed, 0)
    stage = model.discriminator

    def head_gradients():
        with tf.GradientTape() as tape:
            out = model(batch, seed, 0, training=False)
        variables = [head.trainable_variables for head in stage.heads]
        grads = tape.gradient(out.losses["disc"].numerator, variables)
        norms = [sum(float(tf.norm(g)) for g in per_head if g is not None) for per_head in grads]
        return out, norms

    _set_step(model, steps=3, exit_section=1)
    out, norms = head_gradients()
    assert norms[0] > 0 and norms[1] > 0 and norms[2] == 0 and norms[3] == 0, norms
    # independent recomputation of heads 1-2 on the same corrupted input
    emb = model.embeddings(_corrupted(model, batch, seed), batch["segment_ids"])
    hidden = stage.encoder.call(emb, batch["input_mask"])
    rtd = [
        losses.rtd_loss_sums(stage.heads[i](hidden[i]), out.labels, batch["input_mask"])[0] for i in (0, 1)
    ]
    np.testing.assert_allclose(
        float(out.losses["disc"].numerator), (1 * float(rtd[0]) + 2 * float(rtd[1])) / 3, rtol=1e-5
    )
    np.testing.assert_allclose(
        float(out.disc_probs[0, 0]), float(tf.sigmoid(stage.heads[1](hidden[1])[0, 0])), rtol=1e-5
    )
    assert float(out.sums["section_3_disc_correct"]) == 0 and float(out.sums["section_2_disc_correct"]) > 0

    _set_step(model, steps=10, exit_section=1)  # a probe step
    _, norms = head_gradients()
    assert all(n > 0 for n in norms), norms


def _corrupted(model, batch, seed):
    """The discriminator's input ids of `model(batch, seed)`, via the generator's replacement."""
    masked = mask_like_the_pretrainer(model, batch, seed)
    seeds = per_example_seeds(seed, 0, tf.shape(batch["input_ids"])[0])
    return model.method(model.embeddings, batch, masked, seeds + [[0, 7]], training=False).corrupted_ids


def test_generator_and_discriminator_share_one_encoder():
    config = tiny_config(4, exit_layers=[1, 2, 3, 4])
    model = build_pretrainer(config, SPECIAL)
    batch, seed = batch_of(4, 32, 300, seed=5), tf.constant([2, 2], tf.int64)
    model(batch, seed, 0)
    assert model.method.encoder is model.discriminator.encoder
    names = [v.name for v in model.trainable_variables]
    assert len(names) == len(set(names))
    assert not [n for n in names if "generator/encoder" in n]
    per_layer = len([n for n in names if "/encoder/layer_0/" in n])
    assert per_layer == 16 and len([n for n in names if "/encoder/layer_" in n]) == 4 * per_layer
    # the generator's MLM loss trains the discriminator's layers (beyond the exit, too)
    _set_step(model, steps=1, exit_section=0)
    layer_3 = model.discriminator.encoder.blocks[3].trainable_variables
    with tf.GradientTape() as tape:
        out = model(batch, seed, 0)
    grads = tape.gradient(out.losses["mlm"].numerator, layer_3)
    assert all(g is not None and float(tf.norm(g)) > 0 for g in grads)


@pytest.mark.slow
@pytest.mark.parametrize(
    "jit_compile, layers, exit_layers, cases",
    [
        (False, 12, (3, 6, 9, 12), [(0, 3), (2, 9)]),  # ELECTRA-small's sections
        (True, 4, (1, 2, 3, 4), [(0, 1), (2, 3)]),  # XLA: 4 layers (compile time)
    ],
)
def test_non_probe_steps_run_only_the_layers_up_to_the_exit(jit_compile, layers, exit_layers, cases):
    """Acceptance 2: exit at section 1 → the discriminator executes exactly 3 layers on a non-probe
    step, all of them on a probe step. Block executions are counted while the discriminator stage
    runs its layers (the shared encoder also serves the generator, which always runs all of them)."""
    tf_keras.utils.set_random_seed(0)  # dropout under TF_DETERMINISTIC_OPS
    model = build_pretrainer(tiny_config(layers, exit_layers=list(exit_layers)), SPECIAL)
    batch = batch_of(4, 32, 300)
    model(batch, tf.constant([0, 0], tf.int64), 0)  # builds every variable
    disc_count, all_count = tf.Variable(0, dtype=tf.int64), tf.Variable(0, dtype=tf.int64)
    encoder = model.discriminator.encoder
    tracing_discriminator = [False]

    class DiscriminatorCountingBlock(CountingBlock):
        def call(self, inputs, training=None):
            counters = [all_count.assign_add(1)]
            if tracing_discriminator[0]:  # decided while tracing: only the stage's own block calls
                counters.append(disc_count.assign_add(1))
            with tf.control_dependencies(counters):
                return self.block(inputs, training=training)

    for i in range(len(encoder.blocks)):
        encoder.blocks[i] = DiscriminatorCountingBlock(encoder.blocks[i], all_count)
    run_layers = encoder.run_layers

    def discriminator_run_layers(*args, **kwargs):
        tracing_discriminator[0] = True
        try:
            return run_layers(*args, **kwargs)
        finally:
            tracing_discriminator[0] = False

    encoder.run_layers = discriminator_run_layers

    @tf.function(jit_compile=jit_compile)
    def step(seed):  # forward only: the counters sit in the forward pass (a backward pass adds none)
        out = model(batch, seed, 0, training=True)
        return out.losses["mlm"].numerator + out.losses["disc"].numerator

    for exit_section, expected in cases + [("probe", layers)]:
        if exit_section == "probe":
            _set_step(model, steps=0, exit_section=0)
        else:
            _set_step(model, steps=1, exit_section=exit_section)
        disc_count.assign(0)
        all_count.assign(0)
        for n in range(2):
            step(tf.constant([n, 5], tf.int64))
        assert int(disc_count.numpy()) == 2 * expected, (exit_section, int(disc_count.numpy()))
        assert int(all_count.numpy()) == 2 * (expected + layers)  # + the generator's full pass


def test_exit_layers_must_end_at_the_last_layer():
    with pytest.raises(configs.ConfigError, match=r"last of exit_layers \[1, 2, 3\] must be .*\(4\)"):
        build_pretrainer(tiny_config(4, exit_layers=[1, 2, 3], exit_loss_weights=[1, 1, 1]), SPECIAL)


def test_with_early_exit_generator_the_generator_stops_at_the_exit_too():
    """Non-probe step at section s: the generator executes ℓ_s layers (as the discriminator), and
    its MLM loss is the head on layer ℓ_s's states, recomputed here layer by layer; a probe step
    runs every layer for both. Without the hparam the generator runs every layer (above)."""
    tf_keras.utils.set_random_seed(0)
    config = tiny_config(4, exit_layers=[1, 2, 3, 4], exit_update_every=10, early_exit_generator=True)
    model = build_pretrainer(config, SPECIAL)
    batch = batch_of(4, 32, 300, seed=4)
    seed = tf.constant([2, 3], tf.int64)
    model(batch, seed, 0)
    encoder = model.discriminator.encoder
    masked = mask_like_the_pretrainer(model, batch, seed)
    for steps, section, layers in ((1, 0, 1), (1, 2, 3), (0, 0, 4)):  # steps 0: a probe
        _set_step(model, steps=steps, exit_section=section)
        out = model(batch, seed, 0, training=False)
        hidden = encoder.project(model.embeddings(masked.masked_input_ids, batch["segment_ids"]))
        attention = encoder._attention_mask(hidden, batch["input_mask"])
        for block in encoder.blocks[:layers]:  # a walk of our own through the first ℓ_s blocks
            hidden = block([hidden, attention])
        logits = model.method.head(
            tf.gather(hidden, masked.masked_positions, batch_dims=1), model.embeddings.word_embeddings
        )
        expected, _ = losses.mlm_loss_sums(logits, masked.masked_ids, masked.masked_weights)
        np.testing.assert_allclose(float(out.losses["mlm"].numerator), float(expected), rtol=1e-5)
    counter = tf.Variable(0)
    for i in range(len(encoder.blocks)):
        encoder.blocks[i] = CountingBlock(encoder.blocks[i], counter)
    for steps, section, layers in ((1, 1, 2), (0, 1, 4)):
        _set_step(model, steps=steps, exit_section=section)
        counter.assign(0)
        model(batch, seed, 0, training=False)
        assert int(counter.numpy()) == 2 * layers  # the generator's pass and the discriminator's
