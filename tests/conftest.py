"""Shared test fixtures: paths to ../shared data (tests skip cleanly when it is absent)."""

from __future__ import annotations

import os
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
