"""Markdown: the corpus' own documents (front matter + turns), and plain Markdown to import."""

from __future__ import annotations

import re
from pathlib import Path

from analyse.errors import CorpusError
from analyse.model.corpus import load_document
from analyse.model.readers import Source, decode, register_document_reader, register_source_reader, text_blocks

SUFFIXES = (".md", ".markdown")


def read(path: Path, encoding: str | None = None) -> Source:
    """Plain Markdown (no front matter): paragraphs, emphasis markers kept as written."""
    text, used = decode(path.read_bytes(), path, encoding)
    if re.match(r"\s*---\s*\n", text):
        raise CorpusError("ce fichier a déjà un en-tête YAML : c'est un document du corpus, pas une transcription",
                          path, hint="le copier tel quel dans corpus/<territoire>/ (puis `analyse validate`)")
    return Source(path, "md", text_blocks(text), encoding=used)


register_document_reader((".md",), load_document)
register_source_reader(SUFFIXES, read)
