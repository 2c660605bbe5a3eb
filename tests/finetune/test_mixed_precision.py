"""The fine-tuning `mixed_precision` hparam: bfloat16 compute with float32 variables and outputs,
predictions within bfloat16 rounding of float32's with the same weights, and training that follows
float32's (checked against the float32 model, not against stored numbers)."""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf
import tf_keras

from finetune import glue_tasks, trainer
from finetune.config import finetuning_config
from finetune.model import build_classifier
from tests.finetune.test_padding import EMB, TINY, pair_features

NO_DROPOUT = dataclasses.replace(TINY, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)


def twin_models(task):
    """A float32 and a bfloat16 classifier holding the same float32 weights."""
    tf_keras.utils.set_random_seed(0)
    full = build_classifier(NO_DROPOUT, EMB, task)
    mixed = build_classifier(NO_DROPOUT, EMB, task, mixed=True)
    for a, b in zip(full.trainable_variables, mixed.trainable_variables, strict=True):
        assert a.name == b.name and b.dtype == tf.float32
        b.assign(a)
    return full, mixed


def test_bfloat16_compute_float32_outputs_close_to_float32():
    task = glue_tasks.get_task("rte")
    full, mixed = twin_models(task)
    feats = pair_features(np.random.default_rng(4), 16)
    batch = {"input_ids": feats.input_ids, "input_mask": feats.input_mask, "segment_ids": feats.segment_ids}
    embedded = mixed.electra.embeddings(batch["input_ids"], batch["segment_ids"])
    assert embedded.dtype == tf.bfloat16  # the towers compute in bfloat16 (tf-models' blocks
    # return float32 from their float32 LayerNorm, so the check is on the embeddings)
    want, got = full(batch).numpy(), mixed(batch)
    assert got.dtype == tf.float32 and tf_keras.mixed_precision.global_policy().name == "float32"
    assert not np.array_equal(got.numpy(), want)  # not float32 in disguise
    np.testing.assert_allclose(got.numpy(), want, atol=0.05 * np.abs(want).max() + 1e-3)


def test_training_under_bfloat16_follows_float32():
    task = glue_tasks.get_task("sts")
    train = pair_features(np.random.default_rng(5), 48, regression=True)
    updates = {}
    for name, model in zip(("float32", "bfloat16"), twin_models(task), strict=True):
        before = np.concatenate([v.numpy().ravel() for v in model.trainable_variables])
        optimizer = trainer.create_optimizer(1e-3, 6, 0.1, 0.01, 0.8, NO_DROPOUT.num_hidden_layers)
        stats = trainer.train(model, optimizer, train, 6, 8, seed=3, log_every=6, log=lambda _: None)
        assert np.isfinite(stats.loss)
        assert all(v.dtype == tf.float32 for v in model.trainable_variables)
        updates[name] = np.concatenate([v.numpy().ravel() for v in model.trainable_variables]) - before
    a, b = updates["float32"], updates["bfloat16"]
    cosine = a @ b / (np.linalg.norm(a) * np.linalg.norm(b))
    assert cosine > 0.9 and abs(np.linalg.norm(b) / np.linalg.norm(a) - 1) < 0.2, cosine
    assert not np.allclose(a, b, rtol=1e-4, atol=1e-7)  # bfloat16 rounding did take part


def test_the_hparam_resolves_like_pretraining(tmp_path):
    from electra_tf import precision

    base = {"init_checkpoint": "", "task_names": ["rte"]}
    assert finetuning_config("m", str(tmp_path), base).mixed_precision is False  # the default: float32
    auto = finetuning_config("m", str(tmp_path), {**base, "mixed_precision": "auto"})
    assert precision.resolve(auto.mixed_precision)[0] == precision.native_bfloat16()[0]
