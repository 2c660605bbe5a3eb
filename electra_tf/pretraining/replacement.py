"""What a replacement method gives the pretrainer: the corrupted input, labels, loss terms, sums.

A method is a `ReplacementMethod` layer whose `call(embeddings, batch, masked, seeds, step_seed,
training)` returns a `Replacement`. It may keep training state through the `PretrainerPart`
hooks, and may turn the discriminator's confusion counts into sums of its own through
`discriminator_sums`, whose keys it declares in `discriminator_sum_keys`.

Shapes: B = batch, L = sequence length, E = embedding size.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import tensorflow as tf

from electra_tf.modeling.embeddings import ElectraEmbeddings
from electra_tf.pretraining.parts import PretrainerPart, SpecialTokens


@dataclasses.dataclass(frozen=True)
class BuildContext:
    """The pretrainer's parts built before its replacement method."""

    embeddings: ElectraEmbeddings
    discriminator: PretrainerPart  # a `discriminators.DiscriminatorStage` (has `.encoder`)
    special: SpecialTokens
    # () -> int [V] numpy token counts of the training records, read only by a builder that needs
    # them (a unigram sampler); None when no records are at hand (e.g. building a model to convert it)
    token_counts: Callable[[], object] | None = None


@dataclasses.dataclass
class LossTerm:
    """weight · numerator / Σ_replicas denominator — exact under any replica split."""

    numerator: tf.Tensor
    denominator: tf.Tensor
    weight: float


@dataclasses.dataclass
class Replacement:
    corrupted_ids: tf.Tensor  # [B, L] int32
    labels: tf.Tensor  # [B, L] int32, 1 = replaced
    losses: dict[str, LossTerm]
    sums: dict[str, tf.Tensor]  # metric numerators/denominators, summed over replicas
    word_embedding_delta: tf.Tensor | None = None  # [B, L, E] added to the discriminator's input
    # this step's tensors that only the method's own hooks read (e.g. the exit it ran); not summed
    state: dict[str, tf.Tensor] = dataclasses.field(default_factory=dict)


class ReplacementMethod(PretrainerPart):
    """Base of every replacement method: `call` makes a `Replacement`."""

    # the keys `discriminator_sums` returns
    discriminator_sum_keys: tuple[str, ...] = ()

    def discriminator_sums(
        self, counts: dict[str, tf.Tensor], replacement: Replacement
    ) -> dict[str, tf.Tensor]:
        """The discriminator's confusion counts on this step (`metrics.disc_counts`: float32
        scalars) and the method's own `Replacement` → extra metric sums (keys:
        `discriminator_sum_keys`)."""
        return {}

    def pin_exit(self, layer: int) -> None:
        """For timing: the following steps run the generator to exit `layer`. A method without
        exits ignores it."""
