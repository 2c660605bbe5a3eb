"""Pre-training records → batches, as upstream ELECTRA reads them (and checkpointable).

Files matching the pattern are shuffled (seeded), read interleaved, records shuffled in a
buffer (seeded) and repeated, then parsed with upstream's fixed-length schema. The iterator
over this dataset is saved in the checkpoint, so a resumed run continues the same stream.
"""

from __future__ import annotations

import glob

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
