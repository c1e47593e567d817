"""Readers by file suffix: what the corpus loader reads, and what ``analyse import`` reads.

Two registries, both keyed by the lower-case suffix:

- *document readers* read a corpus document (``corpus/<territory>/<id>.md``, YAML front
  matter and speaker turns) and return ``(Document | None, segments, Problems)``, like
  :func:`analyse.model.corpus.load_document`, the first one registered;
- *source readers* read material to import (docx, odt, txt, plain md, rtf, vtt, srt) and
  return a :class:`Source`: its text as :class:`Block` s (paragraphs or caption cues), with
  what the format itself says about speakers and timecodes. Finding speakers in the text is
  the importer's job (:mod:`analyse.model.importer`), the same for every format.

A file in a territory folder that no document reader takes is reported by the loader
(warning) instead of being silently ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from analyse.errors import CorpusError


@dataclass
class Block:
    """A piece of source text: a paragraph of a text document or a caption cue.

    ``speaker`` is set when the format says who speaks (a bold name in a Word run, a WebVTT
    voice tag); ``start``/``end`` are caption timecodes (``HH:MM:SS.mmm``); ``line`` locates
    the block in the source for messages (line, paragraph or cue number, see ``Source.unit``).
    """

    text: str
    line: int | None = None
    speaker: str | None = None
    start: str | None = None
    end: str | None = None
    cue: bool = False


@dataclass
class Source:
    """What a source reader found in a file."""

    path: Path
    format: str
    blocks: list[Block]
    unit: str = "ligne"          # what Block.line counts, in French: ligne, paragraphe, sous-titre
    date: str | None = None      # creation date from the file's metadata (YYYY-MM-DD)
    encoding: str = "utf-8"
    notes: list[str] = field(default_factory=list)


DocumentReader = Callable[..., tuple]
SourceReader = Callable[..., Source]

DOCUMENT_READERS: dict[str, DocumentReader] = {}
SOURCE_READERS: dict[str, SourceReader] = {}


def register_document_reader(suffixes: tuple[str, ...], reader: DocumentReader) -> None:
    for suffix in suffixes:
        DOCUMENT_READERS[suffix.lower()] = reader


def register_source_reader(suffixes: tuple[str, ...], reader: SourceReader) -> None:
    for suffix in suffixes:
        SOURCE_READERS[suffix.lower()] = reader


def document_reader(path: str | Path) -> DocumentReader | None:
    """The reader of a corpus document file, or None if the corpus does not read that suffix."""
    return DOCUMENT_READERS.get(Path(path).suffix.lower())


def source_reader(path: str | Path) -> SourceReader | None:
    """The reader of a file to import, or None if no importer takes that suffix."""
    return SOURCE_READERS.get(Path(path).suffix.lower())


def read_source(path: str | Path, encoding: str | None = None) -> Source:
    """Read a file to import with the reader registered for its suffix.

    Raises
    ------
    CorpusError
        Unknown format, or a file the reader cannot read (message in French).
    """
    path = Path(path)
    reader = source_reader(path)
    if reader is None:
        known = ", ".join(sorted(SOURCE_READERS))
        raise CorpusError(f"format « {path.suffix or 'sans extension'} » non pris en charge", path,
                          hint=f"formats importables : {known}")
    if not path.is_file():
        raise CorpusError("fichier introuvable", path, hint="vérifier le chemin")
    if path.stat().st_size == 0:
        raise CorpusError("le fichier est vide", path, hint="vérifier qu'il s'agit du bon fichier (export terminé ?)")
    return reader(path, encoding=encoding)


def decode(raw: bytes, path: str | Path, encoding: str | None = None) -> tuple[str, str]:
    """Decode the bytes of a text file; return ``(text with LF line ends, encoding)``.

    UTF-8 (with or without BOM) and UTF-16 with a BOM are read as such. Other bytes are not
    guessed into text: the error says which encoding they look like (cp1252 when bytes
    0x80–0x9F, Windows' curly quotes and œ, are present; Latin-1 otherwise) and how to
    force it with ``--encoding``.
    """
    if encoding:
        try:
            text = raw.decode(encoding)
        except LookupError:
            raise CorpusError(f"encodage inconnu « {encoding} »", path,
                              hint="par exemple --encoding cp1252 ou --encoding latin-1") from None
        except UnicodeDecodeError as exc:
            raise CorpusError(f"le fichier n'est pas lisible en {encoding} (octet 0x{raw[exc.start]:02x} "
                              f"à la position {exc.start})", path,
                              hint="essayer un autre --encoding, ou enregistrer le fichier en UTF-8") from None
        used = encoding
        text = text.lstrip("\ufeff")
    elif raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        text, used = raw.decode("utf-16"), "utf-16"
    else:
        if raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        try:
            text, used = raw.decode("utf-8"), "utf-8"
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            guess = "cp1252" if any(0x80 <= b <= 0x9F for b in raw) else "latin-1"
            name = "cp1252 (Windows)" if guess == "cp1252" else "Latin-1 (ISO-8859-1)"
            raise CorpusError(f"le fichier n'est pas en UTF-8 (ligne {line}) : il semble encodé en {name}",
                              path, hint=f"relancer avec --encoding {guess}, ou l'enregistrer en UTF-8") from None
    return text.replace("\r\n", "\n").replace("\r", "\n"), used


def text_blocks(text: str) -> list[Block]:
    """Blank-line separated paragraphs of a plain text, each with its first line number."""
    blocks: list[Block] = []
    lines: list[str] = []
    first = 0
    for i, line in enumerate(text.split("\n") + [""], start=1):
        if line.strip():
            if not lines:
                first = i
            lines.append(line.rstrip())
        elif lines:
            blocks.append(Block("\n".join(lines), line=first))
            lines = []
    return blocks


# Registration: the corpus' own Markdown documents first, then the importable formats.
from analyse.model.readers import markdown, text, word, odt, rtf, captions  # noqa: E402,F401
