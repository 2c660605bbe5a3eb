"""Reads pre-training TFRecords back: decoded examples and corpus statistics."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence

import numpy as np

from electra_tf.data.schema import parse_example_bytes, schema_problem


class RecordError(ValueError):
    """A record that does not follow the schema (message names file and record)."""


def iter_records(paths: Sequence[str]) -> Iterator[tuple[str, int, dict[str, np.ndarray]]]:
    """(path, index in file, features) for every record, schema-checked."""
    import tensorflow as tf

    for path in paths:
        if not tf.io.gfile.exists(path):
            raise RecordError(f"no such file: {path}")
        for i, raw in enumerate(tf.data.TFRecordDataset(path).as_numpy_iterator()):
            features = parse_example_bytes(raw)
            problem = schema_problem(features)
            if problem:
                raise RecordError(f"{path} record {i}: {problem}")
            yield path, i, features


def decode_example(features: dict[str, np.ndarray], vocab: Sequence[str]) -> str:
    """The real tokens as text, segment B after ' || ' (WordPiece '##' pieces joined)."""
    n = int(features["input_mask"].sum())
    parts: list[list[str]] = [[], []]
    for token_id, segment in zip(features["input_ids"][:n], features["segment_ids"][:n], strict=True):
        parts[int(segment)].append(vocab[int(token_id)])
    return " || ".join(" ".join(p).replace(" ##", "") for p in parts if p)


@dataclasses.dataclass
class RecordStats:
    records: int = 0
    seq_length: int = 0
    real_tokens: int = 0
    unk_tokens: int = 0
    two_segment: int = 0
    malformed: int = 0  # not [CLS] … [SEP] ( … [SEP]) with a 1…1 0…0 mask

    def add(self, f: dict[str, np.ndarray], cls_id: int, sep_id: int, unk_id: int) -> None:
        ids, mask, seg = f["input_ids"], f["input_mask"], f["segment_ids"]
        n = int(mask.sum())
        self.records += 1
        self.seq_length = len(ids)
        self.real_tokens += n
        self.unk_tokens += int((ids[:n] == unk_id).sum())
        has_b = bool(seg[:n].any())
        self.two_segment += has_b
        ok = (
            n >= 2
            and mask[:n].all()
            and not mask[n:].any()
            and not ids[n:].any()
            and not seg[n:].any()
            and ids[0] == cls_id
            and ids[n - 1] == sep_id
            and (int((ids[:n] == sep_id).sum()) == (2 if has_b else 1))
        )
        if has_b:
            first_b = int(np.argmax(seg[:n]))
            ok = ok and ids[first_b - 1] == sep_id and seg[first_b:n].all()
        self.malformed += not ok

    def lines(self) -> list[str]:
        total = self.records * self.seq_length
        return [
            f"records: {self.records:,} (max_seq_length {self.seq_length})",
            f"tokens (real, incl. [CLS]/[SEP]): {self.real_tokens:,}",
            f"mean length: {self.real_tokens / max(self.records, 1):.1f}",
            f"padding share: {100.0 * (total - self.real_tokens) / max(total, 1):.2f}%",
            f"[UNK] share: {100.0 * self.unk_tokens / max(self.real_tokens, 1):.3f}%",
            f"two-segment examples: {100.0 * self.two_segment / max(self.records, 1):.1f}%",
            f"malformed examples: {self.malformed:,}",
        ]
