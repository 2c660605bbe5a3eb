"""run_pretraining.py with "method": "adaptive_exit_gen": adaptive scalars, exact resume of P."""

from __future__ import annotations

import os

import pytest

from electra_tf.standalone_discriminator import load_discriminator
from tests.pretrain.helpers import (
    assert_round_trip,
    assert_same_values,
    checkpoint_values,
    read_scalars,
    run_straight_and_resumed,
)
from tests.pretraining.methods.helpers import TINY_ADAPTIVE_EXITS

ADAPTIVE = dict(
    TINY_ADAPTIVE_EXITS,
    adaptive_init_probs=[0.5, 0.5],
    adaptive_alpha=2.0,
    exit_update_every=3,
    num_train_steps=20,
    num_warmup_steps=5,
    learning_rate=1e-3,
    log_every=5,
    save_checkpoints_steps=7,
)


@pytest.mark.slow
def test_adaptive_scalars_exact_resume_and_conversion(wiki_data_dir, tmp_path):
    """Acceptance 3: resuming mid-run restores P, the window sums and the previous accuracy; the
    run's checkpoint converts both ways and `score` reads it (`_converts_and_scores`)."""
    run_straight_and_resumed(wiki_data_dir, "adaptive", 10, **ADAPTIVE)

    models = os.path.join(wiki_data_dir, "models")
    at_10 = checkpoint_values(os.path.join(models, "adaptive_resumed", "ckpt-10"))
    state = {k: v for k, v in at_10.items() if "/distribution/" in k}
    names = {k.split("/")[-3] for k in state}
    assert names == {
        "state",
        "window_correct",
        "window_tokens",
        "window_steps",
        "previous_accuracy",
        "has_previous",
    }
    window_steps = next(v for k, v in state.items() if "/window_steps/" in k)
    assert int(window_steps) == 10 % 3  # mid-window: 1 step of the 4th window recorded
    assert next(v for k, v in state.items() if "/window_tokens/" in k) > 0

    assert_same_values(
        checkpoint_values(os.path.join(models, "adaptive_straight")),
        checkpoint_values(os.path.join(models, "adaptive_resumed")),
    )

    curves = read_scalars(os.path.join(models, "adaptive_straight"))
    p1, p2 = dict(curves["adaptive/p_1"]), dict(curves["adaptive/p_2"])
    assert sorted(p1) == [5, 10, 15, 20]
    assert all(abs(p1[s] + p2[s] - 1) < 1e-5 for s in p1)
    assert len({round(v, 6) for v in p1.values()}) > 1, p1  # P moves (alpha 2, update every 3 steps)
    assert {"adaptive/exit_layer", "adaptive/rtd_acc_exit_1", "adaptive/rtd_acc_exit_2"} <= set(curves)
    layers = [v for _, v in curves["adaptive/exit_layer"]]
    assert all(1.0 <= v <= 2.0 for v in layers)
    _converts_and_scores(os.path.join(models, "adaptive_straight"), tmp_path)


def _converts_and_scores(model_dir: str, tmp_path) -> None:
    """Exit heads have names in the upstream-format export (generator/exit_<l>_predictions/...), so
    conversion both ways stays lossless and `score` reads an adaptive run's discriminator."""
    hparams = {k: ADAPTIVE[k] for k in ("method", "exit_layers", "exit_loss_weights", "adaptive_init_probs")}
    hparams["embedding_size"] = 64
    _, names = assert_round_trip(model_dir, tmp_path, hparams, "/distribution/")
    assert {"generator/exit_1_predictions/output_bias", "generator/exit_2_predictions/dense/kernel"} <= names
    model, _ = load_discriminator(model_dir, log=None)
    assert len(model.encoder.blocks) == 2
