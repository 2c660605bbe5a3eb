"""build_openwebtext_pretraining_dataset.py on a tiny OpenWebText-layout release of real text."""

from __future__ import annotations

import io
import os
import shutil
import tarfile

import numpy as np
import pytest

from data_prep import build_openwebtext_pretraining_dataset as build_owt
from electra_tf.tokenization import FullTokenizer, load_vocab
from tests.data.helpers import DocumentIndex, parse_records, read_raw_records, wiki_documents_by_regex
from tests.helpers import assert_one_line, call_tool, corpus_file


def _xz_tar(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:xz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.fixture(scope="module")
def owt_release(shared_corpus, bert_vocab_file, tmp_path_factory):
    """data_dir/openwebtext/urlsf_subset00-{1,2}_data.xz (+ the outer openwebtext.tar.xz)."""
    docs = [d for d in wiki_documents_by_regex(corpus_file(20)) if d][:12]
    data_dir = tmp_path_factory.mktemp("owt")
    shutil.copy(bert_vocab_file, data_dir / "vocab.txt")
    owt = data_dir / "openwebtext"
    owt.mkdir()
    archives = {}
    for a in range(2):
        pages = {
            f"{a:04d}-{i}.txt": "\n\n".join(doc).encode("utf-8") + b"\n" for i, doc in enumerate(docs[a::2])
        }
        archives[f"urlsf_subset00-{a + 1}_data.xz"] = _xz_tar(pages)
        (owt / f"urlsf_subset00-{a + 1}_data.xz").write_bytes(archives[f"urlsf_subset00-{a + 1}_data.xz"])
    outer = data_dir / "openwebtext.tar.xz"
    with tarfile.open(outer, mode="w:xz") as tar:
        for name in archives:
            tar.add(owt / name, arcname=f"openwebtext/{name}")
    return data_dir, docs


@pytest.mark.slow
def test_archives_convert_one_document_per_page(owt_release, bert_vocab_file):
    data_dir, docs = owt_release
    _, stdout = call_tool(build_owt.run, data_dir=str(data_dir), num_processes=2)
    assert "done: 12 documents" in stdout
    out = data_dir / "pretrain_tfrecords"
    assert os.listdir(out) == ["pretrain_data.tfrecord-00000-of-00001"]
    assert not list(data_dir.rglob("000*-*.txt")), "pages were extracted to disk"
    records = read_raw_records(str(out))
    f = parse_records(records)
    assert f["input_ids"].shape == (len(records), 128) and f["input_ids"].dtype == np.int64
    # Each page is one document (blank lines inside a page do not split it), and every
    # example is made of lines of exactly one page.
    tokenizer = FullTokenizer(load_vocab(bert_vocab_file))
    index = DocumentIndex([tokenizer.tokenize_to_ids(doc) for doc in docs])
    owners_seen = set()
    for ids, mask, seg in zip(f["input_ids"], f["input_mask"], f["segment_ids"], strict=True):
        n = int(mask.sum())
        assert ids[0] == 101 and ids[n - 1] == 102
        a = ids[1:n][seg[1:n] == 0][:-1].tolist()
        b = ids[1:n][seg[1:n] == 1][:-1].tolist()
        owners = index.documents_of(b, allowed=index.documents_of(a)) if b else index.documents_of(a)
        assert owners
        owners_seen |= owners
    assert owners_seen == set(range(len(docs)))
    # The unextracted release gives the same examples.
    out2 = data_dir / "from_outer"
    build_owt.run(
        owt_archive=str(data_dir / "openwebtext.tar.xz"),
        vocab_file=str(data_dir / "vocab.txt"),
        output_dir=str(out2),
    )
    assert sorted(read_raw_records(str(out2))) == sorted(records)


def test_corrupt_archive_is_one_line_error_and_nothing_written(owt_release, tmp_path):
    """In-process (the CLI's error line and exit status 1 for a missing vocab: test_cli_smoke)."""
    data_dir, _ = owt_release
    bad = tmp_path / "data"
    (bad / "openwebtext").mkdir(parents=True)
    shutil.copy(data_dir / "vocab.txt", bad / "vocab.txt")
    shutil.copy(data_dir / "openwebtext" / "urlsf_subset00-1_data.xz", bad / "openwebtext")
    (bad / "openwebtext" / "urlsf_subset00-2_data.xz").write_bytes(b"\xfd7zXZ\x00 truncated")
    with pytest.raises(ValueError, match="cannot read OpenWebText archive urlsf_subset00-2_data.xz") as error:
        build_owt.run(data_dir=str(bad))
    assert_one_line(error)
    assert not (bad / "pretrain_tfrecords").exists()
    with pytest.raises(ValueError, match="vocab file not found"):
        build_owt.run(data_dir=str(tmp_path / "nothing"))
