"""Adaptive Early-Exit (Gen) (paper §3): a generator with MLM exit heads, run only up to a
sampled exit, and the exit distribution that the discriminator's accuracy moves.

Each step one exit j ~ Categorical(P) is drawn from the step seed (the same on every replica).
`tf.switch_case` then runs only branch j: generator layers 1..ℓ_j and heads 1..j (the other
layers are not executed, also under `jit_compile`). Head i reads the masked positions of
concat(h_ℓ1, …, h_ℓi) with `exit_concat`, else h_ℓi; the MLM loss is Σ_{i≤j} w_i·CE_i / Σ_{i≤j} w_i
(`exit_loss_weights` normalised over the heads that ran); replacements are Gumbel samples of
head j. With `exit_heads: "exit"` only head j runs (one vocabulary projection per step, as the
baseline's generator): its loss is K·w_j/Σ_i w_i · CE_j, so the upper exits' losses still weigh
more and the weights average 1 (docs/methods.md, "Cost of the heads").

Every `exit_update_every` steps the discriminator's RTD accuracy over the window, acc_i, is compared
with the previous window's: diff = clip(acc_i − acc_{i−1}, −1, 1), S = α·diff·R with the
reassignment scores R = [0, 1, …, K−1], and the exit distribution moves by S:

  "probs"  (the paper):  P ← softmax(P + S)      (softmax of probabilities: pulls P toward uniform)
  "logits" (variant):    z ← z + S, P = softmax(z)

The first window only records its accuracy. Everything (the distribution's state, the window's
sums, the previous accuracy) is a non-trainable variable of `AdaptiveExitDistribution`, updated
by TF ops, so it runs inside the compiled train step and is saved in the checkpoint.

Shapes: B = batch, L = sequence length, N = masked slots, V = vocabulary, E = embedding size,
H = generator hidden size, K = number of exits.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import numpy as np
import tensorflow as tf

from electra_tf import configs
from electra_tf.modeling.encoder import build_encoder
from electra_tf.modeling.heads import MaskedLMHead, gather_positions
from electra_tf.pretraining import losses, registry
from electra_tf.pretraining.generator import sampled_replacement
from electra_tf.pretraining.masking import MaskedBatch
from electra_tf.pretraining.methods.exit_hparams import ExitHparams, validate_exits
from electra_tf.pretraining.parts import StateLayer
from electra_tf.pretraining.replacement import BuildContext, LossTerm, Replacement, ReplacementMethod

NAME = "adaptive_exit_gen"


@dataclasses.dataclass(frozen=True)
class AdaptiveExitHparams(ExitHparams):
    # head j reads concat(h at exits 1..j) (true) or the states of exit j alone
    exit_concat: bool = True
    # the initial exit distribution P1 (one value per exit, summing to 1)
    adaptive_init_probs: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4)
    # the step size α of the update
    adaptive_alpha: float = 0.1
    # "probs" (the paper: P ← softmax(P + S)) or "logits" (z ← z + S)
    adaptive_update: str = "probs"
    # heads trained on a step that exits at j: "all" of 1..j, or the "exit" head j alone
    exit_heads: str = "all"


EXIT_HEADS = ("all", "exit")


def validate(config: configs.PretrainingConfig) -> None:
    hp = registry.hparams_of(config)
    validate_exits(hp, per_exit=("exit_loss_weights", "adaptive_init_probs"))
    probs = hp.adaptive_init_probs
    if min(probs) < 0 or abs(sum(probs) - 1.0) > 1e-6:
        raise configs.ConfigError(f"hparam adaptive_init_probs must be >= 0 and sum to 1, got {list(probs)}")
    if hp.exit_heads not in EXIT_HEADS:
        raise configs.ConfigError(f"hparam exit_heads must be all or exit, got {hp.exit_heads!r}")
    if hp.adaptive_update not in UPDATE_RULES:
        raise configs.ConfigError(
            f"hparam adaptive_update must be probs or logits, got {hp.adaptive_update!r}"
        )
    layers = configs.generator_config(config).num_hidden_layers
    if hp.exit_layers[-1] > layers:
        raise configs.ConfigError(
            f"exit_layers {list(hp.exit_layers)} go beyond the generator's "
            f"{layers} layers (generator_layers {config.generator_layers})"
        )


def reassignment_shift(previous_accuracy, accuracy, alpha: float, num_exits: int) -> tf.Tensor:
    """S = α·clip(acc − acc_prev, −1, 1)·[0, 1, …, K−1], float32 [K]."""
    diff = tf.clip_by_value(tf.cast(accuracy, tf.float32) - tf.cast(previous_accuracy, tf.float32), -1.0, 1.0)
    return float(alpha) * diff * tf.range(num_exits, dtype=tf.float32)


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


class AdaptiveExitDistribution(StateLayer):
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
        super().__init__(name=name, **kwargs)  # float32: P and the window sums are bookkeeping
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

    def probabilities(self) -> tf.Tensor:
        """Current P, float32 [K]."""
        self.ensure_built()
        return self.rule.probabilities(tf.convert_to_tensor(self.state))

    def sample(self, seed: tf.Tensor) -> tf.Tensor:
        """One exit index j ~ Categorical(P), int32 scalar, from a [2] stateless seed.

        Inverse CDF: j = #{k : P_1 + … + P_k <= u·ΣP}, u ~ U[0, 1) (XLA compiles it, unlike
        `stateless_categorical`)."""
        probs = self.probabilities()
        u = tf.random.stateless_uniform([], seed=seed, dtype=tf.float32) * tf.reduce_sum(probs)
        below = tf.reduce_sum(tf.cast(tf.cumsum(probs) <= u, tf.int32))
        return tf.minimum(below, self.num_exits - 1)

    def pin(self, index: int) -> None:
        """P ← one-hot at exit `index` (for timing: every later sample is `index` until P moves)."""
        self.ensure_built()
        with np.errstate(divide="ignore"):  # the logit rule's log 0 = -inf: softmax gives 0 there
            self.state.assign(self.rule.initial_state(np.eye(self.num_exits)[index]))

    def record(self, disc_correct: tf.Tensor, disc_tokens: tf.Tensor) -> tf.Tensor:
        """Adds one step's discriminator counts (summed over replicas) to the window; when the
        window is full, closes it (updates P unless it is the first window). Returns the window's
        accuracy when it closed this step, else -1 (float32 scalar)."""
        self.ensure_built()
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


class AdaptiveExitGenerator(ReplacementMethod):
    """A generator tower with exit heads after `exit_layers` (1-based layer counts)."""

    def __init__(
        self,
        tower: configs.BertConfig,
        embedding_size: int,
        exit_layers: Sequence[int],
        exit_concat: bool,
        exit_loss_weights: Sequence[float],
        distribution: AdaptiveExitDistribution,
        temperature: float,
        gen_weight: float,
        exit_heads: str = "all",
        name: str = "generator",
        **kwargs,
    ):
        super().__init__(name=name, **kwargs)
        self.exit_heads = exit_heads
        self.encoder = build_encoder(tower, embedding_size)
        self.exit_layers = [int(n) for n in exit_layers]
        self.exit_concat = bool(exit_concat)
        self.exit_loss_weights = [float(w) for w in exit_loss_weights]
        self.distribution = distribution
        self.temperature = temperature
        self.gen_weight = gen_weight
        self.hidden_size = tower.hidden_size
        self.heads = [
            MaskedLMHead(
                embedding_size, tower.vocab_size, tower.initializer_range, name=f"exit_{n}_predictions"
            )
            for n in self.exit_layers
        ]

    def pin_exit(self, layer: int) -> None:
        """For timing: every following step samples the exit after generator layer `layer`."""
        if layer not in self.exit_layers:
            raise ValueError(f"exit layer {layer} is not one of exit_layers {self.exit_layers}")
        self.distribution.pin(self.exit_layers.index(layer))

    def _build_parts(self, embedding_table: tf.Variable) -> None:
        """Creates every variable before `tf.switch_case` (no variable may be born in a branch)."""
        if all(head.built for head in self.heads):
            return
        with tf.init_scope():
            self.distribution.probabilities()
            for i, head in enumerate(self.heads):
                width = self.hidden_size * (i + 1 if self.exit_concat else 1)
                head(tf.zeros([1, 1, width]), embedding_table)

    def head_inputs(self, exit_outputs: list[tf.Tensor], positions: tf.Tensor) -> list[tf.Tensor]:
        """Hidden states at the exits that ran ([B, L, H] each) → each head's input [B, N, H·(i or 1)]."""
        gathered = [gather_positions(h, positions) for h in exit_outputs]
        if not self.exit_concat:
            return gathered
        return [tf.concat(gathered[: i + 1], axis=-1) for i in range(len(gathered))]

    def _branch(self, exit_index: int, hidden, input_mask, masked: MaskedBatch, table, training):
        """Runs layers 1..ℓ_j and heads 1..j (or head j alone with exit_heads "exit") →
        (weighted MLM numerator, head j's logits [B, N, V])."""
        outputs = self.encoder.run_layers(hidden, input_mask, 0, self.exit_layers[exit_index], training)
        exits = [outputs[n - 1] for n in self.exit_layers[: exit_index + 1]]
        inputs = self.head_inputs(exits, masked.masked_positions)
        if self.exit_heads == "exit":
            logits = self.heads[exit_index](inputs[-1], table)
            ce_sum, _ = losses.mlm_loss_sums(logits, masked.masked_ids, masked.masked_weights)
            all_weights = self.exit_loss_weights
            return len(all_weights) * all_weights[exit_index] / sum(all_weights) * ce_sum, logits
        weights = self.exit_loss_weights[: exit_index + 1]
        numerator, logits = 0.0, None
        for head, head_input, weight in zip(self.heads[: exit_index + 1], inputs, weights, strict=True):
            logits = head(head_input, table)
            ce_sum, _ = losses.mlm_loss_sums(logits, masked.masked_ids, masked.masked_weights)
            numerator += weight / sum(weights) * ce_sum
        return numerator, logits

    def call(
        self, embeddings, batch: dict, masked: MaskedBatch, seeds: tf.Tensor, step_seed=None, training=False
    ) -> Replacement:
        """seeds: [B, 2] per-example sampling seeds; step_seed: [2], equal on every replica."""
        table = embeddings.word_embeddings
        self._build_parts(table)
        exit_index = self.distribution.sample(step_seed)  # int32 scalar
        emb = embeddings(masked.masked_input_ids, batch["segment_ids"], training=training)  # [B,L,E]
        hidden = self.encoder.project(emb)  # [B,L,H]
        branches = [
            (lambda k=k: self._branch(k, hidden, batch["input_mask"], masked, table, training))
            for k in range(len(self.exit_layers))
        ]
        numerator, logits = tf.switch_case(exit_index, branches)  # scalar, [B,N,V]
        mlm = LossTerm(numerator, tf.reduce_sum(masked.masked_weights), self.gen_weight)
        replacement = sampled_replacement(logits, batch, masked, seeds, self.temperature, mlm)
        replacement.state["exit_index"] = exit_index
        return replacement

    @property
    def discriminator_sum_keys(self) -> tuple[str, ...]:
        return tuple(f"exit_{n}_disc_{k}" for n in self.exit_layers for k in ("correct", "tokens"))

    def discriminator_sums(
        self, counts: dict[str, tf.Tensor], replacement: Replacement
    ) -> dict[str, tf.Tensor]:
        """The discriminator's correct and token counts, credited to the exit that ran."""
        chosen = tf.one_hot(replacement.state["exit_index"], len(self.exit_layers), dtype=tf.float32)  # [K]
        sums = {}
        for k, n in enumerate(self.exit_layers):
            sums[f"exit_{n}_disc_correct"] = chosen[k] * counts["correct"]
            sums[f"exit_{n}_disc_tokens"] = chosen[k] * counts["count"]
        return sums

    def after_step(self, sums: dict[str, tf.Tensor]) -> None:
        """Feeds the step's discriminator counts (summed over replicas) to the exit distribution."""
        self.distribution.record(sums["disc_correct"], sums["disc_tokens"])

    def summary_scalars(self, window: dict[str, float]) -> dict[str, float]:
        """The `adaptive/*` scalars: current P, per-exit RTD accuracy and the token-weighted
        mean exit layer over a log window's summed counts."""
        probs = self.distribution.probabilities().numpy()
        out = {f"adaptive/p_{n}": float(p) for n, p in zip(self.exit_layers, probs, strict=True)}
        tokens = {n: window.get(f"exit_{n}_disc_tokens", 0.0) for n in self.exit_layers}
        for n in self.exit_layers:
            if tokens[n] > 0:
                out[f"adaptive/rtd_acc_exit_{n}"] = window[f"exit_{n}_disc_correct"] / tokens[n]
        if sum(tokens.values()) > 0:
            out["adaptive/exit_layer"] = sum(n * t for n, t in tokens.items()) / sum(tokens.values())
        return out


