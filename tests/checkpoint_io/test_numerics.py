"""The name/reshape mapping, checked numerically: an upstream checkpoint gives the discriminator
outputs that upstream's own graph computes (an independent numpy re-implementation of it)."""

from __future__ import annotations

import numpy as np

from electra_tf import standalone_discriminator
from electra_tf.checkpoint_io import translate
from electra_tf.pretraining.training_state import build_model_and_optimizer
from tests.checkpoint_io.helpers import FAST, make_upstream_checkpoint, read_all
from tests.modeling.numpy_reference import np_attention, np_gelu, np_layer_norm

LAYERS, HEADS = 3, 4  # hidden 256 → upstream's 4 heads of 64


def np_upstream_discriminator(a: dict, ids, mask, segments, layers: int, heads: int) -> np.ndarray:
    """Upstream's BERT/ELECTRA discriminator in float64 from upstream-named arrays → P(replaced) [B, L]."""
    a = {k: v.astype(np.float64) for k, v in a.items()}
    batch, length = ids.shape

    def norm(x, scope):
        return np_layer_norm(x, a[scope + "/gamma"], a[scope + "/beta"], eps=1e-12)

    def dense(x, scope):
        return x @ a[scope + "/kernel"] + a[scope + "/bias"]

    emb = "electra/embeddings/"
    x = (
        a[emb + "word_embeddings"][ids]
        + a[emb + "position_embeddings"][:length]
        + a[emb + "token_type_embeddings"][segments]
    )
    x = dense(norm(x, emb + "LayerNorm"), "electra/embeddings_project")
    hidden = x.shape[-1]
    size = hidden // heads
    adder = (1.0 - mask[:, None, None, :]) * -10000.0  # [B, 1, 1, L]

    def split(t):  # [B, L, H] → [B, heads, L, size]
        return t.reshape(batch, length, heads, size).transpose(0, 2, 1, 3)

    for i in range(layers):
        p = f"electra/encoder/layer_{i}/"
        q, k, v = (split(dense(x, p + f"attention/self/{n}")) for n in ("query", "key", "value"))
        context = np_attention(q, k, v, adder)
        attention = norm(dense(context, p + "attention/output/dense") + x, p + "attention/output/LayerNorm")
        inner = np_gelu(dense(attention, p + "intermediate/dense"))
        x = norm(dense(inner, p + "output/dense") + attention, p + "output/LayerNorm")
    h = np_gelu(dense(x, "discriminator_predictions/dense"))
    logits = dense(h, "discriminator_predictions/dense_1")[..., 0]
    return 1.0 / (1.0 + np.exp(-logits))


def test_discriminator_matches_upstream_reference_for_both_formats(tmp_path):
    prefix = make_upstream_checkpoint(tmp_path / "upstream", seed=2, **dict(FAST, layers=LAYERS))
    rng = np.random.default_rng(0)
    ids = rng.integers(0, FAST["vocab"], size=(2, 24))
    mask = np.ones_like(ids)
    mask[1, 15:] = 0  # padding in the second example
    segments = (np.arange(24)[None, :] >= 10).astype(np.int64) * mask
    expected = np_upstream_discriminator(read_all(prefix), ids, mask, segments, LAYERS, HEADS)
    assert np.ptp(expected) > 0.2  # spread-out probabilities: a wrong mapping cannot match by chance

    model, config = standalone_discriminator.load_discriminator(prefix, log=None)
    assert model.encoder.blocks[0]._num_heads == HEADS
    actual = standalone_discriminator.replaced_probabilities(model, ids, mask, segments)
    np.testing.assert_allclose(actual, expected, atol=1e-5, rtol=0)

    ours = translate.to_ours(prefix, str(tmp_path / "models" / "ours"), build=build_model_and_optimizer)
    twin, _ = standalone_discriminator.load_discriminator(ours, log=None)
    assert np.array_equal(standalone_discriminator.replaced_probabilities(twin, ids, mask, segments), actual)
