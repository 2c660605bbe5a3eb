"""Adaptive Early-Exit (Gen): compute really skipped, the exit-weighted MLM loss, per-exit sums;
the exit distribution against a numpy reference and the paper's worked example."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
import tf_keras
from scipy import stats

from electra_tf import configs
from electra_tf.modeling.heads import gather_positions
from electra_tf.pretraining import losses, masking
from electra_tf.pretraining.methods.adaptive_exit_gen import (
    AdaptiveExitDistribution,
    LogitUpdate,
    ProbabilityUpdate,
    build_update_rule,
    reassignment_shift,
)
from electra_tf.pretraining.model import SpecialTokens, build_pretrainer
from electra_tf.pretraining.seeds import per_example_seeds
from tests.pretraining.helpers import CountingBlock, batch_of

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


def force_exit(model, exit_index: int) -> None:
    dist = model.method.distribution
    dist.state.assign(dist.rule.initial_state(np.eye(4)[exit_index] * (1 - 3e-9) + 1e-9))


@pytest.mark.slow
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
    batch = batch_of(4, 32, 300)
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
    batch = batch_of(4, 32, 300, seed=2)
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
    model(batch_of(2, 32, 300), tf.constant([0, 0], tf.int64), 0)
    assert [h.dense.kernel.shape[0] for h in model.method.heads] == [16, 16, 16, 16]
    concat = build_pretrainer(tiny_config(), SPECIAL)
    concat(batch_of(2, 32, 300), tf.constant([0, 0], tf.int64), 0)
    assert [h.dense.kernel.shape[0] for h in concat.method.heads] == [16, 32, 48, 64]


def test_exit_layers_beyond_the_generator_are_rejected():
    with pytest.raises(configs.ConfigError, match="exit_layers"):
        build_pretrainer(tiny_config(generator_layers=0.5), SPECIAL)
    with pytest.raises(configs.ConfigError, match="one value per exit"):
        tiny_config(exit_layers=[3, 6])
    with pytest.raises(configs.ConfigError, match="increasing"):
        tiny_config(exit_layers=[3, 3, 9, 12])


def numpy_softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max())
    return e / e.sum()


def reference_update(probs, previous, current, alpha=0.1):
    """The paper's rule written out: P <- softmax(P + alpha * clip(diff, -1, 1) * [0, 1, 2, 3])."""
    diff = min(max(current - previous, -1.0), 1.0)
    return numpy_softmax(np.asarray(probs, np.float64) + alpha * diff * np.arange(len(probs)))


def distribution(probs, update_every=1, rule="probs", alpha=0.1) -> AdaptiveExitDistribution:
    return AdaptiveExitDistribution(probs, alpha, update_every, build_update_rule(rule))


def test_paper_worked_example():
    """P = [0.4, 0.4, 0.1, 0.1], accuracy 0.7 -> 0.9 gives about [0.27, 0.28, 0.21, 0.21] (alpha 0.1)."""
    dist = distribution([0.4, 0.4, 0.1, 0.1])
    assert float(dist.record(70.0, 100.0)) == pytest.approx(0.7)  # the first window only records
    np.testing.assert_allclose(dist.probabilities().numpy(), [0.4, 0.4, 0.1, 0.1], rtol=1e-6)
    dist.record(90.0, 100.0)
    new = dist.probabilities().numpy()
    np.testing.assert_allclose(new, [0.27, 0.28, 0.21, 0.21], atol=0.01)
    np.testing.assert_allclose(new, reference_update([0.4, 0.4, 0.1, 0.1], 0.7, 0.9), rtol=1e-6)
    assert float(dist.previous_accuracy) == pytest.approx(0.9)


def test_shift_is_clipped_to_plus_minus_one():
    np.testing.assert_allclose(reassignment_shift(0.0, 3.0, 0.1, 4).numpy(), [0, 0.1, 0.2, 0.3], rtol=1e-6)
    np.testing.assert_allclose(reassignment_shift(2.5, 0.0, 0.5, 3).numpy(), [0, -0.5, -1.0], rtol=1e-6)
    np.testing.assert_allclose(reassignment_shift(0.5, 0.6, 0.1, 4).numpy(), [0, 0.01, 0.02, 0.03], atol=1e-7)


@pytest.mark.parametrize("rule", ["probs", "logits"])
def test_random_walk_matches_reference_and_sums_to_one(rule):
    rng = np.random.default_rng(0)
    init = np.array([0.1, 0.2, 0.3, 0.4])
    dist = distribution(init, rule=rule, alpha=0.7)
    probs, logits, previous = init.copy(), np.log(init), None
    for _ in range(30):
        accuracy = rng.uniform()
        dist.record(accuracy * 1000.0, 1000.0)
        if previous is not None:
            diff = np.clip(accuracy - previous, -1, 1)
            shift = 0.7 * diff * np.arange(4)
            probs = numpy_softmax(probs + shift)
            logits = logits + shift
        previous = accuracy
        expected = probs if rule == "probs" else numpy_softmax(logits)
        got = dist.probabilities().numpy()
        np.testing.assert_allclose(got, expected, rtol=2e-5, atol=1e-6)
        assert got.sum() == pytest.approx(1.0, abs=1e-6) and got.min() > 0


