"""Décontextualisation: representative verbatims of invariant codes, with local context masked.

Why this module is long: choosing verbatims and masking them are one step (the mask decides
which verbatims may be shown), and the gazetteer rules need their documentation beside them.

Two maskings live here. The reports and ``analyse mask`` use masking *by category*
(:class:`analyse.privacy.masking.Masker`: the project's lexicons, an EntityRuler before
spaCy's NER, never-mask and guard lists, « [la commune] », « [un quartier] »…), passed to
:func:`decontextualised_verbatims` with a re-identification risk model
(:mod:`analyse.privacy.risk`). The gazetteer masking below (``[LIEU]``, ``[PERSONNE]``…) is
the former one, kept for callers that pass a :class:`Gazetteer`.

A *groupe miroir* discusses the skeleton of the transition (the balises found
everywhere), not the flesh of one town. For each invariant code this module
picks a few representative verbatims per territory (:func:`representative_verbatims`)
and masks what ties them to a place (:func:`mask_text`): persons, places,
organisations and local project names become ``[PERSONNE]``, ``[LIEU]``,
``[ORGANISATION]``, ``[PROJET]``.

What is masked comes from two sources, merged:

* **spaCy entities** (the entity frame of :mod:`analyse.nlp`): PER → PERSONNE,
  LOC → LIEU, ORG → ORGANISATION; MISC is left alone unless it overlaps a
  gazetteer project name (then the whole entity becomes PROJET). The small
  French model makes mistakes, so an entity with no capital letter is
  ignored (« hein » tagged PER), and never-masked words of the gazetteer's
  ``keep`` list are trimmed from its edges (« Merci Thierry » → « Thierry »).
* **address patterns**: the capitalised name after « rue », « résidence »,
  « quartier », « salle »... is a place (``PLACE_PATTERN``).
* **a gazetteer** (:class:`Gazetteer`, :func:`build_gazetteer`): the
  hand-written facts of ``analyse/data/gazetteer.yaml`` (places,
  organisations, projects per territory), the territory names, the
  participants' names from the front matter (full names, and first and last
  names alone), and proper nouns specific to one territory
  (:func:`analyse.analysis.specificities.specific_proper_nouns`).

Gazetteer matching is case-insensitive, accent-tolerant (``Mene`` finds
``Mené``), treats hyphens as spaces (``Loos en Gohelle`` finds
``Loos-en-Gohelle``), on whole words, longest entry first. One exception to
case-insensitivity: a one-word entry written with a capital initial only
matches a word with a capital initial (hyphenated names count as several
words and match in any case), so that the place « Mené » does not
mask the participle « mené » nor the first name « Rose » the colour; the
curated projects and organisations of the gazetteer file (distinctive names
such as « Gohéliades » or « AMAP ») match in any case.
Overlapping spans (from either source) are merged into one; the merged span
takes the category of its longest part (ties: gazetteer first, then
PERSONNE, ORGANISATION, PROJET, LIEU).

Examples
--------
>>> g = Gazetteer()
>>> g.add("Loos-en-Gohelle", "LIEU"); g.add("Nadine Testu", "PERSONNE")
>>> mask_text("Nadine Testu vit à Loos en Gohelle.", g)
'[PERSONNE] vit à [LIEU].'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import pandas as pd
import yaml

from analyse.errors import AnalyseError
from analyse.messages import msg
from analyse.textutil import check_choice, fold_chars
from analyse.analysis.material import Material

CATEGORIES = ("PERSONNE", "LIEU", "ORGANISATION", "PROJET")
# Merge priority for equally long spans: a person's name is the most sensitive.
_PRIORITY = {"PERSONNE": 0, "ORGANISATION": 1, "PROJET": 2, "LIEU": 3}
SPACY_LABELS = {"PER": "PERSONNE", "PERSON": "PERSONNE", "LOC": "LIEU", "GPE": "LIEU",
                "ORG": "ORGANISATION"}
DEFAULT_GAZETTEER = Path(__file__).resolve().parent / "data" / "gazetteer.yaml"
VERBATIM_COLUMNS = ["code", "territory", "rank", "segment", "coders", "codes_on_segment", "words",
                    "original", "masked", "risk", "risk_terms", "proposed"]
# Facilitators ask the questions: their turns are never chosen as verbatims.
FACILITATOR = "animateur"

# « rue des Tisserands », « résidence du Moulin », « salle Jean Jaurès »: the
# capitalised name after a street or building word is a place, even when
# neither spaCy nor the gazetteer knows it.
PLACE_PATTERN = re.compile(
    r"\b(?i:rue|résidence|quartier|avenue|place|square|cité|allée|boulevard|chemin|impasse|"
    r"lotissement|hameau|lieu-dit|salle|école|collège|lycée|médiathèque|gymnase)\s+"
    r"(?:de\s+la\s+|de\s+l['’]|du\s+|des\s+|de\s+|d['’])?"
    r"(?P<name>[A-ZÉÈÊÀÂÎÔÛÇ][\w'’-]*(?:[ -][A-ZÉÈÊÀÂÎÔÛÇ][\w'’-]*)*)")
_SEPARATORS = {"-": " ", "\u2010": " ", "\u2011": " ", "\u2013": " ", "\u2014": " ",
               "\u2019": "'", "\u02bc": "'", "\u00a0": " ", "\n": " ", "\t": " "}
_ARTICLE = re.compile(r"^(?:l'|la |le |les )")


def fold(text: str) -> str:
    """Lower-case, strip accents, hyphens → spaces, curly → straight apostrophes.

    One character in, one character out, so offsets in the folded text are
    offsets in the original. (``analyse.privacy.pseudonymise`` folds case and accents
    only; here separators fold too, so that place names match whatever their
    hyphenation.)

    Examples
    --------
    >>> fold("Loos-en-Gohelle, l’Été")
    "loos en gohelle, l'ete"
    """
    return fold_chars(text, _SEPARATORS)


@dataclass
class Gazetteer:
    """Names to mask, each with its category.

    Attributes
    ----------
    entries : dict
        ``folded name → (category, name as written, source)``; the first
        entry added for a name wins (curated file before participants before
        names found automatically).
    any_case : set of str
        Folded one-word names that match whatever their case (the others,
        when written with a capital, need a capital in the text).
    place_patterns : bool
        Also mask as LIEU the capitalised name after a street or building
        word (« rue des Tisserands » → « rue des [LIEU] »; see ``PLACE_PATTERN``).
    keep : set of str
        Folded words never masked, even when spaCy tags them as entities.
    """

    entries: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    keep: set[str] = field(default_factory=set)
    any_case: set[str] = field(default_factory=set)
    place_patterns: bool = True
    _pattern: re.Pattern | None = field(default=None, repr=False)

    def add(self, name: str, category: str, source: str = "", any_case: bool = False) -> None:
        """Add a name (ignored when shorter than 2 characters or already present).

        ``any_case`` lets a one-word capitalised name match in lower case too.
        """
        check_choice("category", category, CATEGORIES)
        name = " ".join(str(name).split())
        key = fold(name)
        if len(key) < 2 or key in self.entries or key in self.keep:
            return
        self.entries[key] = (category, name, source)
        if any_case:
            self.any_case.add(key)
        self._pattern = None

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, name: str) -> bool:
        return fold(" ".join(str(name).split())) in self.entries

    def category(self, name: str) -> str | None:
        entry = self.entries.get(fold(" ".join(str(name).split())))
        return entry[0] if entry else None

    def frame(self) -> pd.DataFrame:
        """The entries as a table: ``name, category, source`` (sorted)."""
        rows = [{"name": n, "category": c, "source": s} for c, n, s in self.entries.values()]
        return (pd.DataFrame(rows, columns=["name", "category", "source"])
                .sort_values(["category", "name"], ignore_index=True))

    def _compiled(self) -> re.Pattern | None:
        if self._pattern is None and self.entries:
            # Longest first: at a given position the regex engine takes the first
            # alternative that matches, so « Le Mené » wins over « Mené ».
            names = sorted(self.entries, key=lambda k: (-len(k), k))
            self._pattern = re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, names)) + r")(?!\w)")
        return self._pattern

    def find(self, text: str) -> list[tuple[int, int, str]]:
        """Spans ``(start, end, category)`` of the gazetteer names in ``text``.

        Examples
        --------
        >>> g = Gazetteer(); g.add("Mené", "LIEU")
        >>> g.find("Au Mené, le projet mené par tous.")
        [(3, 7, 'LIEU')]
        """
        pattern = self._compiled()
        if pattern is None or not text:
            return []
        spans = []
        for m in pattern.finditer(fold(text)):
            key = m.group(0)
            category, written, _ = self.entries[key]
            if key not in self.any_case and _capital_only(written) and not text[m.start()].isupper():
                continue
            spans.append((m.start(), m.end(), category))
        return spans

    def keeps(self, text: str) -> bool:
        """True when an entity text is on the never-mask list (a leading article ignored)."""
        return _ARTICLE.sub("", fold(text).strip()) in self.keep


def _capital_only(written: str) -> bool:
    # One word (hyphenated names such as « Loos-en-Gohelle » count as several):
    # those are the names that collide with common words.
    return " " not in fold(written) and written[:1].isupper()


def load_gazetteer(path: str | Path | None = None, territories: Iterable[str] | None = None) -> Gazetteer:
    """Read a gazetteer file (default: the bundled ``analyse/data/gazetteer.yaml``).

    Parameters
    ----------
    path : path, optional
    territories : list of str, optional
        Only these territories' sections (plus ``common``); default all.
        Masking is global (a place of one territory named in another's
        workshop is masked too), so the default is usually right.

    Raises
    ------
    AnalyseError
        The file is missing, not YAML, or uses an unknown category.

    Examples
    --------
    >>> "Gohéliades" in load_gazetteer()
    True
    """
    path = Path(path) if path is not None else DEFAULT_GAZETTEER
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise AnalyseError(msg("gaz.not_found"), path) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise AnalyseError(msg("gaz.not_yaml", error=getattr(exc, "problem", exc)), path,
                           None if mark is None else mark.line + 1) from None
    gaz = Gazetteer(keep={fold(k) for k in data.get("keep") or []})
    sections = [("common", data.get("common") or {})]
    wanted = None if territories is None else set(territories)
    for slug, section in sorted((data.get("territories") or {}).items()):
        if wanted is None or slug in wanted:
            sections.append((slug, section or {}))
    for source, section in sections:
        for category, names in section.items():
            if category not in CATEGORIES:
                raise AnalyseError(msg("gaz.bad_category", category=category, section=source), path,
                                   hint=msg("use_one_of", allowed=", ".join(CATEGORIES)))
            for name in names or []:
                gaz.add(name, category, source=f"gazetteer:{source}",
                        any_case=category in ("PROJET", "ORGANISATION"))
    return gaz


def territory_name(slug: str) -> str:
    """A matchable name from a territory slug (hyphens become spaces; matching ignores accents).

    Examples
    --------
    >>> territory_name("le-mene")
    'le mene'
    """
    return slug.replace("-", " ")


def build_gazetteer(corpus=None, path: str | Path | None = None,
                    participants: Iterable[str] | None = None,
                    territories: Iterable[str] | None = None,
                    specific: pd.DataFrame | None = None,
                    tokens: pd.DataFrame | None = None) -> Gazetteer:
    """The full gazetteer: curated file, territory names, participants, specific proper nouns.

    Parameters
    ----------
    corpus : Corpus, optional
        Gives participants' names (from every front matter) and territory slugs.
    path : path, optional
        Gazetteer file (default: the bundled one).
    participants : list of str, optional
        Extra full names (e.g. people named in a text but not in a front matter).
    territories : list of str, optional
        Extra territory slugs.
    specific : DataFrame, optional
        Proper-noun lemmas specific to one territory (``lemma`` column), from
        :func:`analyse.analysis.specificities.specific_proper_nouns`; each becomes
        PROJET, or the category of its most frequent spaCy entity label in
        ``tokens`` (PER/LOC/ORG) when that is known.
    tokens : DataFrame, optional
        Token frame (``lemma, ent_type``) used to categorise ``specific``.

    Notes
    -----
    A participant's full name, first name and last name (the part after the
    first space, e.g. « Le Bihan ») are added as PERSONNE; a first or last
    name shorter than 3 letters is not.

    Examples
    --------
    >>> g = build_gazetteer(participants=["Gwenaëlle Rault"], territories=["le-mene"])
    >>> mask_text("Gwenaelle l'a dit au Mené, à Rault et au maire du Mene.", g)
    "[PERSONNE] l'a dit au [LIEU], à [PERSONNE] et au maire du [LIEU]."
    """
    gaz = load_gazetteer(path)
    slugs = set(territories or [])
    names = list(participants or [])
    if corpus is not None:
        slugs |= set(corpus.territories)
        for doc in sorted(corpus.documents.values(), key=lambda d: d.id):
            names.extend(p.name for p in doc.participants)
    for slug in sorted(slugs):
        gaz.add(territory_name(slug), "LIEU", source="territory")
    for full in dict.fromkeys(" ".join(n.split()) for n in names):
        gaz.add(full, "PERSONNE", source="participant")
        first, _, last = full.partition(" ")
        for part in (first, last):
            if len(part) >= 3:
                gaz.add(part, "PERSONNE", source="participant")
    if specific is not None and len(specific):
        labels = _entity_labels(tokens) if tokens is not None else {}
        for lemma in sorted(specific["lemma"].unique()):
            if gaz.keeps(lemma):
                continue
            gaz.add(lemma, labels.get(lemma, "PROJET"), source="specific")
    return gaz


def _entity_labels(tokens: pd.DataFrame) -> dict[str, str]:
    """Most frequent masking category of each lemma among its entity-tagged tokens."""
    t = tokens[tokens["ent_type"].isin(list(SPACY_LABELS))]
    if t.empty:
        return {}
    t = t.assign(category=t["ent_type"].map(SPACY_LABELS))
    top = (t.groupby(["lemma", "category"], as_index=False).size()
           .sort_values(["lemma", "size", "category"], ascending=[True, False, True])
           .drop_duplicates("lemma"))
    return dict(zip(top["lemma"], top["category"]))


# ---------------------------------------------------------------------------
# Masking
# ---------------------------------------------------------------------------

def mask_spans(text: str, gazetteer: Gazetteer | None = None,
               entities: Iterable[tuple[int, int, str]] | None = None) -> list[tuple[int, int, str]]:
    """Merged spans ``(start, end, category)`` to mask in ``text``, sorted.

    Parameters
    ----------
    text : str
    gazetteer : Gazetteer, optional
    entities : list of (start, end, label), optional
        spaCy entity spans (character offsets into ``text``; labels PER, LOC,
        ORG, MISC...).

    Examples
    --------
    >>> mask_spans("Chez Denis Morvan", None, [(5, 17, "PER")])
    [(5, 17, 'PERSONNE')]
    """
    gaz_spans = gazetteer.find(text) if gazetteer is not None else []
    if gazetteer is not None and gazetteer.place_patterns:
        gaz_spans += [(m.start("name"), m.end("name"), "LIEU") for m in PLACE_PATTERN.finditer(text)
                      if not gazetteer.keeps(m.group("name"))]
    candidates = [(s, e, c, 0) for s, e, c in gaz_spans]            # 0: from the gazetteer
    projects = [(s, e) for s, e, c in gaz_spans if c == "PROJET"]
    for start, end, label in entities or []:
        if not (0 <= start < end <= len(text)):
            continue
        if gazetteer is not None:
            if gazetteer.keeps(text[start:end]):
                continue
            start, end = _trim_kept_words(text, start, end, gazetteer)
        # Names are capitalised in French: an all-lower-case "entity" (« hein »)
        # is a mistake of the small model, not a name.
        if start >= end or not any(ch.isupper() for ch in text[start:end]):
            continue
        category = SPACY_LABELS.get(label)
        if label == "MISC" and any(s < end and start < e for s, e in projects):
            category = "PROJET"
        if category is not None:
            candidates.append((start, end, category, 1))                # 1: from spaCy
    candidates.sort(key=lambda c: (c[0], -c[1]))
    merged: list[tuple[int, int, str]] = []
    group: list[tuple[int, int, str, int]] = []
    group_end = -1
    for cand in candidates + [None]:
        if cand is not None and group and cand[0] < group_end:
            group.append(cand)
            group_end = max(group_end, cand[1])
            continue
        if group:
            best = min(group, key=lambda g: (-(g[1] - g[0]), g[3], _PRIORITY[g[2]]))
            merged.append((group[0][0], group_end, best[2]))
        if cand is not None:
            group, group_end = [cand], cand[1]
    return merged


_WORD = re.compile(r"\w[\w'’-]*")


def _trim_kept_words(text: str, start: int, end: int, gazetteer: Gazetteer) -> tuple[int, int]:
    """Drop never-masked words at the edges of an entity (« Merci Thierry » → « Thierry »)."""
    words = [(start + m.start(), start + m.end()) for m in _WORD.finditer(text[start:end])]
    while words and fold(text[words[0][0]:words[0][1]]) in gazetteer.keep:
        words.pop(0)
    while words and fold(text[words[-1][0]:words[-1][1]]) in gazetteer.keep:
        words.pop()
    return (words[0][0], words[-1][1]) if words else (start, start)


def mask_text(text: str, gazetteer: Gazetteer | None = None,
              entities: Iterable[tuple[int, int, str]] | None = None) -> str:
    """``text`` with every span of :func:`mask_spans` replaced by ``[CATEGORY]``.

    Examples
    --------
    >>> g = Gazetteer(); g.add("Gohéliades", "PROJET", any_case=True); g.add("Lens", "LIEU")
    >>> mask_text("Les gohéliades, près de Lens, avec Sophie.", g, [(35, 41, "PER")])
    'Les [PROJET], près de [LIEU], avec [PERSONNE].'
    """
    out, pos = [], 0
    for start, end, category in mask_spans(text, gazetteer, entities):
        out += [text[pos:start], f"[{category}]"]
        pos = end
    out.append(text[pos:])
    return "".join(out)


def _entity_spans(text: str, ents: pd.DataFrame) -> list[tuple[int, int, str]]:
    """Entity spans checked against the text; an offset that does not match is found by its text."""
    spans = []
    for start, end, etext, label in zip(ents["start_char"], ents["end_char"], ents["text"], ents["label"]):
        start, end = int(start), int(end)
        if text[start:end] != etext:
            # Offsets from another base (e.g. the document body): fall back on the text itself.
            found = text.find(str(etext)) if etext else -1
            if found < 0:
                continue
            start, end = found, found + len(etext)
        spans.append((start, end, label))
    return spans


def mask_segments(segments: pd.DataFrame, gazetteer: Gazetteer | None = None,
                  entities: pd.DataFrame | None = None) -> pd.Series:
    """Masked text of each segment (``segment, text`` columns), aligned on ``segments``.

    ``entities`` is the entity frame of :mod:`analyse.nlp` (``segment,
    start_char, end_char, text, label``, offsets into the segment text).

    Examples
    --------
    >>> segs = pd.DataFrame({"segment": ["d#1"], "text": ["Bonjour Denis."]})
    >>> ents = pd.DataFrame({"segment": ["d#1"], "start_char": [8], "end_char": [13],
    ...                      "text": ["Denis"], "label": ["PER"]})
    >>> mask_segments(segs, None, ents).tolist()
    ['Bonjour [PERSONNE].']
    """
    by_segment = {}
    if entities is not None and len(entities):
        wanted = set(segments["segment"])
        ents = entities[entities["segment"].isin(wanted)]
        by_segment = {seg: frame for seg, frame in ents.groupby("segment", sort=False)}
    masked = [mask_text(text, gazetteer,
                        _entity_spans(text, by_segment[seg]) if seg in by_segment else None)
              for seg, text in zip(segments["segment"], segments["text"])]
    return pd.Series(masked, index=segments.index, name="masked")


# ---------------------------------------------------------------------------
# Representative verbatims
# ---------------------------------------------------------------------------

def representative_verbatims(material: Material, codes: Sequence[str], n: int = 2,
                             min_words: int = 20, max_words: int = 120,
                             target_words: int = 60, level: str = "code") -> pd.DataFrame:
    """A few representative segments per code and territory, chosen by a fixed rule.

    Among the segments coded with the code in the territory, prefer, in order:

    1. a length between ``min_words`` and ``max_words`` (long enough to carry
       an idea, short enough to read aloud in a meeting);
    2. more coders having applied the code (agreement makes it a clearer case);
    3. fewer other codes on the segment (the example is about *this* balise);
    4. a length closest to ``target_words``;
    5. the segment id (document, then position): the choice is deterministic.

    A facilitator's turn (role ``animateur``) is never chosen: it is a question, not a verbatim.

    Parameters
    ----------
    material : Material
    codes : list of str
        Usually the invariant codes of :func:`analyse.analysis.invariants.invariance_table`.
    n : int
        Verbatims per code and territory.

    Returns
    -------
    DataFrame
        ``code, territory, rank, segment, coders, codes_on_segment, words,
        original``; codes in the given order, then territory, then rank.

    Examples
    --------
    >>> table = invariance_table(material)                                    # doctest: +SKIP
    >>> inv = table.loc[is_invariant(table["class"]), "code"].tolist()       # doctest: +SKIP
    >>> representative_verbatims(material, inv, n=2)                          # doctest: +SKIP
    """
    coded = material.at_level(level)
    per_segment = coded.groupby("segment").size().rename("codes_on_segment")
    segs = material.segments
    if "role" in segs.columns:
        segs = segs[segs["role"] != FACILITATOR]
    cand = coded[coded["code"].isin(list(codes))].merge(
        segs[["segment", "doc", "n", "territory", "words", "text"]], on="segment")
    cand = cand.merge(per_segment, left_on="segment", right_index=True)
    cand["codes_on_segment"] = cand["codes_on_segment"] - 1
    cand["outside"] = ~cand["words"].between(min_words, max_words)
    cand["distance"] = (cand["words"] - target_words).abs()
    cand = cand.sort_values(["code", "territory", "outside", "coders", "codes_on_segment", "distance", "doc", "n"],
                            ascending=[True, True, True, False, True, True, True, True])
    chosen = cand.groupby(["code", "territory"], sort=False).head(n).copy()
    chosen["rank"] = chosen.groupby(["code", "territory"]).cumcount() + 1
    order = {c: i for i, c in enumerate(codes)}
    chosen = chosen.sort_values(["code", "territory", "rank"], key=lambda s: s.map(order) if s.name == "code" else s,
                                ignore_index=True)
    chosen = chosen.rename(columns={"text": "original"})
    return chosen[VERBATIM_COLUMNS[:8]]


def decontextualised_verbatims(material: Material, codes: Sequence[str], gazetteer: Gazetteer | None = None,
                               entities: pd.DataFrame | None = None, masker=None, risk=None,
                               n: int = 2, **choice) -> pd.DataFrame:
    """Representative verbatims (:func:`representative_verbatims`) with their masked text and risk.

    Parameters
    ----------
    gazetteer, entities
        The former masking (``[LIEU]``, ``[PERSONNE]``…), used when no ``masker`` is given.
    masker : analyse.privacy.masking.Masker, optional
        Masking by category (the groupe-miroir reports' and ``analyse mask``'s).
    risk : analyse.privacy.risk.RiskModel, optional
        With a masker: each candidate's re-identification risk. For each code and
        territory the ``n`` best-ranked candidates at or below the threshold are
        proposed; better-ranked candidates held back for their risk are kept in the
        table with ``proposed`` false, so that researchers see why.

    Returns
    -------
    DataFrame
        ``code, territory, rank, segment, coders, codes_on_segment, words,
        original, masked, risk, risk_terms, proposed`` (``rank``: the rank of the
        rule of :func:`representative_verbatims`; ``risk_terms``: the terms that drive
        the score, separated by « ; »).

    Examples
    --------
    >>> masker = load_masker(project.root, corpus)                                        # doctest: +SKIP
    >>> v = decontextualised_verbatims(material, inv, masker=masker, risk=risk_model)     # doctest: +SKIP
    >>> mirror_view(v)                                                                    # doctest: +SKIP
    """
    if masker is None:
        verbatims = representative_verbatims(material, codes, n=n, **choice)
        masked = mask_segments(verbatims.rename(columns={"original": "text"}), gazetteer, entities)
        return verbatims.assign(masked=masked.to_numpy(), risk=float("nan"), risk_terms="", proposed=True)
    from analyse.privacy.risk import reidentification_risk

    ranked = representative_verbatims(material, codes, n=10**6, **choice)
    cache: dict[str, tuple[str, float, str]] = {}

    def assess(segment: str, text: str, territory: str) -> tuple[str, float, str]:
        if segment not in cache:
            masked, spans = masker.mask(text, territory)
            score, terms = reidentification_risk(text, spans, risk) if risk is not None else (0.0, [])
            cache[segment] = (masked, score, "; ".join(terms))
        return cache[segment]

    # Walk each code × territory's candidates in rank order until n of them are low-risk.
    picked, counts = [], {}
    for i, row in enumerate(ranked.itertuples(index=False)):
        key = (row.code, row.territory)
        if counts.get(key, 0) >= n:
            continue
        masked, score, terms = assess(row.segment, row.original, row.territory)
        ok = risk is None or score <= risk.threshold
        counts[key] = counts.get(key, 0) + int(ok)
        picked.append((i, masked, score, terms, ok))
    out = ranked.iloc[[p[0] for p in picked]].reset_index(drop=True)
    return out.assign(masked=[p[1] for p in picked], risk=[p[2] for p in picked],
                      risk_terms=[p[3] for p in picked], proposed=[p[4] for p in picked])[VERBATIM_COLUMNS]


def researcher_view(verbatims: pd.DataFrame) -> pd.DataFrame:
    """Both texts, with where they come from: ``code, territory, segment, original, masked``.

    With a risk score (masking by :class:`~analyse.privacy.masking.Masker` and a risk
    model), also ``risk, risk_terms, proposed``: researchers see why a verbatim is
    held back from the groupe miroir.

    Examples
    --------
    >>> researcher_view(decontextualised_verbatims(material, ["ENG.1"], gazetteer))   # doctest: +SKIP
    """
    columns = ["code", "territory", "segment", "original", "masked"]
    if "risk" in verbatims.columns and verbatims["risk"].notna().any():
        columns += ["risk", "risk_terms", "proposed"]
    return verbatims[columns].reset_index(drop=True)


def mirror_view(verbatims: pd.DataFrame, labels: dict[str, str] | None = None) -> pd.DataFrame:
    """What a groupe miroir sees: ``code, label, excerpt, masked`` only (proposed verbatims only).

    Neither territory nor segment id is shown (a document id names its
    territory); excerpts of one code alternate between territories (rank 1 of
    each territory, then rank 2...) so their order gives no place away either.

    Examples
    --------
    >>> v = pd.DataFrame({"code": ["C", "C"], "territory": ["x", "y"], "rank": [1, 1],
    ...                   "segment": ["x-a#1", "y-b#4"], "original": ["à Lens", "au Mené"],
    ...                   "masked": ["à [LIEU]", "au [LIEU]"]})
    >>> mirror_view(v, {"C": "Libellé"}).values.tolist()
    [['C', 'Libellé', 1, 'à [LIEU]'], ['C', 'Libellé', 2, 'au [LIEU]']]
    """
    labels = labels or {}
    if "proposed" in verbatims.columns:
        verbatims = verbatims[verbatims["proposed"].astype(bool)]
    order = {c: i for i, c in enumerate(dict.fromkeys(verbatims["code"]))}
    v = verbatims.sort_values(["code", "rank", "territory"], key=lambda s: s.map(order) if s.name == "code" else s)
    out = pd.DataFrame({"code": v["code"].to_numpy(), "label": [labels.get(c, "") for c in v["code"]],
                        "masked": v["masked"].to_numpy()})
    out.insert(2, "excerpt", out.groupby("code").cumcount() + 1)
    return out
