"""ElectraEmbeddings against a numpy reference (lookups → sum → LayerNorm ε 1e-12 → dropout)."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from electra_tf.modeling.embeddings import ElectraEmbeddings
from tests.modeling.numpy_reference import np_layer_norm

V, E, P, T, B, L = 50, 8, 16, 2, 2, 6


def make_inputs(seed=0):
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, V, size=(B, L)).astype(np.int32)
    segments = rng.integers(0, T, size=(B, L)).astype(np.int32)
    return ids, segments


def small_scale_layer(dropout_rate=0.1, seed=0):
    """A built layer whose tables have std 0.01, so the summed variance (~3e-4) is comparable to
    Keras' default LayerNorm ε 1e-3 and a wrong ε shows up; gamma/beta are non-trivial."""
    layer = ElectraEmbeddings(V, E, max_position_embeddings=P, dropout_rate=dropout_rate)
    rng = np.random.default_rng(seed)
    for var in (layer.word_embeddings, layer.position_embeddings, layer.token_type_embeddings):
        var.assign(rng.normal(0.0, 0.01, size=var.shape).astype(np.float32))
    layer.layer_norm.gamma.assign(rng.uniform(0.5, 1.5, size=E).astype(np.float32))
    layer.layer_norm.beta.assign(rng.normal(0.0, 0.1, size=E).astype(np.float32))
    return layer


def reference(layer, ids, segments, delta=None):
    words = layer.word_embeddings.numpy()[ids]
    if delta is not None:
        words = words + delta
    summed = (
        words
        + layer.position_embeddings.numpy()[: ids.shape[1]][None]
        + layer.token_type_embeddings.numpy()[segments]
    )
    return np_layer_norm(summed, layer.layer_norm.gamma.numpy(), layer.layer_norm.beta.numpy())


def test_inference_matches_numpy():
    layer = small_scale_layer()
    ids, segments = make_inputs()
    out = layer(ids, segments, training=False)
    assert out.shape == (B, L, E) and out.dtype == tf.float32
    np.testing.assert_allclose(out.numpy(), reference(layer, ids, segments), atol=2e-5)


def test_layer_norm_epsilon_is_bert_value():
    layer = small_scale_layer()
    assert layer.layer_norm.epsilon == 1e-12
    ids, segments = make_inputs()
    out = layer(ids, segments).numpy()
    np.testing.assert_allclose(out, reference(layer, ids, segments), atol=2e-5)
    # The test has power: with Keras' default ε = 1e-3 the output would differ visibly here.
    summed = (
        layer.word_embeddings.numpy()[ids]
        + layer.position_embeddings.numpy()[:L][None]
        + layer.token_type_embeddings.numpy()[segments]
    )
    default_eps = np_layer_norm(summed, layer.layer_norm.gamma.numpy(), layer.layer_norm.beta.numpy(), 1e-3)
    assert np.abs(default_eps - out).max() > 0.1


def test_word_embedding_delta_is_added_to_word_embeddings():
    layer = small_scale_layer()
    ids, segments = make_inputs(1)
    delta = np.zeros((B, L, E), np.float32)
    delta[0, 2] = np.random.default_rng(3).normal(0.0, 0.05, size=E)
    delta[1, 4] = np.linspace(-0.03, 0.03, E)  # not constant: LayerNorm would cancel a constant shift
    plain = layer(ids, segments).numpy()
    noisy = layer(ids, segments, word_embedding_delta=tf.constant(delta)).numpy()
    np.testing.assert_allclose(noisy, reference(layer, ids, segments, delta), atol=2e-5)
    changed = np.abs(noisy - plain).max(-1) > 1e-4
    expected = np.zeros((B, L), bool)
    expected[0, 2] = expected[1, 4] = True
    np.testing.assert_array_equal(changed, expected)
    np.testing.assert_allclose(
        layer(ids, segments, word_embedding_delta=tf.zeros((B, L, E))), plain, atol=1e-6
    )


def test_dropout_applies_only_in_training():
    layer = small_scale_layer(dropout_rate=0.5)
    ids, segments = make_inputs()
    inference = layer(ids, segments, training=False).numpy()
    np.testing.assert_allclose(layer(ids, segments).numpy(), inference)
    tf.random.set_seed(0)
    trained = layer(ids, segments, training=True).numpy()
    kept = trained != 0
    assert 0.2 < kept.mean() < 0.8
    np.testing.assert_allclose(trained[kept], 2.0 * inference[kept], rtol=1e-5)


def test_positions_use_the_first_rows_of_the_position_table():
    layer = small_scale_layer()
    ids, segments = make_inputs()
    short = layer(ids[:, :3], segments[:, :3]).numpy()
    np.testing.assert_allclose(short, reference(layer, ids[:, :3], segments[:, :3]), atol=2e-5)


def test_variables_names_shapes_and_sharing():
    layer = ElectraEmbeddings(V, E, max_position_embeddings=P, type_vocab_size=T)
    table = layer.word_embeddings  # builds before any call
    assert isinstance(table, tf.Variable) and table.shape == (V, E)
    ids, segments = make_inputs()
    layer(ids, segments)
    assert layer.word_embeddings is table
    shapes = {v.name: tuple(v.shape) for v in layer.trainable_variables}
    assert shapes == {
        "embeddings/word_embeddings:0": (V, E),
        "embeddings/position_embeddings:0": (P, E),
        "embeddings/token_type_embeddings:0": (T, E),
        "embeddings/LayerNorm/gamma:0": (E,),
        "embeddings/LayerNorm/beta:0": (E,),
    }


def test_tables_use_truncated_normal_002():
    # Initialisation only (no forward pass), so a larger table is cheap and gives a tight estimate.
    tf_keras.utils.set_random_seed(0)
    layer = ElectraEmbeddings(2000, E, max_position_embeddings=512)
    for var in (layer.word_embeddings, layer.position_embeddings):
        values = var.numpy()
        assert np.abs(values).max() <= 0.04 + 1e-6  # cut at 2 std
        assert values.std() == pytest.approx(0.02 * 0.8796, rel=0.05)
        assert abs(values.mean()) < 1e-3
    np.testing.assert_array_equal(layer.layer_norm.gamma.numpy(), np.ones(E))
    np.testing.assert_array_equal(layer.layer_norm.beta.numpy(), np.zeros(E))
