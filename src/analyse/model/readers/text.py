"""Plain text transcripts (.txt)."""

from __future__ import annotations

from pathlib import Path

from analyse.model.readers import Source, decode, register_source_reader, text_blocks


def read(path: Path, encoding: str | None = None) -> Source:
    text, used = decode(path.read_bytes(), path, encoding)
    return Source(path, "txt", text_blocks(text), encoding=used)


register_source_reader((".txt",), read)
