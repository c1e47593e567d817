"""Training documents that do not come from the corpus: the codebook and the référentiel.

Why: a model learned from the bundled corpus alone learns the corpus's wording. Each code's
definition, inclusion criteria, examples and keywords, and the référentiel's own paragraphs under
each balise, describe the codes in other words; they are added to the training data with a lower
weight (:func:`analyse.coding.autocode.train_model`).

The référentiel is read at training time from the shared seed folder (``../shared/seed/`` next to
the repository); its sentences are never copied into the repository. Its sections are mapped to
dimensions by their headings (:data:`SECTION_HEADINGS`), and a paragraph under « Balise N » to the
code ``<DIM>.N`` (MGT and ECH have no numbered balises: their paragraphs get the dimension's code).
A paragraph under « Modes de faire… » or « Des dispositifs » is labelled at dimension level only
(``dim:<DIM>``), since it does not stand under one balise.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from analyse.model.codebook import Codebook

REFERENTIEL_NAME = "referentiel-villes-pairs-mars-2019.txt"
DIMENSION_LABEL = "dim:"
# Upper-case section headings of the référentiel (accents removed) → dimension; None ends the balises part.
SECTION_HEADINGS = (
    ("L'ENGAGEMENT DES ACTEURS", "ENG"),
    ("AGIR DE FACON INTEGREE", "SYS"),
    ("TRAVAILLER EN COOPERATION", "COOP"),
    ("EVALUER LA VALEUR CREEE", "VAL"),
    ("DE MANIERE TRANSVERSE AUX HYPOTHESES", "MGT"),
    ("CHANGER D'ECHELLE", "ECH"),
    ("EN FORME DE CONCLUSION", None),
)
BALISE_LINE = re.compile(r"^Balise\s+(\d+)\b")
MIN_PARAGRAPH_CHARS = 60


def _plain(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return text.replace("’", "'").upper().strip()


def default_referentiel_path(root: str | Path) -> Path:
    """Where the référentiel seed is expected: ``<root>/../shared/seed/<name>``."""
    return Path(root).resolve().parent / "shared" / "seed" / REFERENTIEL_NAME


def referentiel_paragraphs(path: str | Path, codebook: Codebook | None = None) -> list[dict]:
    """The référentiel's paragraphs under the six dimension sections.

    Returns
    -------
    list of dict
        ``{"id", "text", "dimension", "balise", "labels"}``; ``balise`` is a code id or None,
        ``labels`` the set the model learns (the balise, or ``dim:<DIM>`` when there is none).
        Lines of the table of contents (before the first section heading at a line start
        without page number) and short lines (headings, page numbers) are skipped.
    """
    lines = Path(path).read_text(encoding="utf-8", errors="replace").replace("\r\n", "\n").split("\n")
    codes = set(codebook.codes) if codebook is not None else None
    out: list[dict] = []
    dimension = balise = None
    for raw in lines:
        line = raw.strip()
        if not line or "\t" in line or "....." in line:       # table of contents
            continue
        plain = _plain(line)
        heading = next((dim for start, dim in SECTION_HEADINGS if plain.startswith(start)), "")
        if heading != "" and len(line) < 200 and line.upper() == line:
            dimension, balise = heading, None
            continue
        if dimension is None:
            continue
        m = BALISE_LINE.match(line)
        if m:
            code = f"{dimension}.{m.group(1)}"
            balise = code if codes is None or code in codes else None
            continue
        if plain.startswith("MODES DE FAIRE") or plain.startswith("DES DISPOSITIFS"):
            balise = None
            continue
        if len(line) < MIN_PARAGRAPH_CHARS:
            continue
        own = balise or (dimension if dimension in ("MGT", "ECH") and (codes is None or dimension in codes)
                         else None)
        labels = {own} if own else {DIMENSION_LABEL + dimension}
        out.append({"id": f"referentiel#{len(out) + 1}", "text": line, "dimension": dimension,
                    "balise": own, "labels": labels})
    return out


def codebook_documents(codebook: Codebook) -> list[dict]:
    """One short document per code: its label and definition, each inclusion criterion, each example, its keywords.

    Returns
    -------
    list of dict
        ``{"id", "text", "labels"}`` (labels: the code).
    """
    out = []
    for code in codebook.codes.values():
        texts = [f"{code.label}. {code.definition}".strip(), *code.include, *code.examples]
        if code.keywords:
            texts.append(" ; ".join(code.keywords))
        for k, text in enumerate(t for t in texts if t and t.strip()):
            out.append({"id": f"codebook:{code.id}#{k + 1}", "text": text.strip(), "labels": {code.id}})
    return out
