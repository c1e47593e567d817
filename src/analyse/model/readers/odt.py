"""OpenDocument text (.odt), read with odfpy; paragraphs and headings in document order."""

from __future__ import annotations

import zipfile
from pathlib import Path

from analyse.errors import CorpusError
from analyse.model.readers import Block, Source, register_source_reader
from analyse.model.readers.word import protected_or_corrupt


def read(path: Path, encoding: str | None = None) -> Source:
    from odf import teletype
    from odf.namespaces import TEXTNS
    from odf.opendocument import load

    protected_or_corrupt(path, "document OpenDocument")
    with zipfile.ZipFile(path) as archive:
        try:
            manifest = archive.read("META-INF/manifest.xml")
        except KeyError:
            manifest = b""
    if b"encryption-data" in manifest:
        raise CorpusError("document OpenDocument protégé par mot de passe", path,
                          hint="l'ouvrir dans LibreOffice, retirer le mot de passe (Fichier > Propriétés), puis relancer")
    try:
        document = load(str(path))
    except Exception as exc:  # odfpy raises KeyError, XML parser errors… on a broken package
        raise CorpusError(f"document OpenDocument endommagé ({type(exc).__name__})", path,
                          hint="l'ouvrir dans LibreOffice et l'enregistrer à nouveau en .odt") from None
    blocks = []
    n = 0

    def walk(node):
        nonlocal n
        for child in node.childNodes:
            if child.nodeType != child.ELEMENT_NODE:
                continue
            if child.qname in ((TEXTNS, "p"), (TEXTNS, "h")):
                n += 1
                text = teletype.extractText(child)
                if text.strip():
                    blocks.append(Block(text.strip(), line=n))
            else:
                walk(child)

    walk(document.text)
    return Source(path, "odt", blocks, unit="paragraphe", date=_created(document), encoding="odt")


def _created(document) -> str | None:
    from odf import meta

    for node in document.meta.getElementsByType(meta.CreationDate):
        value = str(node).strip()
        if len(value) >= 10:
            return value[:10]
    return None


register_source_reader((".odt",), read)
