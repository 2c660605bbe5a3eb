"""Helpers of the pre-training run tests: run_pretraining in-process, a run's TensorBoard scalars
and checkpoint values, exact-resume and conversion round-trip checks."""

from __future__ import annotations

import json
import os

import numpy as np
import tensorflow as tf

from pretrain import run_pretraining
from tests.helpers import TINY_MODEL, call_tool

BASELINE_SCALARS = {
    "loss/total",
    "loss/mlm",
    "loss/disc",
    "acc/mlm",
    "acc/sampled_mlm",
    "acc/disc",
    "disc/auc",
    "disc/precision",
    "disc/recall",
    "lr",
    "perf/steps_per_sec",
    "perf/examples_per_sec",
}


def pretrain(data_dir: str, model_name: str, stop_at_step: int | None = None, **hparams) -> str:
    """`run_pretraining.run` of TINY_MODEL with `hparams` over it, in-process; returns what it
    printed (bad input raises)."""
    _, out = call_tool(
        run_pretraining.run,
        data_dir=data_dir,
        model_name=model_name,
        hparams=json.dumps({**TINY_MODEL, **hparams}),
        stop_at_step=stop_at_step,
    )
    return out


def read_scalars(model_dir: str) -> dict[str, list[tuple[int, float]]]:
    curves: dict[str, list[tuple[int, float]]] = {}
    for path in sorted(tf.io.gfile.glob(os.path.join(model_dir, "events.out.tfevents.*"))):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                curves.setdefault(value.tag, []).append((event.step, float(tf.make_ndarray(value.tensor))))
    return curves


def checkpoint_values(model_dir: str) -> dict[str, np.ndarray]:
    reader = tf.train.load_checkpoint(model_dir)
    dtypes = reader.get_variable_to_dtype_map()
    skip = ("_CHECKPOINTABLE_OBJECT_GRAPH", "save_counter")  # bookkeeping: how many saves were made
    return {
        name: reader.get_tensor(name)
        for name, dtype in dtypes.items()
        if dtype != tf.variant and not any(s in name for s in skip)
    }


def assert_same_values(expected: dict[str, np.ndarray], actual: dict[str, np.ndarray]) -> None:
    """Equal keys; floats to rtol 1e-5 / atol 1e-6 (a resumed run's re-traced step), others exactly."""
    assert expected.keys() == actual.keys()
    for name in expected:
        if expected[name].dtype.kind in "fc":
            np.testing.assert_allclose(actual[name], expected[name], rtol=1e-5, atol=1e-6, err_msg=name)
        else:
            np.testing.assert_array_equal(actual[name], expected[name], err_msg=name)


def run_straight_and_resumed(data_dir: str, prefix: str, stop_at: int, **hparams) -> None:
    """Pre-trains `<prefix>_straight` in one run and `<prefix>_resumed` in two (stopping at step
    `stop_at`, then resuming), asserting that every run succeeds and the second one resumes."""
    pretrain(data_dir, f"{prefix}_straight", **hparams)
    pretrain(data_dir, f"{prefix}_resumed", stop_at_step=stop_at, **hparams)
    second = pretrain(data_dir, f"{prefix}_resumed", **hparams)
    assert f"at step {stop_at}" in second, second[-3000:]


def assert_round_trip(model_dir: str, tmp_path, hparams: dict, state_scope: str) -> tuple[str, set[str]]:
    """Exports `model_dir`'s checkpoint to upstream's format and back (with the method's `hparams`):
    every model weight comes back bit-for-bit (training state under `state_scope`, e.g. '/policy/',
    is ours only). Returns the export's prefix and variable names."""
    from electra_tf.checkpoint_io import translate
    from electra_tf.pretraining.training_state import build_model_and_optimizer

    exported = translate.to_upstream(model_dir, str(tmp_path / "upstream"))
    again = translate.to_ours(
        exported, str(tmp_path / "models" / "again"), hparams=hparams, build=build_model_and_optimizer
    )
    original = checkpoint_values(tf.train.latest_checkpoint(model_dir))
    converted = checkpoint_values(again)
    weights = [n for n in original if n.startswith("model/") and state_scope not in n]
    assert any("heads" in n for n in weights)
    for name in weights:
        np.testing.assert_array_equal(converted[name], original[name], err_msg=name)
    return exported, {n for n, _ in tf.train.list_variables(exported)}


def at_step(monkeypatch, step: int, action) -> None:
    """Runs `action(trainer)` right after the train step that reaches global step `step`."""
    from pretrain import trainer as trainer_lib

    original = trainer_lib.Trainer.run_step

    def run_step(self, stop=False):
        out = original(self, stop)
        if self.step == step:
            action(self)
        return out

    monkeypatch.setattr(trainer_lib.Trainer, "run_step", run_step)