def test_no_update_between_windows_and_window_is_token_weighted():
    dist = distribution([0.25, 0.25, 0.25, 0.25], update_every=3)
    assert [float(dist.record(c, t)) for c, t in [(10, 20), (30, 40)]] == [-1.0, -1.0]
    assert float(dist.record(0, 40)) == pytest.approx(0.4)  # window 1 closes: 40 / 100, recorded only
    np.testing.assert_allclose(dist.probabilities().numpy(), [0.25] * 4, rtol=1e-6)
    for correct, tokens in [(50, 50), (50, 50)]:  # window 2 still open: P unchanged
        assert float(dist.record(correct, tokens)) == -1.0
        np.testing.assert_allclose(dist.probabilities().numpy(), [0.25] * 4, rtol=1e-6)
        assert float(dist.previous_accuracy) == pytest.approx(0.4)
    assert float(dist.window_tokens) == 100.0 and int(dist.window_steps) == 2
    closed = float(dist.record(0.0, 100.0))  # window 2: 100 / 200 = 0.5
    assert closed == pytest.approx(0.5)
    np.testing.assert_allclose(
        dist.probabilities().numpy(), reference_update([0.25] * 4, 0.4, 0.5), rtol=1e-6
    )
    assert float(dist.window_tokens) == 0.0 and int(dist.window_steps) == 0


def test_logit_rule_starts_from_log_probabilities():
    rule = LogitUpdate()
    state = rule.initial_state([0.1, 0.2, 0.3, 0.4])
    np.testing.assert_allclose(
        rule.probabilities(tf.constant(state)).numpy(), [0.1, 0.2, 0.3, 0.4], rtol=1e-6
    )
    assert isinstance(build_update_rule("probs"), ProbabilityUpdate)
    with pytest.raises(ValueError, match="adaptive_update"):
        build_update_rule("momentum")


def test_bad_initial_probabilities():
    with pytest.raises(ValueError, match="sum to 1"):
        distribution([0.5, 0.6])


def test_exit_frequencies_follow_p():
    """Acceptance 2: over many seeds, the sampled exits follow P (chi-square goodness of fit)."""
    probs = np.array([0.1, 0.2, 0.3, 0.4])
    dist = distribution(probs)
    draws = 4000
    sample = tf.function(lambda seeds: tf.map_fn(dist.sample, seeds, fn_output_signature=tf.int32))
    seeds = tf.stack([tf.fill([draws], 7), tf.range(draws)], axis=1)
    exits = sample(tf.cast(seeds, tf.int64)).numpy()
    counts = np.bincount(exits, minlength=4)
    _, p_value = stats.chisquare(counts, probs * draws)
    assert p_value > 1e-3, counts
    one_hot = distribution([0.0, 0.0, 1.0, 0.0])
    assert set(tf.map_fn(one_hot.sample, seeds[:200], fn_output_signature=tf.int32).numpy()) == {2}


@pytest.mark.parametrize("rule", ["probs", "logits"])
def test_pin_makes_every_sample_the_pinned_exit(rule):
    """The timing hook (`pin_exit`): P becomes one-hot at the exit, under either update rule."""
    dist = AdaptiveExitDistribution([0.1, 0.2, 0.3, 0.4], 0.1, 100, build_update_rule(rule))
    dist.pin(1)
    np.testing.assert_allclose(dist.probabilities().numpy(), [0.0, 1.0, 0.0, 0.0], atol=0)
    seeds = tf.cast(tf.stack([tf.fill([300], 3), tf.range(300)], axis=1), tf.int64)
    assert set(tf.map_fn(dist.sample, seeds, fn_output_signature=tf.int32).numpy()) == {1}


def test_with_exit_heads_exit_only_the_sampled_exits_head_runs_and_is_trained():
    """exit_heads "exit", exit j: the loss is K·w_j/Σw · CE_j of head j on concat(h_3..h_ℓj)
    (recomputed here), heads i ≠ j get no gradient, and the replacements come from head j."""
    model = build_pretrainer(tiny_config(exit_loss_weights=[1, 2, 3, 4], exit_heads="exit"), SPECIAL)
    batch = batch_of(4, 32, 300, seed=3)
    seed = tf.constant([6, 2], tf.int64)
    model(batch, seed, 0)
    gen = model.method
    masked = masking.mask_inputs_per_example(
        batch["input_ids"],
        batch["input_mask"],
        per_example_seeds(seed, 0, 4),
        mask_prob=0.15,
        max_predictions=model.max_predictions,
        mask_id=103,
        special_ids=(101, 102, 103),
    )
    emb = model.embeddings(masked.masked_input_ids, batch["segment_ids"])
    hidden = gen.encoder.call(emb, batch["input_mask"])
    exits = [gather_positions(hidden[n - 1], masked.masked_positions) for n in (3, 6, 9, 12)]
    for exit_index in (0, 2):
        force_exit(model, exit_index)
        with tf.GradientTape() as tape:
            out = model(batch, seed, 0, training=False)
        logits = gen.heads[exit_index](
            tf.concat(exits[: exit_index + 1], -1), model.embeddings.word_embeddings
        )
        ce, _ = losses.mlm_loss_sums(logits, masked.masked_ids, masked.masked_weights)
        weight = 4 * [1.0, 2.0, 3.0, 4.0][exit_index] / 10.0
        np.testing.assert_allclose(float(out.losses["mlm"].numerator), weight * float(ce), rtol=1e-5)
        grads = tape.gradient(out.losses["mlm"].numerator, [h.trainable_variables for h in gen.heads])
        ran = [k for k, g in enumerate(grads) if any(x is not None for x in g)]
        assert ran == [exit_index]


def test_exit_heads_must_be_all_or_exit():
    with pytest.raises(configs.ConfigError, match=r"exit_heads must be all or exit, got 'some'"):
        tiny_config(exit_heads="some")
