"""Acceptance 5: peak memory does not grow with corpus size (the build streams)."""

from __future__ import annotations

import os

import pytest

from tests.data.helpers import wiki_documents_by_regex
from tests.helpers import corpus_file, run_program


def _peak_python_bytes(corpus: str, vocab: str, out: str) -> int:
    """One build (1 MB ranges) in a fresh interpreter: tests/programs/build_peak_memory.py."""
    proc = run_program("-m", "tests.programs.build_peak_memory", corpus, vocab, out, "1")
    assert proc.returncode == 0, proc.stderr[-2000:]
    return int(proc.stdout.split("PEAK_PY_BYTES")[-1])


@pytest.mark.slow
def test_peak_memory_flat_from_1_to_10_mb(shared_corpus, bert_vocab_file, tmp_path):
    docs = [d for i in range(10) for d in wiki_documents_by_regex(corpus_file(i)) if d]
    text = "\n\n".join("\n".join(d) for d in docs) + "\n"
    small, large = tmp_path / "small.txt", tmp_path / "large.txt"
    large.write_text(text, encoding="utf-8")
    small.write_text(text[: len(text) // 10], encoding="utf-8")
    assert os.path.getsize(large) > 9e6
    small_peak = _peak_python_bytes(str(small), bert_vocab_file, str(tmp_path / "o1"))
    large_peak = _peak_python_bytes(str(large), bert_vocab_file, str(tmp_path / "o2"))
    print(
        f"peak Python allocations: {small_peak / 1e6:.1f} MB (1 MB corpus), {large_peak / 1e6:.1f} MB (10 MB)"
    )
    # Holding the 10x larger corpus (its text, ids or ~7 MB of records) would add well over
    # 10 MB; streaming 1 MB ranges keeps the peak where the small corpus has it.
    assert large_peak < 1.25 * small_peak, (small_peak, large_peak)
