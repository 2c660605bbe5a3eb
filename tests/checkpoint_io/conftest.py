"""A synthetic pre-training data dir (vocab + random records; no ../shared needed), built once."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from electra_tf.data.schema import example_features, serialize_example

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
WORDS = [
    "the",
    "quick",
    "brown",
    "fox",
    "jumps",
    "over",
    "lazy",
    "dog",
    "a",
    "cat",
    "sat",
    "on",
    "mat",
    "and",
    "ran",
    "far",
    "away",
]
SEQ_LENGTH = 64


def vocab_tokens(size: int) -> list[str]:
    """`size` tokens: the specials, some words, then fillers."""
    tokens = SPECIALS + WORDS + [f"##{c}" for c in "abcdefghijklmnopqrstuvwxyz"]
    tokens += [f"tok{i}" for i in range(size - len(tokens))]
    return tokens[:size]


def write_vocab(path, size: int) -> str:
    path.write_text("\n".join(vocab_tokens(size)) + "\n", encoding="utf-8")
    return str(path)


@pytest.fixture(scope="session")
def synthetic_data_dir(tmp_path_factory) -> str:
    """$DATA_DIR with vocab.txt (300 tokens) and 128 random records of length 64."""
    data_dir = tmp_path_factory.mktemp("synthetic_data")
    write_vocab(data_dir / "vocab.txt", 300)
    records = data_dir / "pretrain_tfrecords"
    records.mkdir()
    rng = np.random.default_rng(0)
    with tf.io.TFRecordWriter(str(records / "pretrain_data.tfrecord-00000-of-00001")) as writer:
        for _ in range(128):
            n = int(rng.integers(20, SEQ_LENGTH - 3))
            ids = rng.integers(5, 300, size=n).tolist()
            cut = n // 2
            writer.write(serialize_example(example_features(ids[:cut], ids[cut:], SEQ_LENGTH, 2, 3)))
    return str(data_dir)


TINY_SHAPES = dict(vocab=300, embedding=64, hidden=128, layers=2, intermediate=512, generator_hidden=32)


@pytest.fixture(scope="session")
def init_run(synthetic_data_dir, tmp_path_factory):
    """run_pretraining of TINY_MODEL for 3 steps (checkpoint every step) from an init_checkpoint:
    a synthetic upstream checkpoint (TINY_SHAPES, step 777) converted to our format.

    Returns (the upstream arrays, the init checkpoint's directory, the run's model dir, the run).
    """
    from electra_tf.checkpoint_io import convert
    from tests.checkpoint_io.helpers import make_upstream_checkpoint, read_all
    from tests.conftest import TINY_MODEL, run_script

    root = tmp_path_factory.mktemp("init_checkpoint")
    upstream = make_upstream_checkpoint(root / "upstream", seed=5, step=777, **TINY_SHAPES)
    init_dir = str(root / "models" / "init")
    convert.to_ours(upstream, init_dir)
    hparams = dict(
        TINY_MODEL,
        num_train_steps=3,
        num_warmup_steps=1,  # the first update has learning rate 0: ckpt-1 holds the initial weights
        learning_rate=1e-3,
        log_every=1,
        save_checkpoints_steps=1,
        init_checkpoint=init_dir,
    )
    proc = run_script(
        "pretrain/run_pretraining.py",
        f"--data_dir={synthetic_data_dir}",
        "--model_name=from_init",
        f"--hparams={json.dumps(hparams)}",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return read_all(upstream), init_dir, os.path.join(synthetic_data_dir, "models", "from_init"), proc
