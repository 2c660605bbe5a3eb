"""Helpers shared by the test modules: paths to ../shared data, the tiny model's hparams, and
calling a command-line tool's `run(...)` in-process (or, for the smoke tests, the real program)."""

from __future__ import annotations

import contextlib
import fcntl
import io
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.environ.get("ELECTRA_TF_SHARED", os.path.join(os.path.dirname(REPO), "shared"))
CORPUS_DIR = os.path.join(SHARED, "data", "corpus", "AA")
VOCAB_FILE = os.path.join(SHARED, "data", "vocab", "vocab.txt")
GLUE_DIR = os.path.join(SHARED, "data", "glue_data")


def corpus_file(i: int) -> str:
    return os.path.join(CORPUS_DIR, f"wiki_{i:02d}")


# The model of the pre-training, fine-tuning and checkpoint tests (on the session's wiki_data_dir:
# 2 Wikipedia shards, a learned 2000-token vocab).
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


def build_once(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[str], None]) -> str:
    """A folder `name` that `build(folder)` fills once per test run: under pytest-xdist the first
    worker to ask builds it in the run's shared temp folder (under a file lock) and the others
    wait for it and reuse it. For session fixtures that every worker needs (e.g. a data dir)."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # shared by the workers of this run
    folder, done = root / name, root / f"{name}.done"
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)  # a build that failed half-way
            folder.mkdir()
            build(str(folder))
            done.touch()
    return str(folder)


def call_tool(run: Callable[..., Any], **kwargs: Any) -> tuple[Any, str]:
    """A command-line tool's `run(**kwargs)` in this process (keyword arguments = its flags).
    Returns (its result, what it printed on stdout); bad input raises as `run` does."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        result = run(**kwargs)
    return result, out.getvalue()


def assert_one_line(error: pytest.ExceptionInfo) -> None:
    """The message a tool's CLI prints as its one `<program>: error: ...` line is one line."""
    assert "\n" not in str(error.value), str(error.value)


def run_program(*argv: str, timeout: int = 600) -> subprocess.CompletedProcess:
    """`python *argv` from the repository (a script path, or "-m", module): the real program, its
    output as text. Only the CLI smoke tests and the programs that need a fresh TensorFlow use it."""
    return subprocess.run([sys.executable, *argv], capture_output=True, text=True, timeout=timeout, cwd=REPO)
