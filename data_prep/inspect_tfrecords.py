"""Prints decoded examples and statistics of pre-training TFRecords.

    python data_prep/inspect_tfrecords.py $DATA_DIR/pretrain_tfrecords/pretrain_data.tfrecord-* \
        --vocab_file=$DATA_DIR/vocab.txt --num_examples=3
"""

from __future__ import annotations

import glob
import os

from absl import app, flags

flags.DEFINE_string("vocab_file", None, "Vocabulary (default: vocab.txt beside the records or one level up).")
flags.DEFINE_integer("num_examples", 3, "Examples to print as text.")
flags.DEFINE_integer("max_records", 0, "Stop the statistics after this many records (0 = all).")

FLAGS = flags.FLAGS
PROGRAM = "inspect_tfrecords"


def _find_vocab(paths: list[str]) -> str:
    if FLAGS.vocab_file:
        return FLAGS.vocab_file
    folder = os.path.dirname(os.path.abspath(paths[0]))
    for candidate in (os.path.join(folder, "vocab.txt"), os.path.join(os.path.dirname(folder), "vocab.txt")):
        if os.path.isfile(candidate):
            return candidate
    raise ValueError(f"no vocab.txt beside {paths[0]} or one level up; pass --vocab_file")


def _main(files: list[str]) -> None:
    from electra_tf.data.inspect import RecordStats, decode_example, iter_records
    from electra_tf.tokenization import load_vocab

    paths = sorted({p for pattern in files for p in (glob.glob(pattern) or [pattern])})
    if not paths:
        raise ValueError("no record files given: inspect_tfrecords.py FILE [FILE ...]")
    vocab = load_vocab(_find_vocab(paths))
    ids = {t: i for i, t in enumerate(vocab)}
    stats = RecordStats()
    for path, index, features in iter_records(paths):
        if stats.records < FLAGS.num_examples:
            print(f"--- {os.path.basename(path)} #{index}\n{decode_example(features, vocab)}")
        stats.add(features, ids["[CLS]"], ids["[SEP]"], ids["[UNK]"])
        if FLAGS.max_records and stats.records >= FLAGS.max_records:
            break
    print(f"--- statistics over {len(paths)} file(s)")
    for line in stats.lines():
        print(line)


def main(argv) -> None:
    from electra_tf.data.cli import exit_on_bad_input

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    exit_on_bad_input(PROGRAM, lambda: _main(argv[1:]))  # RecordError is a ValueError


if __name__ == "__main__":
    app.run(main)
