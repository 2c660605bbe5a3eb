"""Output heads: the generator's tied-weight MLM head and the discriminator's replaced-token head.

Shapes: B = batch, L = sequence length, N = number of gathered positions, H = hidden size,
E = embedding size, V = vocabulary.
"""

from __future__ import annotations

import tensorflow as tf
import tf_keras

from electra_tf.modeling.encoder import LAYER_NORM_EPSILON, exact_gelu, truncated_normal


def gather_positions(sequence: tf.Tensor, positions: tf.Tensor) -> tf.Tensor:
    """Batched gather: out[b, n] = sequence[b, positions[b, n]].

    sequence [B, L, D] (any dtype), positions [B, N] int → [B, N, D].
    """
    return tf.gather(sequence, positions, batch_dims=1)


class MaskedLMHead(tf_keras.layers.Layer):
    """dense(E, exact GELU) → LayerNorm(ε 1e-12) → logits = h·Eᵀ + output_bias.

    The output projection is the shared word-embedding table passed to `call`; only `dense`,
    `LayerNorm` and `output_bias` [V] (zeros) belong to this layer.
    """

    def __init__(
        self,
        embedding_size: int,
        vocab_size: int,
        initializer_range: float = 0.02,
        name: str = "generator_predictions",
        **kwargs,
    ):
        super().__init__(name=name, **kwargs)
        self.embedding_size = embedding_size
        self.vocab_size = vocab_size
        self.dense = tf_keras.layers.Dense(
            embedding_size,
            activation=exact_gelu,
            kernel_initializer=truncated_normal(initializer_range),
            name="dense",
        )
        self.layer_norm = tf_keras.layers.LayerNormalization(
            axis=-1, epsilon=LAYER_NORM_EPSILON, name="LayerNorm"
        )

    def build(self, input_shape):
        self.output_bias = self.add_weight(
            name="output_bias", shape=[self.vocab_size], initializer="zeros", trainable=True
        )
        super().build(input_shape)

    def call(self, hidden: tf.Tensor, embedding_table: tf.Tensor) -> tf.Tensor:
        """hidden [B, N, H] (gathered positions), embedding_table [V, E] → logits [B, N, V] float32."""
        transformed = self.layer_norm(self.dense(hidden))
        table = tf.cast(embedding_table, transformed.dtype)
        logits = tf.einsum("bne,ve->bnv", transformed, table) + tf.cast(self.output_bias, table.dtype)
        return tf.cast(logits, tf.float32)


class DiscriminatorHead(tf_keras.layers.Layer):
    """dense(H, exact GELU, truncated normal) → dense(1, glorot uniform): one RTD logit per token.

    `output_bias_init` (default 0, upstream): the initial bias of the logit, e.g. the label prior's
    logit so the first steps need not learn the prior (Lin et al. 2017, "Focal Loss", §4.1).
    """

    def __init__(
        self,
        hidden_size: int,
        initializer_range: float = 0.02,
        name: str = "discriminator_predictions",
        output_bias_init: float = 0.0,
        **kwargs,
    ):
        super().__init__(name=name, **kwargs)
        self.hidden_size = hidden_size
        self.dense = tf_keras.layers.Dense(
            hidden_size,
            activation=exact_gelu,
            kernel_initializer=truncated_normal(initializer_range),
            name="dense",
        )
        self.dense_prediction = tf_keras.layers.Dense(
            1,
            kernel_initializer="glorot_uniform",
            bias_initializer=tf_keras.initializers.Constant(output_bias_init),
            name="dense_1",
        )

    def call(self, hidden: tf.Tensor) -> tf.Tensor:
        """hidden [B, L, H] → logits [B, L] float32 (positive = predicted "replaced")."""
        logits = self.dense_prediction(self.dense(hidden))
        return tf.cast(tf.squeeze(logits, axis=-1), tf.float32)
