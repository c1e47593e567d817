"""Rich Text Format (.rtf), turned into text by striprtf."""

from __future__ import annotations

from pathlib import Path

from analyse.errors import CorpusError
from analyse.model.readers import Source, decode, register_source_reader, text_blocks


def read(path: Path, encoding: str | None = None) -> Source:
    from striprtf.striprtf import rtf_to_text

    raw = path.read_bytes()
    if not raw.lstrip().startswith(b"{\\rtf"):
        raise CorpusError("ce fichier n'est pas un RTF (il ne commence pas par {\\rtf)", path,
                          hint="l'exporter à nouveau en .rtf, ou en .docx / .txt")
    # RTF is 7-bit with escapes for accents; raw 8-bit bytes, when present, follow \ansicpg (cp1252 mostly).
    source, _ = decode(raw, path, encoding or ("utf-8" if _is_utf8(raw) else "cp1252"))
    try:
        text = rtf_to_text(source, errors="replace")
    except Exception as exc:  # striprtf raises plain exceptions on broken groups
        raise CorpusError(f"RTF illisible ({exc})", path, hint="l'ouvrir et l'enregistrer à nouveau, ou l'exporter en .docx") from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return Source(path, "rtf", text_blocks(text), encoding="rtf")


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


register_source_reader((".rtf",), read)
