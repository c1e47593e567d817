"""Per-territory lexicons of local context, and the shared never-mask and guard lists.

A lexicon is the researchers' list of what ties a verbatim to one place. It lives in
the project, one file per territory (``lexicons/<territory>.yaml`` at the project
root), so that a new territory brings its own::

    # lexicons/loos-en-gohelle.yaml
    commune: [Loos-en-Gohelle, Loos]          # the territory itself   → « [la commune] »
    communes_voisines: [Lens, Liévin]         # places nearby          → « [une commune voisine] »
    lieux: [base 11/19, Gohelle]              # lieux-dits, sites, pays → « [un lieu] »
    quartiers: [cité 5]                       #                        → « [un quartier] »
    organisations: [CD2E]                     # local bodies           → « [une structure locale] »
    projets: [Gohéliades]                     # local project names    → « [le projet] »
    gentiles: [Loossois, loossois]            # demonyms               → « [les habitants] » / « [local] »
    personnes: []                             # public figures named   → « [une personne] »
    faits:                                    # distinctive facts      → their own replacement
      - {nom: terrils, remplacement: "[des collines]"}

Every list takes plain names or ``{nom, remplacement}`` to choose the words that
replace one entry (so that the sentence still reads). Matching ignores case and
accents and treats hyphens as spaces, on whole words, longest entry first; a
one-word place or person written with a capital only matches a capitalised word
(« Mené » the place, not « mené » the participle).

A file whose name starts with ``_`` is not a territory: ``_regles.yaml`` holds the
project's additions to the shared lists below and to the head-noun rules of
:mod:`analyse.privacy.local_names` (same keys as ``data/masking.yaml``).

The shared lists (``data/masking.yaml``, documented there) say what is *never*
masked: generic and national bodies and transferable dispositifs (``generiques``:
AMAP, CAF, Pôle emploi, fifty-fifty…) and the words spaCy's small French model
takes for names in spoken French (``garde``: Sinon, Pardon, Euh, Quatorze,
Snapchat, Ascension, months, feasts…).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterable

import yaml

from analyse.errors import AnalyseError
from analyse.privacy.decontext import fold

SHARED_LISTS = Path(__file__).resolve().parent / "data" / "masking.yaml"
LEXICON_DIR = "lexicons"
# A project's additions to the shared lists and to the head-noun rules (analyse.privacy.local_names),
# in its lexicons folder; not a territory.
PROJECT_RULES = "_regles.yaml"

# category → (kind scored by the evaluation, default replacement)
CATEGORIES: dict[str, tuple[str, str]] = {
    "commune": ("lieu", "[la commune]"),
    "communes_voisines": ("lieu", "[une commune voisine]"),
    "lieux": ("lieu", "[un lieu]"),
    "quartiers": ("lieu", "[un quartier]"),
    "organisations": ("organisation", "[une structure locale]"),
    "projets": ("projet", "[le projet]"),
    "gentiles": ("gentile", "[les habitants]"),
    "personnes": ("personne", "[une personne]"),
    "faits": ("fait", "[un fait local]"),
}
# A lower-case demonym is an adjective: « le code source loossois » → « le code source [local] ».
DEMONYM_ADJECTIVE = "[local]"
# Categories whose one-word capitalised entries need a capital in the text.
_CAPITAL_SENSITIVE = {"commune", "communes_voisines", "lieux", "quartiers", "personnes"}


@dataclass(frozen=True)
class Entry:
    """One lexicon name: its category, replacement, and the territory it belongs to (None: shared)."""

    name: str
    category: str
    replacement: str
    territory: str | None

    @property
    def kind(self) -> str:
        return CATEGORIES[self.category][0]


@dataclass(frozen=True)
class Hit:
    """A lexicon name found in a text."""

    start: int
    end: int
    entry: Entry


@dataclass
class Lexicon:
    """The names to mask (all territories), and the never-mask and guard lists.

    Examples
    --------
    >>> lex = Lexicon.from_data({"commune": ["Le Mené", "Mené"], "projets": ["Gohéliades"]}, "le-mene")
    >>> [(h.start, h.end, h.entry.replacement) for h in lex.find("Au Mené, le projet mené aux gohéliades.")]
    [(3, 7, '[la commune]'), (28, 38, '[le projet]')]
    """

    entries: dict[str, Entry] = field(default_factory=dict)     # folded name → entry
    generic: set[str] = field(default_factory=set)             # folded, never masked
    guard: set[str] = field(default_factory=set)               # folded, never a name on their own
    written: list[str] = field(default_factory=list)           # generic and guard words as written
    _pattern: re.Pattern | None = field(default=None, repr=False)
    _generic_pattern: re.Pattern | None = field(default=None, repr=False)
    _guard_pattern: re.Pattern | None = field(default=None, repr=False)

    # ------------------------------------------------------------------ building
    @classmethod
    def from_data(cls, data: dict, territory: str | None, source: str = "") -> "Lexicon":
        lex = cls()
        lex.add_data(data, territory, source)
        return lex

    def add_data(self, data: dict, territory: str | None, source: str = "") -> None:
        """Add one lexicon file's content (``{category: [names or {nom, remplacement}]}``)."""
        if not isinstance(data, dict):
            raise AnalyseError("le lexique doit être un dictionnaire catégorie → liste de noms", source or None,
                               hint="voir lexicons/README.md")
        for category, names in data.items():
            if category not in CATEGORIES:
                raise AnalyseError(f"catégorie inconnue « {category} » dans le lexique", source or None,
                                   hint="catégories possibles : " + ", ".join(CATEGORIES))
            for item in names or []:
                replacement = None
                if isinstance(item, dict):
                    name, replacement = item.get("nom"), item.get("remplacement")
                else:
                    name = item
                if not isinstance(name, (str, int, float)) or not str(name).strip():
                    raise AnalyseError(f"entrée sans nom dans « {category} » : {item!r}", source or None,
                                       hint="écrire un nom, ou {nom: …, remplacement: …}")
                self.add(str(name), category, territory, replacement)

    def add(self, name: str, category: str, territory: str | None = None, replacement: str | None = None) -> None:
        """Add a name; the first entry for a name wins. Names on the never-mask list are refused."""
        name = " ".join(name.split())
        key = fold(name)
        if len(key) < 2 or key in self.entries or key in self.generic:
            return
        self.entries[key] = Entry(name, category, replacement or CATEGORIES[category][1], territory)
        self._pattern = None

    def add_shared(self, path: str | Path = SHARED_LISTS) -> None:
        data = _read_yaml(Path(path))
        self.written += [" ".join(str(w).split()) for key in ("generiques", "garde") for w in data.get(key) or []]
        self.generic |= {fold(" ".join(str(w).split())) for w in data.get("generiques") or []}
        self.guard |= {fold(str(w)) for w in data.get("garde") or []}
        self._generic_pattern = None
        self._guard_pattern = None

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, name: str) -> bool:
        return fold(" ".join(str(name).split())) in self.entries

    # ------------------------------------------------------------------ matching
    def _compiled(self) -> re.Pattern | None:
        if self._pattern is None and self.entries:
            names = sorted(self.entries, key=lambda k: (-len(k), k))
            self._pattern = re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, names)) + r")(?!\w)")
        return self._pattern

    def find(self, text: str) -> list[Hit]:
        """Lexicon names in ``text``, left to right, longest first at each position."""
        pattern = self._compiled()
        if pattern is None or not text:
            return []
        hits = []
        folded = fold(text)
        pos = 0
        while True:
            m = pattern.search(folded, pos)
            if m is None:
                break
            entry = self.entries[m.group(0)]
            if (entry.category in _CAPITAL_SENSITIVE and " " not in fold(entry.name)
                    and entry.name[:1].isupper() and not text[m.start()].isupper()):
                pos = m.start() + 1
                continue
            hits.append(Hit(m.start(), m.end(), entry))
            pos = m.end()
        return hits

    def generic_spans(self, text: str) -> list[tuple[int, int]]:
        """Spans of never-masked names (generic bodies, transferable dispositifs) in ``text``."""
        if not self.generic:
            return []
        if self._generic_pattern is None:
            names = sorted(self.generic, key=lambda k: (-len(k), k))
            self._generic_pattern = re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, names)) + r")s?(?!\w)")
        return [(m.start(), m.end()) for m in self._generic_pattern.finditer(fold(text))]

    def guard_spans(self, text: str) -> list[tuple[int, int]]:
        """Spans of guard phrases of several words (« Fête de la musique ») in ``text``."""
        phrases = [g for g in self.guard if " " in g]
        if not phrases:
            return []
        if self._guard_pattern is None:
            names = sorted(phrases, key=lambda k: (-len(k), k))
            self._guard_pattern = re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, names)) + r")(?!\w)")
        return [(m.start(), m.end()) for m in self._guard_pattern.finditer(fold(text))]

    def is_generic(self, text: str) -> bool:
        return _strip_article(fold(text)) in self.generic

    def is_guard(self, word: str) -> bool:
        return fold(word.strip(" .,;:!?…'’\"«»()[]")) in self.guard

    def replacement(self, hit: Hit, text: str) -> str:
        """The words that replace a hit (a lower-case demonym is an adjective)."""
        if hit.entry.category == "gentiles" and text[hit.start:hit.start + 1].islower():
            return DEMONYM_ADJECTIVE
        return hit.entry.replacement

    def terms(self, territory: str | None = None) -> list[Entry]:
        """Entries of one territory (all, if None), sorted by name."""
        return sorted((e for e in self.entries.values() if territory is None or e.territory == territory),
                      key=lambda e: fold(e.name))


