"""Upstream's generator: a BERT tower with an MLM head tied to the word embeddings, sampled.

`ElectraGenerator` is the replacement part of `electra` (its own tower, or the discriminator's
with `untied_generator: false`) and of methods whose generator is the discriminator's encoder.

Shapes: B = batch, L = sequence length, N = masked slots, V = vocabulary, E = embedding size,
H = generator hidden size.
"""

from __future__ import annotations

import tensorflow as tf

from electra_tf import configs
from electra_tf.modeling.encoder import TransformerEncoder
from electra_tf.modeling.heads import MaskedLMHead, gather_positions
from electra_tf.pretraining import losses, metrics, sampling
from electra_tf.pretraining.masking import MaskedBatch
from electra_tf.pretraining.replacement import LossTerm, Replacement, ReplacementMethod


class ElectraGenerator(ReplacementMethod):
    """A BERT tower on the shared embeddings, an MLM head tied to the word embeddings, Gumbel-max
    sampling at the masked positions (no gradient)."""

    def __init__(
        self,
        encoder: TransformerEncoder,
        head: MaskedLMHead,
        temperature: float,
        gen_weight: float,
        name: str = "generator",
        **kwargs,
    ):
        super().__init__(name=name, **kwargs)
        self.encoder = encoder
        self.head = head
        self.temperature = temperature
        self.gen_weight = gen_weight

    def call(
        self, embeddings, batch: dict, masked: MaskedBatch, seeds: tf.Tensor, step_seed=None, training=False
    ) -> Replacement:
        """seeds: [B, 2] per-example sampling seeds (step_seed, the [2] step seed, is unused)."""
        emb = embeddings(masked.masked_input_ids, batch["segment_ids"], training=training)  # [B,L,E]
        hidden = self.last_states(emb, batch["input_mask"], training)  # [B,L,H]
        logits = self.head(gather_positions(hidden, masked.masked_positions), embeddings.word_embeddings)
        mlm = LossTerm(
            *losses.mlm_loss_sums(logits, masked.masked_ids, masked.masked_weights), self.gen_weight
        )
        return sampled_replacement(logits, batch, masked, seeds, self.temperature, mlm)

    def last_states(self, embeddings: tf.Tensor, input_mask: tf.Tensor, training) -> tf.Tensor:
        """[B, L, E] embeddings → the states the MLM head reads, [B, L, H]: every layer's last."""
        return self.encoder(embeddings, input_mask, training=training)[-1]


def sampled_replacement(
    logits: tf.Tensor, batch: dict, masked: MaskedBatch, seeds: tf.Tensor, temperature: float, mlm: LossTerm
) -> Replacement:
    """A generator's `Replacement`: Gumbel samples of logits [B, N, V] (per-example seeds [B, 2])
    written into the masked slots, RTD labels, the MLM loss term and accuracy sums."""
    weights = masked.masked_weights  # [B,N]
    sampled = sampling.gumbel_max_sample_per_example(logits, temperature, seeds)  # [B,N]
    corrupted = sampling.replace_tokens(batch["input_ids"], masked.masked_positions, sampled, weights)
    mlm_correct, masked_count = metrics.mlm_accuracy_counts(logits, masked.masked_ids, weights)
    sampled_correct, _ = metrics.sampled_accuracy_counts(sampled, masked.masked_ids, weights)
    return Replacement(
        corrupted_ids=corrupted,
        labels=sampling.rtd_labels(batch["input_ids"], corrupted, batch["input_mask"]),
        losses={"mlm": mlm},
        sums={"mlm_correct": mlm_correct, "sampled_correct": sampled_correct, "masked": masked_count},
    )


def build_mlm_head(config: configs.PretrainingConfig, name: str = "generator_predictions") -> MaskedLMHead:
    """An MLM head tied to the shared word embeddings (upstream's `generator_predictions`)."""
    tower = configs.bert_config(config)
    return MaskedLMHead(configs.embedding_size(config), tower.vocab_size, tower.initializer_range, name=name)
