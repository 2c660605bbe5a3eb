"""inspect_tfrecords.py: its statistics against numpy on the same records; bad records."""

from __future__ import annotations

import re

import numpy as np
import tensorflow as tf

from tests.conftest import run_script
from tests.data.helpers import parse_records, read_raw_records

BUILD = "data_prep/build_pretraining_dataset.py"
INSPECT = "data_prep/inspect_tfrecords.py"


def test_statistics_match_numpy(bert_vocab_file, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    text = "The quick brown fox jumps over the lazy dog. " * 5
    docs = [f"{text}\nZyxqwv {i} ☃ is odd.\n{text * (i % 4)}" for i in range(30)]
    (corpus / "a.txt").write_text("\n\n".join(docs), encoding="utf-8")
    out = tmp_path / "out"
    proc = run_script(
        BUILD,
        f"--corpus_dir={corpus}",
        f"--vocab_file={bert_vocab_file}",
        f"--output_dir={out}",
        "--max_seq_length=64",
    )
    assert proc.returncode == 0, proc.stderr
    proc = run_script(
        INSPECT, str(out / "pretrain_data.tfrecord-*"), f"--vocab_file={bert_vocab_file}", "--num_examples=2"
    )
    assert proc.returncode == 0, proc.stderr
    f = parse_records(read_raw_records(str(out)))
    mask = f["input_mask"].astype(bool)
    n, length = f["input_ids"].shape
    stats = dict(re.findall(r"^([a-zA-Z ()\[\]/.,-]+): ([\d.,]+)", proc.stdout, flags=re.M))
    assert int(stats["records"].replace(",", "")) == n and length == 64
    assert int(stats["tokens (real, incl. [CLS]/[SEP])"].replace(",", "")) == mask.sum()
    assert float(stats["mean length"]) == round(mask.sum() / n, 1)
    assert float(stats["padding share"]) == round(100 * (1 - mask.mean()), 2)
    unk = 100 * np.mean(f["input_ids"][mask] == 100)
    assert unk > 0 and float(stats["[UNK] share"]) == round(unk, 3)
    assert int(stats["malformed examples"]) == 0
    assert proc.stdout.count("--- pretrain_data.tfrecord-00000-of-00001 #") == 2
    assert "[CLS] the quick brown fox jumps" in proc.stdout


def test_bad_record_names_file(tmp_path):
    path = tmp_path / "pretrain_data.tfrecord-00000-of-00001"
    with tf.io.TFRecordWriter(str(path)) as w:
        ex = tf.train.Example(
            features=tf.train.Features(
                feature={
                    "input_ids": tf.train.Feature(int64_list=tf.train.Int64List(value=[1, 2, 3])),
                    "input_mask": tf.train.Feature(int64_list=tf.train.Int64List(value=[1, 1])),
                    "segment_ids": tf.train.Feature(int64_list=tf.train.Int64List(value=[0, 0, 0])),
                }
            )
        )
        w.write(ex.SerializeToString())
    (tmp_path / "vocab.txt").write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n", encoding="utf-8")
    proc = run_script(INSPECT, str(path))
    assert proc.returncode == 1
    assert re.search(
        r"inspect_tfrecords: error: .*00001 record 0: feature lengths differ: "
        r"input_ids=3, input_mask=2, segment_ids=3",
        proc.stderr,
    )
