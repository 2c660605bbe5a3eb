"""The pre-training TFRecord schema, identical to upstream `build_pretraining_dataset.py`.

Each record is a `tf.train.Example` with three int64 list features of length
`max_seq_length`: `input_ids` (`[CLS] A [SEP] B [SEP]` then zeros), `input_mask` (1 on real
tokens) and `segment_ids` (0 on `[CLS] A [SEP]`, 1 on `B [SEP]`, 0 on padding).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

FEATURE_NAMES = ("input_ids", "input_mask", "segment_ids")
RECORD_PREFIX = "pretrain_data.tfrecord"


def shard_name(index: int, num_shards: int) -> str:
    """`pretrain_data.tfrecord-00003-of-00010`."""
    return f"{RECORD_PREFIX}-{index:05d}-of-{num_shards:05d}"


def example_features(
    first_segment: Sequence[int],
    second_segment: Sequence[int],
    max_seq_length: int,
    cls_id: int,
    sep_id: int,
) -> dict[str, list[int]]:
    """Packs two id segments into the three padded features (lists of `max_seq_length` ints).

    The segments must already be trimmed so the result fits (see `packing.ExampleBuilder`).
    """
    input_ids = [cls_id, *first_segment, sep_id]
    segment_ids = [0] * len(input_ids)
    if second_segment:
        input_ids += [*second_segment, sep_id]
        segment_ids += [1] * (len(second_segment) + 1)
    if len(input_ids) > max_seq_length:
        raise ValueError(f"example of {len(input_ids)} tokens exceeds max_seq_length={max_seq_length}")
    padding = [0] * (max_seq_length - len(input_ids))
    return {
        "input_ids": input_ids + padding,
        "input_mask": [1] * len(input_ids) + padding,
        "segment_ids": segment_ids + padding,
    }


def serialize_example(features: dict[str, Sequence[int]]) -> bytes:
    """Three int64 lists → serialized `tf.train.Example` bytes."""
    from tensorflow.core.example import example_pb2, feature_pb2

    example = example_pb2.Example(
        features=feature_pb2.Features(
            feature={
                name: feature_pb2.Feature(int64_list=feature_pb2.Int64List(value=features[name]))
                for name in FEATURE_NAMES
            }
        )
    )
    return example.SerializeToString(deterministic=True)  # map keys sorted: reproducible bytes


def parse_example_bytes(record: bytes) -> dict[str, np.ndarray]:
    """Serialized record → {feature name: int64 array}; every feature present, any length."""
    from tensorflow.core.example import example_pb2

    example = example_pb2.Example.FromString(record)
    out = {}
    for name, feature in example.features.feature.items():
        out[name] = np.asarray(feature.int64_list.value, dtype=np.int64)
    return out


def schema_problem(features: dict[str, np.ndarray], max_seq_length: int | None = None) -> str | None:
    """What is wrong with a parsed record (None if nothing): a missing feature, a length other
    than `max_seq_length` (when given), or features of unequal length."""
    missing = [n for n in FEATURE_NAMES if n not in features]
    if missing:
        return f"missing feature(s) {', '.join(missing)}"
    if max_seq_length is not None:
        for name in FEATURE_NAMES:
            if len(features[name]) != max_seq_length:
                return (
                    f"feature {name} has length {len(features[name])}, but max_seq_length is {max_seq_length}"
                )
    if len({len(features[n]) for n in FEATURE_NAMES}) != 1:
        return "feature lengths differ: " + ", ".join(f"{n}={len(features[n])}" for n in FEATURE_NAMES)
    return None


def feature_spec(max_seq_length: int) -> dict:
    """`tf.io.parse_single_example` spec of the schema (fixed-length int64 features)."""
    import tensorflow as tf

    return {name: tf.io.FixedLenFeature([max_seq_length], tf.int64) for name in FEATURE_NAMES}
