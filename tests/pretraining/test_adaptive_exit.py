"""The adaptive exit distribution against a numpy reference and the paper's worked example."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from scipy import stats

from electra_tf.pretraining.adaptive_exit import (
    AdaptiveExitDistribution,
    LogitUpdate,
    ProbabilityUpdate,
    build_update_rule,
    reassignment_shift,
)


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
