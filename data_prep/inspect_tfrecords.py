"""Prints decoded examples and statistics of pre-training TFRecords.

    python data_prep/inspect_tfrecords.py $DATA_DIR/pretrain_tfrecords/pretrain_data.tfrecord-* \
        --vocab_file=$DATA_DIR/vocab.txt --num_examples=3
"""

from __future__ import annotations

import glob
import os

from absl import app, flags

from electra_tf.cli import absl_main, flag_values


def define_flags() -> None:
    """The command line's flags, one per keyword argument of `run` but `files` (the positional
    arguments); defined only when run as a program, so importing this module leaves absl alone."""
    flags.DEFINE_string(
        "vocab_file", None, "Vocabulary (default: vocab.txt beside the records or one level up)."
    )
    flags.DEFINE_integer("num_examples", 3, "Examples to print as text.")
    flags.DEFINE_integer("max_records", 0, "Stop the statistics after this many records (0 = all).")


PROGRAM = "inspect_tfrecords"


def _find_vocab(paths: list[str], vocab_file: str | None) -> str:
    if vocab_file:
        return vocab_file
    folder = os.path.dirname(os.path.abspath(paths[0]))
    for candidate in (os.path.join(folder, "vocab.txt"), os.path.join(os.path.dirname(folder), "vocab.txt")):
        if os.path.isfile(candidate):
            return candidate
    raise ValueError(f"no vocab.txt beside {paths[0]} or one level up; pass --vocab_file")


def run(files: list[str], vocab_file: str | None = None, num_examples: int = 3, max_records: int = 0) -> None:
    """The tool as a plain function: `files` are the positional arguments (paths or globs), the
    keyword arguments the flags; prints the examples and statistics. Bad input raises ValueError
    (a bad record: RecordError, naming its file and index)."""
    from electra_tf.data.record_reader import RecordStats, decode_example, iter_records
    from electra_tf.tokenization import load_vocab

    paths = sorted({p for pattern in files for p in (glob.glob(pattern) or [pattern])})
    if not paths:
        raise ValueError("no record files given: inspect_tfrecords.py FILE [FILE ...]")
    vocab = load_vocab(_find_vocab(paths, vocab_file))
    ids = {t: i for i, t in enumerate(vocab)}
    stats = RecordStats()
    for path, index, features in iter_records(paths):
        if stats.records < num_examples:
            print(f"--- {os.path.basename(path)} #{index}\n{decode_example(features, vocab)}")
        stats.add(features, ids["[CLS]"], ids["[SEP]"], ids["[UNK]"])
        if max_records and stats.records >= max_records:
            break
    print(f"--- statistics over {len(paths)} file(s)")
    for line in stats.lines():
        print(line)


main = absl_main(PROGRAM, lambda files: run(**flag_values(run, files=files)), positional_args=True)


if __name__ == "__main__":
    define_flags()
    app.run(main)
