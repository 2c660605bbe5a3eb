"""run_pretraining.py with "method": "early_exit_disc": early_exit scalars, exact resume of the
exit state, conversion and scoring with the full discriminator."""

from __future__ import annotations

import os

import numpy as np
import pytest
import tensorflow as tf

from electra_tf.standalone_discriminator import load_discriminator, replaced_probabilities
from tests.pretrain.helpers import (
    assert_round_trip,
    assert_same_values,
    checkpoint_values,
    read_scalars,
    run_straight_and_resumed,
)

# TINY_MODEL has 2 discriminator layers: one section per layer, a probe every 3 steps.
EARLY_EXIT = dict(
    method="early_exit_disc",
    exit_layers=[1, 2],
    exit_loss_weights=[1.0, 2.0],
    exit_update_every=3,
    num_train_steps=16,
    num_warmup_steps=5,
    learning_rate=1e-3,
    log_every=4,
    save_checkpoints_steps=5,
)


def _policy(values: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k.split("/")[-3]: v for k, v in values.items() if "/policy/" in k}


@pytest.mark.slow
def test_early_exit_scalars_exact_resume_and_conversion(wiki_data_dir, tmp_path):
    """Acceptance 3 (resume restores the exit state exactly) and the early_exit/* scalars
    (docs/design.md, 'Metric names'); the checkpoint converts both ways and `score` reads its full
    discriminator."""
    run_straight_and_resumed(wiki_data_dir, "early", 8, **EARLY_EXIT)

    models = os.path.join(wiki_data_dir, "models")
    state = _policy(checkpoint_values(os.path.join(models, "early_resumed", "ckpt-8")))
    assert set(state) == {"steps", "exit_section", "threshold", "section_accuracy"}
    assert int(state["steps"]) == 8  # probes were steps 0, 3, 6
    np.testing.assert_allclose(state["threshold"], state["section_accuracy"].mean(), rtol=1e-6)
    above = np.flatnonzero(state["section_accuracy"] >= state["threshold"])
    assert int(state["exit_section"]) == above[0]

    assert_same_values(
        checkpoint_values(os.path.join(models, "early_straight")),
        checkpoint_values(os.path.join(models, "early_resumed")),
    )

    curves = read_scalars(os.path.join(models, "early_straight"))
    acc1, acc2 = dict(curves["early_exit/section_acc_1"]), dict(curves["early_exit/section_acc_2"])
    threshold, layer = dict(curves["early_exit/threshold"]), dict(curves["early_exit/exit_layer"])
    assert sorted(acc1) == sorted(threshold) == sorted(layer) == [4, 8, 12, 16]
    for s in acc1:
        assert abs(threshold[s] - (acc1[s] + acc2[s]) / 2) < 1e-5
        expected_layer = 1.0 if acc1[s] >= threshold[s] else 2.0
        assert layer[s] == expected_layer, (s, acc1[s], acc2[s], layer[s])

    # conversion both ways is lossless; the exit heads keep their own names
    model_dir = os.path.join(models, "early_straight")
    hparams = {k: EARLY_EXIT[k] for k in ("method", "exit_layers", "exit_loss_weights")}
    hparams["embedding_size"] = 64
    exported, names = assert_round_trip(model_dir, tmp_path, hparams, "/policy/")
    assert "discriminator_exit_1_predictions/dense_1/kernel" in names
    assert "discriminator_predictions/dense_1/kernel" in names
    assert not [n for n in names if n.startswith("generator/")]  # tied: no generator tower

    # score: the 2-layer discriminator with the last section's head, from either format
    ours, _ = load_discriminator(model_dir, log=None)
    theirs, _ = load_discriminator(exported, hparams=hparams, log=None)
    assert len(ours.encoder.blocks) == 2
    ids = [[1, 5, 60, 700, 1500, 2]]  # the test vocabulary has < 2000 entries
    np.testing.assert_array_equal(replaced_probabilities(ours, ids), replaced_probabilities(theirs, ids))
    last_head = tf.train.load_variable(exported, "discriminator_predictions/dense_1/kernel")
    np.testing.assert_array_equal(ours.head.dense_prediction.kernel.numpy(), last_head)
    exit_head = tf.train.load_variable(exported, "discriminator_exit_1_predictions/dense_1/kernel")
    assert not np.array_equal(exit_head, last_head)
