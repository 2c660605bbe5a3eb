"""build_pretraining_dataset.py end to end on the shared Wikipedia corpus, and on bad input."""

from __future__ import annotations

import os
import random
import re
import shutil

import numpy as np
import pytest

from data_prep import build_pretraining_dataset
from electra_tf.tokenization import FullTokenizer, load_vocab
from tests.data.helpers import DocumentIndex, parse_records, read_raw_records, wiki_documents_by_regex
from tests.helpers import assert_one_line, call_tool, corpus_file

CLS, SEP, UNK = 101, 102, 100  # ids in the BERT uncased vocabulary


def build(corpus: str, vocab: str, out: str, **flags) -> str:
    """build_pretraining_dataset in-process (`flags` as keyword arguments); returns what it printed."""
    _, stdout = call_tool(
        build_pretraining_dataset.run, corpus_dir=corpus, vocab_file=vocab, output_dir=out, **flags
    )
    return stdout


def check_structure(f: dict[str, np.ndarray]) -> None:
    """[CLS] A [SEP] (B [SEP]), 1…1 0…0 mask, segment 0 then 1, zero padding — per row."""
    ids, mask, seg = f["input_ids"], f["input_mask"], f["segment_ids"]
    n = mask.sum(axis=1)
    assert set(np.unique(mask)) <= {0, 1} and set(np.unique(seg)) <= {0, 1}
    positions = np.arange(ids.shape[1])[None, :]
    assert np.array_equal(mask, (positions < n[:, None]).astype(mask.dtype))
    assert not ids[positions >= n[:, None]].any() and not seg[positions >= n[:, None]].any()
    assert (ids[:, 0] == CLS).all()
    assert (ids[np.arange(len(ids)), n - 1] == SEP).all()
    n_sep = (ids == SEP).sum(axis=1)
    has_b = seg.any(axis=1)
    assert np.array_equal(n_sep, np.where(has_b, 2, 1))
    b_start = np.argmax(seg, axis=1)
    assert (ids[has_b, b_start[has_b] - 1] == SEP).all()
    assert np.array_equal(seg.sum(axis=1), np.where(has_b, n - b_start, 0))  # B runs to the end


@pytest.fixture(scope="module")
def full_build(shared_corpus, bert_vocab_file, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("full") / "pretrain_tfrecords")
    stdout = build(shared_corpus, bert_vocab_file, out, num_processes=2)
    return out, stdout


@pytest.mark.slow
def test_full_corpus_records_follow_schema(full_build):
    """Acceptance 1: three int64 features of length 128, structure, [UNK] share < 0.5%."""
    out, stdout = full_build
    assert os.listdir(out) == ["pretrain_data.tfrecord-00000-of-00001"]
    records = read_raw_records(out)
    assert len(records) > 100_000
    f = parse_records(records)
    assert set(f) == {"input_ids", "input_mask", "segment_ids"}
    for name, values in f.items():
        assert values.dtype == np.int64 and values.shape == (len(records), 128), name
    check_structure(f)
    real = f["input_mask"].astype(bool)
    unk_share = (f["input_ids"][real] == UNK).mean()
    assert unk_share < 0.005
    single = 1 - f["segment_ids"].any(axis=1).mean()
    assert 0.1 < single < 0.6  # 10% forced single-segment plus long one-line paragraphs
    summary = stdout.strip().splitlines()[-2]
    assert re.search(r"done: 6,510 documents, [\d,]+ tokens .* 1 shard", summary), summary
    assert re.search(r"ETA", stdout)


def test_examples_never_mix_articles(shared_corpus, bert_vocab_file, tmp_path):
    """Every segment of every example is made of lines of one article, A and B of the same one."""
    files = [corpus_file(i) for i in (11, 42, 77)]
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for path in files:
        shutil.copy(path, corpus)
    out = str(tmp_path / "out")
    build(str(corpus), bert_vocab_file, out)
    f = parse_records(read_raw_records(out))
    tokenizer = FullTokenizer(load_vocab(bert_vocab_file))
    docs = [doc for path in files for doc in wiki_documents_by_regex(path)]
    index = DocumentIndex([tokenizer.tokenize_to_ids(doc) for doc in docs])
    seen_docs = set()
    for ids, mask, seg in zip(f["input_ids"], f["input_mask"], f["segment_ids"], strict=True):
        n = int(mask.sum())
        a = ids[1:n][seg[1:n] == 0][:-1].tolist()  # drop [CLS] and A's [SEP]
        b = ids[1:n][seg[1:n] == 1][:-1].tolist()
        owners = index.documents_of(a)
        if b:
            owners = index.documents_of(b, allowed=owners)
        assert owners, f"example mixes articles or is not made of their lines: {ids[:n].tolist()}"
        seen_docs |= owners
    assert len(seen_docs) >= 0.95 * sum(bool(d) for d in docs)


