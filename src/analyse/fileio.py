"""Atomic file writes, shared by every module that writes data others read.

A reader (another notebook of a parallel batch, a second coder's process)
must never see a half-written file, and a crash must leave the old file
whole: write to a temporary file in the same folder, flush it to disk, then
rename it over the target (``os.replace`` is atomic on POSIX and Windows).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def _write_temp(path: Path, data: bytes | str, fsync: bool) -> str:
    """Write ``data`` to a new temporary file beside ``path``; return its name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp


def atomic_write(path: str | Path, data: bytes | str, fsync: bool = True) -> Path:
    """Replace ``path`` with ``data`` (str is written as UTF-8) in one step.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> atomic_write(target, "été\\n").read_text(encoding="utf-8")
    'été\\n'
    """
    atomic_write_many({path: data}, fsync)
    return Path(path)


def atomic_write_many(contents: dict, fsync: bool = True) -> None:
    """Replace several files: every temporary file is written before the first rename.

    Renames cannot fail for want of space, so once the data is on disk the
    files are replaced together; if writing any of them fails, none changes.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> atomic_write_many({folder / "A.jsonl": "a\\n", folder / "B.jsonl": b"b\\n"})
    >>> sorted(p.name for p in folder.iterdir())
    ['A.jsonl', 'B.jsonl']
    """
    temps: list[tuple[str, Path]] = []
    try:
        for path, data in contents.items():
            temps.append((_write_temp(Path(path), data, fsync), Path(path)))
        while temps:
            tmp, path = temps[0]
            os.replace(tmp, path)
            temps.pop(0)
    finally:
        for tmp, _ in temps:
            if os.path.exists(tmp):
                os.unlink(tmp)
