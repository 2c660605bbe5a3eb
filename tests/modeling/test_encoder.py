"""TransformerEncoder against a numpy post-LN BERT reference, plus its layer-range API."""

from __future__ import annotations

import math

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from electra_tf.modeling.embeddings import ElectraEmbeddings
from electra_tf.modeling.encoder import TransformerEncoder, exact_gelu
from tests.modeling.numpy_reference import np_gelu, np_gelu_tanh, np_layer_norm

V, E, H, HEADS, FFN, B, L = 50, 8, 16, 2, 32, 2, 6


def np_softmax(x):
    z = np.exp(x - x.max(-1, keepdims=True))
    return z / z.sum(-1, keepdims=True)


def np_bert_layer(x, mask, p, gelu=np_gelu):
    """One post-LN BERT layer. x [B,L,H], mask [B,L] (1 = real), p: variables by short name."""
    q, k, v = (
        np.einsum("blh,hnd->blnd", x, p[f"self_attention/{n}/kernel"]) + p[f"self_attention/{n}/bias"]
        for n in ("query", "key", "value")
    )
    scores = np.einsum("bqnd,bknd->bnqk", q, k) / math.sqrt(q.shape[-1])
    scores = np.where(mask[:, None, None, :] > 0, scores, -np.inf)
    context = np.einsum("bnqk,bknd->bqnd", np_softmax(scores), v)
    attention = np.einsum("bqnd,ndh->bqh", context, p["self_attention/attention_output/kernel"])
    attention = attention + p["self_attention/attention_output/bias"]
    a = np_layer_norm(
        x + attention, p["self_attention_layer_norm/gamma"], p["self_attention_layer_norm/beta"]
    )
    inner = gelu(a @ p["intermediate/kernel"] + p["intermediate/bias"])
    out = inner @ p["output/kernel"] + p["output/bias"]
    return np_layer_norm(out + a, p["output_layer_norm/gamma"], p["output_layer_norm/beta"])


def np_encoder(encoder, embeddings, mask, gelu=np_gelu):
    """Numpy forward pass of `encoder`'s current variables; returns every layer's output."""
    values = {v.name[: -len(":0")]: v.numpy() for v in encoder.weights}
    hidden = embeddings
    if encoder.embedding_projection is not None:
        hidden = (
            hidden @ values["encoder/embeddings_project/kernel"] + values["encoder/embeddings_project/bias"]
        )
    outputs = []
    for i in range(encoder.num_layers):
        prefix = f"encoder/layer_{i}/"
        params = {k[len(prefix) :]: val for k, val in values.items() if k.startswith(prefix)}
        hidden = np_bert_layer(hidden, mask, params, gelu)
        outputs.append(hidden)
    return outputs


def make_encoder(num_layers=2, embedding_size=E, **kwargs):
    encoder = TransformerEncoder(H, num_layers, HEADS, FFN, embedding_size, **kwargs)
    encoder(tf.zeros([1, 1, embedding_size]), tf.ones([1, 1]))  # creates the variables
    return encoder


def randomize(encoder, seed=0):
    """Large, non-trivial weights so that GELU's exact vs tanh form and LayerNorm details matter."""
    rng = np.random.default_rng(seed)
    for var in encoder.weights:
        if "gamma" in var.name:
            value = rng.uniform(0.5, 1.5, size=var.shape)
        elif "kernel" in var.name:
            value = rng.normal(0.0, 0.35, size=var.shape)
        else:
            value = rng.normal(0.0, 0.1, size=var.shape)
        var.assign(value.astype(np.float32))


def make_inputs(seed=0, width=E):
    rng = np.random.default_rng(seed)
    embeddings = rng.normal(0.0, 1.0, size=(B, L, width)).astype(np.float32)
    mask = np.array([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0]], np.int32)
    return embeddings, mask


def test_matches_numpy_post_ln_bert():
    tf_keras.utils.set_random_seed(0)
    encoder = make_encoder(num_layers=2)
    randomize(encoder)
    embeddings, mask = make_inputs()
    outputs = encoder(embeddings, mask, training=False)
    expected = np_encoder(encoder, embeddings, mask)
    assert len(outputs) == 2
    for got, want in zip(outputs, expected, strict=True):
        assert got.shape == (B, L, H) and got.dtype == tf.float32
        np.testing.assert_allclose(got.numpy(), want, atol=1e-5)
    # Power check: the tanh-approximate GELU would be caught by the tolerance above.
    approx = np_encoder(encoder, embeddings, mask, gelu=np_gelu_tanh)
    assert np.abs(approx[-1] - expected[-1]).max() > 1e-4


def test_exact_gelu_is_the_erf_form():
    x = np.linspace(-4.0, 4.0, 81).astype(np.float32)
    got = exact_gelu(tf.constant(x)).numpy()
    np.testing.assert_allclose(got, np_gelu(x.astype(np.float64)), atol=1e-6)
    assert np.abs(np_gelu_tanh(x.astype(np.float64)) - np_gelu(x.astype(np.float64))).max() > 1e-4


