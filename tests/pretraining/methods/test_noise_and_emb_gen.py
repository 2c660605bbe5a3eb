"""noise and emb_gen: neighbours vs brute force, exact replaced share, the L2 term by hand, the
noise on the selected positions only, and Emb-Gen (Pre-trained)'s embeddings from a checkpoint."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from electra_tf import configs
from electra_tf.checkpoint_io import translate
from electra_tf.precision import precision_policy
from electra_tf.pretraining.methods.noise_and_emb_gen import nearest_rows
from electra_tf.pretraining.model import build_pretrainer
from electra_tf.pretraining.seeds import per_example_seeds
from electra_tf.pretraining.training_state import build_model_and_optimizer
from tests.checkpoint_io.helpers import TINY_SHAPES, make_upstream_checkpoint, read_all
from tests.pretraining.helpers import RESERVED, SPECIAL, batch_of, mask_like_the_pretrainer, tiny_config


def test_nearest_rows_equal_a_brute_force_numpy_search():
    rng = np.random.default_rng(0)
    table = rng.normal(size=(400, 12)).astype(np.float32)
    excluded = np.zeros(400, bool)
    excluded[list(RESERVED)] = True
    ids = rng.integers(0, 400, size=(6, 9))
    ids[0, :3] = [101, 5, 399]  # reserved queries are still answered with ordinary rows
    got = nearest_rows(tf.constant(table), tf.constant(ids), 10, tf.constant(excluded)).numpy()
    assert got.shape == (6, 9, 10)
    for b in range(6):
        for n in range(9):
            t = ids[b, n]
            distances = ((table.astype(np.float64) - table[t]) ** 2).sum(axis=1)
            distances[t] = np.inf
            distances[excluded] = np.inf
            expected = np.argsort(distances, kind="stable")[:10]
            assert list(got[b, n]) == list(expected), (b, n)
            assert t not in got[b, n] and not excluded[got[b, n]].any()


def _masked(model, batch, seed):
    return mask_like_the_pretrainer(model, batch, seed)


def _selected(masked, length) -> np.ndarray:
    out = np.zeros((masked.masked_positions.shape[0], length), np.int32)
    for b, (positions, weights) in enumerate(
        zip(masked.masked_positions.numpy(), masked.masked_weights.numpy(), strict=True)
    ):
        out[b, positions[weights > 0]] = 1
    return out


@pytest.mark.parametrize("mixed", [False, True])
def test_emb_gen_replaces_exactly_the_selected_positions_with_neighbours(mixed):
    """Under mixed precision too: the neighbours are ranked on the float32 table."""
    tf_keras.utils.set_random_seed(0)  # dropout under TF_DETERMINISTIC_OPS
    with precision_policy(mixed):
        model = build_pretrainer(tiny_config("emb_gen", emb_gen_top_k=5), SPECIAL)
        model(batch_of(6, 32, 300, seed=9), tf.constant([9, 3], tf.int64), 0)  # builds under the policy
    # Rows 1 + N(0, 0.01²): bfloat16 (spacing 2^-7 near 1) would scramble their float32 order.
    table = model.embeddings.word_embeddings
    table.assign(1.0 + 0.01 * np.random.default_rng(0).normal(size=table.shape).astype(np.float32))
    excluded = np.zeros(300, bool)
    excluded[list(RESERVED)] = True
    assert not [v.name for v in model.variables if "generator" in v.name]
    for s in range(4):
        batch, seed = batch_of(6, 32, 300, seed=s), tf.constant([s, 3], tf.int64)
        out = model(batch, seed, 0, training=True)
        masked = _masked(model, batch, seed)
        selected = _selected(masked, 32)
        labels = out.labels.numpy()
        np.testing.assert_array_equal(labels, selected)  # replaced share == selected share, exactly
        assert labels.sum() == float(tf.reduce_sum(masked.masked_weights))
        table = model.embeddings.word_embeddings.numpy().astype(np.float64)
        corrupted = _corrupted_ids(model, batch, masked, seed)
        original = batch["input_ids"].numpy()
        np.testing.assert_array_equal(corrupted[selected == 0], original[selected == 0])
        for b, p in zip(*np.nonzero(selected), strict=True):
            t, new = original[b, p], corrupted[b, p]
            distances = ((table - table[t]) ** 2).sum(axis=1)
            distances[t] = np.inf
            distances[excluded] = np.inf
            assert new != t and not excluded[new]
            assert new in np.argsort(distances, kind="stable")[:5]


def _corrupted_ids(model, batch, masked, seed) -> np.ndarray:
    seeds = per_example_seeds(seed, 0, tf.shape(batch["input_ids"])[0]) + [[0, 7]]
    return model.method(model.embeddings, batch, masked, seeds).corrupted_ids.numpy()


def test_emb_l2_term_value_and_gradient_match_a_hand_computation():
    """loss = w·Σ_n ‖E[t_n] − E[t′_n]‖² / n_selected; ∂/∂E[t] = 2w(E[t] − E[t′])/n, ∂/∂E[t′] = −that."""
    model = build_pretrainer(tiny_config("emb_gen", emb_gen_l2_weight=0.5), SPECIAL)
    batch, seed = batch_of(4, 32, 300, seed=9), tf.constant([1, 1], tf.int64)
    model(batch, seed, 0)
    masked = _masked(model, batch, seed)
    seeds = per_example_seeds(seed, 0, 4) + [[0, 7]]
    table_var = model.embeddings.word_embeddings
    with tf.GradientTape() as tape:
        replacement = model.method(model.embeddings, batch, masked, seeds)
        term = replacement.losses["emb_l2"]
        loss = term.weight * term.numerator / term.denominator
    grad = tf.convert_to_tensor(tape.gradient(loss, table_var)).numpy()

    table = table_var.numpy().astype(np.float64)
    weights = masked.masked_weights.numpy()
    original, new = masked.masked_ids.numpy(), replacement.corrupted_ids.numpy()
    positions = masked.masked_positions.numpy()
    pairs = [
        (original[b, n], new[b, positions[b, n]])
        for b in range(4)
        for n in range(weights.shape[1])
        if weights[b, n]
    ]
    expected_loss = 0.5 * np.mean([((table[t] - table[u]) ** 2).sum() for t, u in pairs])
    np.testing.assert_allclose(float(loss), expected_loss, rtol=1e-5)
    expected_grad = np.zeros_like(table)
    for t, u in pairs:
        expected_grad[t] += 2 * 0.5 * (table[t] - table[u]) / len(pairs)
        expected_grad[u] -= 2 * 0.5 * (table[t] - table[u]) / len(pairs)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-4, atol=1e-7)


def test_noise_perturbs_only_the_selected_embeddings_and_labels_them():
    tf_keras.utils.set_random_seed(0)
    model = build_pretrainer(tiny_config("noise", noise_std=1.0, max_seq_length=128), SPECIAL)
    batch, seed = batch_of(16, 128, 300, seed=2), tf.constant([4, 4], tf.int64)
    out = model(batch, seed, 0, training=True)
    assert not [v.name for v in model.variables if "generator" in v.name]
    assert set(out.losses) == {"disc"}
    masked = _masked(model, batch, seed)
    selected = _selected(masked, 128)
    np.testing.assert_array_equal(out.labels.numpy(), selected)
    seeds = per_example_seeds(seed, 0, 16) + [[0, 7]]
    replacement = model.method(model.embeddings, batch, masked, seeds)
    np.testing.assert_array_equal(replacement.corrupted_ids.numpy(), batch["input_ids"].numpy())
    delta = replacement.word_embedding_delta.numpy()  # [B, L, E]
    assert np.all(delta[selected == 0] == 0)
    noise = delta[selected == 1].ravel()  # ≈ 16·19·16 draws of N(0, 1)
    assert noise.size > 3000
    assert abs(noise.mean()) < 0.1 and abs(noise.std() - 1.0) < 0.05


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["upstream", "ours"])
def test_emb_gen_pretrained_starts_from_the_checkpoint_embeddings(fmt, tmp_path):
    """Acceptance 3: the Trainer's fresh start takes every embedding tensor from the checkpoint."""
    from pretrain.trainer import Trainer

    upstream = make_upstream_checkpoint(tmp_path / "upstream", seed=11, step=5, **TINY_SHAPES)
    checkpoint = (
        upstream
        if fmt == "upstream"
        else translate.to_ours(upstream, str(tmp_path / "ours" / "m"), build=build_model_and_optimizer)
    )
    expected = read_all(upstream)
    hparams = {
        "method": "emb_gen",
        "emb_gen_init_checkpoint": checkpoint,
        "vocab_size": 300,
        "embedding_size": 64,
        "max_seq_length": 32,
        "train_batch_size": 4,
        "num_train_steps": 2,
        "log_every": 2,
        "model_hparam_overrides": {"hidden_size": 128, "num_hidden_layers": 1, "num_attention_heads": 2},
    }
    config = configs.config_from_hparams("emb", str(tmp_path / "data"), hparams)
    dataset = tf.data.Dataset.from_tensors(batch_of(4, 32, 300)).repeat()
    trainer = Trainer(config, tf.distribute.get_strategy(), SPECIAL, [], log=lambda _: None, dataset=dataset)
    embeddings = model_embeddings = trainer.model.embeddings
    before = embeddings.word_embeddings.numpy().copy()
    assert trainer.restore() is False
    for name in ("word_embeddings", "position_embeddings", "token_type_embeddings"):
        np.testing.assert_array_equal(
            getattr(model_embeddings, name).numpy(), expected[f"electra/embeddings/{name}"]
        )
    np.testing.assert_array_equal(
        embeddings.layer_norm.gamma.numpy(), expected["electra/embeddings/LayerNorm/gamma"]
    )
    assert not np.array_equal(before, embeddings.word_embeddings.numpy())
    # the rest of the model keeps its own initialisation (only the embeddings come from the checkpoint)
    kernel = trainer.model.discriminator.head.dense.kernel.numpy()
    assert not np.array_equal(kernel, expected["discriminator_predictions/dense/kernel"])
    # two train steps log loss/emb_l2, which enters loss/total with emb_gen_l2_weight (1.0)
    scalars = trainer.train()
    assert scalars["loss/emb_l2"] > 0 and "loss/mlm" not in scalars
    np.testing.assert_allclose(
        scalars["loss/total"], 50 * scalars["loss/disc"] + scalars["loss/emb_l2"], rtol=1e-4
    )


def test_frozen_embeddings_are_not_trained():
    model = build_pretrainer(tiny_config("emb_gen", emb_gen_freeze_embeddings=True), SPECIAL)
    model(batch_of(2, 32, 300), tf.constant([0, 0], tf.int64), 0)
    trainable = {v.name for v in model.trainable_variables}
    assert not [n for n in trainable if "/embeddings/" in n and "embeddings_project" not in n]
    assert [n for n in trainable if "discriminator" in n]
