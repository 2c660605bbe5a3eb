"""Runs that survive: a non-finite loss (stop at its step, nothing non-finite written; or skipped),
one writer per model dir, and a corrupt latest checkpoint (named, then the previous one is resumed).
SIGTERM at a step and the exact resume after it: test_run_pretraining.test_resume_continues_exactly
(in-process) and test_multi_worker.test_sigterm_from_outside_checkpoints_and_exits_75 (a real signal)."""

from __future__ import annotations

import glob
import os

import numpy as np
import pytest
import tensorflow as tf

from electra_tf.checkpoint_io import CheckpointError
from pretrain import trainer as trainer_lib
from pretrain.interruption import NonFiniteLoss
from pretrain.model_dir_lock import ModelDirInUse, ModelDirLock
from tests.pretrain.helpers import checkpoint_values, pretrain, read_scalars

# No diagnostics: what they measure is not under test here, and they would run at every log line.
COMMON = dict(
    num_train_steps=12,
    num_warmup_steps=3,
    learning_rate=1e-3,
    log_every=2,
    save_checkpoints_steps=5,
    diagnostic_examples=0,
)


def _checkpoints(model_dir: str) -> list[int]:
    return sorted(
        int(p.split("-")[-1].split(".")[0]) for p in glob.glob(os.path.join(model_dir, "ckpt-*.index"))
    )


def _poison_step(monkeypatch, step: int) -> None:
    """Makes every loss term and gradient of global step `step` NaN (a diverging run, on cue)."""
    original = trainer_lib.Trainer.loss_and_gradients

    def poisoned(self, batch, seed, training=True):
        scalars, grads, out = original(self, batch, seed, training)
        poison = tf.where(self.optimizer.iterations + 1 == step, np.float32("nan"), np.float32(1.0))
        losses = {k: v * poison for k, v in scalars["losses"].items()}
        return {**scalars, "losses": losses}, [tf.convert_to_tensor(g) * poison for g in grads], out

    monkeypatch.setattr(trainer_lib.Trainer, "loss_and_gradients", poisoned)


@pytest.mark.slow
def test_a_nonfinite_step_stops_the_run_there_and_nothing_nonfinite_is_written(wiki_data_dir, monkeypatch):
    model_dir = os.path.join(wiki_data_dir, "models", "nan_stop")
    _poison_step(monkeypatch, 8)
    with pytest.raises(NonFiniteLoss) as stopped:
        pretrain(wiki_data_dir, "nan_stop", **COMMON)
    message = str(stopped.value)
    assert "\n" not in message and stopped.value.code == 3
    assert message.startswith("step 8: non-finite loss mlm, loss disc, loss total, gradient norm;")
    assert message.endswith(f"last good checkpoint: {os.path.join(model_dir, 'ckpt-5')}")
    assert _checkpoints(model_dir) == [5]
    for step in _checkpoints(model_dir):
        for name, value in checkpoint_values(os.path.join(model_dir, f"ckpt-{step}")).items():
            if value.dtype.kind == "f":
                assert np.isfinite(value).all(), name


@pytest.mark.slow
def test_skip_nonfinite_steps_leaves_weights_and_slots_as_they_were(wiki_data_dir, monkeypatch):
    model_dir = os.path.join(wiki_data_dir, "models", "nan_skip")
    _poison_step(monkeypatch, 4)
    hparams = dict(COMMON, num_train_steps=6, save_checkpoints_steps=1, keep_checkpoint_max=10)
    out = pretrain(wiki_data_dir, "nan_skip", skip_nonfinite_steps=1, **hparams)
    assert "step 4: skipped, non-finite loss mlm, loss disc, loss total, gradient norm (1 of 1)" in out
    assert _checkpoints(model_dir) == [1, 2, 3, 4, 5, 6]
    values = {s: checkpoint_values(os.path.join(model_dir, f"ckpt-{s}")) for s in (3, 4, 5)}
    weights = [k for k in values[3] if k.startswith("model/") or "OPTIMIZER_SLOT" in k]
    assert len(weights) > 20
    for name in weights:  # step 4 changed nothing; step 5 did
        np.testing.assert_array_equal(values[4][name], values[3][name], err_msg=name)
    assert any(not np.array_equal(values[5][k], values[4][k]) for k in weights)
    assert read_scalars(model_dir)["train/skipped_steps"] == [(4, 1.0)]


def test_model_dir_lock_refuses_a_live_holder_and_takes_a_dead_ones(tmp_path):
    model_dir = str(tmp_path / "m")
    notes = []
    in_use = pytest.raises(ModelDirInUse, match=rf"in use by pid {os.getpid()} on .* since ")
    with ModelDirLock(model_dir, notes.append), in_use, ModelDirLock(model_dir, notes.append):
        pass
    # a lock file left by a process that died: its pid is recorded, but nobody holds the flock
    dead = os.fork()
    if dead == 0:
        os._exit(0)
    os.waitpid(dead, 0)
    os.makedirs(model_dir, exist_ok=True)
    with open(os.path.join(model_dir, ".run.lock"), "w") as f:
        f.write(f'{{"pid": {dead}, "host": "h", "started": "then"}}\n')
    with open(os.path.join(model_dir, "keep"), "w"):
        pass
    with ModelDirLock(model_dir, notes.append):
        pass
    assert notes == [
        f"note: took over {model_dir}/.run.lock from pid {dead} on h, "
        "which no longer holds it (a run that was killed)"
    ]


@pytest.mark.slow
def test_a_second_run_on_a_dir_in_use_is_refused_before_writing(wiki_data_dir):
    model_dir = os.path.join(wiki_data_dir, "models", "locked")
    with ModelDirLock(model_dir):
        with pytest.raises(ModelDirInUse, match="stop that run or choose another --model_name"):
            pretrain(wiki_data_dir, "locked", **COMMON)
        assert os.listdir(model_dir) == [".run.lock"]  # the refused run wrote nothing
    assert not os.path.exists(model_dir)  # nor did the holder: its lock leaves no trace


@pytest.mark.slow
def test_a_corrupt_latest_checkpoint_is_named_and_the_previous_one_resumed(wiki_data_dir):
    model_dir = os.path.join(wiki_data_dir, "models", "corrupt")
    pretrain(wiki_data_dir, "corrupt", stop_at_step=10, **COMMON)
    assert _checkpoints(model_dir) == [5, 10]
    data = glob.glob(os.path.join(model_dir, "ckpt-10.data-*"))[0]
    with open(data, "r+b") as f:  # flip bytes in the middle of the tensor data
        f.seek(os.path.getsize(data) // 2)
        chunk = f.read(64)
        f.seek(-len(chunk), os.SEEK_CUR)
        f.write(bytes(b ^ 0xFF for b in chunk))
    out = pretrain(wiki_data_dir, "corrupt", **COMMON)
    assert f"checkpoint {os.path.join(model_dir, 'ckpt-10')} (.index / .data-*) cannot be read (" in out
    assert f"resumed from {os.path.join(model_dir, 'ckpt-5')} at step 5" in out
    assert tf.train.latest_checkpoint(model_dir).endswith("ckpt-12")
    os.truncate(glob.glob(os.path.join(model_dir, "ckpt-12.data-*"))[0], 100)
    os.truncate(glob.glob(os.path.join(model_dir, "ckpt-10.data-*"))[0], 100)
    for path in glob.glob(os.path.join(model_dir, "ckpt-5.data-*")):
        os.truncate(path, 100)
    with pytest.raises(CheckpointError, match="no checkpoint in .* can be read"):
        pretrain(wiki_data_dir, "corrupt", **COMMON)
