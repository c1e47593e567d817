"""The corpus in IRaMuTeQ's text format (Alceste's), and a reader for it.

IRaMuTeQ reads one plain UTF-8 text file in which each text starts with a
line of four stars and *starred variables*::

    **** *territoire_le_mene *role_elu *atelier_valeur *type_transcript *doc_le_mene_valeur
    Premier paragraphe du tour de parole…

One text here is one speaker turn (its segments, one per line), so the
classes IRaMuTeQ finds can be crossed with the speaker's role as well as
with the territory, atelier and kind of document. Narration outside any turn
(récits) is one text per segment with ``*role_narration``.

A starred variable is ``*name_modality``; IRaMuTeQ splits it at the first
underscore and advises letters, digits and underscores only, so the hyphens
of our slugs are written as underscores (``le-mene`` → ``le_mene``) and read
back as hyphens (our slugs never hold an underscore). Stars are removed from
the texts, where they would start a variable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from analyse.errors import UsageError

# Our field → IRaMuTeQ variable name (French: the names show in IRaMuTeQ's menus).
VARIABLES = {"territory": "territoire", "role": "role", "atelier": "atelier", "kind": "type", "doc": "doc"}
_NOT_ALLOWED = re.compile(r"[^0-9A-Za-z_]+")


@dataclass
class IramuteqText:
    """One text of an IRaMuTeQ file: its starred variables and its lines."""

    variables: dict[str, str]
    text: str
    themes: list[str] = field(default_factory=list)


def _modality(value) -> str:
    value = "sans" if value in (None, "") else str(value)
    return _NOT_ALLOWED.sub("_", value.replace("-", "_")).strip("_") or "sans"


def _clean(text: str) -> str:
    lines = [" ".join(line.replace("*", " ").split()) for line in text.split("\n")]
    return "\n".join(line for line in lines if line)


def iramuteq_texts(corpus, leave_out_roles: tuple[str, ...] = ()) -> list[IramuteqText]:
    """One :class:`IramuteqText` per speaker turn (per segment for narration), in corpus order.

    Variables hold our values (hyphens kept); :func:`format_iramuteq` encodes them.
    """
    texts: list[IramuteqText] = []
    key = None
    for s in corpus.segments:
        if s.role in leave_out_roles:
            key = None
            continue
        this = (s.doc, s.turn) if s.turn else None
        if this is not None and this == key:
            texts[-1].text += "\n" + s.text
            continue
        key = this
        # the facilitator of an inter-territory workshop speaks for no town: the document's territory
        territory = s.territory or corpus.documents[s.doc].territory
        values = {"territory": territory, "role": s.role or "narration", "atelier": s.atelier,
                  "kind": s.kind, "doc": s.doc}
        texts.append(IramuteqText({VARIABLES[k]: v for k, v in values.items()}, s.text))
    return texts


def format_iramuteq(texts: list[IramuteqText]) -> str:
    """IRaMuTeQ's text format for ``texts``.

    Examples
    --------
    >>> print(format_iramuteq([IramuteqText({"territoire": "le-mene", "role": "elu"}, "Un *mot.")]))
    **** *territoire_le_mene *role_elu
    Un mot.
    <BLANKLINE>
    """
    out = []
    for t in texts:
        stars = " ".join(f"*{_modality(name)}_{_modality(value)}" for name, value in t.variables.items())
        out.append(f"**** {stars}".rstrip())
        out.extend(f"-*{_modality(theme)}" for theme in t.themes)
        out.append(_clean(t.text))
        out.append("")
    return "\n".join(out)


def write_iramuteq(corpus, path: str | Path, leave_out_roles: tuple[str, ...] = ()) -> int:
    """Write the corpus as an IRaMuTeQ file (atomically); return the number of texts."""
    from analyse.fileio import atomic_write

    texts = iramuteq_texts(corpus, leave_out_roles)
    atomic_write(Path(path), format_iramuteq(texts))
    return len(texts)


def parse_iramuteq(text: str, path: str | None = None) -> list[IramuteqText]:
    """Read an IRaMuTeQ text file's content: texts, starred variables (underscores of
    modalities read back as hyphens) and ``-*`` thematic lines.

    Examples
    --------
    >>> [(t.variables, t.text) for t in parse_iramuteq("**** *territoire_le_mene *role_elu\\nUn mot.\\n")]
    [({'territoire': 'le-mene', 'role': 'elu'}, 'Un mot.')]
    """
    texts: list[IramuteqText] = []
    for lineno, line in enumerate(text.lstrip("\ufeff").splitlines(), start=1):
        if line.startswith("****"):
            variables = {}
            for star in line[4:].split():
                if not star.startswith("*") or len(star) < 2:
                    raise UsageError(f"variable étoilée mal formée : « {star} »", path, lineno,
                                     hint="écrivez *nom_modalite")
                name, _, modality = star[1:].partition("_")
                variables[name] = modality.replace("_", "-")
            texts.append(IramuteqText(variables, ""))
        elif line.startswith("-*"):
            if texts:
                texts[-1].themes.append(line[2:].strip())
        elif line.strip():
            if not texts:
                raise UsageError("du texte avant la première ligne « **** »", path, lineno,
                                 hint="chaque texte commence par une ligne **** *variable_modalite")
            texts[-1].text += ("\n" if texts[-1].text else "") + line.strip()
    return texts


def read_iramuteq(path: str | Path) -> list[IramuteqText]:
    """Read an IRaMuTeQ file (UTF-8)."""
    path = Path(path)
    try:
        return parse_iramuteq(path.read_text(encoding="utf-8"), str(path))
    except UnicodeDecodeError:
        raise UsageError("le fichier n'est pas en UTF-8", str(path), hint="réenregistrez-le en UTF-8") from None
