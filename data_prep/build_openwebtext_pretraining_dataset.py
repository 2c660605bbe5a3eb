"""Writes pre-training TFRecords from the OpenWebText release, streaming its archives.

    python data_prep/build_openwebtext_pretraining_dataset.py --data_dir=$DATA_DIR \
        --num_processes=4

As upstream: reads $DATA_DIR/openwebtext/urlsf_subset*.xz (each an xz tar of .txt pages, one
document per page) and $DATA_DIR/vocab.txt, writes $DATA_DIR/pretrain_tfrecords/. Nothing is
extracted to disk. --owt_archive=openwebtext.tar.xz reads the unextracted release instead.
"""

from __future__ import annotations

import os
import random

from absl import app, flags

flags.DEFINE_string("data_dir", None, "Holds openwebtext/ and vocab.txt; records go to pretrain_tfrecords/.")
flags.DEFINE_string("owt_dir", None, "Folder of urlsf_subset*.xz archives (default $DATA_DIR/openwebtext).")
flags.DEFINE_string("owt_archive", None, "The unextracted release openwebtext.tar.xz (instead of --owt_dir).")
flags.DEFINE_string("vocab_file", None, "Vocabulary (default $DATA_DIR/vocab.txt).")
flags.DEFINE_string("output_dir", None, "Output folder (default $DATA_DIR/pretrain_tfrecords).")
flags.DEFINE_integer("max_seq_length", 128, "Tokens per example, including [CLS] and [SEP]s.")
flags.DEFINE_integer("num_processes", 1, "Worker processes (archives are processed in parallel).")
flags.DEFINE_bool("do_lower_case", True, "Lower-case and strip accents (uncased vocabularies).")
flags.DEFINE_integer("seed", 12345, "Seed of the packing randomness; same seed, same output.")
flags.DEFINE_integer("num_out_files", 0, "Output shards; 0 = one per ~150 MB of records.")

FLAGS = flags.FLAGS
PROGRAM = "build_openwebtext_pretraining_dataset"
# xz packs web text ~3.5x; records take ~0.7 bytes per text byte.
RECORD_BYTES_PER_ARCHIVE_BYTE = 2.5


def _path(flag_value: str | None, *default: str) -> str | None:
    if flag_value:
        return flag_value
    return os.path.join(FLAGS.data_dir, *default) if FLAGS.data_dir else None


def _main() -> None:
    from electra_tf.data import openwebtext
    from electra_tf.data.build import PackingConfig, auto_num_out_files
    from electra_tf.data.cli import check_common_flags, run_build
    from electra_tf.tokenization import load_vocab

    check_common_flags(FLAGS.max_seq_length, FLAGS.num_processes, FLAGS.num_out_files)
    vocab_file = _path(FLAGS.vocab_file, "vocab.txt")
    output_dir = _path(FLAGS.output_dir, "pretrain_tfrecords")
    if not vocab_file or not output_dir:
        raise ValueError("--data_dir is required (or all of --vocab_file, --output_dir and the corpus)")
    vocab = load_vocab(vocab_file)
    if FLAGS.owt_archive:
        if not os.path.isfile(FLAGS.owt_archive):
            raise ValueError(f"--owt_archive not found: {FLAGS.owt_archive}")
        units = openwebtext.stream_outer_archive(FLAGS.owt_archive)
        total = os.path.getsize(FLAGS.owt_archive)
        source = FLAGS.owt_archive
    else:
        owt_dir = _path(FLAGS.owt_dir, "openwebtext")
        if not owt_dir:
            raise ValueError("--data_dir or --owt_dir is required")
        units = openwebtext.list_archives(owt_dir)
        random.Random(FLAGS.seed).shuffle(units)
        total = sum(u.size for u in units)
        source = f"{len(units)} archive(s) in {owt_dir}"
    num_out_files = FLAGS.num_out_files or auto_num_out_files(int(total * RECORD_BYTES_PER_ARCHIVE_BYTE))
    print(
        f"{PROGRAM}: {source}, {total / 1e6:,.1f} MB -> {num_out_files} shard(s) in {output_dir}", flush=True
    )
    config = PackingConfig(tuple(vocab), FLAGS.max_seq_length, FLAGS.do_lower_case, FLAGS.seed)
    run_build(units, total, config, output_dir, num_out_files, FLAGS.num_processes)


def main(argv) -> None:
    del argv
    from electra_tf.data.cli import exit_on_bad_input

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    exit_on_bad_input(PROGRAM, _main)


if __name__ == "__main__":
    app.run(main)
