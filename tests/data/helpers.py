"""Test helpers: read records independently and check which document an example came from."""

from __future__ import annotations

import collections
import glob
import os
import re

import numpy as np
import tensorflow as tf

FEATURES = ("input_ids", "input_mask", "segment_ids")


def write_bad_record(folder) -> str:
    """A one-record shard in `folder` whose input_mask is shorter than its input_ids (and a 5-token
    vocab.txt beside it); returns the shard's path."""
    path = folder / "pretrain_data.tfrecord-00000-of-00001"
    lists = {"input_ids": [1, 2, 3], "input_mask": [1, 1], "segment_ids": [0, 0, 0]}
    feature = {k: tf.train.Feature(int64_list=tf.train.Int64List(value=v)) for k, v in lists.items()}
    with tf.io.TFRecordWriter(str(path)) as w:
        w.write(tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString())
    (folder / "vocab.txt").write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n", encoding="utf-8")
    return path


def read_raw_records(output_dir: str) -> list[bytes]:
    """All serialized records of `output_dir`'s shards, shard by shard."""
    paths = sorted(glob.glob(os.path.join(output_dir, "pretrain_data.tfrecord-*")))
    return [r for p in paths for r in tf.data.TFRecordDataset(p).as_numpy_iterator()]


def parse_records(records: list[bytes]) -> dict[str, np.ndarray]:
    """Parses with tf.io.parse_example and a VarLen spec, so any length or dtype shows up."""
    spec = {name: tf.io.VarLenFeature(tf.int64) for name in FEATURES}
    parsed = tf.io.parse_example(tf.constant(records), spec)
    return {k: tf.sparse.to_dense(v).numpy() for k, v in parsed.items()}


def wiki_documents_by_regex(path: str) -> list[list[str]]:
    """Articles of a WikiExtractor file, parsed independently of the library's reader."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    docs = []
    for body in re.findall(r"<doc [^>]*>\n(.*?)</doc>", text, flags=re.S):
        lines = [line.strip() for line in body.split("\n")][1:]  # first line repeats the title
        docs.append([line for line in lines if line])
    return docs


class DocumentIndex:
    """Finds which documents can produce a segment as a concatenation of whole lines
    (the last one possibly truncated), as ELECTRA's packing does."""

    def __init__(self, tokenized_docs: list[list[list[int]]]):
        self.lines_of = [[tuple(line) for line in doc if line] for doc in tokenized_docs]
        # per document: first <= 3 tokens of a line -> the lines starting so
        self.prefixes: list[dict[tuple, list[tuple]]] = []
        self.docs_with_prefix: dict[tuple, set[int]] = collections.defaultdict(set)
        for doc_id, lines in enumerate(self.lines_of):
            table = collections.defaultdict(list)
            for line in lines:
                table[line[:3]].append(line)
                self.docs_with_prefix[line[:3]].add(doc_id)
            self.prefixes.append(table)

    def documents_of(self, segment: list[int], allowed: set[int] | None = None) -> set[int]:
        """Documents d such that `segment` is built from lines of d only."""
        seg = tuple(segment)
        if not seg:
            return set(allowed) if allowed is not None else set(range(len(self.lines_of)))
        if len(seg) < 3:
            candidates = allowed if allowed is not None else range(len(self.lines_of))
        else:
            candidates = {d for k in (1, 2, 3) for d in self.docs_with_prefix.get(seg[:k], ())}
            if allowed is not None:
                candidates &= allowed
        return {d for d in candidates if self._buildable(seg, d, 0, {})}

    def _buildable(self, seg: tuple, doc_id: int, pos: int, memo: dict) -> bool:
        if pos == len(seg):
            return True
        if pos in memo:
            return memo[pos]
        rest = seg[pos:]
        ok = len(rest) < 3 and any(line[: len(rest)] == rest for line in self.lines_of[doc_id])
        table = self.prefixes[doc_id]
        for line in (line for k in {1, 2, 3} for line in table.get(rest[:k], ()) if len(line[:3]) == k):
            if ok:
                break
            if rest[: len(line)] == line:
                ok = self._buildable(seg, doc_id, pos + len(line), memo)
            elif len(line) > len(rest) and line[: len(rest)] == rest:
                ok = True
        memo[pos] = ok
        return ok
