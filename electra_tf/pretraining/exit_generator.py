"""Adaptive Early-Exit (Gen): a generator with MLM exit heads, run only up to a sampled exit.

Each step one exit j ~ Categorical(P) is drawn from the step seed (the same on every replica).
`tf.switch_case` then runs only branch j: generator layers 1..ℓ_j and heads 1..j (the other
layers are not executed, also under `jit_compile`). Head i reads the masked positions of
concat(h_ℓ1, …, h_ℓi) with `exit_concat`, else h_ℓi; the MLM loss is Σ_{i≤j} w_i·CE_i / Σ_{i≤j} w_i
(`exit_loss_weights` normalised over the heads that ran); replacements are Gumbel samples of
head j. After the step, the discriminator's accuracy moves P (`AdaptiveExitDistribution`).

Shapes: B = batch, L = sequence length, N = masked slots, V = vocabulary, E = embedding size,
H = generator hidden size, K = number of exits.
"""

from __future__ import annotations

from collections.abc import Sequence

import tensorflow as tf

from electra_tf import configs
from electra_tf.modeling.encoder import build_encoder
from electra_tf.modeling.heads import MaskedLMHead, gather_positions
from electra_tf.pretraining import losses
from electra_tf.pretraining.adaptive_exit import AdaptiveExitDistribution, build_update_rule
from electra_tf.pretraining.masking import MaskedBatch
from electra_tf.pretraining.methods import (
    BuildContext,
    LossTerm,
    Replacement,
    ReplacementMethod,
    register_method,
    sampled_replacement,
)


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
        name: str = "generator",
        **kwargs,
    ):
        super().__init__(name=name, **kwargs)
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
        """Runs layers 1..ℓ_j and heads 1..j → (weighted MLM numerator, head j's logits [B, N, V])."""
        outputs = self.encoder.run_layers(hidden, input_mask, 0, self.exit_layers[exit_index], training)
        exits = [outputs[n - 1] for n in self.exit_layers[: exit_index + 1]]
        weights = self.exit_loss_weights[: exit_index + 1]
        numerator, logits = 0.0, None
        heads = self.heads[: exit_index + 1]
        for head, inputs, weight in zip(
            heads, self.head_inputs(exits, masked.masked_positions), weights, strict=True
        ):
            logits = head(inputs, table)
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
        chosen = tf.one_hot(exit_index, len(self.exit_layers), dtype=tf.float32)  # [K]

        def per_exit_disc_sums(counts: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
            sums = {}
            for k, n in enumerate(self.exit_layers):
                sums[f"exit_{n}_disc_correct"] = chosen[k] * counts["correct"]
                sums[f"exit_{n}_disc_tokens"] = chosen[k] * counts["count"]
            return sums

        mlm = LossTerm(numerator, tf.reduce_sum(masked.masked_weights), self.gen_weight)
        replacement = sampled_replacement(logits, batch, masked, seeds, self.temperature, mlm)
        replacement.discriminator_sums = per_exit_disc_sums
        return replacement

    def after_step(self, sums: dict[str, tf.Tensor]) -> None:
        """Feeds the step's discriminator counts (summed over replicas) to the exit distribution."""
        self.distribution.record(sums["disc_correct"], sums["disc_tokens"])

    def summary_scalars(self, window: dict[str, float]) -> dict[str, float]:
        """DESIGN §7 `adaptive/*` scalars: current P, per-exit RTD accuracy and the token-weighted
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


@register_method("adaptive_exit_gen")
def _build_adaptive_exit_gen(
    config: configs.PretrainingConfig, context: BuildContext
) -> AdaptiveExitGenerator:
    tower = configs.generator_config(config)
    if config.exit_layers[-1] > tower.num_hidden_layers:
        raise configs.ConfigError(
            f"exit_layers {list(config.exit_layers)} go beyond the generator's "
            f"{tower.num_hidden_layers} layers (generator_layers {config.generator_layers})"
        )
    distribution = AdaptiveExitDistribution(
        config.adaptive_init_probs,
        config.adaptive_alpha,
        config.exit_update_every,
        build_update_rule(config.adaptive_update),
    )
    return AdaptiveExitGenerator(
        tower,
        configs.embedding_size(config),
        config.exit_layers,
        config.exit_concat,
        config.exit_loss_weights,
        distribution,
        config.temperature,
        config.gen_weight,
    )
