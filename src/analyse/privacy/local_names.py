"""Local organisations and projects that no lexicon lists yet: head nouns and the names after them.

A lexicon only knows the names someone wrote down; a new transcript brings new ones. Spoken
French, though, announces a local name with a *head noun* and then the name: « l'association
Les Jardins de la Motte », « la boulangerie Rault », « le club de foot de Plouguenast », « le
projet « Bouge ton quartier » », « la communauté de communes du Val ». The rules below find
those over spaCy tokens (a :class:`spacy.matcher.Matcher` per rule; plain tokenisation is
enough, no tagger is needed) and mask the head with its name, by the head's replacement
(« [une association locale] »), so that the kind of body — often the very dispositif a
groupe miroir discusses — stays readable. The lists live in ``data/masking.yaml``; a project
extends them in ``<lexicons>/_regles.yaml`` (same keys).

Rules, in the words of ``masking.yaml``:

* ``tetes_organisations``, ``tetes_projets``, ``tetes_collectivites``: a head (« association »,
  « projet », « communauté de communes ») followed, after at most one free word (« l'épicerie
  *bio* … ») and up to two « de + word » complements (« le club *de foot* de … »), by a name:
  capitalised words (with « de », « la », « sur », « & »… between them), a quoted name
  (« … », "…"), or « de / du / des » + a capitalised word;
* ``tetes_apres``: a capitalised name then a head written after it (« Loudéac Communauté »,
  « Flandre Habitat »);
* ``tetes_evenements``: a capitalised event word after an article or a preposition, with more
  words after it (« les Journées vertes du Val », « la Fête de la pomme »);
* ``verbes_nommer``: a name given in so many words (« ça s'appelle Terre d'Envol »);
* ``sigles_courants``: an isolated all-capital word of three characters or more that is on
  neither this list nor the never-mask list is a local body (« le SIAEP a voté »);
* last, :meth:`NameRules.leftover_names`: a capitalised word inside a sentence that nothing
  else explains is a proper noun nobody listed (French capitalises proper nouns only).

A name is not a name when it is made only of never-mask or guard words (« l'association des
maires de France », « la fête de Noël »), when the whole of head and name is on the never-mask
list (« le plan Climat »), or when it is one given name (« le projet de Michel »: the person
rules mask Michel).

Why a Matcher and a little Python rather than one token pattern: the Matcher finds the heads
and their complements; how far a name runs (« Les Jardins de la Motte » but not « … de la
Motte et Michel ») needs a repeated group « link + capitalised word », which a token pattern
cannot express.

Examples
--------
>>> rules = NameRules.load()
>>> doc = blank_doc("On travaille avec l'épicerie solidaire La Cagette et le projet « Bouge ton quartier ».")
>>> [(doc.text[f.start:f.end], f.replacement) for f in rules.find(doc)]
[('épicerie solidaire La Cagette', '[une épicerie solidaire locale]'), ('projet « Bouge ton quartier »', '[un projet local]')]
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterable

import yaml

from analyse.errors import AnalyseError
from analyse.messages import msg
from analyse.privacy.decontext import fold
from analyse.privacy.lexicons import PROJECT_RULES, _read_yaml

SHARED_RULES = Path(__file__).resolve().parent / "data" / "masking.yaml"

ORGANISATION_DEFAULT = "[une organisation locale]"
PROJECT_DEFAULT = "[un projet local]"
COLLECTIVITY_DEFAULT = "[l'intercommunalité]"
NAMED_DEFAULT = "[un nom local]"
PLACE_DEFAULT = "[un lieu]"
# a capitalised word after these is a place (« à Kerbriand », « en Bretagne »)
_PLACE_BEFORE = {"à", "au", "aux", "en", "vers", "depuis", "jusqu'à", "jusqu’à"}
# list key → (kind scored by the evaluation, default replacement)
HEAD_LISTS = {
    "tetes_organisations": ("organisation", ORGANISATION_DEFAULT),
    "tetes_projets": ("projet", PROJECT_DEFAULT),
    "tetes_collectivites": ("organisation", COLLECTIVITY_DEFAULT),
    "tetes_apres": ("organisation", ORGANISATION_DEFAULT),
    "tetes_evenements": ("projet", PROJECT_DEFAULT),
}
WORD_LISTS = ("verbes_nommer", "sigles_courants")

_DE = ["de", "du", "des", "d'", "d’"]
_ARTICLES = ["la", "le", "les", "l'", "l’"]
# words that may sit inside a name between capitalised words (« Les Amis de la Terre », « Bois & Co »)
_LINKS = {"de", "du", "des", "d'", "d’", "la", "le", "les", "l'", "l’", "sur", "en", "&", "aux", "au", "à"}
_QUOTES = {"«": "»", '"': '"', "“": "”"}
# what comes before a capitalised event word that opens a name (« les Journées … », « à la Fête … »)
_BEFORE_EVENT = ["le", "la", "les", "l'", "l’", "du", "des", "au", "aux", "de", "d'", "d’", "à", "pour",
                 "notre", "nos", "votre", "vos", "leur", "leurs", "ce", "cet", "cette", "ces", "son", "sa",
                 "ses", "chaque", "prochain", "prochaine", "dernier", "dernière"]
# a head noun comes after a determiner (« l'association », « notre petite épicerie »), or opens the text
_DETERMINERS = {"le", "la", "les", "l'", "l’", "un", "une", "des", "du", "au", "aux", "de", "d'", "d’", "ce",
                "cet", "cette", "ces", "mon", "ma", "mes", "ton", "ta", "tes", "son", "sa", "ses", "notre", "nos",
                "votre", "vos", "leur", "leurs", "quelques", "plusieurs", "chaque", "autre", "autres"}
# adjectives that come before a noun (« notre petite épicerie ») — after one, the noun is not an adjective
_BEFORE_NOUN = {"petit", "petite", "petits", "petites", "grand", "grande", "grands", "grandes", "gros", "grosse",
                "grosses", "nouveau", "nouvel", "nouvelle", "nouveaux", "nouvelles", "vieux", "vieil", "vieille",
                "vieilles", "ancien", "ancienne", "anciens", "anciennes", "jeune", "jeunes", "beau", "bel", "belle",
                "fameux", "fameuse", "seul", "seule", "premier", "première", "dernier", "dernière", "même", "vrai",
                "vraie", "sacré", "sacrée", "super", "bonne", "bon"}
_INDEFINITE = {"un", "une", "des", "de", "d'", "d’", "quelques", "plusieurs", "chaque", "autre", "autres"}
# guard words that never open or close a name: civilities, politeness, discourse markers
_NOT_IN_NAMES = {"madame", "monsieur", "mademoiselle", "mme", "docteur", "maitre", "merci", "bonjour", "bonsoir",
                 "salut", "pardon", "allez", "ben", "bon", "bah", "euh", "heu", "oui", "non", "ok", "voila", "alors",
                 "enfin", "donc", "sinon", "bref", "tiens", "attendez", "ecoutez", "dites", "bravo", "super"}
MAX_NAME_TOKENS = 8
MAX_QUOTED_TOKENS = 12
# a free word between a head and its name, and the word of a « de + word » complement
_FREE_WORD = {"IS_ALPHA": True, "IS_LOWER": True, "IS_STOP": False}
_ACRONYM = re.compile(r"[A-ZÀÂÉÈÊÎÔÛÇ][A-ZÀÂÉÈÊÎÔÛÇ0-9&]{2,}")
_ROMAN = re.compile(r"[IVXLCDM]+")


@dataclass(frozen=True)
class Head:
    """A head noun (as tokens), the kind of what it names, and the words that replace head and name."""

    text: str
    kind: str
    replacement: str


@dataclass(frozen=True)
class Found:
    """A local name found by a rule: character offsets, kind, replacement, and the rule's list."""

    start: int
    end: int
    kind: str
    replacement: str
    rule: str
    head: str = ""


