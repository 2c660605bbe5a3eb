"""The fine-tuning classifier: variable names, layer-wise learning rates, the update rule, learning."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from electra_tf.configs import BertConfig
from electra_tf.optimization import AdamWeightDecayOptimizer, ElectraLearningRate
from finetune import glue_tasks, trainer
from finetune.features import Features
from finetune.model import build_classifier

TINY = BertConfig(
    vocab_size=50, hidden_size=64, num_hidden_layers=2, num_attention_heads=2, intermediate_size=128
)
EMB = 32
B1, B2, EPS, WD = 0.9, 0.999, 1e-6, 0.01


def hand_multiplier(name: str, n: int, decay: float = 0.8) -> float:
    """decay ** (n + 2 - depth), the depth worked out by hand from our variable names."""
    if name.startswith("electra/embeddings/") or name.startswith("electra/encoder/embeddings_project/"):
        return decay ** (n + 2)
    for i in range(n):
        if name.startswith(f"electra/encoder/layer_{i}/"):
            return decay ** (n + 1 - i)
    assert name.startswith("task_specific/rte/dense/"), name
    return 1.0


def test_variable_names_and_layerwise_multipliers():
    model = build_classifier(TINY, EMB, glue_tasks.get_task("rte"))
    names = [v.name for v in model.trainable_variables]
    assert {"task_specific/rte/dense/kernel:0", "task_specific/rte/dense/bias:0"} <= set(names)
    assert "electra/embeddings/word_embeddings:0" in names
    assert "electra/encoder/layer_1/output_layer_norm/gamma:0" in names
    assert not any("pooler" in n for n in names)
    kernel = next(v for v in model.trainable_variables if v.name == "task_specific/rte/dense/kernel:0")
    assert kernel.shape == (TINY.hidden_size, 2)
    assert len(model.backbone_variables) == len(names) - 2
    optimizer = trainer.create_optimizer(3e-4, 100, 0.1, 0.01, 0.8, TINY.num_hidden_layers)
    seen = set()
    for name in names:
        expected = hand_multiplier(name, TINY.num_hidden_layers)
        assert optimizer.lr_multiplier(name) == pytest.approx(expected, rel=1e-12), name
        seen.add(expected)
    assert seen == {0.8**4, 0.8**3, 0.8**2, 1.0}  # embeddings, layer 0, layer 1, head
    with pytest.raises(ValueError, match="No learning rate specified for variable generator/x"):
        optimizer.lr_multiplier("generator/x:0")


def test_one_step_is_no_bias_correction_adamw_times_the_multiplier():
    rng = np.random.default_rng(0)
    names = ["electra/embeddings/word_embeddings", "electra/encoder/layer_0/output/kernel"]
    names += ["electra/encoder/layer_1/output_layer_norm/gamma", "task_specific/rte/dense/bias"]
    shapes = [(5, 3), (3, 4), (4,), (2,)]
    init = [rng.normal(size=s).astype(np.float32) for s in shapes]
    grads = [rng.normal(size=s).astype(np.float32) for s in shapes]
    lr, n, decay = 0.01, 2, 0.8
    optimizer = trainer.create_optimizer(lr, 1000, 0.0, WD, decay, n)  # no warm-up: step 0 uses lr
    variables = [tf.Variable(p, name=name) for p, name in zip(init, names, strict=True)]
    optimizer.apply_gradients(zip([tf.constant(g) for g in grads], variables, strict=True))
    for var, p, g, name in zip(variables, init, grads, names, strict=True):
        m, v = (1 - B1) * g.astype(np.float64), (1 - B2) * g.astype(np.float64) ** 2
        update = m / (np.sqrt(v) + EPS)
        if not ("LayerNorm" in name or "layer_norm" in name or "bias" in name):
            update += WD * p
        expected = p - lr * hand_multiplier(name, n, decay) * update
        np.testing.assert_allclose(var.numpy(), expected, rtol=1e-6, atol=1e-7, err_msg=name)
    # a plain optimizer (no multipliers) moves the embeddings 1/0.8^4 times as far: the check can fail
    plain = tf.Variable(init[0], name=names[0])
    AdamWeightDecayOptimizer(learning_rate=lr, weight_decay_rate=WD).apply_gradients(
        [(tf.constant(grads[0]), plain)]
    )
    moved, plain_moved = variables[0].numpy() - init[0], plain.numpy() - init[0]
    np.testing.assert_allclose(plain_moved * decay ** (n + 2), moved, rtol=1e-4, atol=1e-7)


def test_fractional_warmup_as_upstream():
    total = 77  # warm-up = 77 * 0.1 = 7.7 steps, not truncated to 7
    schedule = ElectraLearningRate(1e-3, total, total * 0.1)
    assert float(schedule(3)) == pytest.approx(1e-3 * (1 - 3 / 77) * (3 / 7.7), rel=1e-6)
    assert float(schedule(8)) == pytest.approx(1e-3 * (1 - 8 / 77), rel=1e-6)
    assert trainer.num_train_steps(99, 32, 3.0) == 12  # upstream pads 99 to 4 batches per epoch
    assert trainer.num_train_steps(2490, 32, 10.0) == 780


def synthetic_features(rng, n: int, length: int = 16, marker: int = 7) -> Features:
    """Label 1 iff the marker token occurs among random tokens 10..49 of random length 5..14."""
    input_ids = np.zeros([n, length], np.int32)
    input_mask = np.zeros([n, length], np.int32)
    labels = rng.integers(0, 2, size=n).astype(np.int32)
    for i in range(n):
        size = int(rng.integers(5, length - 1))
        tokens = rng.integers(10, 50, size=size)
        if labels[i]:
            tokens[rng.integers(0, size)] = marker
        input_ids[i, : size + 2] = [2, *tokens, 3]
        input_mask[i, : size + 2] = 1
    return Features(input_ids, input_mask, np.zeros_like(input_ids), labels)


@pytest.mark.slow
def test_tiny_random_classifier_learns_a_separable_task():
    """Label = whether token 7 occurs: needs the [CLS] head, the loss and the optimizer to work."""
    rng = np.random.default_rng(0)
    train, dev = synthetic_features(rng, 2000), synthetic_features(rng, 400)
    tf_keras.utils.set_random_seed(0)
    task = glue_tasks.get_task("sst")
    model = build_classifier(TINY, EMB, task)
    steps = 200
    optimizer = trainer.create_optimizer(1e-3, steps, 0.1, 0.01, 0.8, TINY.num_hidden_layers)
    lines = []
    trainer.train(model, optimizer, train, steps, 32, seed=0, log_every=100, log=lines.append)
    assert len(lines) == 2 and lines[-1].startswith("step 200/200 | loss ")
    outputs, losses = trainer.predict(model, dev, 64)
    assert outputs.shape == (400, 2) and losses.shape == (400,)
    accuracy = glue_tasks.compute_metrics(task, dev.labels, trainer.prediction_ids(model, outputs))[
        "accuracy"
    ]
    assert accuracy >= 0.9, accuracy
