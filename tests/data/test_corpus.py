"""Corpus readers: formats, byte-range splitting, undecodable bytes, bad input."""

from __future__ import annotations

import os
import random

import pytest

from electra_tf.data.corpus import (
    CorpusError,
    ReadStats,
    TextRange,
    detect_format,
    list_corpus_files,
    plan_text_units,
)
from tests.helpers import corpus_file

WIKI = """<doc id="1" url="http://x/?curid=1" title="Alpha &amp; Beta">
Alpha & Beta

Alpha is the first letter.
It has a history.

</doc>
<doc id="2" url="http://x/?curid=2" title="Gamma">
Gamma

</doc>
<doc id="3" url="http://x/?curid=3" title="Delta">
Delta

Delta is a river mouth.
Delta
</doc>
"""


def _documents(path, chunk_bytes=1 << 30, blanks_separate_docs=True):
    stats = ReadStats()
    units = plan_text_units([str(path)], blanks_separate_docs, chunk_bytes)
    return [doc for unit in units for doc in unit.documents(stats)], stats


def test_wikiextractor_wrappers_and_title_line_are_not_text(tmp_path):
    path = tmp_path / "wiki_00"
    path.write_text(WIKI, encoding="utf-8")
    assert detect_format(str(path)) == "wiki"
    docs, _ = _documents(path)
    # The title-only article is empty; a later line equal to the title is text.
    assert docs == [
        ["Alpha is the first letter.", "It has a history."],
        ["Delta is a river mouth.", "Delta"],
    ]


def test_plain_text_blank_lines_separate_documents(tmp_path):
    path = tmp_path / "plain.txt"
    path.write_text("\n\nOne a.\nOne b.\n\n\n  \nTwo a.\n\nThree a.", encoding="utf-8")
    assert detect_format(str(path)) == "plain"
    docs, _ = _documents(path)
    assert docs == [["One a.", "One b."], ["Two a."], ["Three a."]]
    docs, _ = _documents(path, blanks_separate_docs=False)
    assert docs == [["One a.", "One b.", "Two a.", "Three a."]]


@pytest.mark.parametrize("fmt", ["plain", "wiki"])
def test_byte_ranges_partition_documents_exactly(tmp_path, fmt):
    """However a file is cut into ranges, every document is read once, whole, in order."""
    rng = random.Random(7)
    docs = [
        [f"doc {d} line {i} {'w' * rng.randrange(0, 40)}".strip() for i in range(rng.randrange(1, 6))]
        for d in range(200)
    ]
    if fmt == "plain":
        text = "\n\n".join("\n".join(d) for d in docs) + "\n"
    else:
        text = "".join(
            f'<doc id="{i}" title="T{i}">\nT{i}\n\n' + "\n".join(d) + "\n</doc>\n" for i, d in enumerate(docs)
        )
    path = tmp_path / "corpus.txt"
    path.write_text(text, encoding="utf-8")
    for chunk in (1, 7, 100, 333, 4096):
        got, _ = _documents(path, chunk_bytes=chunk)
        assert got == docs, f"chunk_bytes={chunk}"


def test_real_wiki_shard_ranges_match_whole_file(shared_corpus):
    whole, _ = _documents(corpus_file(3))
    pieces, _ = _documents(corpus_file(3), chunk_bytes=50_000)
    assert len(whole) > 30 and pieces == whole


def test_undecodable_bytes_are_replaced_and_counted(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes("caf\u00e9 ok\n".encode("utf-8") + b"bad \xff\xfe byte\n\nnext \xe9t\xe9\n")
    docs, stats = _documents(path)
    assert docs == [["café ok", "bad \ufffd\ufffd byte"], ["next \ufffdt\ufffd"]]
    assert stats.replaced_chars == 4


def test_listing_errors(tmp_path):
    with pytest.raises(CorpusError, match="corpus not found: .*missing"):
        list_corpus_files(str(tmp_path / "missing"))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(CorpusError, match="corpus is empty: no files"):
        list_corpus_files(str(empty))
    (empty / "zero.txt").write_text("")
    with pytest.raises(CorpusError, match="zero bytes"):
        list_corpus_files(str(empty))
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "ok.txt").write_text("text\n")
    os.symlink(tmp_path / "gone.txt", broken / "dangling.txt")
    with pytest.raises(CorpusError, match="cannot read corpus file .*dangling.txt"):
        list_corpus_files(str(broken))


def test_listing_walks_subfolders_and_globs(tmp_path):
    for sub in ("AA", "AB"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "wiki_00").write_text("x\n")
    (tmp_path / ".hidden").write_text("x\n")
    found = list_corpus_files(str(tmp_path))
    assert [os.path.relpath(p, tmp_path) for p in found] == ["AA/wiki_00", "AB/wiki_00"]
    assert list_corpus_files(str(tmp_path / "A?" / "wiki_*")) == found
    units = plan_text_units(found, True, 1 << 20)
    assert [u.key for u in units] == ["AA/wiki_00@0", "AB/wiki_00@0"]
    assert all(isinstance(u, TextRange) for u in units)
