"""run_pretraining.py end to end: learning, TensorBoard scalars, resume, eval, bad input."""

from __future__ import annotations

import json
import os
import re
import shutil

import numpy as np
import pytest
import tensorflow as tf

from electra_tf import precision
from tests.conftest import TINY_MODEL, run_script

NATIVE_BFLOAT16 = precision.native_bfloat16  # unpatched: the subprocess detects the hardware

SCRIPT = "pretrain/run_pretraining.py"
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


def pretrain(data_dir: str, model_name: str, *flags: str, **hparams):
    return run_script(
        SCRIPT,
        f"--data_dir={data_dir}",
        f"--model_name={model_name}",
        f"--hparams={json.dumps({**TINY_MODEL, **hparams})}",
        *flags,
    )


def read_scalars(model_dir: str) -> dict[str, list[tuple[int, float]]]:
    curves: dict[str, list[tuple[int, float]]] = {}
    for path in sorted(tf.io.gfile.glob(os.path.join(model_dir, "events.out.tfevents.*"))):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                curves.setdefault(value.tag, []).append((event.step, float(tf.make_ndarray(value.tensor))))
    return curves


def test_tiny_model_learns_and_logs_every_scalar(wiki_data_dir):
    """Acceptance 3: loss/mlm falls, disc/auc > 0.7, every DESIGN §7 baseline scalar logged."""
    # Upstream's AdamW has no bias correction: its first updates are ~3x lr per weight, so a short
    # warm-up needs a small peak rate (2e-3 here collapses the discriminator to the prior).
    proc = pretrain(
        wiki_data_dir,
        "learn",
        num_train_steps=300,
        num_warmup_steps=50,
        learning_rate=1.5e-4,
        log_every=50,
        save_checkpoints_steps=150,
        mixed_precision="auto",  # the default: bfloat16 compute where the hardware has it natively
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    native, why = NATIVE_BFLOAT16()
    assert f"precision: {precision.describe(native)} (mixed_precision auto: {why})" in proc.stdout
    model_dir = os.path.join(wiki_data_dir, "models", "learn")
    curves = read_scalars(model_dir)
    assert set(curves) >= BASELINE_SCALARS, BASELINE_SCALARS - set(curves)
    assert [s for s, _ in curves["loss/mlm"]] == [50, 100, 150, 200, 250, 300]
    mlm = [v for _, v in curves["loss/mlm"]]
    assert mlm[-1] < mlm[0] - 0.5 and mlm == sorted(mlm, reverse=True), mlm
    auc = [v for _, v in curves["disc/auc"]]
    assert max(auc[-2:]) > 0.7, auc
    lr = dict(curves["lr"])
    assert lr[100] == pytest.approx(1.5e-4 * (1 - 99 / 300), rel=1e-4)  # warm-up over, linear decay
    assert lr[50] == pytest.approx(1.5e-4 * (1 - 49 / 300) * 49 / 50, rel=1e-4)  # overlapping warm-up
    log_lines = [x for x in proc.stdout.splitlines() if re.search(r"step \d+/300 .*steps/s \| ETA", x)]
    assert len(log_lines) == 6
    with open(os.path.join(model_dir, "hparams.json")) as f:
        saved = json.load(f)
    with open(os.path.join(wiki_data_dir, "vocab.txt")) as f:
        vocab_size = len(f.read().split())
    assert (
        saved["num_train_steps"] == 300 and saved["vocab_size"] == vocab_size and saved["method"] == "electra"
    )
    assert saved["mixed_precision"] is native  # "auto" resolved
    assert tf.train.latest_checkpoint(model_dir).endswith("ckpt-300")


def _checkpoint_values(model_dir: str) -> dict[str, np.ndarray]:
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
    straight = pretrain(data_dir, f"{prefix}_straight", **hparams)
    assert straight.returncode == 0, straight.stderr[-3000:]
    first = pretrain(data_dir, f"{prefix}_resumed", f"--stop_at_step={stop_at}", **hparams)
    assert first.returncode == 0, first.stderr[-3000:]
    second = pretrain(data_dir, f"{prefix}_resumed", **hparams)
    assert second.returncode == 0 and f"at step {stop_at}" in second.stdout, second.stderr[-3000:]


def assert_round_trip(model_dir: str, tmp_path, hparams: dict, state_scope: str) -> tuple[str, set[str]]:
    """Exports `model_dir`'s checkpoint to upstream's format and back (with the method's `hparams`):
    every model weight comes back bit-for-bit (training state under `state_scope`, e.g. '/policy/',
    is ours only). Returns the export's prefix and variable names."""
    from electra_tf.checkpoint_io import convert

    exported = convert.to_upstream(model_dir, str(tmp_path / "upstream"))
    again = convert.to_ours(exported, str(tmp_path / "models" / "again"), hparams=hparams)
    original = _checkpoint_values(tf.train.latest_checkpoint(model_dir))
    converted = _checkpoint_values(again)
    weights = [n for n in original if n.startswith("model/") and state_scope not in n]
    assert any("heads" in n for n in weights)
    for name in weights:
        np.testing.assert_array_equal(converted[name], original[name], err_msg=name)
    return exported, {n for n, _ in tf.train.list_variables(exported)}


def test_resume_continues_exactly(wiki_data_dir):
    """Acceptance 4: 20 steps straight == 10 steps, stop, resume, 10 more (weights, slots, RNG, data)."""
    common = dict(
        num_train_steps=20, num_warmup_steps=5, learning_rate=1e-3, log_every=5, save_checkpoints_steps=7
    )
    assert pretrain(wiki_data_dir, "straight", **common).returncode == 0
    first = pretrain(wiki_data_dir, "resumed", "--stop_at_step=10", **common)
    assert first.returncode == 0, first.stderr[-2000:]
    assert tf.train.latest_checkpoint(os.path.join(wiki_data_dir, "models", "resumed")).endswith("ckpt-10")
    second = pretrain(wiki_data_dir, "resumed", **common)
    assert second.returncode == 0, second.stderr[-2000:]
    assert "resumed from" in second.stdout and "at step 10" in second.stdout
    straight = _checkpoint_values(os.path.join(wiki_data_dir, "models", "straight"))
    resumed = _checkpoint_values(os.path.join(wiki_data_dir, "models", "resumed"))
    assert straight.keys() == resumed.keys()
    slots = [k for k in straight if "OPTIMIZER_SLOT" in k]
    assert len(slots) > 20 and any("rng" in k for k in straight)
    assert any(
        dtype == tf.variant
        for dtype in tf.train.load_checkpoint(os.path.join(wiki_data_dir, "models", "resumed"))
        .get_variable_to_dtype_map()
        .values()
    )  # iterator
    assert_same_values(straight, resumed)


def test_do_eval_writes_unsup_results(wiki_data_dir, tmp_path):
    held_out = tmp_path / "held_out.tfrecord"
    records = tf.io.gfile.glob(os.path.join(wiki_data_dir, "pretrain_tfrecords", "*"))
    with tf.io.TFRecordWriter(str(held_out)) as writer:
        for record in tf.data.TFRecordDataset(records).take(96).as_numpy_iterator():
            writer.write(record)
    proc = pretrain(
        wiki_data_dir,
        "evalrun",
        num_train_steps=10,
        num_warmup_steps=2,
        do_eval=True,
        num_eval_steps=5,
        log_every=5,
        eval_tfrecords=str(held_out),
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    path = os.path.join(wiki_data_dir, "models", "evalrun", "results", "unsup_results.txt")
    with open(path) as f:
        results = dict(line.split(" = ") for line in f.read().splitlines())
    assert {
        "disc_accuracy",
        "disc_auc",
        "disc_loss",
        "masked_lm_accuracy",
        "masked_lm_loss",
        "sampled_masked_lm_accuracy",
        "global_step",
    } <= set(results)
    assert float(results["global_step"]) == 10 and 0 <= float(results["disc_accuracy"]) <= 1
    assert float(results["eval_steps"]) == 3  # 96 held-out records = 3 batches of 32


@pytest.mark.parametrize(
    "case, pattern",
    [
        ("missing_data_dir", r"--data_dir not found: .*nowhere"),
        ("no_records", r"no pre-training records match .*pretrain_data\.tfrecord\*"),
        ("wrong_length", r"feature input_ids has length 64, but max_seq_length is 128"),
        ("unknown_hparam", r"unknown hparam\(s\) num_train_step; valid keys: .*num_train_steps"),
        ("missing_eval_records", r"no pre-training records match .*held_out_\*"),
        ("indivisible_batch", r"train_batch_size=15 is not divisible by the 2 replicas"),
    ],
)
def test_bad_input_one_line_nothing_written(case, pattern, wiki_data_dir, tmp_path):
    """Acceptance 6."""
    data_dir = tmp_path / "data"
    shutil.copytree(wiki_data_dir, data_dir, ignore=shutil.ignore_patterns("models", "corpus"))
    hparams, flags = dict(TINY_MODEL, num_train_steps=2), []
    if case == "missing_data_dir":
        data_dir = tmp_path / "nowhere"
    elif case == "no_records":
        shutil.rmtree(data_dir / "pretrain_tfrecords")
        (data_dir / "pretrain_tfrecords").mkdir()
    elif case == "wrong_length":
        hparams["max_seq_length"] = 128
    elif case == "unknown_hparam":
        hparams["num_train_step"] = 3
    elif case == "missing_eval_records":
        hparams.update(do_eval=True, eval_tfrecords=str(tmp_path / "held_out_*"))
    elif case == "indivisible_batch":
        hparams["train_batch_size"] = 15
        flags = ["--strategy=mirrored", "--cpu_replicas=2"]
    proc = run_script(
        SCRIPT, f"--data_dir={data_dir}", "--model_name=bad", f"--hparams={json.dumps(hparams)}", *flags
    )
    assert proc.returncode == 1
    lines = [x for x in proc.stderr.splitlines() if x.strip()]
    assert len(lines) == 1, proc.stderr[-2000:]
    assert lines[0].startswith("run_pretraining: error: ") and re.search(pattern, lines[0]), lines[0]
    assert not (data_dir / "models").exists()
