"""Acceptance 5: peak memory does not grow with corpus size (the build streams)."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import REPO, corpus_file
from tests.data.helpers import wiki_documents_by_regex

# Runs the CLI in-process (TensorFlow imported first) and prints the peak of Python-level
# allocations during the build (tracemalloc): text lines, token ids and records all live there.
_MEASURE = (
    "import runpy, sys, tracemalloc\n"
    "import tensorflow, tensorflow_text\n"
    "sys.argv = ['build_pretraining_dataset.py'] + sys.argv[1:]\n"
    "tracemalloc.start()\n"
    "try:\n"
    "    runpy.run_path('data_prep/build_pretraining_dataset.py', run_name='__main__')\n"
    "except SystemExit as e:\n"
    "    assert not e.code, e.code\n"
    "print('PEAK_PY_BYTES', tracemalloc.get_traced_memory()[1])\n"
)


def _peak_python_bytes(corpus: str, vocab: str, out: str) -> int:
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            _MEASURE,
            f"--corpus_dir={corpus}",
            f"--vocab_file={vocab}",
            f"--output_dir={out}",
            "--chunk_mb=2",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return int(proc.stdout.split("PEAK_PY_BYTES")[-1])


def test_peak_memory_flat_from_2_to_20_mb(shared_corpus, bert_vocab_file, tmp_path):
    docs = [d for i in range(20) for d in wiki_documents_by_regex(corpus_file(i)) if d]
    text = "\n\n".join("\n".join(d) for d in docs) + "\n"
    small, large = tmp_path / "small.txt", tmp_path / "large.txt"
    large.write_text(text, encoding="utf-8")
    small.write_text(text[: len(text) // 10], encoding="utf-8")
    assert os.path.getsize(large) > 18e6
    small_peak = _peak_python_bytes(str(small), bert_vocab_file, str(tmp_path / "o1"))
    large_peak = _peak_python_bytes(str(large), bert_vocab_file, str(tmp_path / "o2"))
    print(
        f"peak Python allocations: {small_peak / 1e6:.1f} MB (2 MB corpus), {large_peak / 1e6:.1f} MB (20 MB)"
    )
    # Holding the 10x larger corpus (its text, ids or ~14 MB of records) would add well over
    # 20 MB; streaming 2 MB ranges keeps the peak where the small corpus has it.
    assert large_peak < 1.25 * small_peak, (small_peak, large_peak)
