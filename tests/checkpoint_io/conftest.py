"""A synthetic pre-training data dir (vocab + random records; no ../shared needed), built once, and
a short pre-training run from an init_checkpoint on it."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from electra_tf.data.schema import example_features, serialize_example

# TINY_SHAPES re-exported for tests/pretraining/methods/test_noise_and_emb_gen.py (helpers has it).
from tests.checkpoint_io.helpers import SEQ_LENGTH, TINY_SHAPES, write_vocab  # noqa: F401


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


@pytest.fixture(scope="session")
def init_run(synthetic_data_dir, tmp_path_factory):
    """run_pretraining of TINY_MODEL for 3 steps (checkpoint every step) from an init_checkpoint:
    a synthetic upstream checkpoint (TINY_SHAPES, step 777) converted to our format, in-process.

    Returns (the upstream arrays, the init checkpoint's directory, the run's model dir, what the
    run printed).
    """
    from electra_tf.checkpoint_io import translate
    from electra_tf.pretraining.training_state import build_model_and_optimizer
    from pretrain import run_pretraining
    from tests.checkpoint_io.helpers import make_upstream_checkpoint, read_all
    from tests.helpers import TINY_MODEL, call_tool

    root = tmp_path_factory.mktemp("init_checkpoint")
    upstream = make_upstream_checkpoint(root / "upstream", seed=5, step=777, **TINY_SHAPES)
    init_dir = str(root / "models" / "init")
    translate.to_ours(upstream, init_dir, build=build_model_and_optimizer)
    hparams = dict(
        TINY_MODEL,
        num_train_steps=3,
        num_warmup_steps=1,  # the first update has learning rate 0: ckpt-1 holds the initial weights
        learning_rate=1e-3,
        log_every=1,
        save_checkpoints_steps=1,
        init_checkpoint=init_dir,
    )
    _, stdout = call_tool(
        run_pretraining.run, data_dir=synthetic_data_dir, model_name="from_init", hparams=json.dumps(hparams)
    )
    return read_all(upstream), init_dir, os.path.join(synthetic_data_dir, "models", "from_init"), stdout


@pytest.fixture(scope="session")
def trained_model_dir(init_run) -> str:
    """TINY_MODEL trained 3 steps by run_pretraining (non-zero Adam slots), vocab 300."""
    return init_run[2]
