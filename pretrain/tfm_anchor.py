"""The throughput anchor: what a TF2 user would otherwise train ELECTRA with.

tf-models-official's `ElectraPretrainer` (official.nlp.modeling.models) over two `BertEncoder`
networks of our config's layout (the generator shares the discriminator's word-embedding layer,
as tf-models' ELECTRA task does with tied embeddings), its `AdamWeightDecay` optimizer with a
linear warm-up and polynomial decay, global-norm clipping 1.0, loss = MLM + disc_weight·RTD.
As in tf-models' ELECTRA task, the masked positions come with the data (fixed here), so the
anchor does not even pay for dynamic masking. Only `pretrain/benchmark.py` uses it.

Precision: out of the box it runs in float32 only: built under `mixed_bfloat16`, ElectraPretrainer
adds float32 Gumbel noise to bfloat16 logits and fails. With `mixed=True` the two encoders compute
in bfloat16 and ElectraPretrainer's own heads (MLM, sampling, RTD head) stay float32, a work-around
a tf-models user would have to find; it makes the comparison at equal precision possible.

Shapes: B = batch, L = sequence length, N = masked slots.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf
import tf_keras
from official.modeling.optimization import legacy_adamw, lr_schedule
from official.nlp.modeling import models, networks

from electra_tf import configs
from electra_tf.modeling.encoder import exact_gelu
from electra_tf.precision import precision_policy


def _encoder(tower: configs.BertConfig, embedding_width: int, embedding_layer=None) -> networks.BertEncoder:
    return networks.BertEncoder(
        vocab_size=tower.vocab_size,
        hidden_size=tower.hidden_size,
        num_layers=tower.num_hidden_layers,
        num_attention_heads=tower.num_attention_heads,
        max_sequence_length=tower.max_position_embeddings,
        type_vocab_size=tower.type_vocab_size,
        inner_dim=tower.intermediate_size,
        inner_activation=exact_gelu,
        output_dropout=tower.hidden_dropout_prob,
        attention_dropout=tower.attention_probs_dropout_prob,
        initializer=tf_keras.initializers.TruncatedNormal(stddev=tower.initializer_range),
        embedding_width=embedding_width,
        embedding_layer=embedding_layer,
        dict_outputs=True,
    )


def fixed_masked_batch(batch: dict, num_predictions: int, mask_id: int, seed: int = 0) -> dict:
    """A numpy batch (input_ids/input_mask/segment_ids [B, L]) → the tf-models inputs with
    `num_predictions` masked positions per example drawn once (never position 0 or the last)."""
    rng = np.random.default_rng(seed)
    ids = np.array(batch["input_ids"], np.int32)
    b, length = ids.shape
    positions = np.stack(
        [np.sort(rng.choice(np.arange(1, length - 1), num_predictions, replace=False)) for _ in range(b)]
    )
    masked_ids = np.take_along_axis(ids, positions, axis=1)
    word_ids = ids.copy()
    np.put_along_axis(word_ids, positions, mask_id, axis=1)
    return {
        "input_word_ids": tf.constant(word_ids),
        "input_mask": tf.constant(np.array(batch["input_mask"], np.int32)),
        "input_type_ids": tf.constant(np.array(batch["segment_ids"], np.int32)),
        "masked_lm_positions": tf.constant(positions.astype(np.int32)),
        "masked_lm_ids": tf.constant(masked_ids),
        "masked_lm_weights": tf.ones(positions.shape, tf.float32),
    }


class AnchorTrainer:
    """tf-models ELECTRA on one fixed batch: `run_step()` → {"losses": {"total": scalar}}."""

    def __init__(self, config: configs.PretrainingConfig, batch: dict, mask_id: int, mixed: bool = False):
        disc_tower, gen_tower = configs.bert_config(config), configs.generator_config(config)
        width = configs.embedding_size(config)
        self.inputs = fixed_masked_batch(batch, config.max_predictions_per_seq, mask_id)
        tf_keras.utils.set_random_seed(config.seed)  # initial weights and its unseeded sampling op
        with precision_policy(mixed):  # BertEncoders are functional: built when constructed
            discriminator = _encoder(disc_tower, width)
            generator = _encoder(gen_tower, width, embedding_layer=discriminator.get_embedding_layer())
        # ElectraPretrainer's heads float32 always: it adds float32 Gumbel noise to the MLM logits.
        with precision_policy(False):
            self.model = models.ElectraPretrainer(
                generator,
                discriminator,
                vocab_size=disc_tower.vocab_size,
                num_classes=2,
                num_token_predictions=config.max_predictions_per_seq,
                mlm_activation=exact_gelu,
                mlm_initializer=tf_keras.initializers.TruncatedNormal(stddev=disc_tower.initializer_range),
            )
            self.model(self.inputs)  # builds every sublayer under the policy
        decay = tf_keras.optimizers.schedules.PolynomialDecay(
            config.learning_rate, config.num_train_steps, end_learning_rate=0.0, power=config.lr_decay_power
        )
        self.optimizer = legacy_adamw.AdamWeightDecay(
            learning_rate=lr_schedule.LinearWarmup(decay, config.num_warmup_steps, 0.0),
            weight_decay_rate=config.weight_decay_rate,
            epsilon=1e-6,
            exclude_from_weight_decay=["LayerNorm", "layer_norm", "bias"],
        )
        self.disc_weight = config.disc_weight
        self._step = tf.function(self._train_step, jit_compile=config.jit_compile or None)

    def _train_step(self, inputs):
        with tf.GradientTape() as tape:
            out = self.model(inputs, training=True)
            weights = inputs["masked_lm_weights"]
            logits = tf.cast(out["lm_outputs"], tf.float32)
            ce = tf.nn.sparse_softmax_cross_entropy_with_logits(inputs["masked_lm_ids"], logits)
            mlm = tf.reduce_sum(ce * weights) / (tf.reduce_sum(weights) + 1e-6)
            mask = tf.cast(inputs["input_mask"], tf.float32)
            labels = tf.cast(out["disc_label"], tf.float32)
            rtd = tf.nn.sigmoid_cross_entropy_with_logits(labels, tf.cast(out["disc_logits"], tf.float32))
            loss = mlm + self.disc_weight * tf.reduce_sum(rtd * mask) / tf.reduce_sum(mask)
        variables = self.model.trainable_variables
        grads, _ = tf.clip_by_global_norm(tape.gradient(loss, variables), 1.0)
        self.optimizer.apply_gradients(zip(grads, variables, strict=True))
        return {"losses": {"total": loss}}

    def run_step(self) -> dict[str, tf.Tensor]:
        return self._step(self.inputs)
