"""Publishing files so that a reader never sees half of one: write under a temporary name beside
the target, then rename (`os.replace` is atomic within a file system). One helper for every tool."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager


def temporary_sibling(path: str) -> str:
    """A fresh hidden name in `path`'s folder (created if missing): `.tmp-<hex>-<basename>`."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    return os.path.join(folder, f".tmp-{uuid.uuid4().hex}-{os.path.basename(os.path.abspath(path))}")


def write_text(path: str, text: str) -> None:
    """Writes `text` (UTF-8) to `path` through a temporary file in the same folder."""
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def publish(moves: Sequence[tuple[str, str]]) -> None:
    """Renames every (temporary, target) pair in order: put the file whose presence completes a
    set last (e.g. a checkpoint's index). If a rename fails, the targets renamed so far are removed
    and the error propagates."""
    done: list[str] = []
    try:
        for tmp, target in moves:
            os.replace(tmp, target)
            done.append(target)
    except BaseException:
        for target in done:
            os.remove(target)
        raise


@contextmanager
def directory(output: str) -> Iterator[str]:
    """Yields a temporary directory beside `output`; on success it becomes `output` (which must be
    missing or an empty directory), on failure it is removed and `output` is untouched."""
    tmp = temporary_sibling(output)
    os.makedirs(tmp)
    try:
        yield tmp
        if os.path.isdir(output):
            os.rmdir(output)  # empty, as the caller checked
        os.replace(tmp, output)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
