"""Shared test fixtures: paths to ../shared data (tests skip cleanly when it is absent), the
session's tiny data dir, and the `slow` marker (`make test-fast` leaves those tests out)."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.helpers import CORPUS_DIR, GLUE_DIR, VOCAB_FILE, build_once, corpus_file

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# Deterministic TF kernels: tests compare runs bit for bit (e.g. straight vs resumed training).
os.environ.setdefault("TF_DETERMINISTIC_OPS", "1")


def pytest_collection_modifyitems(config, items) -> None:
    """The tests marked slow first, in their files' order: with `make test`'s `--dist worksteal`
    the long ones start at once and the short ones fill the gaps at the end, instead of one worker
    finishing a minute-long test alone."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def pytest_configure(config) -> None:
    config.addinivalue_line(
        "markers",
        "slow: tens of seconds or more on 2 busy cores (trains, fine-tunes or builds real data); "
        "`make test-fast` runs -m 'not slow'",
    )


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


@pytest.fixture(scope="session")
def glue_dir() -> str:
    if not os.path.isdir(os.path.join(GLUE_DIR, "RTE")):
        pytest.skip(f"shared GLUE data not present at {GLUE_DIR}")
    return GLUE_DIR


@pytest.fixture(scope="session")
def wiki_data_dir(shared_corpus, tmp_path_factory) -> str:
    """A small real pre-training data dir (2 Wikipedia shards, learned 2000-token vocab), built
    in-process once per run (for all xdist workers) and shared by the pretrain, finetune and
    checkpoint tests. Tests write only under models/<a name of their own>."""

    def build(data_dir: str) -> None:
        from data_prep import build_pretraining_dataset

        corpus = os.path.join(data_dir, "corpus")
        os.mkdir(corpus)
        for i in (1, 2):
            shutil.copy(corpus_file(i), corpus)
        records = os.path.join(data_dir, "pretrain_tfrecords")
        build_pretraining_dataset.run(
            corpus_dir=corpus, output_dir=records, learn_vocab_size=2000, max_seq_length=64
        )
        os.replace(os.path.join(records, "vocab.txt"), os.path.join(data_dir, "vocab.txt"))

    return build_once(tmp_path_factory, "wiki_data", build)


@pytest.fixture(autouse=True)
def float32_unless_asked(monkeypatch):
    """In-process, `"mixed_precision": "auto"` resolves to float32 whatever the machine, as the
    float32 references of the tests expect; tests of bfloat16 ask for it (or patch this back)."""
    from electra_tf import precision

    monkeypatch.setattr(precision, "native_bfloat16", lambda: (False, "tests: float32 unless asked"))
