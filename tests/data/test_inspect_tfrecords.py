"""inspect_tfrecords.py: its statistics against numpy on the same records; bad records."""

from __future__ import annotations

import re

import numpy as np
import pytest

from data_prep import build_pretraining_dataset, inspect_tfrecords
from tests.data.helpers import parse_records, read_raw_records, write_bad_record
from tests.helpers import call_tool


def test_statistics_match_numpy(bert_vocab_file, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    text = "The quick brown fox jumps over the lazy dog. " * 5
    docs = [f"{text}\nZyxqwv {i} ☃ is odd.\n{text * (i % 4)}" for i in range(30)]
    (corpus / "a.txt").write_text("\n\n".join(docs), encoding="utf-8")
    out = tmp_path / "out"
    build_pretraining_dataset.run(
        corpus_dir=str(corpus), vocab_file=bert_vocab_file, output_dir=str(out), max_seq_length=64
    )
    _, stdout = call_tool(
        inspect_tfrecords.run,
        files=[str(out / "pretrain_data.tfrecord-*")],
        vocab_file=bert_vocab_file,
        num_examples=2,
    )
    f = parse_records(read_raw_records(str(out)))
    mask = f["input_mask"].astype(bool)
    n, length = f["input_ids"].shape
    stats = dict(re.findall(r"^([a-zA-Z ()\[\]/.,-]+): ([\d.,]+)", stdout, flags=re.M))
    assert int(stats["records"].replace(",", "")) == n and length == 64
    assert int(stats["tokens (real, incl. [CLS]/[SEP])"].replace(",", "")) == mask.sum()
    assert float(stats["mean length"]) == round(mask.sum() / n, 1)
    assert float(stats["padding share"]) == round(100 * (1 - mask.mean()), 2)
    unk = 100 * np.mean(f["input_ids"][mask] == 100)
    assert unk > 0 and float(stats["[UNK] share"]) == round(unk, 3)
    assert int(stats["malformed examples"]) == 0
    assert stdout.count("--- pretrain_data.tfrecord-00000-of-00001 #") == 2
    assert "[CLS] the quick brown fox jumps" in stdout


def test_bad_record_names_file(tmp_path):
    """In-process; the same through the CLI (`inspect_tfrecords: error: ...`, exit 1): test_cli_smoke."""
    path = write_bad_record(tmp_path)
    with pytest.raises(
        ValueError,
        match=r".*00001 record 0: feature lengths differ: "
        r"input_ids=3, input_mask=2, segment_ids=3",
    ):
        inspect_tfrecords.run(files=[str(path)])