_ARTICLES = re.compile(r"^(?:l'|la |le |les |un |une |des |du |de la |de l')")


def _strip_article(folded: str) -> str:
    return _ARTICLES.sub("", folded.strip())


def _read_yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise AnalyseError("fichier introuvable", str(path)) from None
    except UnicodeDecodeError:
        raise AnalyseError("le fichier n'est pas en UTF-8", str(path)) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise AnalyseError(f"YAML invalide : {getattr(exc, 'problem', exc)}", str(path),
                           None if mark is None else mark.line + 1) from None
    if not isinstance(data, dict):
        raise AnalyseError("le fichier doit contenir un dictionnaire", str(path))
    return data


def lexicon_dir(root: str | Path) -> Path:
    """The lexicon folder of the project at ``root`` (``[masking] lexicons`` of balises.toml, default ``lexicons``)."""
    from analyse.project import Project

    return Project.load(root).lexicons_dir


def load_lexicons(folder: str | Path | None = None, territories: Iterable[str] | None = None,
                  shared: str | Path | None = SHARED_LISTS) -> Lexicon:
    """Every ``<territory>.yaml`` of ``folder`` (missing folder: no local names) and the shared lists.

    All territories are loaded by default: a place of one territory named in another's
    workshop is local context too.

    Raises
    ------
    AnalyseError
        A file is not YAML, not UTF-8, or uses an unknown category (French message, file, line).
    """
    lex = Lexicon()
    if shared is not None:
        lex.add_shared(shared)
    if folder is not None and Path(folder).is_dir():
        if shared is not None and (Path(folder) / PROJECT_RULES).is_file():
            lex.add_shared(Path(folder) / PROJECT_RULES)      # the project's own never-mask and guard words
        wanted = None if territories is None else set(territories)
        for path in sorted(Path(folder).glob("*.yaml")):
            territory = path.stem
            if territory.startswith("_"):
                continue          # _regles.yaml: the project's rules, not a territory
            if wanted is not None and territory not in wanted:
                continue
            lex.add_data(_read_yaml(path), territory, str(path))
    return lex


@lru_cache(maxsize=1)
def shared_lists() -> tuple[frozenset[str], frozenset[str]]:
    """(generic, guard) folded words of the bundled shared lists."""
    lex = Lexicon()
    lex.add_shared()
    return frozenset(lex.generic), frozenset(lex.guard)
