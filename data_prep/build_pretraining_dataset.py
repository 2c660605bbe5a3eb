"""Writes pre-training TFRecords from plain text or WikiExtractor output.

    python data_prep/build_pretraining_dataset.py --corpus_dir=$CORPUS \
        --vocab_file=$DATA_DIR/vocab.txt --output_dir=$DATA_DIR/pretrain_tfrecords

Records have upstream ELECTRA's schema (input_ids / input_mask / segment_ids, each
max_seq_length int64) and packing. Without --vocab_file, --learn_vocab_size=N learns a
WordPiece vocabulary from the corpus first and writes it as vocab.txt beside the records.
"""

from __future__ import annotations

import random

from absl import app, flags

from electra_tf.cli import absl_main, define_packing_flags, flag_values


def define_flags() -> None:
    """The command line's flags, one per keyword argument of `run` (defined only when run as a
    program, so importing this module for `run` leaves absl's flag registry alone)."""
    define_packing_flags()
    flags.DEFINE_string("corpus_dir", None, "Directory (searched recursively) or glob of text files.")
    flags.DEFINE_string("vocab_file", None, "WordPiece vocabulary (one token per line).")
    flags.DEFINE_string("output_dir", None, "Where pretrain_data.tfrecord-XXXXX-of-YYYYY are written.")
    flags.DEFINE_bool("blanks_separate_docs", True, "Blank lines separate documents in plain text.")
    flags.DEFINE_integer("learn_vocab_size", None, "Learn a vocabulary of this size when no --vocab_file.")
    flags.DEFINE_integer("chunk_mb", 32, "Large files are processed in byte ranges of this size.")


PROGRAM = "build_pretraining_dataset"
# Serialized 128-token records take about 0.7 bytes per byte of English text (measured).
RECORD_BYTES_PER_TEXT_BYTE = 0.7


def run(
    corpus_dir: str | None,
    output_dir: str | None,
    vocab_file: str | None = None,
    max_seq_length: int = 128,
    num_processes: int = 1,
    blanks_separate_docs: bool = True,
    do_lower_case: bool = True,
    seed: int = 12345,
    num_out_files: int = 0,
    learn_vocab_size: int | None = None,
    chunk_mb: int = 32,
) -> None:
    """The tool as a plain function (keyword arguments = the flags); prints its progress.

    Bad input raises ValueError (CorpusError, VocabError, ...) and leaves the output folder as it was.
    """
    from electra_tf.data import corpus
    from electra_tf.data.build import PackingConfig, auto_num_out_files
    from electra_tf.data.cli import check_common_flags, run_build
    from electra_tf.tokenization import load_vocab

    if not corpus_dir or not output_dir:
        raise ValueError("--corpus_dir and --output_dir are required")
    check_common_flags(max_seq_length, num_processes, num_out_files)
    if chunk_mb < 1:
        raise ValueError(f"--chunk_mb must be at least 1, got {chunk_mb}")
    if vocab_file and learn_vocab_size:
        raise ValueError("give either --vocab_file or --learn_vocab_size, not both")
    if not vocab_file and not learn_vocab_size:
        raise ValueError("--vocab_file is required (or --learn_vocab_size=N to learn one)")
    vocab = load_vocab(vocab_file) if vocab_file else None
    paths = corpus.list_corpus_files(corpus_dir)
    units = corpus.plan_text_units(paths, blanks_separate_docs, chunk_mb << 20)
    random.Random(seed).shuffle(units)  # spread every part of the corpus over all shards
    extra_files = {}
    if vocab is None:
        vocab = _learn_vocab(units, learn_vocab_size, do_lower_case)
        extra_files["vocab.txt"] = "".join(t + "\n" for t in vocab)
    config = PackingConfig(tuple(vocab), max_seq_length, do_lower_case, seed)
    total = sum(u.size for u in units)
    num_out_files = num_out_files or auto_num_out_files(int(total * RECORD_BYTES_PER_TEXT_BYTE))
    print(
        f"{PROGRAM}: {len(paths)} file(s), {total / 1e6:,.1f} MB, {len(units)} unit(s) "
        f"-> {num_out_files} shard(s) in {output_dir}",
        flush=True,
    )
    run_build(units, total, config, output_dir, num_out_files, num_processes, extra_files)


def _learn_vocab(units, vocab_size: int, do_lower_case: bool) -> list[str]:
    from electra_tf.data.corpus import ReadStats
    from electra_tf.data.vocab_learning import count_words, learn_vocab

    print(f"{PROGRAM}: learning a {vocab_size}-token vocabulary", flush=True)
    stats = ReadStats()
    lines = (line for unit in units for doc in unit.documents(stats) for line in doc)
    vocab = learn_vocab(count_words(lines, do_lower_case), vocab_size)
    print(f"{PROGRAM}: learned {len(vocab)} tokens", flush=True)
    return vocab


main = absl_main(PROGRAM, lambda: run(**flag_values(run)))


if __name__ == "__main__":
    define_flags()
    app.run(main)
