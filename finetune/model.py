"""The fine-tuning model: the discriminator's `ElectraBackbone` + upstream's one-layer task head.

Shapes: B = batch, L = sequence length, H = hidden size, C = number of labels.

Variable names equal the pre-trainer's discriminator (`electra/embeddings/...`,
`electra/encoder/embeddings_project/...`, `electra/encoder/layer_<i>/...`), so checkpoints map by
name, and the head lives under `task_specific/<task>/dense/{kernel,bias}` as upstream.
Head (upstream `ClassificationTask` / `RegressionTask`): the final hidden state of [CLS] (no
pooler) → dropout (hidden_dropout_prob, training only) → Dense(C) logits with softmax
cross-entropy, or Dense(1) squeezed with squared error for sts. Dense layers use tf.layers.dense's
defaults: glorot-uniform kernel, zero bias.
"""

from __future__ import annotations

import tensorflow as tf
import tf_keras

from electra_tf import configs, precision
from electra_tf.modeling.backbone import ElectraBackbone
from finetune.glue_tasks import GlueTask

__all__ = ["ElectraBackbone", "ElectraClassifier", "TaskHead", "build_classifier"]


class TaskHead(tf_keras.layers.Layer):
    """Dropout → Dense(num_outputs), with variables `task_specific/<task_name>/dense/...`."""

    def __init__(self, task_name: str, num_outputs: int, dropout_rate: float, **kwargs):
        super().__init__(name="task_specific", **kwargs)
        self.task_name = task_name
        self.dropout = tf_keras.layers.Dropout(dropout_rate)
        self.dense = tf_keras.layers.Dense(
            num_outputs, kernel_initializer="glorot_uniform", bias_initializer="zeros", name="dense"
        )

    def call(self, representation: tf.Tensor, training=False) -> tf.Tensor:
        """[B, H] → [B, num_outputs] float32."""
        dropped = self.dropout(representation, training=training)
        with tf.name_scope(self.task_name):
            return self.dense(dropped)


class ElectraClassifier(tf.Module):
    """Backbone + head for one GLUE task (a tf.Module so no outer name scope is added).

    Call with a batch dict of int [B, L] `input_ids`, `input_mask`, `segment_ids`; returns logits
    [B, C] (classification) or predictions [B] (sts, in upstream's normalised [0, 1] scale).
    """

    def __init__(self, bert: configs.BertConfig, embedding_size: int, task: GlueTask):
        super().__init__(name=None)
        self.task = task
        self.electra = ElectraBackbone(bert, embedding_size)
        num_outputs = 1 if task.is_regression else len(task.labels)
        self.head = TaskHead(task.name, num_outputs, bert.hidden_dropout_prob)

    def __call__(self, batch: dict, training=False) -> tf.Tensor:
        hidden = self.electra(
            batch["input_ids"], batch["input_mask"], batch["segment_ids"], training=training
        )
        # [CLS]'s final hidden state; float32 outputs also under bfloat16 compute (mixed_precision)
        outputs = tf.cast(self.head(hidden[:, 0], training=training), tf.float32)
        if self.task.is_regression:
            return tf.squeeze(outputs, axis=-1)
        return outputs

    def per_example_loss(self, outputs: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
        """outputs of __call__ and labels [B] (int ids / float targets) → losses [B] float32."""
        if self.task.is_regression:
            return tf.square(outputs - tf.cast(labels, outputs.dtype))
        log_probs = tf.nn.log_softmax(outputs, axis=-1)
        one_hot = tf.one_hot(tf.cast(labels, tf.int32), depth=len(self.task.labels), dtype=log_probs.dtype)
        return -tf.reduce_sum(one_hot * log_probs, axis=-1)

    @property
    def backbone_variables(self) -> list[tf.Variable]:
        """The pre-trained part (embeddings + encoder): what an init checkpoint restores."""
        return list(self.electra.variables)


def build_classifier(
    bert: configs.BertConfig, embedding_size: int, task: GlueTask, mixed: bool = False
) -> ElectraClassifier:
    """A classifier with every variable created (by one call on a [1, 2] dummy batch); `mixed`:
    bfloat16 compute with float32 variables (the outputs stay float32)."""
    with precision.precision_policy(mixed):
        model = ElectraClassifier(bert, embedding_size, task)
        dummy = {k: tf.ones([1, 2], tf.int32) for k in ("input_ids", "input_mask")}
        dummy["segment_ids"] = tf.zeros([1, 2], tf.int32)
        model(dummy)
    return model


def layer_depths(n_layers: int) -> dict[str, int]:
    """Upstream `_get_layer_lrs`' depth of each variable-name key: 0 for the embeddings and their
    projection, i + 1 for encoder layer i, n_layers + 2 for the task heads."""
    depths = {"/embeddings/": 0, "/embeddings_project/": 0, "task_specific/": n_layers + 2}
    for layer in range(n_layers):
        depths[f"encoder/layer_{layer}/"] = layer + 1
    return depths


def layerwise_lr_multipliers(n_layers: int, decay: float) -> dict[str, float]:
    """{name key: decay ** (n_layers + 2 - depth)}: lower rates for layers closer to the input."""
    return {key: decay ** (n_layers + 2 - depth) for key, depth in layer_depths(n_layers).items()}
