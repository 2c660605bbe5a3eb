"""The exit distribution of Adaptive Early-Exit (Gen) (paper §3, DESIGN §6).

Every `update_every` steps the discriminator's RTD accuracy over the window, acc_i, is compared
with the previous window's: diff = clip(acc_i − acc_{i−1}, −1, 1), S = α·diff·R with the
reassignment scores R = [0, 1, …, K−1], and the exit distribution moves by S:

  "probs"  (the paper):  P ← softmax(P + S)      (softmax of probabilities: pulls P toward uniform)
  "logits" (variant):    z ← z + S, P = softmax(z)

The first window only records its accuracy. Everything (the distribution's state, the window's
sums, the previous accuracy) is a non-trainable variable of `AdaptiveExitDistribution`, updated
by TF ops, so it runs inside the compiled train step and is saved in the checkpoint.

Shapes: K = number of exits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import tensorflow as tf
import tf_keras


def reassignment_shift(previous_accuracy, accuracy, alpha: float, num_exits: int) -> tf.Tensor:
    """S = α·clip(acc − acc_prev, −1, 1)·[0, 1, …, K−1], float32 [K]."""
    diff = tf.clip_by_value(tf.cast(accuracy, tf.float32) - tf.cast(previous_accuracy, tf.float32), -1.0, 1.0)
    return float(alpha) * diff * tf.range(num_exits, dtype=tf.float32)


# One registry of update rules: name -> (state from initial P, probabilities from state, new state).
class UpdateRule:
    """How the stored state [K] relates to P and how the shift S [K] changes it."""

    def initial_state(self, probs: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def probabilities(self, state: tf.Tensor) -> tf.Tensor:
        raise NotImplementedError

    def shifted(self, state: tf.Tensor, shift: tf.Tensor) -> tf.Tensor:
        raise NotImplementedError


class ProbabilityUpdate(UpdateRule):
    """The paper's rule: the state is P itself and P ← softmax(P + S)."""

    def initial_state(self, probs):
        return np.asarray(probs, np.float32)

    def probabilities(self, state):
        return state

    def shifted(self, state, shift):
        return tf.nn.softmax(state + shift)


class LogitUpdate(UpdateRule):
    """The variant: the state is z with P = softmax(z), z ← z + S (z₁ = log P₁)."""

    def initial_state(self, probs):
        return np.log(np.asarray(probs, np.float64)).astype(np.float32)

    def probabilities(self, state):
        return tf.nn.softmax(state)

    def shifted(self, state, shift):
        return state + shift


UPDATE_RULES: dict[str, Callable[[], UpdateRule]] = {"probs": ProbabilityUpdate, "logits": LogitUpdate}


def build_update_rule(name: str) -> UpdateRule:
    if name not in UPDATE_RULES:
        raise ValueError(f"unknown adaptive_update {name!r}; choose one of {', '.join(UPDATE_RULES)}")
    return UPDATE_RULES[name]()


class AdaptiveExitDistribution(tf_keras.layers.Layer):
    """P over K exits, sampled once per step and moved every `update_every` steps by RTD accuracy.

    Variables (non-trainable, checkpointed): `state` [K] (P or its logits, per the rule),
    `window_correct`, `window_tokens`, `window_steps` (the open window's sums),
    `previous_accuracy` and `has_previous` (whether a window has closed yet).
    """

    def __init__(
        self,
        init_probs: Sequence[float],
        alpha: float,
        update_every: int,
        rule: UpdateRule,
        name: str = "adaptive_exit",
        **kwargs,
    ):
        # float32 whatever the global policy: P and the window sums are bookkeeping, not compute,
        # and must not be read as bfloat16 under mixed precision.
        kwargs.setdefault("dtype", "float32")
        super().__init__(name=name, **kwargs)
        probs = np.asarray(init_probs, np.float64)
        if probs.ndim != 1 or len(probs) < 1 or np.any(probs < 0) or abs(probs.sum() - 1) > 1e-6:
            raise ValueError(f"initial exit probabilities must be >= 0 and sum to 1, got {list(init_probs)}")
        if update_every < 1:
            raise ValueError(f"exit_update_every must be positive, got {update_every}")
        self.num_exits = len(probs)
        self.alpha = float(alpha)
        self.update_every = int(update_every)
        self.rule = rule
        self._init_state = rule.initial_state(probs / probs.sum())

    def build(self, input_shape=None):
        def scalar(name, dtype):
            return self.add_weight(name=name, shape=[], dtype=dtype, initializer="zeros", trainable=False)

        init = self._init_state
        self.state = self.add_weight(
            name="state",
            shape=[self.num_exits],
            initializer=lambda shape, dtype=None: tf.constant(init, tf.float32),
            trainable=False,
        )
        self.window_correct = scalar("window_correct", tf.float32)
        self.window_tokens = scalar("window_tokens", tf.float32)
        self.window_steps = scalar("window_steps", tf.int64)
        self.previous_accuracy = scalar("previous_accuracy", tf.float32)
        self.has_previous = scalar("has_previous", tf.bool)
        super().build(input_shape)

    def _ensure_built(self):
        if not self.built:
            with tf.name_scope(self.name):
                self.build(None)

    def probabilities(self) -> tf.Tensor:
        """Current P, float32 [K]."""
        self._ensure_built()
        return self.rule.probabilities(tf.convert_to_tensor(self.state))

    def sample(self, seed: tf.Tensor) -> tf.Tensor:
        """One exit index j ~ Categorical(P), int32 scalar, from a [2] stateless seed.

        Inverse CDF: j = #{k : P_1 + … + P_k <= u·ΣP}, u ~ U[0, 1) (XLA compiles it, unlike
        `stateless_categorical`)."""
        probs = self.probabilities()
        u = tf.random.stateless_uniform([], seed=seed, dtype=tf.float32) * tf.reduce_sum(probs)
        below = tf.reduce_sum(tf.cast(tf.cumsum(probs) <= u, tf.int32))
        return tf.minimum(below, self.num_exits - 1)

    def record(self, disc_correct: tf.Tensor, disc_tokens: tf.Tensor) -> tf.Tensor:
        """Adds one step's discriminator counts (summed over replicas) to the window; when the
        window is full, closes it (updates P unless it is the first window). Returns the window's
        accuracy when it closed this step, else -1 (float32 scalar)."""
        self._ensure_built()
        self.window_correct.assign_add(tf.cast(disc_correct, tf.float32))
        self.window_tokens.assign_add(tf.cast(disc_tokens, tf.float32))
        self.window_steps.assign_add(1)
        return tf.cond(self.window_steps >= self.update_every, self._close_window, lambda: tf.constant(-1.0))

    def _close_window(self) -> tf.Tensor:
        accuracy = self.window_correct / tf.maximum(self.window_tokens, 1.0)
        shift = reassignment_shift(self.previous_accuracy, accuracy, self.alpha, self.num_exits)
        state = tf.convert_to_tensor(self.state)
        self.state.assign(tf.where(self.has_previous, self.rule.shifted(state, shift), state))
        self.previous_accuracy.assign(accuracy)
        self.has_previous.assign(True)
        self.window_correct.assign(0.0)
        self.window_tokens.assign(0.0)
        self.window_steps.assign(0)
        return accuracy
