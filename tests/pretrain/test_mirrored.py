"""Acceptance 5: MirroredStrategy over two logical CPUs = one replica on the same global batch."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO, TINY_ADAPTIVE_EXITS, TINY_MODEL

# Runs in a fresh interpreter: logical devices must be configured before TensorFlow starts.
_COMPARE = r"""
import json, sys
import numpy as np
import tensorflow as tf
from pretrain.strategies import build_strategy
mirrored = build_strategy("mirrored", cpu_replicas=2)
from electra_tf import configs
from electra_tf.pretraining.model import SpecialTokens
from electra_tf.tokenization import load_vocab
from pretrain.input_pipeline import list_record_files
from pretrain.trainer import Trainer

data_dir = sys.argv[1]
vocab = load_vocab(data_dir + "/vocab.txt")
for hparams in json.loads(sys.argv[2]):  # one process for every method: TF starts once
    config = configs.config_from_hparams("m", data_dir, dict(hparams, vocab_size=len(vocab)))
    files = list_record_files(config.pretrain_tfrecords)
    batch = next(iter(tf.data.TFRecordDataset(files).batch(config.train_batch_size).map(
        lambda r: {k: tf.cast(v, tf.int32) for k, v in tf.io.parse_example(
            r, {n: tf.io.FixedLenFeature([config.max_seq_length], tf.int64)
                for n in ("input_ids", "input_mask", "segment_ids")}).items()})))
    seed = tf.constant([11, 12], tf.int64)
    results = {}
    for name, strategy in (("single", tf.distribute.get_strategy()), ("mirrored", mirrored)):
        trainer = Trainer(config, strategy, SpecialTokens.from_vocab(vocab), files, log=lambda _: None)
        if name == "mirrored":
            for var, value in zip(trainer.model.weights, weights, strict=True):
                var.assign(value)
        weights = [w.numpy() for w in trainer.model.weights]
        dist = strategy.experimental_distribute_dataset(tf.data.Dataset.from_tensors(batch))
        step = lambda bb: trainer.loss_and_gradients(bb, seed, training=False)[:2]
        fn = tf.function(lambda b: strategy.run(step, args=(b,)))
        scalars, grads = fn(next(iter(dist)))
        local = lambda x: strategy.experimental_local_results(x)[0]
        results[name] = ({k: float(local(v)) for k, v in scalars.items()},
                         [tf.convert_to_tensor(local(g)).numpy() for g in grads])
        results[name + "_replicas"] = strategy.num_replicas_in_sync
        if name == "mirrored":  # full steps: the method's after_step runs in cross-replica context
            for _ in range(2):
                trainer.run_step()
            results["method_scalars"] = trainer.model.summary_scalars({})
    (s1, g1), (s2, g2) = results["single"], results["mirrored"]
    assert results["mirrored_replicas"] == 2 and results["single_replicas"] == 1
    print(json.dumps({
        "method": config.method,
        "loss_single": s1["loss_total"], "loss_mirrored": s2["loss_total"],
        "max_loss_rel": max(abs(s1[k] - s2[k]) / max(abs(s1[k]), 1e-9) for k in s1),
        "max_grad_abs": max(float(np.abs(a - b).max()) for a, b in zip(g1, g2, strict=True)),
        "max_grad": max(float(np.abs(a).max()) for a in g1),
        "num_grads": len(g1),
        "method_scalars": results["method_scalars"],
    }), flush=True)
"""


ADAPTIVE = dict(
    TINY_ADAPTIVE_EXITS,
    adaptive_init_probs=[0.3, 0.7],
    exit_update_every=1,
)


def test_two_replicas_match_one_on_the_same_global_batch(wiki_data_dir):
    """electra and adaptive_exit_gen, in one subprocess."""
    base = dict(TINY_MODEL, train_batch_size=8, num_warmup_steps=0)
    proc = subprocess.run(
        [sys.executable, "-c", _COMPARE, wiki_data_dir, json.dumps([base, dict(base, **ADAPTIVE)])],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = [json.loads(line) for line in proc.stdout.strip().splitlines() if line.startswith("{")]
    assert [r["method"] for r in rows] == ["electra", "adaptive_exit_gen"]
    for r in rows:
        # Same masking and sampling (per-example seeds), losses normalised by global counts,
        # gradients summed over replicas: equal up to float32 summation order.
        assert r["loss_single"] > 10
        assert r["max_loss_rel"] < 1e-5, r
        assert r["max_grad_abs"] < 1e-5 * max(r["max_grad"], 1.0), r
        assert r["num_grads"] > 30
    # adaptive_exit_gen: two full mirrored steps moved P once (the first window only records).
    p = [rows[1]["method_scalars"]["adaptive/p_1"], rows[1]["method_scalars"]["adaptive/p_2"]]
    assert abs(sum(p) - 1) < 1e-6 and p != [0.3, 0.7], p
