"""Pseudonymisation of participants for reports shown to a groupe miroir.

Each participant named in a front matter gets a stable pseudonym built from
their role (``Élu·e 3``, ``Habitant·e 1``…). The same person (same name,
whatever the document) keeps the same pseudonym across every report of a run;
the mapping is written to a separate file that is never embedded in HTML.

Names are replaced in free text by whole-word, case- and accent-insensitive
matching of the full name, then of the first and last names alone (longest
first), so that « Merci Nadine » becomes « Merci Élu·e 3 ». People who are
mentioned but are not participants become ``[PERSONNE]``: person entities
found by spaCy (PER), capitalised words that are common given names
(``data/prenoms.txt``; a compound such as Jean-Pierre when every part is one,
never after Saint-), and the capitalised name after a civility (« monsieur
Caron »), which spaCy's small model often misses.
Hand-written matching because no library maps names to *stable role-based*
pseudonyms; the regex approach is deliberately simple and tested.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from analyse.fileio import atomic_write
from analyse.model.corpus import Corpus
from analyse.textutil import fold_chars

ROLE_LABELS = {
    "elu": "Élu·e",
    "services": "Agent·e",
    "acteur-economique": "Acteur·rice économique",
    "citoyen": "Habitant·e",
    "animateur": "Animateur·rice",
    "autre": "Participant·e",
}
PERSON_PLACEHOLDER = "[PERSONNE]"
FIRST_NAMES_FILE = Path(__file__).resolve().parent / "data" / "prenoms.txt"
# A capitalised word, hyphenated parts included (Jean-Pierre, Saint-Valentin).
CAPITALISED = re.compile(r"(?<![\w-])[^\W\d_a-z][\w]*(?:-[^\W\d_][\w]*)*(?![\w-])")
# The name after a civility: « monsieur Caron », « Mme Le Goff », « M. de Villiers ». A lowercase
# article is a title, not a name: « Monsieur le Maire ».
_CIVILITY_WORDS = r"(?:[Mm]onsieur|[Mm]adame|[Mm]ademoiselle|Mme|Mlle|M\.)"
# A civility right before a participant's name: the pair becomes the participant's pseudonym.
_CIVILITY_BEFORE = re.compile(r"(?<!\w)" + _CIVILITY_WORDS + r"\s+$")
# What a previous pass already wrote: pseudonyms (« Élu·e 3 ») and placeholders (« [PERSONNE] »).
_ALREADY_MASKED = re.compile(r"(?:" + "|".join(map(re.escape, ROLE_LABELS.values())) + r") \d+"
                             r"|\[(?:PERSONNE|LIEU|ORGANISATION|PROJET)\]")
CIVILITY = re.compile(r"\b(?:[Mm]onsieur|[Mm]adame|[Mm]ademoiselle|Mme|Mlle|M\.)\s+"
                      r"((?:(?:Le|La|Van|De|Du|de|du) )?(?:d['’])?[^\W\d_a-z][\w'’-]*)")


@lru_cache(maxsize=1)
def first_names() -> frozenset[str]:
    """The given names masked when capitalised (see ``data/prenoms.txt``)."""
    words = []
    for line in FIRST_NAMES_FILE.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            words += line.split()
    return frozenset(words)


def mentioned_people(text: str) -> list[tuple[int, int]]:
    """Spans of people named in ``text`` who need not be participants.

    Examples
    --------
    >>> t = "Patrick et Jean-Pierre, à la Saint-Valentin, chez monsieur Caron, rue Jean-Jaurès."
    >>> [t[s:e] for s, e in mentioned_people(t)]
    ['Patrick', 'Jean-Pierre', 'Caron']
    """
    names = first_names()
    spans = []
    for m in CAPITALISED.finditer(text):
        parts = m.group(0).split("-")
        if all(p in names for p in parts):
            spans.append((m.start(), m.end()))
    for m in CIVILITY.finditer(text):
        spans.append((m.start(1), m.end(1)))
    return sorted(set(spans))


def _whole_words(text: str, start: int, end: int) -> tuple[int, int]:
    """Widen a span to whole hyphenated words: « Marc » inside « Jean-Marc » becomes « Jean-Marc »."""
    while start > 0 and (text[start - 1].isalnum() or text[start - 1] == "-"):
        start -= 1
    while end < len(text) and (text[end].isalnum() or text[end] == "-"):
        end += 1
    return start, end


def _convention_spans(text: str, extra: tuple[str, ...] = ()) -> list[tuple[int, int]]:
    from analyse.model.conventions import spans
    return spans(text, extra)


@dataclass
class Pseudonymiser:
    """Stable name → pseudonym mapping for a corpus, and the text replacement.

    Examples
    --------
    >>> from analyse.model.corpus import load_corpus            # doctest: +SKIP
    >>> p = Pseudonymiser.from_corpus(load_corpus())    # doctest: +SKIP
    >>> p.apply("Merci Nadine, et bonjour Hervé Trémel.")  # doctest: +SKIP
    'Merci Élu·e 3, et bonjour Agent·e 7.'
    """

    mapping: dict[str, str] = field(default_factory=dict)  # full name -> pseudonym
    _pattern: re.Pattern | None = None
    _lookup: dict[str, str] = field(default_factory=dict)   # folded variant -> pseudonym

    @classmethod
    def from_corpus(cls, corpus: Corpus) -> "Pseudonymiser":
        people: dict[str, str] = {}
        for doc in sorted(corpus.documents.values(), key=lambda d: d.id):
            for p in doc.participants:
                people.setdefault(p.name.strip(), p.role)
        counters: dict[str, int] = {}
        mapping = {}
        for name in sorted(people, key=fold_chars):
            role = people[name]
            counters[role] = counters.get(role, 0) + 1
            mapping[name] = f"{ROLE_LABELS.get(role, 'Participant·e')} {counters[role]}"
        return cls(mapping)

    def __post_init__(self) -> None:
        variants: dict[str, set[str]] = {}
        self._partial: set[str] = set()
        for name, alias in self.mapping.items():
            variants.setdefault(fold_chars(name), set()).add(alias)
            first, _, last = name.strip().partition(" ")
            for part in (first, last.strip()):
                if len(part) >= 3 and fold_chars(part) != fold_chars(name):
                    variants.setdefault(fold_chars(part), set()).add(alias)
                    self._partial.add(fold_chars(part))
        # A first or last name shared by two people becomes [PERSONNE], not a wrong alias.
        self._lookup = {v: next(iter(a)) if len(a) == 1 else PERSON_PLACEHOLDER
                        for v, a in variants.items()}
        if self._lookup:
            alternatives = sorted(self._lookup, key=len, reverse=True)
            # A hyphen binds: « Marc » in « Jean-Marc » is not the participant Marc.
            self._pattern = re.compile(r"(?<![\w-])(?:" + "|".join(map(re.escape, alternatives)) + r")(?![\w-])")

    def is_name(self, word: str) -> bool:
        """Whether ``word`` is a participant's name or part of one (any case)."""
        return isinstance(word, str) and fold_chars(word.strip()) in self._lookup

    def alias(self, name: str) -> str:
        return self.mapping.get(name.strip(), PERSON_PLACEHOLDER)

    def apply(self, text: str, person_spans: list[tuple[int, int]] | None = None,
              conventions: tuple[str, ...] = ()) -> str:
        """Replace participants' names (and the given person entity spans) in ``text``.

        Every replacement is planned on the original text as a non-overlapping span, then applied
        once: a participant's name wins over a person mentioned in passing, a longer span over a
        shorter one. A civility followed by a participant's name (« monsieur Muller ») becomes the
        participant's pseudonym as a whole; a hyphenated given name (« Jean-Marc ») is masked
        whole or not at all. Pseudonyms and placeholders already in the text, and transcription
        marks (« [rires] »), are never touched, so applying twice changes nothing.
        """
        if not text:
            return text
        protected = [m.span() for m in _ALREADY_MASKED.finditer(text)]
        protected += _convention_spans(text, conventions)
        # (priority, start, end, replacement): lower priority wins, then the longer span.
        plan: list[tuple[int, int, int, str]] = []
        if self._pattern is not None:
            for m in self._pattern.finditer(fold_chars(text)):
                start, end = m.span()
                # A lone first name must be capitalised: « Claire » the person, not « une idée claire ».
                if m.group(0) in self._partial and not text[start].isupper():
                    continue
                civility = _CIVILITY_BEFORE.search(text, 0, start)
                if civility is not None and civility.end() == start:
                    start = civility.start()
                plan.append((0, start, end, self._lookup[m.group(0)]))
        for start, end in [*(person_spans or []), *mentioned_people(text)]:
            start, end = _whole_words(text, start, end)
            plan.append((1, start, end, PERSON_PLACEHOLDER))
        chosen: list[tuple[int, int, str]] = []
        taken = list(protected)
        for _, start, end, alias in sorted(plan, key=lambda p: (p[0], p[1] - p[2], p[1])):
            if start >= end or any(s < end and start < e for s, e in taken):
                continue
            chosen.append((start, end, alias))
            taken.append((start, end))
        out, pos = [], 0
        for start, end, alias in sorted(chosen):
            out += [text[pos:start], alias]
            pos = end
        out.append(text[pos:])
        return "".join(out)

    def write_mapping(self, path: str | Path) -> Path:
        """Write the name → pseudonym table (it holds real names), readable by the owner only.

        Keep it out of anything published: the batch writes it in the project's private folder.
        """
        path = Path(path)
        atomic_write(path, json.dumps(self.mapping, ensure_ascii=False, indent=2, sort_keys=True) + "\n")
        os.chmod(path, 0o600)
        return path

    @classmethod
    def read_mapping(cls, path: str | Path) -> "Pseudonymiser":
        return cls(json.loads(Path(path).read_text(encoding="utf-8")))
