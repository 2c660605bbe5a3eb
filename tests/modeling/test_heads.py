"""MLM and discriminator heads and `gather_positions` against numpy references."""

from __future__ import annotations

import math

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from electra_tf.modeling.heads import DiscriminatorHead, MaskedLMHead, gather_positions
from tests.modeling.numpy_reference import np_gelu, np_gelu_tanh, np_layer_norm

V, E, H, B, L, N = 50, 8, 16, 2, 6, 3


def randomize(layer, kernel_std, seed=0):
    rng = np.random.default_rng(seed)
    for var in layer.weights:
        if "gamma" in var.name:
            value = rng.uniform(0.5, 1.5, size=var.shape)
        elif "kernel" in var.name:
            value = rng.normal(0.0, kernel_std, size=var.shape)
        else:
            value = rng.normal(0.0, 0.1 * kernel_std, size=var.shape)
        var.assign(value.astype(np.float32))


def test_gather_positions_matches_fancy_indexing():
    rng = np.random.default_rng(0)
    sequence = rng.normal(size=(B, L, H)).astype(np.float32)
    positions = np.array([[0, 5, 2], [3, 3, 1]], np.int32)
    got = gather_positions(tf.constant(sequence), tf.constant(positions))
    assert got.shape == (B, N, H)
    np.testing.assert_array_equal(got.numpy(), sequence[np.arange(B)[:, None], positions])
    ids = rng.integers(0, V, size=(B, L)).astype(np.int32)  # also works on [B, L] id tensors
    np.testing.assert_array_equal(
        gather_positions(ids, positions).numpy(), np.take_along_axis(ids, positions, 1)
    )


def mlm_reference(head, hidden, table, gelu=np_gelu, eps=1e-12):
    h = gelu(hidden @ head.dense.kernel.numpy() + head.dense.bias.numpy())
    h = np_layer_norm(h, head.layer_norm.gamma.numpy(), head.layer_norm.beta.numpy(), eps)
    return h @ table.T + head.output_bias.numpy()


# kernel_std 0.03: the dense output's variance (~1e-4) is below Keras' default LayerNorm ε (1e-3),
# so ε matters; kernel_std 0.8: the GELU input is O(1), so its exact vs tanh form matters.
@pytest.mark.parametrize("kernel_std", [0.03, 0.8])
def test_mlm_head_matches_numpy(kernel_std):
    tf_keras.utils.set_random_seed(0)
    rng = np.random.default_rng(1)
    head = MaskedLMHead(E, V)
    hidden = rng.normal(size=(B, N, H)).astype(np.float32)
    table = rng.normal(0.0, 0.5, size=(V, E)).astype(np.float32)
    head(hidden, table)
    randomize(head, kernel_std)
    logits = head(tf.constant(hidden), tf.Variable(table))
    assert logits.shape == (B, N, V) and logits.dtype == tf.float32
    expected = mlm_reference(head, hidden, table)
    np.testing.assert_allclose(logits.numpy(), expected, atol=1e-5)
    # Power check: the alternative (tanh GELU / ε 1e-3) is far outside the tolerance.
    if kernel_std > 0.1:
        alternative = mlm_reference(head, hidden, table, gelu=np_gelu_tanh)
    else:
        alternative = mlm_reference(head, hidden, table, eps=1e-3)
    assert np.abs(alternative - expected).max() > 1e-4


def test_mlm_head_variables_and_init():
    tf_keras.utils.set_random_seed(2)
    head = MaskedLMHead(64, V)  # dense kernel [H, 64] from a wider input for a stable std estimate
    head(tf.zeros([1, 1, 128]), tf.zeros([V, 64]))
    names = {v.name: tuple(v.shape) for v in head.trainable_variables}
    assert names == {
        "generator_predictions/dense/kernel:0": (128, 64),
        "generator_predictions/dense/bias:0": (64,),
        "generator_predictions/LayerNorm/gamma:0": (64,),
        "generator_predictions/LayerNorm/beta:0": (64,),
        "generator_predictions/output_bias:0": (V,),
    }
    np.testing.assert_array_equal(head.output_bias.numpy(), np.zeros(V))
    kernel = head.dense.kernel.numpy()
    assert np.abs(kernel).max() <= 0.04 + 1e-6
    assert kernel.std() == pytest.approx(0.02 * 0.8796, rel=0.05)
    assert head.layer_norm.epsilon == 1e-12


def test_mlm_head_gradient_reaches_the_shared_table():
    head = MaskedLMHead(E, V)
    table = tf.Variable(tf.random.normal([V, E], seed=1))  # op seeds: determinism needs a seed
    hidden = tf.random.normal([B, N, H], seed=2)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(head(hidden, table))
    grads = tape.gradient(loss, [table, head.output_bias])
    assert all(g is not None for g in grads)
    np.testing.assert_allclose(grads[1].numpy(), np.full(V, B * N))


def disc_reference(head, hidden, gelu=np_gelu):
    h = gelu(hidden @ head.dense.kernel.numpy() + head.dense.bias.numpy())
    return (h @ head.dense_prediction.kernel.numpy() + head.dense_prediction.bias.numpy())[..., 0]


def test_discriminator_head_matches_numpy():
    tf_keras.utils.set_random_seed(3)
    head = DiscriminatorHead(H)
    hidden = np.random.default_rng(4).normal(size=(B, L, H)).astype(np.float32)
    head(hidden)
    randomize(head, kernel_std=0.6, seed=5)
    logits = head(tf.constant(hidden))
    assert logits.shape == (B, L) and logits.dtype == tf.float32
    expected = disc_reference(head, hidden)
    np.testing.assert_allclose(logits.numpy(), expected, atol=1e-5)
    assert np.abs(disc_reference(head, hidden, np_gelu_tanh) - expected).max() > 1e-4


def test_discriminator_head_variables_and_init():
    tf_keras.utils.set_random_seed(6)
    head = DiscriminatorHead(256)
    head(tf.zeros([1, 1, 256]))
    names = {v.name: tuple(v.shape) for v in head.trainable_variables}
    assert names == {
        "discriminator_predictions/dense/kernel:0": (256, 256),
        "discriminator_predictions/dense/bias:0": (256,),
        "discriminator_predictions/dense_1/kernel:0": (256, 1),
        "discriminator_predictions/dense_1/bias:0": (1,),
    }
    hidden_kernel = head.dense.kernel.numpy()
    assert np.abs(hidden_kernel).max() <= 0.04 + 1e-6
    assert hidden_kernel.std() == pytest.approx(0.02 * 0.8796, rel=0.05)
    final = head.dense_prediction.kernel.numpy()
    limit = math.sqrt(6.0 / (256 + 1))  # glorot uniform
    assert np.abs(final).max() <= limit
    assert final.std() == pytest.approx(limit / math.sqrt(3.0), rel=0.15)
    assert np.abs(final).max() > 0.06  # far wider than a truncated normal(0.02), which stops at 0.04
