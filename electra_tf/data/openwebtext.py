"""OpenWebText release layout → documents, streamed straight out of the archives.

The release (`openwebtext.tar.xz`) unpacks to `openwebtext/urlsf_subset*.xz`; each of those
is an xz-compressed tar of `.txt` files, one web page (one document) each. Upstream extracted
every archive to a temporary folder first; here each archive is a work unit read with
`tarfile` in streaming mode, so nothing is extracted to disk. The outer `openwebtext.tar.xz`
itself can be read the same way: its members become units in memory, a few at a time.
"""

from __future__ import annotations

import dataclasses
import io
import lzma
import os
import tarfile
from collections.abc import Iterator

from electra_tf.data.corpus import CorpusError, ReadStats, decode_line

_ARCHIVE_ERRORS = (tarfile.TarError, lzma.LZMAError, EOFError, OSError)


@dataclasses.dataclass(frozen=True)
class OwtArchive:
    """One `urlsf_subset*.xz` archive, from a file (`path`) or from memory (`data`)."""

    name: str
    path: str | None = None
    data: bytes | None = dataclasses.field(default=None, repr=False)

    @property
    def key(self) -> str:
        return self.name

    @property
    def size(self) -> int:
        return len(self.data) if self.data is not None else os.path.getsize(self.path)

    def documents(self, stats: ReadStats) -> Iterator[list[str]]:
        fileobj = io.BytesIO(self.data) if self.data is not None else None
        try:
            with tarfile.open(name=self.path, fileobj=fileobj, mode="r|*") as archive:
                for member in archive:
                    if not member.isfile():
                        continue
                    lines = (decode_line(raw, stats).strip() for raw in archive.extractfile(member))
                    doc = [line for line in lines if line]
                    if doc:
                        yield doc
        except _ARCHIVE_ERRORS as e:
            raise CorpusError(f"cannot read OpenWebText archive {self.name}: {e}") from None


def list_archives(owt_dir: str) -> list[OwtArchive]:
    """The `*.xz` archives of an extracted `openwebtext/` folder, sorted by name."""
    if not os.path.isdir(owt_dir):
        raise CorpusError(f"OpenWebText folder not found: {owt_dir}")
    names = sorted(n for n in os.listdir(owt_dir) if n.endswith(".xz") and not n.startswith("."))
    if not names:
        raise CorpusError(f"no *.xz archives in OpenWebText folder {owt_dir}")
    return [OwtArchive(name=n, path=os.path.join(owt_dir, n)) for n in names]


def stream_outer_archive(path: str) -> Iterator[OwtArchive]:
    """Members of `openwebtext.tar.xz`, read one at a time into memory."""
    try:
        with tarfile.open(path, mode="r|*") as outer:
            for member in outer:
                if member.isfile() and member.name.endswith(".xz"):
                    data = outer.extractfile(member).read()
                    yield OwtArchive(name=os.path.basename(member.name), data=data)
    except _ARCHIVE_ERRORS as e:
        raise CorpusError(f"cannot read OpenWebText release {path}: {e}") from None
