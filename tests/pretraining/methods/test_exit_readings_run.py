"""run_pretraining.py with the exit methods' faster readings (issue 30): `adaptive_exit_gen` with
`exit_heads: "exit"` and `early_exit_disc` with `early_exit_generator`. Each trains and logs its
exit scalars, resumes exactly, and converts to upstream's format and back losslessly."""

from __future__ import annotations

import os

import pytest

from tests.pretrain.helpers import (
    assert_round_trip,
    assert_same_values,
    checkpoint_values,
    read_scalars,
    run_straight_and_resumed,
)
from tests.pretraining.methods.helpers import TINY_ADAPTIVE_EXITS

SHORT = dict(num_train_steps=6, num_warmup_steps=2, learning_rate=1e-3, log_every=3, save_checkpoints_steps=2)
READINGS = {
    "adaptive_exit_gen": dict(
        TINY_ADAPTIVE_EXITS, exit_heads="exit", adaptive_init_probs=[0.5, 0.5], exit_update_every=3, **SHORT
    ),
    "early_exit_disc": dict(
        method="early_exit_disc",
        early_exit_generator=True,
        exit_layers=[1, 2],
        exit_loss_weights=[1.0, 2.0],
        exit_update_every=3,
        **SHORT,
    ),
}
SCALARS = {
    "adaptive_exit_gen": ("adaptive/p_1", "adaptive/p_2"),
    "early_exit_disc": ("early_exit/section_acc_1", "early_exit/exit_layer"),
}
KEPT = {
    "adaptive_exit_gen": ("method", "exit_layers", "exit_loss_weights", "adaptive_init_probs", "exit_heads"),
    "early_exit_disc": ("method", "exit_layers", "exit_loss_weights", "early_exit_generator"),
}


@pytest.mark.slow
@pytest.mark.parametrize("method", sorted(READINGS))
def test_a_faster_reading_trains_resumes_exactly_and_converts(method, wiki_data_dir, tmp_path):
    hparams = READINGS[method]
    prefix = f"reading_{method}"
    run_straight_and_resumed(wiki_data_dir, prefix, 3, **hparams)
    models = os.path.join(wiki_data_dir, "models")
    assert_same_values(
        checkpoint_values(os.path.join(models, f"{prefix}_straight")),
        checkpoint_values(os.path.join(models, f"{prefix}_resumed")),
    )
    curves = read_scalars(os.path.join(models, f"{prefix}_straight"))
    for tag in SCALARS[method]:
        assert [step for step, _ in curves[tag]] == [3, 6], tag
    kept = {k: hparams[k] for k in KEPT[method]}
    state = "/distribution/" if method == "adaptive_exit_gen" else "/policy/"
    assert_round_trip(
        os.path.join(models, f"{prefix}_straight"), tmp_path, {**kept, "embedding_size": 64}, state
    )
