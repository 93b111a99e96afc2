"""Files (and folders) written whole or not at all: written under a temporary name in the same
folder, then renamed onto the real one, so an interrupted or failed writer leaves nothing that a
later run would trust. Standard library only.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A fresh temporary path next to `path`, with its suffix, for the caller to write a file or
    a folder at; renamed onto `path` (replacing it) when the block ends, removed if it raises or
    is interrupted. Files are synced to disk before the rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp{path.suffix}")
    try:
        yield tmp
        if tmp.is_file():
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        if tmp.is_dir() and path.is_dir():  # os.replace cannot replace a non-empty folder
            old = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.old")
            os.replace(path, old)
            os.replace(tmp, path)
            _remove(old)
        else:
            os.replace(tmp, path)
    finally:
        if tmp.exists():
            _remove(tmp)


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write `data` (text as UTF-8) to `path` whole or not at all."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data.encode() if isinstance(data, str) else data)


def copy_atomic(src: Path, dst: Path) -> None:
    """Copy the file `src` to `dst` whole or not at all."""
    with atomic_path(dst) as tmp:
        shutil.copyfile(src, tmp)
