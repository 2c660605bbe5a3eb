"""Discriminator stages: the encoder tower and RTD head(s) that judge the corrupted input.

A stage is a `DiscriminatorStage` layer whose `call(embeddings, input_mask, labels, training)`
returns a `DiscriminatorOutput`: the RTD logits the metrics read, its loss term and extra metric
sums. Like replacement methods it may keep training state through the `PretrainerPart` hooks.
`FullDiscriminator` is upstream's; a method's registry entry may name another stage
(`registry.Method.build_discriminator`).

Shapes: B = batch, L = sequence length, E = embedding size, H = hidden size.
"""

from __future__ import annotations

import dataclasses

import tensorflow as tf

from electra_tf import configs
from electra_tf.modeling.encoder import TransformerEncoder, build_encoder
from electra_tf.modeling.heads import DiscriminatorHead
from electra_tf.pretraining import losses
from electra_tf.pretraining.parts import PretrainerPart
from electra_tf.pretraining.replacement import LossTerm


@dataclasses.dataclass
class DiscriminatorOutput:
    logits: tf.Tensor  # [B, L] RTD logits of the deepest head that ran (metrics, AUC)
    loss: LossTerm  # the RTD loss term ("disc")
    sums: dict[str, tf.Tensor]  # extra metric sums, summed over replicas
    hidden: tf.Tensor  # [B, L, H] states of the deepest layer that ran (auxiliary heads read them)


class DiscriminatorStage(PretrainerPart):
    """Base: `encoder` (a `TransformerEncoder`) plus RTD head(s)."""

    encoder: TransformerEncoder

    def build_variables(self) -> None:
        """Creates every variable of the stage (no-op once built). The pretrainer calls it before
        the replacement method runs, so a generator sharing `encoder` finds it built under the
        discriminator's names."""
        raise NotImplementedError

    def full_depth(self, embeddings: tf.Tensor, input_mask: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """Inference through every layer and the final head, as `score` and fine-tuning see the
        discriminator: embeddings [B, L, E], input_mask [B, L] → (logits [B, L], last states
        [B, L, H])."""
        hidden = self.encoder(embeddings, input_mask, training=False)[-1]
        return self.final_head(hidden), hidden

    @property
    def final_head(self) -> DiscriminatorHead:
        """The RTD head on the last layer (upstream's `discriminator_predictions`)."""
        raise NotImplementedError

    def pin_exit(self, layer: int) -> None:
        """For timing: the following steps run to exit `layer`. A stage without exits always runs
        every layer and ignores it."""


class FullDiscriminator(DiscriminatorStage):
    """Upstream's discriminator: all encoder layers, then `DiscriminatorHead` on the last one."""

    def __init__(
        self, encoder: TransformerEncoder, head: DiscriminatorHead, disc_weight: float, name="discriminator"
    ):
        super().__init__(name=name)
        self.encoder = encoder
        self.head = head
        self.disc_weight = disc_weight

    def build_variables(self) -> None:
        if self.built:
            return
        with tf.init_scope(), tf.name_scope(self.name):
            hidden = self.encoder(tf.zeros([1, 1, self.encoder.embedding_size]), tf.ones([1, 1], tf.int32))
            self.head(hidden[-1])
        self.built = True

    def call(self, embeddings, input_mask, labels, training=False) -> DiscriminatorOutput:
        """embeddings [B, L, E] float; input_mask, labels [B, L] int → logits [B, L] and the loss."""
        hidden = self.encoder(embeddings, input_mask, training=training)[-1]  # [B,L,H]
        logits = self.head(hidden)  # [B,L]
        loss = LossTerm(*losses.rtd_loss_sums(logits, labels, input_mask), self.disc_weight)
        return DiscriminatorOutput(logits, loss, {}, hidden)

    @property
    def final_head(self) -> DiscriminatorHead:
        return self.head


def build_full_discriminator(config: configs.PretrainingConfig) -> FullDiscriminator:
    """Upstream's discriminator for `config`'s tower."""
    tower = configs.bert_config(config)
    return FullDiscriminator(
        build_encoder(tower, configs.embedding_size(config)),
        DiscriminatorHead(
            tower.hidden_size, tower.initializer_range, output_bias_init=configs.rtd_bias_init(config)
        ),
        config.disc_weight,
    )