@pytest.mark.slow
def test_same_seed_same_bytes_and_processes_do_not_matter(shared_corpus, bert_vocab_file, tmp_path):
    """Acceptance 3: byte-identical output for the same seed; 2 processes = 1 process."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i in (5, 6, 7):
        shutil.copy(corpus_file(i), corpus)
    runs = {
        "a": dict(seed=3),
        "b": dict(seed=3),
        "p2": dict(seed=3, num_processes=2),
        "seed4": dict(seed=4),
    }
    data = {}
    for name, flags in runs.items():
        out = tmp_path / name
        build(str(corpus), bert_vocab_file, str(out), num_out_files=2, **flags)
        data[name] = {p: (out / p).read_bytes() for p in sorted(os.listdir(out))}
    assert list(data["a"]) == [f"pretrain_data.tfrecord-0000{i}-of-00002" for i in (0, 1)]
    assert data["a"] == data["b"]
    assert data["a"] == data["p2"]  # stronger than "the same set of examples"
    assert data["a"] != data["seed4"]
    assert sorted(read_raw_records(str(tmp_path / "a"))) == sorted(read_raw_records(str(tmp_path / "p2")))


def test_undecodable_bytes_are_replaced_and_counted(bert_vocab_file, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_bytes(
        b"The cat sat on the mat.\nIt was caf\xe9 time.\n\nAnother document here.\n"
    )
    out = tmp_path / "out"
    stdout = build(str(corpus), bert_vocab_file, str(out))
    assert "1 undecodable bytes replaced" in stdout
    f = parse_records(read_raw_records(str(out)))
    assert len(f["input_ids"]) == 2  # two documents, one example each
    tokenizer = FullTokenizer(load_vocab(bert_vocab_file))
    # The byte becomes U+FFFD, which BERT's text cleaning then drops (as upstream does).
    want = tokenizer.tokenize_to_ids(["The cat sat on the mat. It was caf time."])[0]
    assert f["input_ids"][0][1 : f["input_mask"][0].sum() - 1].tolist() == want


def _vocab_without(tmp_path, token, bert_vocab_file):
    path = tmp_path / "vocab_no_special.txt"
    with open(bert_vocab_file, encoding="utf-8") as f:
        path.write_text("".join(line for line in f if line.strip() != token), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(
    "case, pattern",
    [
        ("missing_corpus", r"corpus not found: .*no_such_dir"),
        ("empty_corpus", r"corpus is empty: no files in .*empty"),
        ("unreadable_file", r"cannot read corpus file .*dangling\.txt"),
        ("vocab_without_cls", r"lacks the special token\(s\) \[CLS\]"),
        ("vocab_without_mask", r"lacks the special token\(s\) \[MASK\]"),
        ("missing_vocab", r"vocab file not found: .*nope\.txt"),
        ("short_seq", r"--max_seq_length must be at least 8, got 7"),
        ("no_text", r"no examples were built"),
    ],
)
def test_bad_input_one_line_error_nothing_written(case, pattern, bert_vocab_file, tmp_path):
    """Acceptance 6: one clear line, no output folder or shard left (in-process; the CLI's
    `build_pretraining_dataset: error: ` line on stderr and exit status 1: test_cli_smoke)."""
    good = tmp_path / "good"
    good.mkdir()
    (good / "a.txt").write_text("Some text.\n", encoding="utf-8")
    corpus, vocab, extra = str(good), bert_vocab_file, {}
    if case == "missing_corpus":
        corpus = str(tmp_path / "no_such_dir")
    elif case == "empty_corpus":
        (tmp_path / "empty").mkdir()
        corpus = str(tmp_path / "empty")
    elif case == "unreadable_file":
        os.symlink(tmp_path / "gone.txt", good / "dangling.txt")
    elif case == "vocab_without_cls":
        vocab = _vocab_without(tmp_path, "[CLS]", bert_vocab_file)
    elif case == "vocab_without_mask":
        vocab = _vocab_without(tmp_path, "[MASK]", bert_vocab_file)
    elif case == "missing_vocab":
        vocab = str(tmp_path / "nope.txt")
    elif case == "short_seq":
        extra = {"max_seq_length": 7}
    elif case == "no_text":
        (good / "a.txt").write_text("\n \n\t\n", encoding="utf-8")
    out = tmp_path / "out"
    with pytest.raises(ValueError, match=pattern) as error:
        build(corpus, vocab, str(out), **extra)
    assert_one_line(error)
    assert not out.exists()


def test_failure_keeps_earlier_output_untouched(bert_vocab_file, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "pretrain_data.tfrecord-00000-of-00001").write_bytes(b"old")
    empty = tmp_path / "blank"
    empty.mkdir()
    (empty / "a.txt").write_text("\n\n", encoding="utf-8")
    with pytest.raises(ValueError):
        build(str(empty), bert_vocab_file, str(out))
    assert sorted(os.listdir(out)) == ["pretrain_data.tfrecord-00000-of-00001"]
    assert (out / "pretrain_data.tfrecord-00000-of-00001").read_bytes() == b"old"


def test_rebuild_replaces_old_shards(bert_vocab_file, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    rng = random.Random(0)
    words = ["alpha", "beta", "gamma", "delta", "river", "mountain", "city", "music"]
    (corpus / "a.txt").write_text(
        "\n\n".join(" ".join(rng.choice(words) for _ in range(300)) for _ in range(20)), encoding="utf-8"
    )
    out = tmp_path / "out"
    build(str(corpus), bert_vocab_file, str(out), num_out_files=3)
    build(str(corpus), bert_vocab_file, str(out), num_out_files=2)
    assert sorted(os.listdir(out)) == [f"pretrain_data.tfrecord-0000{i}-of-00002" for i in (0, 1)]