def build(config: configs.PretrainingConfig, context: BuildContext) -> AdaptiveExitGenerator:
    hp = registry.hparams_of(config)
    distribution = AdaptiveExitDistribution(
        hp.adaptive_init_probs, hp.adaptive_alpha, hp.exit_update_every, build_update_rule(hp.adaptive_update)
    )
    return AdaptiveExitGenerator(
        configs.generator_config(config),
        configs.embedding_size(config),
        hp.exit_layers,
        hp.exit_concat,
        hp.exit_loss_weights,
        distribution,
        config.temperature,
        config.gen_weight,
        hp.exit_heads,
    )


def initial_exit_shares(config: configs.PretrainingConfig) -> dict[int, float]:
    """P₁ by exit layer (the benchmark weights the pinned steps by it)."""
    hp = registry.hparams_of(config)
    return dict(zip(hp.exit_layers, hp.adaptive_init_probs, strict=True))


registry.register(
    registry.Method(
        NAME,
        build,
        hparams=AdaptiveExitHparams,
        validate=validate,
        timing_hparams={"exit_update_every": 10**9},  # no P update while timed: a pinned exit stays
        readings={"exit_heads=exit": {"exit_heads": "exit"}},
        timed_per_exit=True,
        initial_exit_shares=initial_exit_shares,
    )
)
