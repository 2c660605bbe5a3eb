"""Replacement methods: how the discriminator's corrupted input is made. One registry.

A method is a `ReplacementMethod` layer whose `call(embeddings, batch, masked, seeds, step_seed,
training)` returns a `Replacement`: the corrupted ids, the RTD labels, an optional delta added
to the discriminator's word embeddings, its own loss terms and metric sums. It may keep training
state through the `PretrainerPart` hooks. A builder receives the config and a `BuildContext`: the
shared embeddings, the discriminator stage (a generator may share its encoder) and the special
token ids. The
pretrainer never asks which method it holds; `build_replacement_method` is the only place that
reads `config.method`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import tensorflow as tf

from electra_tf import configs
from electra_tf.modeling.embeddings import ElectraEmbeddings
from electra_tf.modeling.encoder import TransformerEncoder, build_encoder
from electra_tf.modeling.heads import MaskedLMHead, gather_positions
from electra_tf.pretraining import losses, metrics, sampling
from electra_tf.pretraining.masking import MaskedBatch
from electra_tf.pretraining.parts import PretrainerPart, Registry, SpecialTokens

# builder(config, BuildContext) -> ReplacementMethod
_REGISTRY = Registry("replacement method")
register_method = _REGISTRY.register  # decorator: `@register_method("name")`


@dataclasses.dataclass(frozen=True)
class BuildContext:
    """The pretrainer's parts built before its replacement method."""

    embeddings: ElectraEmbeddings
    discriminator: PretrainerPart  # a `discriminators.DiscriminatorStage` (has `.encoder`)
    special: SpecialTokens
    # () -> int [V] numpy token counts of the training records, read only by a builder that needs
    # them (`unigram`); None when no records are at hand (e.g. building a model to convert it)
    token_counts: Callable[[], object] | None = None


def registered_methods() -> list[str]:
    return _REGISTRY.names()


def check_method(config: configs.PretrainingConfig) -> None:
    if _REGISTRY.get(config.method) is None:
        raise configs.ConfigError(
            f"unknown method {config.method!r}; registered methods: {', '.join(registered_methods())}"
        )


def build_replacement_method(config: configs.PretrainingConfig, context: BuildContext) -> PretrainerPart:
    """The method `config.method` names, built on the pretrainer's other parts."""
    check_method(config)
    return _REGISTRY.get(config.method)(config, context)


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
    # The discriminator's confusion counts (`metrics.disc_counts`) -> extra metric sums.
    discriminator_sums: Callable[[dict[str, tf.Tensor]], dict[str, tf.Tensor]] = lambda counts: {}


class ReplacementMethod(PretrainerPart):
    """Base of every replacement method: `call` makes a `Replacement`."""


def per_example_seeds(seed: tf.Tensor, first_index: tf.Tensor, batch_size: tf.Tensor) -> tf.Tensor:
    """[2] seed, global index of the first local example → [B, 2] seeds, one per example.

    Example i of the global batch always gets the same seed, whichever replica holds it.
    """
    index = tf.cast(first_index, tf.int64) + tf.range(tf.cast(batch_size, tf.int64))
    seed = tf.cast(seed, tf.int64)
    return tf.stack([tf.fill(tf.shape(index), seed[0]), seed[1] * 1_000_003 + index], axis=1)


class ElectraGenerator(ReplacementMethod):
    """Upstream's generator: a BERT tower on the shared embeddings, an MLM head tied to the word
    embeddings, Gumbel-max sampling at the masked positions (no gradient). The tower is its own
    (upstream's untied generator) or the discriminator's (`untied_generator=False`)."""

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
        hidden = self.encoder(emb, batch["input_mask"], training=training)[-1]  # [B,L,Hg]
        logits = self.head(gather_positions(hidden, masked.masked_positions), embeddings.word_embeddings)
        mlm = LossTerm(
            *losses.mlm_loss_sums(logits, masked.masked_ids, masked.masked_weights), self.gen_weight
        )
        return sampled_replacement(logits, batch, masked, seeds, self.temperature, mlm)


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
    tower = configs.bert_config(config)
    return MaskedLMHead(configs.embedding_size(config), tower.vocab_size, tower.initializer_range, name=name)


@register_method("electra")
def _build_electra(config: configs.PretrainingConfig, context: BuildContext) -> ElectraGenerator:
    """Upstream's generator; with `untied_generator: false` it runs on the discriminator's encoder
    (upstream's tied option; the generator sizes are then unused)."""
    if config.untied_generator:
        encoder = build_encoder(configs.generator_config(config), configs.embedding_size(config))
    else:
        encoder = context.discriminator.encoder
    return ElectraGenerator(encoder, build_mlm_head(config), config.temperature, config.gen_weight)
