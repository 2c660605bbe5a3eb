"""Real processes on localhost: `run_pretraining.py` stopped by SIGTERM from outside, and
`--strategy=multi_worker_mirrored` with two worker processes (TF_CONFIG): equal to one process on
the same global batch, only the chief's files in the model dir, and a killed worker + restart
resuming from the last checkpoint. Bounded: every wait has a timeout."""

from __future__ import annotations

import glob
import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pytest

from tests.helpers import REPO, TINY_MODEL
from tests.pretrain.helpers import pretrain, read_scalars

# No dropout: each replica draws its own dropout masks (as in any data-parallel run), so only
# without it do two workers compute exactly what one process does. Masking and sampling are
# per-example seeded and agree either way.
NO_DROPOUT = {"hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0}
HPARAMS = dict(
    TINY_MODEL,
    model_hparam_overrides={**TINY_MODEL["model_hparam_overrides"], **NO_DROPOUT},
    train_batch_size=8,
    num_warmup_steps=0,
    learning_rate=1e-3,
    log_every=1,
    save_checkpoints_steps=5,
    diagnostic_examples=0,
)
TIMEOUT = 240


def _free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _start(data_dir: str, name: str, hparams: dict, worker: int | None = None, ports=()) -> subprocess.Popen:
    """run_pretraining.py as a process of its own; `worker`: its index in a cluster on `ports`."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    argv = [
        sys.executable,
        "pretrain/run_pretraining.py",
        f"--data_dir={data_dir}",
        f"--model_name={name}",
        f"--hparams={json.dumps(hparams)}",
    ]
    if worker is not None:
        cluster = {"worker": [f"localhost:{p}" for p in ports]}
        env["TF_CONFIG"] = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": worker}})
        argv.append("--strategy=multi_worker_mirrored")
    return subprocess.Popen(
        argv, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _wait_for_line(proc: subprocess.Popen, pattern: str, timeout: float = TIMEOUT) -> str:
    """Reads proc's stdout until a line matches `pattern`; fails on timeout or exit."""
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 1.0)
        if ready:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
            seen.append(line)
            if re.search(pattern, line):
                return line
    proc.kill()
    raise AssertionError(
        f"no line matching {pattern!r}; stdout: {''.join(seen)[-2000:]} {proc.stderr.read()[-2000:]}"
    )


def _finish(procs: list[subprocess.Popen]) -> list[tuple[int, str, str]]:
    """(exit code, stdout, stderr) of every process, killing them all after TIMEOUT seconds."""
    out = []
    for proc in procs:
        try:
            stdout, stderr = proc.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            for p in procs:
                p.kill()
            raise
        out.append((proc.returncode, stdout, stderr))
    return out


@pytest.mark.slow
def test_sigterm_from_outside_checkpoints_and_exits_75(wiki_data_dir):
    hparams = dict(HPARAMS, num_train_steps=10_000, save_checkpoints_steps=1000)
    proc = _start(wiki_data_dir, "sigterm_cli", hparams)
    _wait_for_line(proc, r"step 3/10000 ")
    proc.send_signal(signal.SIGTERM)
    code, _, stderr = _finish([proc])[0]
    assert code == 75, stderr[-2000:]
    last = stderr.strip().splitlines()[-1]
    step = int(
        re.fullmatch(r"run_pretraining: stopped by SIGTERM after step (\d+); checkpoint .*", last).group(1)
    )
    assert step >= 3
    model_dir = os.path.join(wiki_data_dir, "models", "sigterm_cli")
    assert os.path.exists(os.path.join(model_dir, f"ckpt-{step}.index")), os.listdir(model_dir)
    assert f"checkpoint {os.path.join(model_dir, f'ckpt-{step}')} written" in last


@pytest.mark.slow
def test_two_workers_equal_one_process_and_only_the_chief_writes(wiki_data_dir):
    hparams = dict(HPARAMS, num_train_steps=6)
    scratch_before = set(glob.glob(os.path.join(tempfile.gettempdir(), "electra-tf-worker-*")))
    ports = _free_ports(2)
    procs = [_start(wiki_data_dir, "two_workers", hparams, worker=i, ports=ports) for i in range(2)]
    for code, _, stderr in _finish(procs):
        assert code == 0, stderr[-3000:]
    pretrain(wiki_data_dir, "one_process", **hparams)
    models = os.path.join(wiki_data_dir, "models")
    two, one = (
        read_scalars(os.path.join(models, "two_workers")),
        read_scalars(os.path.join(models, "one_process")),
    )
    for tag in ("loss/total", "loss/mlm", "loss/disc", "acc/disc"):
        assert [s for s, _ in two[tag]] == [1, 2, 3, 4, 5, 6]
        for (_, a), (_, b) in zip(two[tag], one[tag], strict=True):
            assert abs(a - b) <= 1e-5 * max(abs(b), 1.0), (tag, two[tag], one[tag])
    files = sorted(os.listdir(os.path.join(models, "two_workers")))
    events = [f for f in files if f.startswith("events.out.tfevents")]
    assert len(events) == 1  # the chief's
    assert sorted(set(files) - set(events)) == [
        ".run.lock",
        "checkpoint",
        "ckpt-5.data-00000-of-00001",
        "ckpt-5.index",
        "ckpt-6.data-00000-of-00001",
        "ckpt-6.index",
        "hparams.json",
    ]
    # the other worker's checkpoints went to a scratch folder that is gone
    assert set(glob.glob(os.path.join(tempfile.gettempdir(), "electra-tf-worker-*"))) <= scratch_before


@pytest.mark.slow
def test_a_killed_worker_and_a_restart_of_both_resume_from_the_last_checkpoint(wiki_data_dir):
    hparams = dict(HPARAMS, num_train_steps=14)
    ports = _free_ports(2)
    procs = [_start(wiki_data_dir, "killed_worker", hparams, worker=i, ports=ports) for i in range(2)]
    _wait_for_line(procs[0], r"step 7/14 ")
    procs[1].kill()  # SIGKILL: no checkpoint, no clean-up
    procs[0].kill()  # its peer is gone: the cluster is restarted as a whole
    for p in procs:
        p.wait(timeout=60)
    model_dir = os.path.join(wiki_data_dir, "models", "killed_worker")
    assert os.path.exists(os.path.join(model_dir, "ckpt-5.index"))
    ports = _free_ports(2)
    procs = [_start(wiki_data_dir, "killed_worker", hparams, worker=i, ports=ports) for i in range(2)]
    results = _finish(procs)
    for code, _, stderr in results:
        assert code == 0, stderr[-3000:]
    chief_out = results[0][1]
    assert f"resumed from {os.path.join(model_dir, 'ckpt-5')} at step 5" in chief_out
    assert "step 14/14 " in chief_out and "step 5/14 " not in chief_out
    assert sorted(s for s, _ in read_scalars(model_dir)["loss/total"])[-1] == 14