@dataclass
class NameRules:
    """The head-noun rules (see the module docstring) and the lists they read.

    Parameters
    ----------
    heads : dict
        ``list key → [Head]`` for each of :data:`HEAD_LISTS`.
    naming_verbs, acronyms : frozenset
        Folded words of ``verbes_nommer`` and ``sigles_courants``.
    generic, guard : frozenset
        Folded never-mask and guard words (a name made only of them is no name).
    """

    heads: dict[str, list[Head]] = field(default_factory=dict)
    naming_verbs: frozenset[str] = frozenset()
    acronyms: frozenset[str] = frozenset()
    generic: frozenset[str] = frozenset()
    guard: frozenset[str] = frozenset()
    _matchers: dict = field(default_factory=dict, repr=False)

    # ------------------------------------------------------------------ building
    @classmethod
    def from_data(cls, *datas: dict, sources: Iterable[str] = ()) -> "NameRules":
        """Rules from the content of one or more ``masking.yaml``-like files (later ones add to earlier)."""
        heads: dict[str, dict[str, Head]] = {key: {} for key in HEAD_LISTS}
        words: dict[str, set[str]] = {key: set() for key in WORD_LISTS}
        generic, guard = set(), set()
        sources = list(sources) + [""] * len(datas)
        for data, source in zip(datas, sources):
            for key, (kind, default) in HEAD_LISTS.items():
                for item in data.get(key) or []:
                    text, replacement = _head_item(item, key, source)
                    heads[key][fold(text)] = Head(text, kind, replacement or default)
            for key in WORD_LISTS:
                # as written and folded: verbs are matched on their lower-case form, acronyms folded
                words[key] |= {v for w in data.get(key) or [] for v in (str(w).lower(), fold(str(w)))}
            generic |= {fold(" ".join(str(w).split())) for w in data.get("generiques") or []}
            guard |= {fold(str(w)) for w in data.get("garde") or []}
        return cls({k: list(v.values()) for k, v in heads.items()}, frozenset(words["verbes_nommer"]),
                   frozenset(words["sigles_courants"]), frozenset(generic), frozenset(guard))

    @classmethod
    def load(cls, folder: str | Path | None = None) -> "NameRules":
        """The bundled rules, plus ``folder/_regles.yaml`` when a lexicons folder has one."""
        datas, sources = [_shared_data()], [str(SHARED_RULES)]
        if folder is not None and (Path(folder) / PROJECT_RULES).is_file():
            path = Path(folder) / PROJECT_RULES
            datas.append(_read_yaml(path))
            sources.append(str(path))
        return cls.from_data(*datas, sources=sources)

    def matcher(self, vocab):
        """The token Matcher of these rules for a spaCy vocabulary (built once per vocabulary)."""
        key = id(vocab)
        if key not in self._matchers:
            self._matchers[key] = (vocab, self._build_matcher(vocab))
        return self._matchers[key][1]

    def _build_matcher(self, vocab):
        from spacy.matcher import Matcher

        tokenizer = blank_nlp().tokenizer
        matcher = Matcher(vocab)
        de = {"LOWER": {"IN": _DE}}
        article = {"LOWER": {"IN": _ARTICLES}, "OP": "?"}
        free = dict(_FREE_WORD)
        for key in ("tetes_organisations", "tetes_projets", "tetes_collectivites"):
            for i, head in enumerate(self.heads[key]):
                words = [{"LOWER": {"IN": _spellings(t.lower_)}} for t in tokenizer(head.text)]
                tail = [{**de, "OP": "?"}, article]
                patterns = []
                for groups in range(3):
                    middle = [{**free, "OP": "?"}] + [de, article, free] * groups
                    patterns.append(words + middle + tail)
                matcher.add(f"{key}:{i}", patterns)
        for i, head in enumerate(self.heads["tetes_apres"]):
            matcher.add(f"tetes_apres:{i}", [[{"IS_TITLE": True}, {"ORTH": head.text}]])
        for i, head in enumerate(self.heads["tetes_evenements"]):
            matcher.add(f"tetes_evenements:{i}", [[{"LOWER": {"IN": _BEFORE_EVENT}}, {"ORTH": head.text}]])
        matcher.add("verbes_nommer", [[{"LOWER": {"IN": sorted(self.naming_verbs)}}]])
        matcher.add("sigles", [[{"TEXT": {"REGEX": "^" + _ACRONYM.pattern + "$"}}]])
        return matcher

    # ------------------------------------------------------------------ finding
    def find(self, doc, lexicon=None) -> list[Found]:
        """Local names in a spaCy ``Doc`` (any pipeline: only tokens are read), sorted, one per span.

        ``lexicon`` (:class:`~analyse.privacy.lexicons.Lexicon`) adds its never-mask and guard
        words to the bundled ones.
        """
        from analyse.privacy.pseudonymise import first_names

        generic = self.generic | (lexicon.generic if lexicon is not None else set())
        guard = self.guard | (lexicon.guard if lexicon is not None else set())
        check = _NameCheck(doc, generic, guard, first_names(), self.acronyms)
        # never-mask names inside a name (« le label Territoire engagé pour la nature »)
        never = lexicon.generic_spans(doc.text) if lexicon is not None else []
        found: dict[tuple[int, int], Found] = {}

        def keep(start_tok: int, end_tok: int, head: Head, rule: str, name: tuple[int, int] | None = None) -> None:
            start, end = doc[start_tok].idx, doc[end_tok - 1].idx + len(doc[end_tok - 1])
            name_start, name_end = (start, end) if name is None else (doc[name[0]].idx, doc[name[1] - 1].idx
                                                                       + len(doc[name[1] - 1]))
            if check.is_generic(doc.text[start:end]) or any(s < name_end and name_start < e for s, e in never):
                return
            old = found.get((start, end))
            # « le comité des fêtes de … »: the longest head that reads the same span is the most specific
            if old is None or len(head.text) > len(old.head):
                found[(start, end)] = Found(start, end, head.kind, head.replacement, rule, head.text)

        for match_id, s, e in self.matcher(doc.vocab)(doc):
            label = doc.vocab.strings[match_id]
            key, _, index = label.partition(":")
            if key in ("tetes_organisations", "tetes_projets", "tetes_collectivites"):
                head = self.heads[key][int(index)]
                determiner = check.determiner_before(s)
                if determiner is None:
                    continue      # « le compostage collectif de … »: an adjective, not a head noun
                end = check.name_after(e)
                # « une ferme de la Sarthe »: a farm somewhere, not a named one (the place is masked alone)
                if end is not None and not (determiner in _INDEFINITE and any(t.lower_ in _DE for t in doc[s:e])):
                    keep(s, end, head, key, (e, end))
            elif key == "tetes_apres":
                head = self.heads[key][int(index)]
                start = check.name_before(s + 1)
                if start is not None:
                    keep(start, e, head, key, (start, s + 1))
            elif key == "tetes_evenements":
                head = self.heads[key][int(index)]
                end = check.event_name_after(s + 1)
                if end is not None:
                    keep(s + 1, end, head, key)
            elif key == "verbes_nommer":
                end = check.name_after(e)
                if end is not None:
                    keep(e, end, Head("", "projet", NAMED_DEFAULT), key)
            elif key == "sigles":
                if check.is_local_acronym(s, self.acronyms):
                    keep(s, e, Head("", "organisation", ORGANISATION_DEFAULT), key)
        return sorted(found.values(), key=lambda f: (f.start, -f.end))

    def leftover_names(self, doc, covered: Iterable[tuple[int, int]] = (), lexicon=None) -> list[Found]:
        """Capitalised words inside a sentence that nothing else explains: proper nouns nobody listed.

        French capitalises proper nouns only. Inside a sentence (not after « . », « : »,
        « « » or a line break), a capitalised word that is no stop word, never-mask or
        guard word, acronym (the acronym rule's) or given name, and that no other rule
        masked (``covered``: character spans), is a name: « on bosse avec les Anges
        Gardins » → « on bosse avec [un nom local] »; after « à », « au », « en »… it is a
        place (« [un lieu] »).
        """
        from analyse.privacy.pseudonymise import first_names

        generic = self.generic | (lexicon.generic if lexicon is not None else set())
        guard = self.guard | (lexicon.guard if lexicon is not None else set())
        check = _NameCheck(doc, generic, guard, first_names(), self.acronyms)
        covered = list(covered)
        never = lexicon.generic_spans(doc.text) + lexicon.guard_spans(doc.text) if lexicon is not None else []
        out, i = [], 1
        while i < len(doc):
            if not check.starts_leftover(i, guard_ok=True):
                i += 1
                continue
            end = check._run(i)
            if end == i + 1 and not check.starts_leftover(i):
                i += 1
                continue      # a guard word alone (« Internet »); in a name it may open it (« Terre d'Envol »)
            # civilities and politeness at the edges are not part of the name (« Madame Deswarte » →
            # « Deswarte »); other guard words are, inside a name (« les Quatre Vents »)
            while end - i > 1 and fold(doc[i].text) in _NOT_IN_NAMES and doc[i + 1].lower_ not in _LINKS:
                i += 1
            while end - i > 1 and (fold(doc[end - 1].text) in _NOT_IN_NAMES or doc[end - 1].lower_ in _LINKS):
                end -= 1
            start = i - 1 if doc[i - 1].text in ("Le", "La", "Les", "L'", "L’") and i > 1 \
                and check.starts_leftover(i - 1, article=True) else i
            first, last = doc[start].idx, doc[end - 1].idx + len(doc[end - 1])
            inside = [(s, e) for s, e in covered if s < last and first < e]
            # nothing new but links between masks (« les Gohéliades de Loos » keeps « de »)
            new_words = [t for t in doc[start:end] if t.lower_ not in _LINKS
                         and not _all_covered(doc.text, t.idx, t.idx + len(t), inside)]
            if any(s < last and first < e for s, e in never) or not new_words:
                i = end
                continue
            # a run that touches a mask already made goes with it (« Bretagne Vivante », « Nadia Dupont »:
            # the merge keeps the more trusted replacement); alone, it must be a name by itself
            if inside or check._valid(i, end):
                place = doc[start - 1].lower_ in _PLACE_BEFORE
                out.append(Found(first, last, "lieu" if place else "organisation",
                                 PLACE_DEFAULT if place else NAMED_DEFAULT, "noms_propres"))
            i = end
        return out


