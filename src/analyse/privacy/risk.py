"""Re-identification risk of a masked verbatim: what could still tell peers where it comes from.

Masking removes names; a verbatim can still give its town away through what it
talks about. :func:`reidentification_risk` scores what *remains visible* after
masking (text outside the masked spans) and returns the terms that drive the
score, so that a researcher sees why a verbatim was held back:

=================================  ======  ==========================================================
what remains                       weight  why
=================================  ======  ==========================================================
a lexicon name left visible        1.0     local by definition (a name the masker did not replace)
a capitalised word inside a        0.5     a rare named fact (« les Gohéliades » unlisted, a brand, a
sentence, not generic nor guard            family name) that the lexicons do not know yet
vocabulary specific to one         0.3     the territory's « flesh » (:mod:`analyse.analysis.specificities`):
territory                                  terril, méthaniseur, filature… Generic bodies and transferable
                                           dispositifs never count.
a year (1900–2039)                 0.25    a dated local event (« la fosse a fermé en 1986 »)
=================================  ======  ==========================================================

Each distinct term counts once. A verbatim whose score exceeds the threshold
(:data:`DEFAULT_THRESHOLD`) is not proposed to the groupe miroir; the
researchers' view shows the score and its terms.

Examples
--------
>>> model = RiskModel(specific={"loos-en-gohelle": {"terril": "terril"}})
>>> reidentification_risk("Au pied du terril, en 1986, avec les Wilczek.", [], model)
(1.05, ['Wilczek', 'terril', '1986'])
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable

import pandas as pd

from analyse.privacy.decontext import fold
from analyse.privacy.lexicons import Lexicon

DEFAULT_THRESHOLD = 1.0
WEIGHTS = {"lexicon": 1.0, "name": 0.5, "specific": 0.3, "year": 0.25}
_WORD = re.compile(r"\w[\w'’-]*")
_YEAR = re.compile(r"(?<!\d)(?:19\d\d|20[0-3]\d)(?!\d)")
_SENTENCE_START = re.compile(r"(?:^|[.!?…:;«»\"()\[\]\n]\s*|\s[-–—]\s*)$")


@dataclass
class RiskModel:
    """What the risk score looks for.

    Attributes
    ----------
    lexicon : Lexicon or None
        Lexicon names (and the never-mask and guard lists, which never count).
    specific : dict
        ``territory → {folded word form: lemma}`` of the vocabulary specific to
        that territory.
    threshold : float
        Verbatims scoring above it are not proposed to the groupe miroir.
    """

    lexicon: Lexicon | None = None
    specific: dict[str, dict[str, str]] = field(default_factory=dict)
    threshold: float = DEFAULT_THRESHOLD

    @classmethod
    def from_specificities(cls, spec: pd.DataFrame, tokens: pd.DataFrame, lexicon: Lexicon | None = None,
                           top: int = 20, min_specificity: float = 4.0,
                           threshold: float = DEFAULT_THRESHOLD) -> "RiskModel":
        """Specific vocabulary from :func:`analyse.analysis.specificities.specificities`.

        The ``top`` most specific nouns and proper nouns of each territory's flesh
        (``territory_flesh``: over-represented there and nowhere else) whose
        specificity reaches ``min_specificity`` (a strong threshold: on a small corpus
        the flesh also holds the mere topics of a workshop), with every word form they
        take in ``tokens``.
        """
        from analyse.analysis.specificities import territory_flesh

        flesh = territory_flesh(spec, n=top, threshold=min_specificity, pos=("NOUN", "PROPN"))
        generic = lexicon.generic if lexicon is not None else set()
        forms: dict[str, dict[str, str]] = {}
        lemma_forms = (tokens.assign(form=tokens["text"].map(fold), lemma_f=tokens["lemma"].map(fold))
                       [["lemma_f", "form"]].drop_duplicates())
        by_lemma = lemma_forms.groupby("lemma_f")["form"].apply(set).to_dict()
        for territory, lemma in zip(flesh["territory"], flesh["lemma"]):
            key = fold(str(lemma))
            if len(key) < 3 or key in generic:
                continue
            for form in by_lemma.get(key, {key}) | {key}:
                if form not in generic:
                    forms.setdefault(territory, {})[form] = str(lemma)
        return cls(lexicon, forms, threshold)


def _masked(start: int, end: int, spans: list[tuple[int, int]]) -> bool:
    return any(s < end and start < e for s, e in spans)


def reidentification_risk(text: str, spans: Iterable, model: RiskModel,
                          territory: str | None = None) -> tuple[float, list[str]]:
    """``(score, terms)`` of what stays visible in ``text`` once ``spans`` are masked.

    Parameters
    ----------
    text : str
        The original text.
    spans : iterable
        Masked spans: :class:`~analyse.privacy.masking.MaskSpan` or ``(start, end)`` pairs.
    model : RiskModel
    territory : str, optional
        Unused for the score (vocabulary specific to *any* territory points to
        a place); kept so that callers can pass it uniformly.

    Returns
    -------
    score : float
        Sum of the weights of the distinct terms found (rounded to 2 decimals).
    terms : list of str
        The terms, most weighty first, as written in the text.
    """
    masked = [(s.start, s.end) if hasattr(s, "start") else (int(s[0]), int(s[1])) for s in spans]
    found: dict[str, tuple[float, str]] = {}

    def add(key: str, weight: float, term: str) -> None:
        if key not in found or found[key][0] < weight:
            found[key] = (weight, term)

    lexicon = model.lexicon
    if lexicon is not None:
        for hit in lexicon.find(text):
            if not _masked(hit.start, hit.end, masked):
                add(fold(hit.entry.name), WEIGHTS["lexicon"], text[hit.start:hit.end])
    generic = lexicon.generic_spans(text) if lexicon is not None else []
    specific = {}
    for forms in model.specific.values():
        specific.update(forms)
    for m in _WORD.finditer(text):
        start, end, word = m.start(), m.end(), m.group(0)
        if _masked(start, end, masked) or _masked(start, end, generic):
            continue
        key = fold(word)
        if lexicon is not None and (lexicon.is_guard(word) or lexicon.is_generic(word)):
            continue
        if word[:1].isupper() and not word.isupper() and not _SENTENCE_START.search(text[:start]):
            add(key, WEIGHTS["name"], word)
        elif key in specific:
            add(fold(specific[key]), WEIGHTS["specific"], word)
    for m in _YEAR.finditer(text):
        if not _masked(m.start(), m.end(), masked):
            add(m.group(0), WEIGHTS["year"], m.group(0))
    ordered = sorted(found.values(), key=lambda wt: -wt[0])
    score = round(sum(w for w, _ in ordered), 2)
    return score, [t for _, t in ordered]


def corpus_risk_model(tokens: pd.DataFrame, segments: pd.DataFrame, lexicon: Lexicon | None = None,
                      spec: pd.DataFrame | None = None, **options) -> RiskModel:
    """A :class:`RiskModel` whose specific vocabulary comes from the corpus's own specificities.

    ``segments`` needs ``segment, territory`` (e.g. ``material.segments``); segments
    without a territory (a facilitator in an inter-territory workshop) are left out.
    ``spec``, when given, is :func:`risk_specificities` of the same frames, computed earlier
    (the batch's shared context stores it).
    """
    segs = segments[segments["territory"].notna()]
    tok = tokens[tokens["segment"].isin(set(segs["segment"]))]
    return RiskModel.from_specificities(spec if spec is not None else risk_specificities(tok, segs), tok, lexicon,
                                        **options)


def risk_specificities(tokens: pd.DataFrame, segments: pd.DataFrame) -> pd.DataFrame:
    """The specificities a :func:`corpus_risk_model` reads: those of ``segments`` that have a territory."""
    from analyse.analysis.specificities import specificities

    segs = segments[segments["territory"].notna()]
    return specificities(tokens[tokens["segment"].isin(set(segs["segment"]))], segs)
