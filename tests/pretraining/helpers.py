"""Shared helpers of the pretraining tests: special ids, tiny configs, batches, masking as the
pretrainer draws it, a block that counts its executions."""

from __future__ import annotations

import numpy as np
import tensorflow as tf
import tf_keras

from electra_tf import configs
from electra_tf.pretraining.parts import SpecialTokens

RESERVED = (0, 1, 2, 3, 4, 5, 6, 7, 100, 101, 102, 103)  # [PAD], [unused…], [CLS], [SEP], [MASK]
SPECIAL = SpecialTokens(mask_id=103, cls_id=101, sep_id=102, reserved_ids=RESERVED)


def tiny_hparams(method: str) -> dict:
    """A 2-layer, 32-wide model on a 300-token vocabulary, sequences of 32."""
    return {
        "method": method,
        "vocab_size": 300,
        "embedding_size": 16,
        "max_seq_length": 32,
        "train_batch_size": 4,
        "model_hparam_overrides": {
            "hidden_size": 32,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "intermediate_size": 64,
        },
    }


def tiny_config(method: str, **extra) -> configs.PretrainingConfig:
    hparams = tiny_hparams(method)
    del hparams["train_batch_size"]  # upstream's default, as these tests always had
    return configs.config_from_hparams("m", "/d", {**hparams, **extra})


def batch_of(batch_size: int, length: int, vocab: int, seed: int = 0) -> dict[str, tf.Tensor]:
    """Random ids in [110, vocab), [CLS] first, [SEP] last, a random real length ≥ length/2, two
    segments: int32 [B, L] input_ids / input_mask / segment_ids."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(110, vocab, size=(batch_size, length))
    n = rng.integers(length // 2, length + 1, size=batch_size)
    mask = (np.arange(length)[None, :] < n[:, None]).astype(np.int32)
    ids[:, 0] = SPECIAL.cls_id
    ids[np.arange(batch_size), n - 1] = SPECIAL.sep_id
    ids = ids * mask
    segment = ((np.arange(length)[None, :] > n[:, None] // 2) & (mask == 1)).astype(np.int32)
    return {
        "input_ids": tf.constant(ids, tf.int32),
        "input_mask": tf.constant(mask),
        "segment_ids": tf.constant(segment),
    }


def mask_like_the_pretrainer(model, batch: dict, seed: tf.Tensor):
    """The `MaskedBatch` that `model(batch, seed, 0)` draws (its per-example seeds, its specials)."""
    from electra_tf.pretraining import masking
    from electra_tf.pretraining.seeds import per_example_seeds

    special = model.special
    return masking.mask_inputs_per_example(
        batch["input_ids"],
        batch["input_mask"],
        per_example_seeds(seed, 0, tf.shape(batch["input_ids"])[0]),
        mask_prob=model.mask_prob,
        max_predictions=model.max_predictions,
        mask_id=special.mask_id,
        special_ids=(special.cls_id, special.sep_id, special.mask_id),
    )


class CountingBlock(tf_keras.layers.Layer):
    """Wraps an encoder block; adds 1 to `counter` each time the block really executes."""

    def __init__(self, block, counter):
        super().__init__()
        self.block, self.counter = block, counter

    def call(self, inputs, training=None):
        with tf.control_dependencies([self.counter.assign_add(1)]):
            return self.block(inputs, training=training)


def token_counts(vocab: int = 300, seed: int = 0) -> np.ndarray:
    """[vocab] random corpus counts, a tenth of the vocabulary (the first ids) never seen."""
    counts = np.random.default_rng(seed).integers(0, 50, size=vocab)
    counts[: vocab // 10] = 0  # some tokens never occur
    return counts


def replacement_seeds(batch: dict[str, tf.Tensor], seed: tf.Tensor) -> tf.Tensor:
    """[B, 2] the per-example seeds the pretrainer hands its replacement method at step 0: the
    example seeds shifted by the replacement stream's offset, 7 (a hand value)."""
    from electra_tf.pretraining.seeds import per_example_seeds

    return per_example_seeds(seed, 0, tf.shape(batch["input_ids"])[0]) + [[0, 7]]
