"""The discriminator's backbone: embeddings → encoder tower → final hidden states.

Shapes: B = batch, L = sequence length, E = embedding size, H = hidden size.

One class for every model that runs the pre-trained discriminator on its own: `score`'s
`standalone_discriminator.ElectraDiscriminator` (the backbone + the RTD head) and fine-tuning's
classifier (the backbone + a task head). Variables are named `electra/embeddings/...`,
`electra/encoder/embeddings_project/...` and `electra/encoder/layer_<i>/...`, as upstream's, so
checkpoints of either format map by name. The pretrainer builds the same two parts with the same
`build_embeddings` / `build_encoder` from the same `configs.ModelConfig`, but holds them apart: its
embeddings are shared with the generator, and our checkpoints' object-graph keys
(`model/embeddings/...`, `model/discriminator/encoder/...`) fix where they live.
"""

from __future__ import annotations

import tensorflow as tf
import tf_keras

from electra_tf import configs
from electra_tf.modeling.embeddings import build_embeddings
from electra_tf.modeling.encoder import build_encoder


class ElectraBackbone(tf_keras.layers.Layer):
    """Embeddings + the discriminator's encoder, under the name scope "electra"."""

    def __init__(self, bert: configs.BertConfig, embedding_size: int, name: str = "electra", **kwargs):
        super().__init__(name=name, **kwargs)
        self.num_layers = bert.num_hidden_layers
        self.embeddings = build_embeddings(bert, embedding_size)
        self.encoder = build_encoder(bert, embedding_size, name="encoder")

    def call(self, input_ids: tf.Tensor, input_mask: tf.Tensor, segment_ids: tf.Tensor, training=False):
        """int [B, L] ids, mask (1 = real token), segments → final hidden states [B, L, H] float32."""
        embedded = self.embeddings(input_ids, segment_ids, training=training)  # [B, L, E]
        return self.encoder(embedded, input_mask, training=training)[-1]
