"""The pretrainer and its optimizer with every variable created, as the Trainer checkpoints them
(`tf.train.Checkpoint(model=..., optimizer=...)`).

`checkpoint_io` builds no model itself: conversion to our format (`checkpoint_io.translate.to_ours`)
is given `build_model_and_optimizer` by its callers.
"""

from __future__ import annotations

import tensorflow as tf
import tf_keras

from electra_tf import configs
from electra_tf.optimization import create_optimizer
from electra_tf.pretraining.model import ElectraPretrainer, SpecialTokens, build_pretrainer


def optimizer_for(config: configs.PretrainingConfig) -> tf_keras.optimizers.Optimizer:
    """Upstream's AdamW and learning-rate schedule with `config`'s settings (the Trainer's)."""
    return create_optimizer(
        config.learning_rate,
        config.num_train_steps,
        config.num_warmup_steps,
        config.lr_decay_power,
        config.weight_decay_rate,
    )


def build_model_and_optimizer(
    config: configs.PretrainingConfig, with_slots: bool
) -> tuple[ElectraPretrainer, tf_keras.optimizers.Optimizer]:
    """Our pretrainer for `config`, built by one call on a [1, max_seq_length] dummy batch, and its
    optimizer (Adam slots created when `with_slots`), exactly as the Trainer tracks them."""
    vocab = configs.bert_config(config).vocab_size
    model = build_pretrainer(config, SpecialTokens(0, 1, 2))
    length = config.max_seq_length
    batch = {
        "input_ids": tf.fill([1, length], min(3, vocab - 1)),
        "input_mask": tf.ones([1, length], tf.int32),
        "segment_ids": tf.zeros([1, length], tf.int32),
    }
    model(batch, tf.constant([0, 0], tf.int64), 0, training=False)
    optimizer = optimizer_for(config)
    if with_slots:
        optimizer._create_all_weights(model.trainable_variables)
    return model, optimizer
