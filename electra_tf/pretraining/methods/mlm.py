"""`mlm`: the ELECTRA paper's BERT baseline, a masked language model with no RTD (issue 27's control).

The discriminator-sized encoder reads BERT's masked input and predicts the original token at each
chosen position with an MLM head tied to the word embeddings; its loss is BERT's (the mean
cross-entropy over the chosen positions, weight `gen_weight`). There is no generator, no
replacement and no RTD objective: the discriminator stage does not run the encoder a second time;
it keeps upstream's RTD head only for the checkpoint layout, on zero states with a weight-0 loss
term (a zero gradient: `loss/disc` ≈ ln 2 is logged and means nothing).

Masking (Devlin et al. 2019, BERT's `create_pretraining_data.py`): the positions are the
pretrainer's (`mask_prob` of the tokens, at most `max_predictions_per_seq`, specials excluded, as
ELECTRA); each chosen position then shows `[MASK]` with probability `mlm_mask_token_share` (0.8), a
token drawn uniformly from the whole vocabulary with `mlm_random_token_share` (0.1), else its own
token. The model is then the same network as `early_exit_disc`'s tied generator (the head is
`generator_predictions`, on the discriminator's encoder), so conversion and fine-tuning read it as
any of our checkpoints. RTD metrics and diagnostics (`acc/disc`, `disc/auc*`) are logged but mean
nothing for this method; `acc/mlm` is its accuracy.

Shapes: B = batch, L = sequence length, N = max predictions, V = vocabulary, H = hidden size.
"""

from __future__ import annotations

import dataclasses

import tensorflow as tf

from electra_tf import configs
from electra_tf.modeling.heads import gather_positions
from electra_tf.pretraining import losses, metrics, registry
from electra_tf.pretraining.discriminators import (
    DiscriminatorOutput,
    FullDiscriminator,
    build_full_discriminator,
)
from electra_tf.pretraining.generator import ElectraGenerator, build_mlm_head
from electra_tf.pretraining.masking import MaskedBatch
from electra_tf.pretraining.replacement import BuildContext, LossTerm, Replacement
from electra_tf.pretraining.sampling import per_example_noise, replace_tokens
from electra_tf.pretraining.seeds import stream

NAME = "mlm"
TOKEN_DRAW_STREAM = 1  # relative to the method's seeds: which token a random slot gets


@dataclasses.dataclass(frozen=True)
class MlmHparams:
    """BERT's corruption of the chosen positions: [MASK], a uniform random token, or unchanged."""

    mlm_mask_token_share: float = 0.8
    mlm_random_token_share: float = 0.1


def validate(config: configs.PretrainingConfig) -> None:
    hp = registry.hparams_of(config)
    for key in ("mlm_mask_token_share", "mlm_random_token_share"):
        if not 0.0 <= getattr(hp, key) <= 1.0:
            raise configs.ConfigError(f"hparam {key} must be in [0, 1], got {getattr(hp, key)}")
    if hp.mlm_mask_token_share + hp.mlm_random_token_share > 1.0:
        raise configs.ConfigError(
            "hparams mlm_mask_token_share + mlm_random_token_share must be at most 1, got "
            f"{hp.mlm_mask_token_share} + {hp.mlm_random_token_share}"
        )
    if config.random_token_share:
        raise configs.ConfigError(
            "hparam random_token_share must be 0 with method mlm (its masking is BERT's: "
            "mlm_random_token_share)"
        )
    if config.disc_mlm_weight:
        raise configs.ConfigError("hparam disc_mlm_weight must be 0 with method mlm (it is an MLM already)")


def bert_corruption(
    input_ids: tf.Tensor,
    masked: MaskedBatch,
    seeds: tf.Tensor,
    mask_id: int,
    vocab_size: int,
    mask_share: float,
    random_share: float,
) -> tf.Tensor:
    """input_ids [B, L], the chosen slots `masked`, per-example seeds [B, 2] → [B, L] int32: each
    used slot becomes `mask_id` (u < mask_share), a uniform id in [0, vocab_size) (u < mask_share +
    random_share), else keeps its token; u ~ U[0, 1) per slot. Other positions are unchanged."""
    n = masked.masked_positions.shape[1]
    u = per_example_noise(seeds, [n], tf.random.stateless_uniform)  # [B,N]
    draw = per_example_noise(stream(seeds, TOKEN_DRAW_STREAM), [n], tf.random.stateless_uniform)
    random_ids = tf.minimum(tf.cast(draw * vocab_size, tf.int32), vocab_size - 1)  # [B,N]
    original = tf.gather(tf.cast(input_ids, tf.int32), masked.masked_positions, batch_dims=1)  # [B,N]
    new_ids = tf.where(
        u < mask_share,
        tf.fill(tf.shape(original), tf.constant(mask_id, tf.int32)),
        tf.where(u < mask_share + random_share, random_ids, original),
    )
    return replace_tokens(input_ids, masked.masked_positions, new_ids, masked.masked_weights)


