"""The paper's generator-free replacements (§3): Gaussian noise and Emb-Gen (top-k embedding
neighbours), two methods.

Both select positions exactly as masking does (`MaskedBatch.masked_positions/weights`) and label
every selected position 1, so the replaced share equals the selected share on every batch. Neither
creates a generator network.

- `noise`: the discriminator sees the original ids, with N(0, noise_std²) added to the word
  embeddings of the selected positions.
- `emb_gen`: each selected token t becomes one of the `emb_gen_top_k` rows of the shared word
  embedding table nearest to E[t] in L2 distance (t itself and the reserved tokens excluded),
  picked uniformly; extra loss `emb_gen_l2_weight`·mean ‖E[t] − E[t′]‖² ("emb_l2").

Shapes: B = batch, L = sequence length, N = selected slots, V = vocabulary, E = embedding size.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import tensorflow as tf

from electra_tf import configs
from electra_tf.pretraining import registry
from electra_tf.pretraining.masking import MaskedBatch
from electra_tf.pretraining.replacement import BuildContext, LossTerm, Replacement, ReplacementMethod
from electra_tf.pretraining.sampling import per_example_noise, replace_tokens, selected_mask


@dataclasses.dataclass(frozen=True)
class NoiseHparams:
    # std of the Gaussian noise added to the selected positions' word embeddings
    noise_std: float = 1.0


@dataclasses.dataclass(frozen=True)
class EmbGenHparams:
    # the replacement is one of this many L2-nearest word embeddings, picked uniformly
    emb_gen_top_k: int = 10
    # weight of the extra loss: mean squared L2 distance between original and replacement
    emb_gen_l2_weight: float = 1.0
    # "Emb-Gen (Pre-trained)": a checkpoint (ours or upstream's) whose embeddings start the run
    emb_gen_init_checkpoint: str = ""
    # true: the shared embeddings are not trained
    emb_gen_freeze_embeddings: bool = False


def validate_noise(config: configs.PretrainingConfig) -> None:
    noise_std = registry.hparams_of(config).noise_std
    if noise_std <= 0:
        raise configs.ConfigError(f"hparam noise_std must be positive, got {noise_std}")


def validate_emb_gen(config: configs.PretrainingConfig) -> None:
    top_k = registry.hparams_of(config).emb_gen_top_k
    if not 1 <= top_k < config.vocab_size:
        raise configs.ConfigError(f"hparam emb_gen_top_k must be in [1, vocab_size), got {top_k}")


def nearest_rows(table: tf.Tensor, ids: tf.Tensor, k: int, excluded: tf.Tensor) -> tf.Tensor:
    """The k rows of `table` nearest to table[id] in L2 distance, for every id; one batched matmul.

    Args:
      table: [V, E] float.
      ids: [...] int query rows.
      k: neighbours per query.
      excluded: [V] bool, rows never returned (besides each query's own row).

    Returns:
      [..., k] int32 row ids, nearest first, no gradient. ‖q − r‖² = ‖q‖² − 2·q·r + ‖r‖²; per
      query ‖q‖² is a constant, so rows are ranked by the score 2·q·r − ‖r‖² (one [M, V] pass after
      the matmul), excluded rows get −inf in the same pass and each query's own row by a scatter.
    """
    table = tf.stop_gradient(tf.cast(table, tf.float32))
    flat = tf.reshape(tf.cast(ids, tf.int32), [-1])  # [M]
    queries = tf.gather(table, flat)  # [M,E]
    penalty = tf.reduce_sum(tf.square(table), axis=-1) + tf.where(excluded, float("inf"), 0.0)  # [V]
    scores = tf.matmul(2.0 * queries, table, transpose_b=True) - penalty[tf.newaxis, :]  # [M,V]
    own = tf.stack([tf.range(tf.shape(flat)[0]), flat], axis=1)  # [M,2]
    scores = tf.tensor_scatter_nd_update(scores, own, tf.fill(tf.shape(flat), float("-inf")))
    _, nearest = tf.math.top_k(scores, k=k)  # [M,k]
    return tf.reshape(nearest, tf.concat([tf.shape(ids), [k]], axis=0))


class NoiseReplacement(ReplacementMethod):
    """Gaussian noise on the selected positions' word embeddings; no generator."""

    def __init__(self, noise_std: float, name: str = "noise", **kwargs):
        kwargs.setdefault("dtype", "float32")  # the noise is drawn in float32 under mixed precision too
        super().__init__(name=name, **kwargs)
        self.noise_std = float(noise_std)

    def call(
        self, embeddings, batch, masked: MaskedBatch, seeds, step_seed=None, training=False
    ) -> Replacement:
        """seeds [B, 2] → original ids, labels 1 at the selected positions, delta [B, L, E]."""
        ids = tf.cast(batch["input_ids"], tf.int32)
        width = embeddings.word_embeddings.shape[-1]
        selected = selected_mask(masked.masked_positions, masked.masked_weights, tf.shape(ids)[1])  # [B,L]
        noise = per_example_noise(seeds, [tf.shape(ids)[1], width], tf.random.stateless_normal)  # [B,L,E]
        delta = self.noise_std * noise * tf.cast(selected, tf.float32)[:, :, tf.newaxis]
        return Replacement(
            corrupted_ids=ids,
            labels=selected * tf.cast(tf.not_equal(batch["input_mask"], 0), tf.int32),
            losses={},
            sums={},
            word_embedding_delta=delta,
        )


class EmbeddingNeighbourReplacement(ReplacementMethod):
    """Emb-Gen: a uniformly chosen one of the top-k L2-nearest word embeddings; no generator."""

    def __init__(
        self,
        top_k: int,
        l2_weight: float,
        never_replacement_ids: Sequence[int],
        vocab_size: int,
        init_checkpoint: str = "",
        initialised_variables: Callable[[], list[tf.Variable]] = list,
        name: str = "emb_gen",
        **kwargs,
    ):
        # float32 whatever the global policy: under mixed precision the table would otherwise be read
        # as bfloat16, and ranking by 8-bit mantissas picks other neighbours than float32 does.
        kwargs.setdefault("dtype", "float32")
        super().__init__(name=name, **kwargs)
        self.top_k = int(top_k)
        self.l2_weight = float(l2_weight)
        excluded = [False] * vocab_size
        for i in never_replacement_ids:
            if 0 <= i < vocab_size:
                excluded[i] = True
        self._excluded = excluded
        self.init_checkpoint = init_checkpoint
        self._initialised_variables = initialised_variables  # a callable: Keras does not track it

    def call(
        self, embeddings, batch, masked: MaskedBatch, seeds, step_seed=None, training=False
    ) -> Replacement:
        """seeds [B, 2] → neighbour ids written at the selected positions, labels, the L2 term."""
        table = embeddings.word_embeddings  # [V,E]
        neighbours = nearest_rows(
            table, masked.masked_ids, self.top_k, tf.constant(self._excluded)
        )  # [B,N,k]
        u = per_example_noise(seeds, tf.shape(masked.masked_ids)[1:], tf.random.stateless_uniform)  # [B,N]
        choice = tf.minimum(tf.cast(u * self.top_k, tf.int32), self.top_k - 1)
        new_ids = tf.gather(neighbours, choice[:, :, tf.newaxis], batch_dims=2)[:, :, 0]  # [B,N]
        weights = masked.masked_weights
        corrupted = replace_tokens(batch["input_ids"], masked.masked_positions, new_ids, weights)
        selected = selected_mask(masked.masked_positions, weights, tf.shape(corrupted)[1])
        diff = tf.gather(table, masked.masked_ids) - tf.gather(table, new_ids)  # [B,N,E]
        squared = tf.reduce_sum(tf.square(tf.cast(diff, tf.float32)), axis=-1)  # [B,N]
        l2 = LossTerm(tf.reduce_sum(weights * squared), tf.reduce_sum(weights), self.l2_weight)
        return Replacement(
            corrupted_ids=corrupted,
            labels=selected * tf.cast(tf.not_equal(batch["input_mask"], 0), tf.int32),
            losses={"emb_l2": l2},
            sums={},
        )

    def initial_checkpoints(self) -> list[tuple[str, list[tf.Variable]]]:
        """Emb-Gen (Pre-trained): the shared embeddings from `emb_gen_init_checkpoint`."""
        if not self.init_checkpoint:
            return []
        return [(self.init_checkpoint, self._initialised_variables())]


def build_noise(config: configs.PretrainingConfig, context: BuildContext) -> NoiseReplacement:
    return NoiseReplacement(registry.hparams_of(config).noise_std)


def build_emb_gen(config: configs.PretrainingConfig, context: BuildContext) -> EmbeddingNeighbourReplacement:
    hp = registry.hparams_of(config)
    if hp.emb_gen_freeze_embeddings:
        context.embeddings.trainable = False
    return EmbeddingNeighbourReplacement(
        hp.emb_gen_top_k,
        hp.emb_gen_l2_weight,
        context.special.never_replacement_ids,
        configs.bert_config(config).vocab_size,
        hp.emb_gen_init_checkpoint,
        lambda: list(context.embeddings.weights),
    )


registry.register(
    registry.Method(
        "noise", build_noise, hparams=NoiseHparams, validate=validate_noise, generator_sized=False
    )
)
registry.register(
    registry.Method(
        "emb_gen", build_emb_gen, hparams=EmbGenHparams, validate=validate_emb_gen, generator_sized=False
    )
)
