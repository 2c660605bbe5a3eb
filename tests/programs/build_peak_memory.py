"""Peak Python-level allocations (tracemalloc) of one build_pretraining_dataset run.

    python -m tests.programs.build_peak_memory CORPUS VOCAB_FILE OUTPUT_DIR CHUNK_MB

Prints `PEAK_PY_BYTES <n>`; tests/data/test_streaming_memory.py compares two corpus sizes. A
program of its own, so the peak is that of one build in a fresh interpreter (TensorFlow imported
before tracing starts): text lines, token ids and records all live in Python allocations.
"""

from __future__ import annotations

import sys
import tracemalloc

import tensorflow  # noqa: F401  (imported before tracing: its own allocations do not count)
import tensorflow_text  # noqa: F401

from data_prep import build_pretraining_dataset


def main(corpus: str, vocab_file: str, output_dir: str, chunk_mb: int) -> None:
    tracemalloc.start()
    build_pretraining_dataset.run(
        corpus_dir=corpus, vocab_file=vocab_file, output_dir=output_dir, chunk_mb=chunk_mb
    )
    print("PEAK_PY_BYTES", tracemalloc.get_traced_memory()[1], flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
