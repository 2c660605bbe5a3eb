"""Word + position + token-type embeddings, shared by ELECTRA's generator and discriminator.

Shapes: B = batch, L = sequence length, V = vocabulary, E = embedding size.
"""

from __future__ import annotations

import tensorflow as tf
import tf_keras

from electra_tf.modeling.encoder import LAYER_NORM_EPSILON, truncated_normal


class ElectraEmbeddings(tf_keras.layers.Layer):
    """Sum of word [V, E], position [P, E] and token-type [T, E] embeddings → LayerNorm → dropout.

    Variables (under this layer's name scope): `word_embeddings`, `position_embeddings`,
    `token_type_embeddings` (truncated normal, std `initializer_range`) and `LayerNorm/gamma|beta`
    (ε 1e-12).  The word table is exposed as `word_embeddings` so the generator's MLM head can tie
    its output weights to it.
    """

    def __init__(
        self,
        vocab_size: int,
        embedding_size: int,
        max_position_embeddings: int = 512,
        type_vocab_size: int = 2,
        dropout_rate: float = 0.1,
        initializer_range: float = 0.02,
        name: str = "embeddings",
        **kwargs,
    ):
        super().__init__(name=name, **kwargs)
        self.vocab_size = vocab_size
        self.embedding_size = embedding_size
        self.max_position_embeddings = max_position_embeddings
        self.type_vocab_size = type_vocab_size
        self.initializer_range = initializer_range
        self.layer_norm = tf_keras.layers.LayerNormalization(
            axis=-1, epsilon=LAYER_NORM_EPSILON, name="LayerNorm"
        )
        self.dropout = tf_keras.layers.Dropout(dropout_rate)
        self._word_embeddings = None

    def build(self, input_shape=None):
        """Creates the three tables and the LayerNorm variables (input_shape is ignored)."""

        def table(name, rows):
            return self.add_weight(
                name=name,
                shape=[rows, self.embedding_size],
                initializer=truncated_normal(self.initializer_range),
                trainable=True,
            )

        with tf.init_scope():
            self._word_embeddings = table("word_embeddings", self.vocab_size)
            self.position_embeddings = table("position_embeddings", self.max_position_embeddings)
            self.token_type_embeddings = table("token_type_embeddings", self.type_vocab_size)
            self.layer_norm(tf.zeros([1, 1, self.embedding_size]))
        super().build(input_shape)

    @property
    def word_embeddings(self) -> tf.Variable:
        """The [V, E] word-embedding table (built on first access if the layer was never called)."""
        if not self.built:
            with tf.name_scope(self.name):
                self.build(None)
        return self._word_embeddings

    def call(
        self,
        input_ids: tf.Tensor,
        segment_ids: tf.Tensor,
        training=False,
        word_embedding_delta: tf.Tensor | None = None,
    ) -> tf.Tensor:
        """Embeds a batch.

        Args:
          input_ids: [B, L] int token ids.
          segment_ids: [B, L] int token-type ids in [0, T).
          training: enables dropout.
          word_embedding_delta: optional [B, L, E] float added to the looked-up word embeddings
            before the sum (e.g. Gaussian noise at selected positions).

        Returns:
          [B, L, E] float32 embeddings.
        """
        words = tf.gather(self._word_embeddings, input_ids)
        if word_embedding_delta is not None:
            words = words + tf.cast(word_embedding_delta, words.dtype)
        seq_length = tf.shape(input_ids)[1]
        positions = self.position_embeddings[tf.newaxis, :seq_length, :]
        token_types = tf.gather(self.token_type_embeddings, segment_ids)
        summed = words + positions + token_types
        return self.dropout(self.layer_norm(summed), training=training)


def build_embeddings(tower, embedding_size: int) -> ElectraEmbeddings:
    """The shared embeddings for a tower config (vocab, positions, token types, dropout and init
    range from `tower`, an `electra_tf.configs.BertConfig`) and `embedding_size` E."""
    return ElectraEmbeddings(
        tower.vocab_size,
        embedding_size,
        tower.max_position_embeddings,
        tower.type_vocab_size,
        tower.hidden_dropout_prob,
        tower.initializer_range,
    )