def test_every_layer_norm_uses_bert_epsilon():
    encoder = make_encoder(num_layers=3)
    norms = [m for m in encoder.submodules if isinstance(m, tf_keras.layers.LayerNormalization)]
    assert len(norms) == 2 * 3
    assert all(n.epsilon == 1e-12 for n in norms)


def test_layer_ranges_compose_to_the_full_stack():
    tf_keras.utils.set_random_seed(1)
    encoder = make_encoder(num_layers=6)
    randomize(encoder, seed=1)
    embeddings, mask = make_inputs(1)
    full = encoder(embeddings, mask)
    hidden = encoder.project(tf.constant(embeddings))
    first = encoder.run_layers(hidden, mask, 0, 3)
    second = encoder.run_layers(first[-1], mask, 3, 6)
    assert len(full) == 6 and len(first) == 3 and len(second) == 3
    for got, want in zip(first + second, full, strict=True):
        np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-5)
    partial = encoder(embeddings, mask, num_layers=3)
    assert len(partial) == 3
    np.testing.assert_allclose(partial[-1].numpy(), full[2].numpy(), atol=1e-5)
    assert encoder.run_layers(hidden, mask, 2, 2) == []
    with pytest.raises(ValueError):
        encoder.run_layers(hidden, mask, 4, 7)


def test_padding_does_not_change_real_positions():
    tf_keras.utils.set_random_seed(2)
    embed = ElectraEmbeddings(V, E, max_position_embeddings=L)
    encoder = make_encoder(num_layers=2)
    randomize(encoder, seed=2)
    ids = np.array([[5, 6, 7, 8, 9, 10], [11, 12, 13, 0, 0, 0]], np.int32)
    mask = (np.arange(L)[None] < np.array([[L], [3]])).astype(np.int32)
    segments = np.zeros_like(ids)
    other_ids = ids.copy()
    other_ids[1, 3:] = [40, 41, 42]
    base = encoder(embed(ids, segments), mask)[-1].numpy()
    other = encoder(embed(other_ids, segments), mask)[-1].numpy()
    np.testing.assert_allclose(other[1, :3], base[1, :3], atol=1e-5)
    np.testing.assert_allclose(other[0], base[0], atol=1e-5)
    assert np.abs(other[1, 3:] - base[1, 3:]).max() > 1e-3  # padded positions did see the change


def test_dropout_only_in_training():
    tf_keras.utils.set_random_seed(3)
    encoder = make_encoder(num_layers=1, hidden_dropout_prob=0.3, attention_probs_dropout_prob=0.3)
    randomize(encoder, seed=3)
    embeddings, mask = make_inputs(3)
    inference = encoder(embeddings, mask)[-1].numpy()
    np.testing.assert_allclose(encoder(embeddings, mask, training=False)[-1].numpy(), inference)
    trained = encoder(embeddings, mask, training=True)[-1].numpy()
    assert np.abs(trained - inference).max() > 1e-2


def test_projection_only_when_sizes_differ():
    same = make_encoder(num_layers=1, embedding_size=H)
    assert same.embedding_projection is None and same.hidden_size == H and same.num_layers == 1
    x = tf.random.normal([B, L, H], seed=3)
    assert same.project(x) is x
    assert not any("embeddings_project" in v.name for v in same.weights)
    projected = make_encoder(num_layers=1)
    assert projected.project(tf.zeros([B, L, E])).shape == (B, L, H)


def test_initializers():
    tf_keras.utils.set_random_seed(4)
    encoder = make_encoder(num_layers=6, embedding_size=64)
    block_kernels = np.concatenate(
        [v.numpy().ravel() for v in encoder.weights if "layer_" in v.name and "kernel" in v.name]
    )
    assert block_kernels.size == 6 * (4 * H * H + 2 * H * FFN)
    assert np.abs(block_kernels).max() <= 0.04 + 1e-6
    assert block_kernels.std() == pytest.approx(0.02 * 0.8796, rel=0.05)
    projection = encoder.embedding_projection.kernel.numpy()
    limit = math.sqrt(6.0 / (64 + H))  # glorot uniform: U(-limit, limit), std limit/√3
    assert np.abs(projection).max() <= limit
    assert projection.std() == pytest.approx(limit / math.sqrt(3.0), rel=0.1)
    for var in encoder.weights:
        if var.name.endswith("bias:0") or var.name.endswith("beta:0"):
            np.testing.assert_array_equal(var.numpy(), 0.0)


def test_variable_names_do_not_depend_on_the_entry_point():
    by_call = TransformerEncoder(H, 2, HEADS, FFN, E)
    by_call(tf.zeros([B, L, E]), tf.ones([B, L]))
    by_range = TransformerEncoder(H, 2, HEADS, FFN, E)
    by_range.run_layers(by_range.project(tf.zeros([B, L, E])), tf.ones([B, L]), 0, 1)
    names = [v.name for v in by_call.weights]
    assert names == [v.name for v in by_range.weights]
    assert "encoder/embeddings_project/kernel:0" in names
    assert "encoder/layer_1/self_attention/query/kernel:0" in names
    assert sum("layer_norm" in n for n in names) == 2 * 2 * 2  # gamma + beta, 2 norms, 2 layers
