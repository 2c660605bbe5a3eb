"""Acceptance 5: MirroredStrategy over two logical CPUs = one replica on the same global batch."""

from __future__ import annotations

import json

import pytest

from electra_tf import configs
from tests.helpers import TINY_MODEL, run_program
from tests.pretraining.methods.helpers import TINY_ADAPTIVE_EXITS

ADAPTIVE = dict(
    TINY_ADAPTIVE_EXITS,
    adaptive_init_probs=[0.3, 0.7],
    exit_update_every=1,
)


@pytest.mark.slow
def test_two_replicas_match_one_on_the_same_global_batch(wiki_data_dir):
    """The baseline and a method with state (adaptive exits), in one subprocess
    (tests/programs/mirrored_vs_single.py: the logical CPU devices must be configured before
    TensorFlow starts)."""
    base = dict(TINY_MODEL, train_batch_size=8, num_warmup_steps=0)
    hparams = json.dumps([base, dict(base, **ADAPTIVE)])
    proc = run_program("-m", "tests.programs.mirrored_vs_single", wiki_data_dir, hparams, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = [json.loads(line) for line in proc.stdout.strip().splitlines() if line.startswith("{")]
    assert [r["method"] for r in rows] == [configs.BASELINE_METHOD, TINY_ADAPTIVE_EXITS["method"]]
    for r in rows:
        # Same masking and sampling (per-example seeds), losses normalised by global counts,
        # gradients summed over replicas: equal up to float32 summation order.
        assert r["loss_single"] > 10
        assert r["max_loss_rel"] < 1e-5, r
        assert r["max_grad_abs"] < 1e-5 * max(r["max_grad"], 1.0), r
        assert r["num_grads"] > 30
    # The adaptive exits: two full mirrored steps moved P once (the first window only records).
    p = [rows[1]["method_scalars"]["adaptive/p_1"], rows[1]["method_scalars"]["adaptive/p_2"]]
    assert abs(sum(p) - 1) < 1e-6 and p != [0.3, 0.7], p
