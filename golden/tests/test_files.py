"""golden.files: a file or folder is written whole or not at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from golden.files import atomic_path, copy_atomic, write_atomic


def test_write_and_replace(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "out.json"
    write_atomic(path, "first")
    write_atomic(path, b"second")
    assert path.read_text() == "second"
    assert [p.name for p in path.parent.iterdir()] == ["out.json"]  # no temporary left
    copy_atomic(path, tmp_path / "copy.json")
    assert (tmp_path / "copy.json").read_text() == "second"


def test_an_interrupted_writer_leaves_the_old_file_and_nothing_else(tmp_path: Path) -> None:
    path = tmp_path / "out.txt"
    write_atomic(path, "old")
    for stop in (RuntimeError("failed"), KeyboardInterrupt()):
        with pytest.raises(type(stop)), atomic_path(path) as tmp:
            tmp.write_text("half of the new")
            raise stop
        assert path.read_text() == "old"
        assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_folders_are_replaced_whole(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    for content in ("a", "b"):
        with atomic_path(folder) as tmp:
            tmp.mkdir()
            (tmp / "weights").write_text(content)
            assert not (folder / "weights").is_file() or (folder / "weights").read_text() == "a"
    assert (folder / "weights").read_text() == "b"
    assert [p.name for p in tmp_path.iterdir()] == ["model"]
    with pytest.raises(RuntimeError), atomic_path(folder) as tmp:
        tmp.mkdir()
        (tmp / "weights").write_text("c")
        raise RuntimeError("interrupted")
    assert (folder / "weights").read_text() == "b"
    assert [p.name for p in tmp_path.iterdir()] == ["model"]
