"""A post-LN BERT encoder tower whose layers can be run in ranges (for early exits).

Shapes: B = batch, L = sequence length, E = embedding size, H = hidden size.
"""

from __future__ import annotations

import tensorflow as tf
import tf_keras
from official.nlp.modeling.layers import SelfAttentionMask, TransformerEncoderBlock

LAYER_NORM_EPSILON = 1e-12


def exact_gelu(x: tf.Tensor) -> tf.Tensor:
    """GELU in its exact form x·Φ(x) = x·(1 + erf(x/√2))/2 (not the tanh approximation).

    Any shape → the same shape and dtype.
    """
    return tf_keras.activations.gelu(x, approximate=False)


def truncated_normal(stddev: float) -> tf_keras.initializers.Initializer:
    """A fresh truncated-normal initializer (cut at 2·stddev), as BERT/ELECTRA use."""
    return tf_keras.initializers.TruncatedNormal(stddev=stddev)


class TransformerEncoder(tf_keras.layers.Layer):
    """Optional E→H projection followed by `num_layers` post-LN BERT blocks.

    Each block is `official`'s `TransformerEncoderBlock` (post-LN, LayerNorm ε 1e-12, exact erf GELU,
    truncated-normal kernels).  The tower can be run whole (`call`) or piecewise (`project`, then
    `run_layers` over any contiguous layer range), so callers can stop after layer k or attach exit
    heads to intermediate outputs.  Variables are created on first use under this layer's name scope
    (`<name>/embeddings_project/...`, `<name>/layer_<i>/...`), whichever method is called first.

    Note: `TransformerEncoderBlock` applies its `attention_dropout` rate both to the attention
    probabilities and to the attention sub-layer's output; BERT uses `hidden_dropout_prob` for the
    latter.  The two coincide whenever both probabilities are equal (0.1 in every ELECTRA config).
    """

    def __init__(
        self,
        hidden_size: int,
        num_layers: int,
        num_attention_heads: int,
        intermediate_size: int,
        embedding_size: int,
        hidden_dropout_prob: float = 0.1,
        attention_probs_dropout_prob: float = 0.1,
        initializer_range: float = 0.02,
        name: str = "encoder",
        **kwargs,
    ):
        super().__init__(name=name, **kwargs)
        if hidden_size % num_attention_heads:
            raise ValueError(f"hidden_size {hidden_size} not divisible by {num_attention_heads} heads")
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.embedding_size = embedding_size
        self.embedding_projection = None
        if embedding_size != hidden_size:
            self.embedding_projection = tf_keras.layers.Dense(
                hidden_size, kernel_initializer="glorot_uniform", name="embeddings_project"
            )
        self.blocks = [
            TransformerEncoderBlock(
                num_attention_heads=num_attention_heads,
                inner_dim=intermediate_size,
                inner_activation=exact_gelu,
                norm_first=False,
                norm_epsilon=LAYER_NORM_EPSILON,
                output_dropout=hidden_dropout_prob,
                attention_dropout=attention_probs_dropout_prob,
                kernel_initializer=truncated_normal(initializer_range),
                name=f"layer_{i}",
            )
            for i in range(num_layers)
        ]
        self._attention_mask = SelfAttentionMask(name="self_attention_mask")

    def build(self, input_shape=None):
        """Creates every variable by running the sublayers once on a [1, 1, E] dummy input.

        Keras calls this inside the layer's name scope; calling it directly from outside drops the
        `<name>/` prefix of the variable names (as for any Keras layer), so prefer `__call__`,
        `project` or `run_layers` as the first use.
        """
        with tf.init_scope():
            hidden = self._project(tf.zeros([1, 1, self.embedding_size]))
            self._run_layers(hidden, tf.ones([1, 1], tf.int32), 0, self.num_layers, training=False)
        super().build(input_shape)

    def _ensure_built(self):
        # Direct calls of `project`/`run_layers` bypass Keras' `__call__`; keep variable names identical.
        if not self.built:
            with tf.name_scope(self.name):
                self.build(None)

    def _project(self, embeddings):
        if self.embedding_projection is None:
            return embeddings
        return self.embedding_projection(embeddings)

    def _run_layers(self, hidden, input_mask, start, end, training):
        if not 0 <= start <= end <= self.num_layers:
            raise ValueError(f"layer range [{start}, {end}) outside [0, {self.num_layers}]")
        attention_mask = self._attention_mask(hidden, input_mask)
        outputs = []
        for block in self.blocks[start:end]:
            hidden = block([hidden, attention_mask], training=training)
            outputs.append(hidden)
        return outputs

    def project(self, embeddings: tf.Tensor) -> tf.Tensor:
        """[B, L, E] float → [B, L, H] (the input itself when E == H)."""
        self._ensure_built()
        return self._project(embeddings)

    def run_layers(
        self, hidden: tf.Tensor, input_mask: tf.Tensor, start: int, end: int, training: bool = False
    ) -> list[tf.Tensor]:
        """Runs blocks start..end-1 (0-based python ints).

        Args:
          hidden: [B, L, H] float, the input of block `start`.
          input_mask: [B, L] int or float, 1 for real tokens and 0 for padding.
          start, end: the half-open block range.
          training: enables dropout.

        Returns:
          The outputs of each block in the range, a list of end − start tensors [B, L, H].
        """
        self._ensure_built()
        return self._run_layers(hidden, input_mask, start, end, training)

    def call(
        self, embeddings: tf.Tensor, input_mask: tf.Tensor, training=False, num_layers: int | None = None
    ) -> list[tf.Tensor]:
        """Projects [B, L, E] embeddings and runs blocks 0..num_layers-1 (default: all).

        input_mask is [B, L] (1 = real token).  Returns the list of the blocks' outputs, each
        [B, L, H]; the last one is the final hidden state.
        """
        end = self.num_layers if num_layers is None else num_layers
        return self._run_layers(self._project(embeddings), input_mask, 0, end, training)


def build_encoder(tower, embedding_size: int, name: str = "encoder") -> TransformerEncoder:
    """A `TransformerEncoder` from a tower config with upstream BertConfig field names."""
    return TransformerEncoder(
        hidden_size=tower.hidden_size,
        num_layers=tower.num_hidden_layers,
        num_attention_heads=tower.num_attention_heads,
        intermediate_size=tower.intermediate_size,
        embedding_size=embedding_size,
        hidden_dropout_prob=tower.hidden_dropout_prob,
        attention_probs_dropout_prob=tower.attention_probs_dropout_prob,
        initializer_range=tower.initializer_range,
        name=name,
    )
