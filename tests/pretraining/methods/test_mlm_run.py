"""run_pretraining.py with "method": "mlm": it trains (acc/mlm rises from chance, no RTD loss),
resumes exactly, converts losslessly, and `score` reads its discriminator encoder."""

from __future__ import annotations

import os

import numpy as np
import pytest
import tensorflow as tf

from electra_tf.checkpoint_io import translate
from electra_tf.pretraining.training_state import build_model_and_optimizer
from tests.pretrain.helpers import (
    assert_same_values,
    checkpoint_values,
    read_scalars,
    run_straight_and_resumed,
)

MLM = dict(
    method="mlm",
    num_train_steps=12,
    num_warmup_steps=2,
    learning_rate=2e-3,
    log_every=4,
    save_checkpoints_steps=5,
)


@pytest.mark.slow
def test_mlm_trains_resumes_exactly_and_converts(wiki_data_dir, tmp_path):
    run_straight_and_resumed(wiki_data_dir, "mlm", 5, **MLM)
    models = os.path.join(wiki_data_dir, "models")
    assert_same_values(
        checkpoint_values(os.path.join(models, "mlm_straight")),
        checkpoint_values(os.path.join(models, "mlm_resumed")),
    )
    curves = read_scalars(os.path.join(models, "mlm_straight"))
    assert "loss/mlm" in curves
    mlm = [v for _, v in curves["loss/mlm"]]
    assert mlm[-1] < mlm[0] < 1.2 * 7.6  # from about ln(2000) = 7.6, falling
    # upstream's format and back: every model weight bit for bit
    model_dir = os.path.join(models, "mlm_straight")
    exported = translate.to_upstream(model_dir, str(tmp_path / "upstream"))
    again = translate.to_ours(
        exported,
        str(tmp_path / "models" / "again"),
        hparams={"method": "mlm", "embedding_size": 64},
        build=build_model_and_optimizer,
    )
    original = checkpoint_values(tf.train.latest_checkpoint(model_dir))
    converted = checkpoint_values(again)
    weights = [n for n in original if n.startswith("model/")]
    assert len(weights) > 20
    for name in weights:
        np.testing.assert_array_equal(converted[name], original[name], err_msg=name)
    names = {n for n, _ in tf.train.list_variables(exported)}
    assert "generator_predictions/output_bias" in names and "discriminator_predictions/dense/kernel" in names
    assert not [n for n in names if n.startswith("generator/")]  # the discriminator's encoder only
