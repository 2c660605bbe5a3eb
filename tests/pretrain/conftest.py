"""A small real pre-training data dir (2 Wikipedia shards, learned 2000-token vocab), built once."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.conftest import corpus_file, run_script

TINY_MODEL = {
    "embedding_size": 64,
    "generator_hidden_size": 0.25,
    "model_hparam_overrides": {
        "hidden_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "intermediate_size": 512,
    },
    "max_seq_length": 64,
    "train_batch_size": 32,
    "eval_batch_size": 32,
}


@pytest.fixture(scope="session")
def wiki_data_dir(shared_corpus, tmp_path_factory) -> str:
    data_dir = tmp_path_factory.mktemp("wiki_data")
    corpus = data_dir / "corpus"
    corpus.mkdir()
    for i in (1, 2):
        shutil.copy(corpus_file(i), corpus)
    records = data_dir / "pretrain_tfrecords"
    proc = run_script(
        "data_prep/build_pretraining_dataset.py",
        f"--corpus_dir={corpus}",
        f"--output_dir={records}",
        "--learn_vocab_size=2000",
        "--max_seq_length=64",
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    os.replace(records / "vocab.txt", data_dir / "vocab.txt")
    return str(data_dir)
