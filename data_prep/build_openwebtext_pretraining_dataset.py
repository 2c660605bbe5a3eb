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

from electra_tf.cli import absl_main, define_packing_flags, flag_values


def define_flags() -> None:
    """The command line's flags, one per keyword argument of `run` (defined only when run as a
    program, so importing this module for `run` leaves absl's flag registry alone)."""
    define_packing_flags()
    flags.DEFINE_string(
        "data_dir", None, "Holds openwebtext/ and vocab.txt; records go to pretrain_tfrecords/."
    )
    flags.DEFINE_string(
        "owt_dir", None, "Folder of urlsf_subset*.xz archives (default $DATA_DIR/openwebtext)."
    )
    flags.DEFINE_string(
        "owt_archive", None, "The unextracted release openwebtext.tar.xz (instead of --owt_dir)."
    )
    flags.DEFINE_string("vocab_file", None, "Vocabulary (default $DATA_DIR/vocab.txt).")
    flags.DEFINE_string("output_dir", None, "Output folder (default $DATA_DIR/pretrain_tfrecords).")


PROGRAM = "build_openwebtext_pretraining_dataset"
# xz packs web text ~3.5x; records take ~0.7 bytes per text byte.
RECORD_BYTES_PER_ARCHIVE_BYTE = 2.5


def run(
    data_dir: str | None = None,
    owt_dir: str | None = None,
    owt_archive: str | None = None,
    vocab_file: str | None = None,
    output_dir: str | None = None,
    max_seq_length: int = 128,
    num_processes: int = 1,
    do_lower_case: bool = True,
    seed: int = 12345,
    num_out_files: int = 0,
) -> None:
    """The tool as a plain function (keyword arguments = the flags); prints its progress.

    Bad input raises ValueError (CorpusError, VocabError, ...) and leaves the output folder as it was.
    """
    from electra_tf.data import openwebtext
    from electra_tf.data.build import PackingConfig, auto_num_out_files
    from electra_tf.data.cli import check_common_flags, run_build
    from electra_tf.tokenization import load_vocab

    def path(value: str | None, *default: str) -> str | None:
        if value:
            return value
        return os.path.join(data_dir, *default) if data_dir else None

    check_common_flags(max_seq_length, num_processes, num_out_files)
    vocab_file = path(vocab_file, "vocab.txt")
    output_dir = path(output_dir, "pretrain_tfrecords")
    if not vocab_file or not output_dir:
        raise ValueError("--data_dir is required (or all of --vocab_file, --output_dir and the corpus)")
    vocab = load_vocab(vocab_file)
    if owt_archive:
        if not os.path.isfile(owt_archive):
            raise ValueError(f"--owt_archive not found: {owt_archive}")
        units = openwebtext.stream_outer_archive(owt_archive)
        total = os.path.getsize(owt_archive)
        source = owt_archive
    else:
        owt_dir = path(owt_dir, "openwebtext")
        if not owt_dir:
            raise ValueError("--data_dir or --owt_dir is required")
        units = openwebtext.list_archives(owt_dir)
        random.Random(seed).shuffle(units)
        total = sum(u.size for u in units)
        source = f"{len(units)} archive(s) in {owt_dir}"
    num_out_files = num_out_files or auto_num_out_files(int(total * RECORD_BYTES_PER_ARCHIVE_BYTE))
    print(
        f"{PROGRAM}: {source}, {total / 1e6:,.1f} MB -> {num_out_files} shard(s) in {output_dir}", flush=True
    )
    config = PackingConfig(tuple(vocab), max_seq_length, do_lower_case, seed)
    run_build(units, total, config, output_dir, num_out_files, num_processes)


main = absl_main(PROGRAM, lambda: run(**flag_values(run)))


if __name__ == "__main__":
    define_flags()
    app.run(main)
