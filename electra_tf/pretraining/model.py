"""The ELECTRA pretrainer: shared embeddings, a replacement method, the discriminator.

`ElectraPretrainer.call` masks the batch, lets the replacement method corrupt it, runs the
discriminator on the result and returns loss terms and metric sums (all per replica; the
trainer sums them over replicas): the whole objective, paper eq. 4, in one place.
`build_pretrainer` is the only function here that reads the config; which parts a method uses
comes from its registry entry.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf
import tf_keras

from electra_tf import configs
from electra_tf.modeling.embeddings import ElectraEmbeddings, build_embeddings
from electra_tf.modeling.heads import MaskedLMHead, gather_positions
from electra_tf.pretraining import losses, masking, metric_table, metrics, registry, sampling, seeds
from electra_tf.pretraining.discriminators import DiscriminatorStage, build_full_discriminator
from electra_tf.pretraining.generator import build_mlm_head
from electra_tf.pretraining.parts import SpecialTokens
from electra_tf.pretraining.replacement import BuildContext, LossTerm, ReplacementMethod

__all__ = ["ElectraPretrainer", "PretrainOutputs", "SpecialTokens", "build_pretrainer"]


@dataclasses.dataclass
class PretrainOutputs:
    losses: dict[str, LossTerm]
    sums: dict[str, tf.Tensor]
    disc_probs: tf.Tensor  # [B, L] P(replaced)
    labels: tf.Tensor  # [B, L] int32
    input_mask: tf.Tensor  # [B, L] int32


class ElectraPretrainer(tf_keras.Model):
    """Generator-or-other replacement + discriminator stage, trained jointly (paper eq. 4).

    `disc_mlm_head` (optional, off in upstream's recipe): an MLM head on the discriminator's last
    states that predicts the original token at every selected position from the *corrupted* input
    (COCO-LM's corrective LM restricted to the selected positions, Meng et al. 2021), loss term
    "disc_mlm" with weight `disc_mlm_weight`. It gives the discriminator a dense contextual signal.
    `random_token_share` (default 0, upstream): that share of the chosen positions shows the
    generator a uniformly drawn token instead of `[MASK]` (BERT's random tokens, Devlin et al. 2019).
    """

    def __init__(
        self,
        embeddings: ElectraEmbeddings,
        discriminator: DiscriminatorStage,
        method: ReplacementMethod,
        special: SpecialTokens,
        mask_prob: float,
        max_predictions: int,
        disc_mlm_head: MaskedLMHead | None = None,
        disc_mlm_weight: float = 0.0,
        random_token_share: float = 0.0,
        name: str = "electra",
    ):
        """random_token_share > 0 draws uniformly over the ids a replacement may take (every id
        but `special.never_replacement_ids`); the vocabulary size comes from the embeddings."""
        super().__init__(name=name)
        self.embeddings = embeddings
        self.discriminator = discriminator
        self.method = method
        self.special = special
        self.mask_prob = mask_prob
        self.max_predictions = max_predictions
        self.disc_mlm_head = disc_mlm_head
        self.disc_mlm_weight = disc_mlm_weight
        self.random_token_share = random_token_share
        self._uniform_cdf = None  # numpy [V]: a tf constant is made per traced graph
        if random_token_share:
            uniform = np.ones(embeddings.vocab_size)
            self._uniform_cdf = sampling.unigram_cdf(uniform, special.never_replacement_ids)

    def call(self, batch: dict, seed: tf.Tensor, first_index=0, training=False) -> PretrainOutputs:
        """batch: int32 [B, L] input_ids / input_mask / segment_ids; seed: [2] int; first_index:
        global index of this replica's first example (for replica-independent randomness)."""
        self.embeddings.word_embeddings  # noqa: B018  builds the shared tables under electra/embeddings
        self.discriminator.build_variables()  # before the method, which may share its encoder
        batch_size = tf.shape(batch["input_ids"])[0]
        example_seeds = seeds.per_example_seeds(seed, first_index, batch_size)  # [B, 2]
        masked = masking.mask_inputs_per_example(
            batch["input_ids"],
            batch["input_mask"],
            example_seeds,
            mask_prob=self.mask_prob,
            max_predictions=self.max_predictions,
            mask_id=self.special.mask_id,
            special_ids=(self.special.cls_id, self.special.sep_id, self.special.mask_id),
        )
        if self.random_token_share:
            masked = masking.randomize_masked(
                masked,
                seeds.stream(example_seeds, seeds.RANDOM_TOKEN_STREAM),
                self.random_token_share,
                tf.constant(self._uniform_cdf),
                self.special.mask_id,
            )
        replacement = self.method(
            self.embeddings,
            batch,
            masked,
            seeds.stream(example_seeds, seeds.REPLACEMENT_STREAM),
            step_seed=seeds.stream(seed, seeds.STEP_STREAM),
            training=training,
        )
        emb = self.embeddings(
            replacement.corrupted_ids,
            batch["segment_ids"],
            training=training,
            word_embedding_delta=replacement.word_embedding_delta,
        )
        labels = replacement.labels
        judged = self.discriminator(emb, batch["input_mask"], labels, training=training)
        logits = judged.logits  # [B, L]
        counts = metrics.disc_counts(logits, labels, batch["input_mask"])
        terms: dict[str, LossTerm] = dict(replacement.losses)
        terms["disc"] = judged.loss
        sums = dict(replacement.sums)
        sums.update(judged.sums)
        sums.update(metric_table.disc_sums(counts))
        method_sums = self.method.discriminator_sums(counts, replacement)
        if set(method_sums) != set(self.method.discriminator_sum_keys):
            raise ValueError(
                f"{self.method.name}.discriminator_sums returned {sorted(method_sums)}, "
                f"declared {sorted(self.method.discriminator_sum_keys)}"
            )
        sums.update(method_sums)
        if self.disc_mlm_head is not None:
            selected = gather_positions(judged.hidden, masked.masked_positions)  # [B,N,H]
            mlm_logits = self.disc_mlm_head(selected, self.embeddings.word_embeddings)  # [B,N,V]
            terms["disc_mlm"] = LossTerm(
                *losses.mlm_loss_sums(mlm_logits, masked.masked_ids, masked.masked_weights),
                self.disc_mlm_weight,
            )
            correct, count = metrics.mlm_accuracy_counts(mlm_logits, masked.masked_ids, masked.masked_weights)
            sums.update(disc_mlm_correct=correct, disc_mlm_masked=count)
        return PretrainOutputs(terms, sums, tf.sigmoid(logits), labels, batch["input_mask"])

    def discriminate(self, input_ids, input_mask, segment_ids) -> tuple[tf.Tensor, tf.Tensor]:
        """Inference as `score` sees the model: int [B, L] inputs → (RTD logits [B, L] float32, last
        discriminator states [B, L, H] float32)."""
        emb = self.embeddings(input_ids, segment_ids, training=False)
        logits, hidden = self.discriminator.full_depth(emb, input_mask)
        return tf.cast(logits, tf.float32), tf.cast(hidden, tf.float32)

    def after_step(self, sums: dict[str, tf.Tensor]) -> None:
        """In the compiled train step, cross-replica: lets the parts update their own state from
        the step's sums (summed over replicas)."""
        self.method.after_step(sums)
        self.discriminator.after_step(sums)

    def summary_scalars(self, window: dict[str, float]) -> dict[str, float]:
        """The parts' extra scalars for a log window of summed metric values."""
        return {**self.method.summary_scalars(window), **self.discriminator.summary_scalars(window)}

    def initial_checkpoints(self) -> list[tuple[str, list[tf.Variable]]]:
        """The parts' (checkpoint, variables) initialisations for a run from scratch."""
        return self.method.initial_checkpoints() + self.discriminator.initial_checkpoints()


def build_pretrainer(
    config: configs.PretrainingConfig, special: SpecialTokens, token_counts=None
) -> ElectraPretrainer:
    """token_counts: () -> int [V] counts of the training records' tokens, for methods that
    need the unigram distribution (called at most once, here)."""
    method = registry.method_of(config)
    embeddings = build_embeddings(configs.bert_config(config), configs.embedding_size(config))
    discriminator = (method.build_discriminator or build_full_discriminator)(config)
    context = BuildContext(embeddings, discriminator, special, token_counts)
    disc_mlm = (
        build_mlm_head(config, name="discriminator_mlm_predictions") if config.disc_mlm_weight else None
    )
    return ElectraPretrainer(
        embeddings,
        discriminator,
        method.build_replacement(config, context),
        special,
        config.mask_prob,
        config.max_predictions_per_seq,
        disc_mlm,
        config.disc_mlm_weight,
        config.random_token_share,
    )
