"""Word documents (.docx), read with python-docx; a bold name opening a paragraph is its speaker."""

from __future__ import annotations

import zipfile
from pathlib import Path

from analyse.errors import CorpusError
from analyse.model.readers import Block, Source, register_source_reader

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # encrypted Office files and old .doc are OLE containers


def protected_or_corrupt(path: Path, kind: str) -> None:
    """Raise the French error for an Office/OpenDocument file that is not a readable zip package."""
    head = path.read_bytes()[:8]
    if head == OLE_MAGIC:
        raise CorpusError(f"{kind} protégé par mot de passe (ou ancien format binaire .doc)", path,
                          hint="l'ouvrir, retirer le mot de passe (ou l'enregistrer au format .docx/.odt), puis relancer")
    if not zipfile.is_zipfile(path):
        raise CorpusError(f"{kind} endommagé ou qui n'en est pas un (ce n'est pas une archive valide)", path,
                          hint="l'ouvrir et l'enregistrer à nouveau, ou l'exporter en .txt")


def read(path: Path, encoding: str | None = None) -> Source:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    protected_or_corrupt(path, "document Word")
    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise CorpusError(f"document Word endommagé ({type(exc).__name__})", path,
                          hint="l'ouvrir dans Word ou LibreOffice et l'enregistrer à nouveau en .docx") from None
    except Exception as exc:  # lxml XMLSyntaxError and the like: a broken package part
        raise CorpusError(f"document Word endommagé ({type(exc).__name__})", path,
                          hint="l'ouvrir dans Word ou LibreOffice et l'enregistrer à nouveau en .docx") from None
    blocks = []
    for n, paragraph in enumerate(document.paragraphs, start=1):
        text = paragraph.text.replace("\r", "\n").replace("\v", "\n")
        if not text.strip():
            continue
        speaker, rest = bold_speaker(paragraph)
        blocks.append(Block(rest if speaker else text.strip(), line=n, speaker=speaker))
    created = document.core_properties.created
    return Source(path, "docx", blocks, unit="paragraphe",
                  date=created.date().isoformat() if created else None, encoding="docx")


def bold_speaker(paragraph) -> tuple[str | None, str]:
    """``(name, rest of the text)`` when the paragraph opens with a bold name, else ``(None, text)``."""
    from analyse.model.speakers import looks_like_name

    bold = []
    runs = list(paragraph.runs)
    i = 0
    while i < len(runs) and (runs[i].bold or not runs[i].text.strip()):
        bold.append(runs[i].text)
        i += 1
    head = "".join(bold).strip()
    rest = "".join(r.text for r in runs[i:])
    if not head:
        return None, paragraph.text
    name = head.rstrip(" :\u00a0").strip()
    rest = rest.strip()
    # A bold name is a speaker when a colon follows it, or when it stands alone (a heading line);
    # a bold word opening a sentence is not.
    colon = head.endswith(":") or rest.startswith(":")
    if not looks_like_name(name) or not (colon or not rest):
        return None, paragraph.text
    return name, rest[1:].strip() if rest.startswith(":") else rest


register_source_reader((".docx",), read)