def _all_covered(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> bool:
    return all(any(s <= k < e for s, e in spans) for k in range(start, end) if text[k].isalnum())


class _NameCheck:
    """Where a name runs, token by token, and whether it is a name at all."""

    def __init__(self, doc, generic: frozenset[str] | set[str], guard: frozenset[str] | set[str],
                 given_names: frozenset[str], acronyms: frozenset[str] = frozenset()):
        self.doc, self.generic, self.guard, self.given, self.acronyms = doc, generic, guard, given_names, acronyms

    # ---------------------------------------------------------------- words
    def determiner_before(self, i: int) -> str | None:
        """The determiner of the noun at token ``i`` (« l'… », « une grosse … »); "" at the start; else None."""
        before = [t for t in self.doc[max(0, i - 2):i]]
        if not before or before[-1].is_punct or before[-1].is_space:
            return ""
        if before[-1].lower_ in _DETERMINERS:
            return before[-1].lower_
        if len(before) == 2 and before[-1].lower_ in _BEFORE_NOUN and before[0].lower_ in _DETERMINERS:
            return before[0].lower_
        return None

    def starts_leftover(self, i: int, article: bool = False, guard_ok: bool = False) -> bool:
        """Token ``i`` is a capitalised word inside a sentence (see :meth:`NameRules.leftover_names`)."""
        t, before = self.doc[i], self.doc[i - 1]
        if before.is_space or (before.is_punct and before.text not in (",", "&")) or "\n" in before.whitespace_:
            return False
        if not t.text[:1].isupper() or sum(ch.isalpha() for ch in t.text) < 2 or any(ch.isdigit() for ch in t.text):
            return False
        if article:
            return True
        if t.is_stop or t.is_upper or fold(t.text) in self.generic or fold(t.text) in self.acronyms:
            return False          # « le Smic », « le Scot »: a common acronym written as a word
        return guard_ok or fold(t.text) not in self.guard

    def is_generic(self, text: str) -> bool:
        folded = re.sub(r"^(?:l'|la |le |les |un |une |des |du |de la |de l')", "", fold(text).strip())
        return folded in self.generic or folded in self.guard

    def _word(self, i: int) -> bool:
        """A word that can be part of a name: it starts with a capital (« Les », « Z' », « CD2E »)."""
        if i >= len(self.doc):
            return False
        t = self.doc[i]
        return t.text[:1].isupper() and any(ch.isalpha() for ch in t.text)

    def _glued(self, i: int) -> bool:
        """Token ``i`` continues the word before it (« Lens-Liévin », « Z'Arts »)."""
        return 0 < i < len(self.doc) and not self.doc[i - 1].whitespace_ and not self.doc[i].is_space \
            and (self.doc[i].text in "-'’" or self.doc[i].text[:1].isalnum()) \
            and self.doc[i].text not in _QUOTES.values()

    def _valid(self, start: int, end: int) -> bool:
        """Tokens ``start:end`` make a name: one content word at least, not only never-mask or guard words."""
        tokens = [t for t in self.doc[start:end] if t.text not in _QUOTES and t.text not in _QUOTES.values()]
        content = [t for t in tokens if t.lower_ not in _LINKS and not t.is_punct and not t.is_stop]
        if not content:
            return False
        if all(fold(t.text) in self.generic or fold(t.text) in self.guard for t in content):
            return False
        text = self.doc[start:end].text.strip("«»\"“” ")
        if self.is_generic(text):
            return False
        words = [t.text for t in content]
        # one given name (« le projet de Michel », « il s'appelle Jean-Marc Dupont »): a person, not a body
        if words[0] in self.given or all(p in self.given for p in words[0].split("-")):
            return False
        return True

    # ---------------------------------------------------------------- runs
    def _run(self, i: int, conj: bool = False) -> int:
        """End of the capitalised run that starts at token ``i`` (a name word).

        Links join capitalised words (« Les Amis de la Terre »; with ``conj``, after a head
        noun, « et » too: « Brenne et Canal », never between two bare names: « Nadine et
        Erwan »); a year or a number ends a name (« Énergie 2030 »); one lower-case word may
        sit between two links when a capitalised word follows (« Maison de santé des Ormes »).
        """
        doc = self.doc
        end, j = i + 1, i + 1
        while j < len(doc) and j - i < MAX_NAME_TOKENS:
            if self._glued(j) or self._word(j):
                j += 1
                end = j
                continue
            if doc[j].is_digit and len(doc[j]) <= 4:
                end = j + 1
                break
            k = self._links(j, conj)
            if k > j and self._word(k):
                j = k
                continue
            if k > j and k < len(doc) and doc[k].is_alpha and doc[k].is_lower and not doc[k].is_stop:
                m = self._links(k + 1)
                if m > k + 1 and self._word(m):
                    j = m
                    continue
            break
        return end

    def _links(self, j: int, conj: bool = False) -> int:
        """End of the run of link words (at most three) that starts at token ``j``."""
        k = j
        while k < len(self.doc) and k - j < 3 and (self.doc[k].lower_ in _LINKS or conj and self.doc[k].lower_ == "et"):
            k += 1
        return k

    def _quoted(self, i: int) -> int | None:
        close = _QUOTES[self.doc[i].text]
        for j in range(i + 1, min(len(self.doc), i + 1 + MAX_QUOTED_TOKENS)):
            if self.doc[j].text == close:
                return j + 1 if j > i + 1 else None
            if self.doc[j].text in ("\n", "\n\n") or self.doc[j].is_space:
                return None
        return None

    def name_after(self, i: int) -> int | None:
        """End token of the name that starts at token ``i`` (after a head), or None."""
        if i >= len(self.doc):
            return None
        if self.doc[i].text in _QUOTES:
            end = self._quoted(i)
        elif self._word(i):
            end = self._run(i, conj=True)
        else:
            return None
        if end is None or not self._valid(i, end):
            return None
        return end

    def name_before(self, head: int) -> int | None:
        """Start token of the capitalised name that ends right before token ``head``, or None."""
        start = head - 1
        while start - 1 >= 0 and head - start < MAX_NAME_TOKENS and (
                self._glued(start) or (self._word(start - 1) and self.doc[start - 1].whitespace_
                                       and not self.doc[start - 1].is_stop
                                       and fold(self.doc[start - 1].text) not in self.guard)):
            start -= 1
        while start < head and not self._word(start):
            start += 1
        if start >= head or not self._valid(start, head):
            return None
        return start

    def event_name_after(self, head: int) -> int | None:
        """End token of an event name opened by the capitalised word at ``head`` (« Fête de la pomme »)."""
        end = self._run(head)
        j, groups = end, 0
        # lower-case complements after the capitalised start: « Fête de la pomme », « Journées du jardin »
        while groups < 2 and j < len(self.doc) and self.doc[j].lower_ in _DE:
            k = j + 1
            if k < len(self.doc) and self.doc[k].lower_ in _ARTICLES:
                k += 1
            if k < len(self.doc) and (self._word(k) or (self.doc[k].is_alpha and not self.doc[k].is_stop)):
                j = self._run(k) if self._word(k) else k + 1
                end, groups = j, groups + 1
                continue
            break
        if end == head + 1 or not self._valid(head + 1, end):
            return None
        return end

    def is_local_acronym(self, i: int, common: frozenset[str]) -> bool:
        """An isolated all-capital word that is neither a common acronym nor on the never-mask list."""
        t = self.doc[i]
        if sum(ch.isalpha() for ch in t.text) < 2 or _ROMAN.fullmatch(t.text):
            return False
        folded = fold(t.text)
        if folded in common or folded in self.generic or folded in self.guard:
            return False
        # words shouted in capitals (« C'EST PAS POSSIBLE ») are not acronyms
        for j in (i - 1, i + 1):
            if 0 <= j < len(self.doc) and self.doc[j].is_upper and sum(ch.isalpha() for ch in self.doc[j].text) >= 2:
                return False
        return True


def _head_item(item, key: str, source: str) -> tuple[str, str | None]:
    if isinstance(item, dict):
        text, replacement = item.get("tete"), item.get("remplacement")
    else:
        text, replacement = item, None
    if not isinstance(text, str) or not text.strip() or (replacement is not None and not isinstance(replacement, str)):
        raise AnalyseError(msg("mask.bad_head", key=key, item=repr(item)), source or None,
                           hint=msg("mask.bad_head_hint"))
    return " ".join(text.split()), replacement


def _spellings(word: str) -> list[str]:
    """A head word as written and without accents (« fête », « fete »)."""
    return sorted({word, fold(word)})


@lru_cache(maxsize=1)
def _shared_data() -> dict:
    return _read_yaml(SHARED_RULES)


@lru_cache(maxsize=1)
def blank_nlp():
    """A tokenizer-only French pipeline: the rules need tokens, not a model."""
    import spacy

    return spacy.blank("fr")


def blank_doc(text: str):
    """``text`` tokenised by :func:`blank_nlp`."""
    return blank_nlp()(text)
