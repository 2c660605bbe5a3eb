"""Corpus readers: text files → documents (lists of non-blank lines), streamed in work units.

Formats, detected per file from its first non-blank line:
- `wiki`: WikiExtractor output. `<doc id=.. url=.. title="T">` … `</doc>` wrap one article;
  the first line inside repeats the title and is dropped; wrapper lines and blank lines are
  not text.
- `plain`: one sentence or paragraph per line, a blank line between documents
  (`blanks_separate_docs=True`), or one document per file (`False`).

A large file is split into byte ranges (`TextRange`) so workers stream it in parallel and
memory stays bounded. Range boundaries are moved forward to document starts when planned
(`wiki`: a `<doc` line; `plain`: a non-blank line after a blank one), so every document lies
wholly inside one range.
"""

from __future__ import annotations

import dataclasses
import glob
import html
import itertools
import os
import re
from collections.abc import Iterator

DEFAULT_CHUNK_BYTES = 32 << 20
_TITLE_RE = re.compile(r'title="([^"]*)"')


class CorpusError(ValueError):
    """Corpus input that cannot be read (message names the path)."""


@dataclasses.dataclass
class ReadStats:
    """Counters a reader updates while streaming."""

    bytes_read: int = 0
    replaced_chars: int = 0  # U+FFFD inserted for undecodable bytes


def decode_line(raw: bytes, stats: ReadStats) -> str:
    """UTF-8 decode; undecodable bytes become U+FFFD and are counted, never fatal."""
    stats.bytes_read += len(raw)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("utf-8", errors="replace")
        stats.replaced_chars += text.count("\ufffd") - raw.decode("utf-8", "ignore").count("\ufffd")
        return text


def list_corpus_files(corpus: str) -> list[str]:
    """A directory (walked recursively, hidden entries skipped) or a glob → sorted file paths.

    Raises:
      CorpusError: nothing matches, nothing is non-empty, or a file cannot be opened.
    """
    if os.path.isdir(corpus):
        paths = []
        for root, dirs, files in os.walk(corpus):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            paths += [os.path.join(root, f) for f in files if not f.startswith(".")]
    elif any(c in corpus for c in "*?["):
        paths = [p for p in glob.glob(corpus) if os.path.isfile(p)]
    elif os.path.isfile(corpus):
        paths = [corpus]
    else:
        raise CorpusError(f"corpus not found: {corpus} is neither a directory, a file nor a glob")
    if not paths:
        raise CorpusError(f"corpus is empty: no files in {corpus}")
    for path in paths:
        try:
            with open(path, "rb"):
                pass
        except OSError as e:
            raise CorpusError(f"cannot read corpus file {path}: {e.strerror or e}") from None
    paths = sorted(p for p in paths if os.path.getsize(p) > 0)
    if not paths:
        raise CorpusError(f"corpus is empty: every file in {corpus} has zero bytes")
    return paths


def detect_format(path: str) -> str:
    """'wiki' if the first non-blank line opens a WikiExtractor `<doc`, else 'plain'."""
    with open(path, "rb") as f:
        for raw in f:
            if raw.strip():
                return "wiki" if raw.lstrip().startswith(b"<doc") else "plain"
    return "plain"


@dataclasses.dataclass(frozen=True)
class TextRange:
    """Documents of `path` owned by the byte range [start, end) (see module docstring)."""

    path: str
    start: int
    end: int
    fmt: str  # 'wiki' | 'plain' | 'plain_one_doc'
    name: str = ""  # path relative to the corpus root: seeds the unit's RNG

    @property
    def key(self) -> str:
        return f"{self.name or os.path.basename(self.path)}@{self.start}"

    @property
    def size(self) -> int:
        return self.end - self.start

    def documents(self, stats: ReadStats) -> Iterator[list[str]]:
        with open(self.path, "rb") as f:
            if self.fmt == "plain_one_doc":
                yield from _one_document(f, stats)
            else:
                reader = _wiki_documents if self.fmt == "wiki" else _plain_documents
                yield from reader(_lines_in(f, self.start, self.end), stats)


def plan_text_units(paths: list[str], blanks_separate_docs: bool, chunk_bytes: int) -> list[TextRange]:
    """Splits files into `TextRange` units of about `chunk_bytes`, cut at document starts."""
    root = os.path.commonpath([os.path.dirname(os.path.abspath(p)) for p in paths])
    units = []
    for path in paths:
        name = os.path.relpath(os.path.abspath(path), root)
        fmt = detect_format(path)
        size = os.path.getsize(path)
        if fmt == "plain" and not blanks_separate_docs:
            units.append(TextRange(path, 0, size, "plain_one_doc", name))
            continue
        bounds = [0]
        with open(path, "rb") as f:
            for guess in range(chunk_bytes, size, chunk_bytes):
                if guess > bounds[-1]:
                    bounds.append(_next_document_start(f, guess, fmt))
        bounds = sorted(set(bounds + [size]))
        units += [TextRange(path, a, b, fmt, name) for a, b in itertools.pairwise(bounds)]
    return units


def _next_document_start(f, pos: int, fmt: str) -> int:
    """Byte offset of the first document start after `pos` (or the file size)."""
    f.seek(pos - 1)
    f.readline()  # to the start of the next line
    offset = f.tell()
    seen_blank = False
    for raw in f:
        if fmt == "wiki":
            if raw.lstrip().startswith(b"<doc"):
                return offset
        elif not raw.strip():
            seen_blank = True
        elif seen_blank:
            return offset
        offset += len(raw)
    return offset


def _lines_in(f, start: int, end: int) -> Iterator[bytes]:
    """The raw lines of [start, end); both are line starts."""
    f.seek(start)
    pos = start
    for raw in f:
        if pos >= end:
            return
        yield raw
        pos += len(raw)


def _plain_documents(lines, stats: ReadStats) -> Iterator[list[str]]:
    """Runs of non-blank lines."""
    doc: list[str] = []
    for raw in lines:
        text = decode_line(raw, stats).strip()
        if text:
            doc.append(text)
        elif doc:
            yield doc
            doc = []
    if doc:
        yield doc


def _wiki_documents(lines, stats: ReadStats) -> Iterator[list[str]]:
    """Articles between `<doc ...>` and `</doc>`, without the repeated title line."""
    doc: list[str] | None = None
    title = None
    for raw in lines:
        text = decode_line(raw, stats).strip()
        if text.startswith("<doc"):
            if doc:
                yield doc
            match = _TITLE_RE.search(text)
            doc, title = [], (html.unescape(match.group(1)) if match else None)
        elif text == "</doc>":
            if doc:
                yield doc
            doc = None
        elif text and doc is not None:
            if not doc and title is not None and text == title:
                title = None  # the title line WikiExtractor repeats
                continue
            doc.append(text)
    if doc:
        yield doc


def _one_document(f, stats: ReadStats) -> Iterator[list[str]]:
    doc = [line for line in (decode_line(raw, stats).strip() for raw in f) if line]
    if doc:
        yield doc