class MaskedLanguageModel(ElectraGenerator):
    """The MLM objective on the discriminator's encoder: BERT's corruption, the tied MLM head, the
    mean cross-entropy at the chosen slots. Its `Replacement` leaves the input as it is (labels 0)."""

    def __init__(
        self, encoder, head, gen_weight: float, mask_id: int, mask_share: float, random_share: float
    ):
        super().__init__(encoder, head, temperature=1.0, gen_weight=gen_weight)
        self.mask_id, self.mask_share, self.random_share = mask_id, mask_share, random_share

    def call(
        self, embeddings, batch, masked: MaskedBatch, seeds, step_seed=None, training=False
    ) -> Replacement:
        """seeds: [B, 2] per-example seeds of BERT's corruption."""
        corrupted = bert_corruption(
            batch["input_ids"],
            masked,
            seeds,
            self.mask_id,
            embeddings.vocab_size,
            self.mask_share,
            self.random_share,
        )
        emb = embeddings(corrupted, batch["segment_ids"], training=training)  # [B,L,E]
        hidden = self.encoder(emb, batch["input_mask"], training=training)[-1]  # [B,L,H]
        logits = self.head(gather_positions(hidden, masked.masked_positions), embeddings.word_embeddings)
        weights = masked.masked_weights
        mlm = LossTerm(*losses.mlm_loss_sums(logits, masked.masked_ids, weights), self.gen_weight)
        correct, count = metrics.mlm_accuracy_counts(logits, masked.masked_ids, weights)
        ids = tf.cast(batch["input_ids"], tf.int32)
        return Replacement(
            corrupted_ids=ids,
            labels=tf.zeros_like(ids),
            losses={"mlm": mlm},
            sums={"mlm_correct": correct, "masked": count},
        )


class MlmOnlyDiscriminator(FullDiscriminator):
    """Upstream's discriminator layout (encoder + `discriminator_predictions`) that judges nothing:
    `call` runs no encoder layer; the head reads zero states, with a weight-0 loss term (a zero
    gradient rather than none, so the head stays a trained-along variable that conversion and
    restore see). `full_depth` (score) runs every layer as usual."""

    def __init__(self, encoder, head, name="discriminator"):
        super().__init__(encoder, head, disc_weight=0.0, name=name)

    def call(self, embeddings, input_mask, labels, training=False) -> DiscriminatorOutput:
        """embeddings [B, L, E] → the head's logits on zero states [B, L], its weight-0 RTD term,
        the zero states [B, L, H]."""
        shape = tf.shape(labels)
        hidden = tf.zeros(tf.concat([shape, [self.encoder.hidden_size]], 0), embeddings.dtype)
        logits = self.head(hidden)
        loss = LossTerm(*losses.rtd_loss_sums(logits, labels, input_mask), 0.0)
        return DiscriminatorOutput(logits, loss, {}, hidden)


def build_discriminator(config: configs.PretrainingConfig) -> MlmOnlyDiscriminator:
    full = build_full_discriminator(config)
    return MlmOnlyDiscriminator(full.encoder, full.head)


def build(config: configs.PretrainingConfig, context: BuildContext) -> MaskedLanguageModel:
    hp = registry.hparams_of(config)
    return MaskedLanguageModel(
        context.discriminator.encoder,
        build_mlm_head(config),
        config.gen_weight,
        context.special.mask_id,
        hp.mlm_mask_token_share,
        hp.mlm_random_token_share,
    )


registry.register(
    registry.Method(
        NAME,
        build,
        hparams=MlmHparams,
        validate=validate,
        build_discriminator=build_discriminator,
        generator_sized=False,
    )
)
