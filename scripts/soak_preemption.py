"""Soak test of preemption (not a unit test): a tiny pre-training run is sent SIGTERM at random
moments and restarted each time, as a preemptible VM's supervisor would, until it finishes; its
final checkpoint is then compared with an uninterrupted run of the same command.

    python scripts/soak_preemption.py --data_dir=$DATA_DIR --minutes=15 [--num_train_steps=3000]

$DATA_DIR holds pretrain_tfrecords/ and vocab.txt (e.g. `make demo`'s data dir). Writes
models/soak_straight and models/soak_interrupted there (removed first) and prints a report: the
interruptions survived (by exit code), the checkpoint step before and after each, and the largest
difference of any tensor between the two final checkpoints.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import time

import numpy as np
from absl import app, flags

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = {
    "embedding_size": 64,
    "model_hparam_overrides": {
        "hidden_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "intermediate_size": 256,
    },
    "max_seq_length": 64,
    "train_batch_size": 16,
    "num_warmup_steps": 100,
    "learning_rate": 1e-3,
    "log_every": 50,
    "save_checkpoints_steps": 100,
    "keep_checkpoint_max": 2,
    "mixed_precision": False,
    "diagnostic_examples": 0,
}


def define_flags() -> None:
    flags.DEFINE_string("data_dir", None, "Holds pretrain_tfrecords/ and vocab.txt; models/ is written.")
    flags.DEFINE_float("minutes", 15.0, "Wall-clock budget of the interrupted run (restarts included).")
    flags.DEFINE_integer("num_train_steps", 3000, "Steps of both runs.")
    flags.DEFINE_float("min_seconds", 5.0, "Shortest time between a (re)start and its SIGTERM.")
    flags.DEFINE_float("max_seconds", 60.0, "Longest time between a (re)start and its SIGTERM.")
    flags.DEFINE_integer("seed", 0, "Seed of the interruption times.")


def _command(data_dir: str, name: str, steps: int) -> list[str]:
    hparams = json.dumps(dict(TINY, num_train_steps=steps))
    script = os.path.join(REPO, "pretrain", "run_pretraining.py")
    return [sys.executable, script, f"--data_dir={data_dir}", f"--model_name={name}", f"--hparams={hparams}"]


def _final_values(model_dir: str) -> dict[str, np.ndarray]:
    import tensorflow as tf

    reader = tf.train.load_checkpoint(model_dir)
    skip = ("_CHECKPOINTABLE_OBJECT_GRAPH", "save_counter")
    return {
        name: reader.get_tensor(name)
        for name, dtype in reader.get_variable_to_dtype_map().items()
        if dtype != tf.variant and not any(s in name for s in skip)
    }


def _latest_step(model_dir: str) -> int:
    path = os.path.join(model_dir, "checkpoint")
    if not os.path.exists(path):
        return 0
    with open(path, encoding="utf-8") as f:
        first = f.readline()
    return int(first.rsplit("-", 1)[-1].strip().strip('"'))


def main(argv) -> None:
    del argv
    cfg = flags.FLAGS
    data_dir, steps = cfg.data_dir, cfg.num_train_steps
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    for name in ("soak_straight", "soak_interrupted"):
        shutil.rmtree(os.path.join(data_dir, "models", name), ignore_errors=True)

    start = time.monotonic()
    subprocess.run(_command(data_dir, "soak_straight", steps), env=env, check=True, capture_output=True)
    straight_minutes = (time.monotonic() - start) / 60
    print(f"soak: uninterrupted run: {steps} steps in {straight_minutes:.1f} min", flush=True)

    rng = random.Random(cfg.seed)
    interrupted_dir = os.path.join(data_dir, "models", "soak_interrupted")
    codes: dict[int, int] = {}
    restarts = 0
    start = time.monotonic()
    while True:
        before = _latest_step(interrupted_dir)
        proc = subprocess.Popen(
            _command(data_dir, "soak_interrupted", steps),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        wait = rng.uniform(cfg.min_seconds, cfg.max_seconds)
        out_of_time = time.monotonic() - start > cfg.minutes * 60
        try:
            proc.wait(timeout=None if out_of_time else wait)
        except subprocess.TimeoutExpired:
            proc.send_signal(15)  # SIGTERM
            proc.wait()
        stderr = proc.stderr.read()
        codes[proc.returncode] = codes.get(proc.returncode, 0) + 1
        if proc.returncode == 0:
            break
        if proc.returncode not in (75, -15):  # -15: the signal came before training installed its handler
            raise SystemExit(f"soak: run failed with exit {proc.returncode}: {stderr[-2000:]}")
        restarts += 1
        after = _latest_step(interrupted_dir)
        print(
            f"soak: interruption {restarts} after {wait:.0f} s: exit {proc.returncode}, checkpoint step "
            f"{before} -> {after}",
            flush=True,
        )
    minutes = (time.monotonic() - start) / 60
    straight = _final_values(os.path.join(data_dir, "models", "soak_straight"))
    interrupted = _final_values(interrupted_dir)
    assert straight.keys() == interrupted.keys()
    worst_abs, worst_rel, worst, outside = 0.0, 0.0, "", 0
    for name, expected in straight.items():
        actual = interrupted[name]
        if expected.dtype.kind not in "fc":
            outside += int(not np.array_equal(actual, expected))
            continue
        diff = np.abs(actual.astype(np.float64) - expected)
        outside += int(not np.allclose(actual, expected, rtol=1e-5, atol=1e-6))
        if diff.max(initial=0.0) > worst_abs:
            worst_abs, worst = float(diff.max()), name
        worst_rel = max(worst_rel, float((diff / (np.abs(expected) + 1e-12)).max(initial=0.0)))
    report = {
        "num_train_steps": steps,
        "uninterrupted_minutes": round(straight_minutes, 2),
        "interrupted_minutes": round(minutes, 2),
        "interruptions": restarts,
        "exit_codes": {str(k): v for k, v in sorted(codes.items())},
        "final_step_interrupted": _latest_step(interrupted_dir),
        "final_step_straight": _latest_step(os.path.join(data_dir, "models", "soak_straight")),
        "tensors": len(straight),
        "tensors_outside_resume_tolerance": outside,
        "max_abs_diff": worst_abs,
        "max_abs_diff_tensor": worst,
        "max_rel_diff": worst_rel,
    }
    print("soak: " + json.dumps(report, indent=1), flush=True)


if __name__ == "__main__":
    define_flags()
    flags.mark_flag_as_required("data_dir")
    app.run(main)
