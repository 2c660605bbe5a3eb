"""Shared test fixtures: paths to ../shared data (tests skip cleanly when it is absent)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# Deterministic TF kernels: tests compare runs bit for bit (e.g. straight vs resumed training).
os.environ.setdefault("TF_DETERMINISTIC_OPS", "1")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.environ.get("ELECTRA_TF_SHARED", os.path.join(os.path.dirname(REPO), "shared"))
CORPUS_DIR = os.path.join(SHARED, "data", "corpus", "AA")
VOCAB_FILE = os.path.join(SHARED, "data", "vocab", "vocab.txt")


def corpus_file(i: int) -> str:
    return os.path.join(CORPUS_DIR, f"wiki_{i:02d}")


@pytest.fixture(scope="session")
def shared_corpus() -> str:
    if not os.path.isdir(CORPUS_DIR):
        pytest.skip(f"shared corpus not present at {CORPUS_DIR}")
    return CORPUS_DIR


@pytest.fixture(scope="session")
def bert_vocab_file() -> str:
    if not os.path.isfile(VOCAB_FILE):
        pytest.skip(f"shared BERT vocab not present at {VOCAB_FILE}")
    return VOCAB_FILE


def run_script(script: str, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    """Runs a repo script with this interpreter; returns the completed process (text output)."""
    return subprocess.run(
        [sys.executable, os.path.join(REPO, script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
    )


# A small real pre-training data dir (2 Wikipedia shards, learned 2000-token vocab), built once per
# session and shared by the pretrain, finetune and checkpoint tests.
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
    # float32: the runs are compared with float32 references (bit-exact resumes, 2 replicas vs 1),
    # and "auto" would pick bfloat16 on a machine with native bfloat16.
    "mixed_precision": False,
}
# adaptive_exit_gen on TINY_MODEL: one exit after each of the generator's 2 layers.
TINY_ADAPTIVE_EXITS = {"method": "adaptive_exit_gen", "exit_layers": [1, 2], "exit_loss_weights": [1.0, 2.0]}


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


@pytest.fixture(autouse=True)
def float32_unless_asked(monkeypatch):
    """In-process, `"mixed_precision": "auto"` resolves to float32 whatever the machine, as the
    float32 references of the tests expect; tests of bfloat16 ask for it (or patch this back)."""
    from electra_tf import precision

    monkeypatch.setattr(precision, "native_bfloat16", lambda: (False, "tests: float32 unless asked"))
