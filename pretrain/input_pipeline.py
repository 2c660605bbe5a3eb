"""Pre-training records → batches, as upstream ELECTRA reads them (and checkpointable).

Files matching the pattern are shuffled (seeded), read interleaved, records shuffled in a
buffer (seeded) and repeated, then parsed with upstream's fixed-length schema. The iterator
over this dataset is saved in the checkpoint, so a resumed run continues the same stream.
"""

from __future__ import annotations

import glob

import numpy as np
import tensorflow as tf

from electra_tf.data.schema import feature_spec, parse_example_bytes, schema_problem

SHUFFLE_BUFFER = 10_000


class InputError(ValueError):
    """No usable records (the message names the pattern or file)."""


def list_record_files(pattern: str) -> list[str]:
    files = sorted(glob.glob(pattern))
    if not files:
        raise InputError(f"no pre-training records match {pattern}")
    return files


def check_record_files(files: list[str], max_seq_length: int) -> None:
    """Checks the first record of every file against the schema (clear errors before training)."""
    for path in files:
        try:
            first = next(iter(tf.data.TFRecordDataset(path).take(1).as_numpy_iterator()), None)
        except tf.errors.OpError as e:
            raise InputError(f"cannot read records from {path}: {e.message.splitlines()[0]}") from None
        if first is None:
            raise InputError(f"record file is empty: {path}")
        problem = schema_problem(parse_example_bytes(first), max_seq_length)
        if problem:
            raise InputError(f"{path}: first record: {problem}")


def pretraining_dataset(
    files: list[str], batch_size: int, max_seq_length: int, seed: int, training: bool = True
) -> tf.data.Dataset:
    """Batches of {input_ids, input_mask, segment_ids}: int32 [batch_size, max_seq_length]."""
    spec = feature_spec(max_seq_length)

    def parse(record):
        example = tf.io.parse_single_example(record, spec)
        return {name: tf.cast(value, tf.int32) for name, value in example.items()}

    ds = tf.data.Dataset.from_tensor_slices(files)
    if training:
        ds = ds.shuffle(len(files), seed=seed).repeat()
        # sequential interleave: the record order is a function of the seed alone
        ds = ds.interleave(tf.data.TFRecordDataset, cycle_length=min(4, len(files)))
        ds = ds.shuffle(SHUFFLE_BUFFER, seed=seed)
    else:
        ds = ds.flat_map(tf.data.TFRecordDataset)
    ds = ds.map(parse, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


def token_counts(files: list[str], vocab_size: int, max_records: int = 20_000) -> np.ndarray:
    """How often each id occurs among the real tokens of the first `max_records` records of
    `files` (read in file order): int64 [vocab_size], the records' unigram distribution."""
    counts = np.zeros([vocab_size], np.int64)
    spec = {name: tf.io.VarLenFeature(tf.int64) for name in ("input_ids", "input_mask")}
    for serialized in tf.data.TFRecordDataset(files).take(max_records).batch(1024):
        parsed = tf.io.parse_example(serialized, spec)
        _add_real_tokens(counts, parsed["input_ids"].values.numpy(), parsed["input_mask"].values.numpy())
    return counts


def dataset_token_counts(dataset: tf.data.Dataset, vocab_size: int, max_batches: int = 20) -> np.ndarray:
    """`token_counts` of the first `max_batches` batches of a pretraining-schema dataset."""
    counts = np.zeros([vocab_size], np.int64)
    for batch in dataset.take(max_batches):
        _add_real_tokens(counts, batch["input_ids"].numpy(), batch["input_mask"].numpy())
    return counts


def _add_real_tokens(counts: np.ndarray, ids: np.ndarray, mask: np.ndarray) -> None:
    """counts [V] += occurrences of each id among the real tokens (mask != 0) of ids (same shape)."""
    real = ids[(mask != 0) & (ids < len(counts))]
    counts += np.bincount(real, minlength=len(counts))
