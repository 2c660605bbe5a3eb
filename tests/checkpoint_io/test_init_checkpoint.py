"""init_checkpoint: continued pre-training starts from a checkpoint's weights with a fresh optimizer."""

from __future__ import annotations

import json
import os
import re

import numpy as np
import pytest
import tensorflow as tf

from electra_tf import checkpoint_io
from pretrain import run_pretraining
from tests.checkpoint_io.helpers import TINY_SHAPES, make_upstream_checkpoint
from tests.helpers import TINY_MODEL, assert_one_line, call_tool


@pytest.mark.slow
def test_first_step_starts_from_the_checkpoint_weights_at_step_0(init_run):
    upstream, init_dir, model_dir, stdout = init_run
    assert f"restored 82 variables from {init_dir}/ckpt-777 (ours, step 777)" in stdout
    # The first update runs at learning rate 0 (warm-up), so ckpt-1 holds the weights it started from.
    first = checkpoint_io.read_checkpoint_arrays(os.path.join(model_dir, "ckpt-1"))
    assert first.step == 1  # a fresh optimizer: step 0 before the first update
    weights = {n: v for n, v in first.arrays.items() if not n.endswith(("/adam_m", "/adam_v"))}
    assert sorted(weights) == sorted(n for n in upstream if n != "global_step")
    for name, value in weights.items():
        assert np.array_equal(value, upstream[name]), name
    assert np.abs(first.arrays["electra/embeddings/word_embeddings/adam_v"]).max() > 0  # a real step ran
    last = checkpoint_io.read_checkpoint_arrays(model_dir)
    assert last.step == 3
    assert not np.array_equal(
        last.arrays["discriminator_predictions/dense/kernel"],
        upstream["discriminator_predictions/dense/kernel"],
    )


def _run(data_dir, model_name, init_checkpoint, **hparams) -> str:
    """run_pretraining in-process; returns what it printed."""
    hparams = dict(TINY_MODEL, num_train_steps=3, init_checkpoint=init_checkpoint, **hparams)
    _, stdout = call_tool(
        run_pretraining.run, data_dir=data_dir, model_name=model_name, hparams=json.dumps(hparams)
    )
    return stdout


@pytest.mark.slow
def test_mismatching_init_checkpoint_is_one_error_line_and_writes_nothing(
    synthetic_data_dir, init_run, tmp_path
):
    wide = make_upstream_checkpoint(tmp_path, **dict(TINY_SHAPES, generator_hidden=64))
    # (E = G = 64: that checkpoint's generator has no embeddings_project; the layers tell why)
    start = (
        "generator/encoder/layer_0/attention/self/query/kernel: "
        "checkpoint [64, 64] vs model [32, 32]: "
        "the checkpoint's generator hidden size is 64 but generator_hidden_size=0.25 gives 32"
    )
    with pytest.raises(ValueError, match="^" + re.escape(start)) as error:
        _run(synthetic_data_dir, "mismatch", wide)
    assert_one_line(error)
    assert not os.path.exists(os.path.join(synthetic_data_dir, "models", "mismatch"))

    # A model dir with a checkpoint resumes; init_checkpoint (even a mismatching one) is ignored.
    _, _, model_dir, _ = init_run
    resumed = _run(synthetic_data_dir, os.path.basename(model_dir), wide, do_train=False)
    assert f"init_checkpoint {wide} ignored: resuming from {model_dir}/ckpt-3" in resumed
    assert tf.train.latest_checkpoint(model_dir).endswith("ckpt-3")


@pytest.mark.slow
def test_a_second_stage_starts_from_a_unigram_runs_discriminator_with_a_fresh_generator(
    synthetic_data_dir,
):
    """Issue 27's two-stage run: the discriminator trained alone against unigram noise (stage 1) is
    the init_checkpoint of full ELECTRA (stage 2); the generator, absent from stage 1, starts fresh."""
    steps = dict(num_warmup_steps=1, learning_rate=1e-3, save_checkpoints_steps=1, log_every=1)
    _run(synthetic_data_dir, "stage1", "", method="unigram", **steps)
    stage1 = os.path.join(synthetic_data_dir, "models", "stage1")
    stdout = _run(synthetic_data_dir, "stage2", stage1, method="electra", **steps)
    assert f"{stage1}/ckpt-3" in stdout
    fresh = rf"\d+ variables \(e\.g\. generator\S*\) are not in the checkpoint {stage1}/ckpt-3"
    assert re.search(fresh, stdout)
    first = checkpoint_io.read_checkpoint_arrays(stage1).arrays
    second = checkpoint_io.read_checkpoint_arrays(
        os.path.join(synthetic_data_dir, "models", "stage2", "ckpt-1")  # lr 0 at the first update
    ).arrays

    def weights(arrays):
        return {n: v for n, v in arrays.items() if not n.endswith(("/adam_m", "/adam_v"))}

    generator = sorted(n for n in weights(second) if n.startswith("generator"))
    assert generator and not any(n.startswith("generator") for n in first)
    shared = sorted(set(weights(first)) & set(weights(second)))
    assert "electra/embeddings/word_embeddings" in shared
    assert sorted(set(weights(second)) - set(shared)) == generator  # nothing else starts fresh
    for name in shared:
        assert np.array_equal(first[name], second[name]), name
