"""Retrieval and search: the segments coded with a code, and a concordance (KWIC) of the corpus.

:func:`retrieve` answers « show me everything coded ENG.2 » the way QDA tools do:
one row per coding of the code (or of one of its descendants in the codebook),
with the segment, the segment before and the one after, the speaker, the coder
and the document. :func:`search` finds a regular expression (or plain words,
optionally compared as lemmas) in the segments and gives a keyword-in-context
table; :func:`match_counts` counts its hits by territory, role or document.

Both return tidy ``pandas`` frames, so a notebook can filter, group or export
them (``frame.to_csv``) like the CLI does.

Examples
--------
>>> from analyse.project import Project                                   # doctest: +SKIP
>>> p = Project.load("."); corpus = p.load_corpus(); book = p.load_codebook()  # doctest: +SKIP
>>> rows = retrieve(corpus, book, p.load_codings(corpus, book), "ENG.2", territory="le-mene")  # doctest: +SKIP
>>> hits = search(corpus, r"confiance")                                   # doctest: +SKIP
>>> match_counts(hits, "territory")                                       # doctest: +SKIP
"""

from __future__ import annotations

import re

import pandas as pd

from analyse.errors import UsageError
from analyse.model.codebook import Codebook
from analyse.messages import msg
from analyse.model.codings import VALENCE_MARKS, VALENCES, Codings
from analyse.textutil import fold
from analyse.model.corpus import Corpus, Segment

RETRIEVE_COLUMNS = ["code", "coder", "doc", "territory", "segment", "speaker", "role", "start", "end",
                    "quote", "text", "before_speaker", "before", "after_speaker", "after", "origin", "memo", "at", "valence"]
KWIC_COLUMNS = ["doc", "territory", "segment", "speaker", "role", "start", "end",
                "left", "match", "right"]
COUNT_BY = ("territory", "role", "doc")
DEFAULT_WINDOW = 60
NO_ROLE = "(narration)"


def descendants(book: Codebook, code: str) -> list[str]:
    """``code`` and every code below it in the codebook (children, grandchildren…), in file order."""
    if code not in book:
        raise UsageError(f"code inconnu « {code} »", hint="voir la grille avec `analyse codebook`")
    wanted = {code}
    grew = True
    while grew:  # the codebook is small: iterate to a fixed point rather than recurse
        grew = False
        for c in book.codes.values():
            if c.parent in wanted and c.id not in wanted:
                wanted.add(c.id)
                grew = True
    return [c for c in book.codes if c in wanted]


def neighbours(corpus: Corpus, segment: Segment) -> tuple[Segment | None, Segment | None]:
    """The segments just before and just after ``segment`` in its document (None at either end)."""
    segs = corpus.segments_of(segment.doc)
    i = next((k for k, s in enumerate(segs) if s.id == segment.id), None)
    if i is None:
        return None, None
    return (segs[i - 1] if i > 0 else None), (segs[i + 1] if i + 1 < len(segs) else None)


def _check_filter(value: str | None, allowed, what: str) -> None:
    if value is not None and value not in set(allowed):
        raise UsageError(f"{what} inconnu(e) « {value} »",
                         hint="possibles : " + ", ".join(sorted(str(a) for a in allowed if a)))


def parse_valence(text: str) -> str:
    """The valence named by ``text``: one of :data:`~analyse.model.codings.VALENCES`, accents and case aside.

    Examples
    --------
    >>> parse_valence("echec"), parse_valence("Contestée"), parse_valence("a l'oeuvre")
    ('mise en échec', 'contestée', "à l'œuvre")
    """
    key = fold(str(text)).replace("’", "'").strip()
    names = {fold(v): v for v in VALENCES} | {fold(k): v for k, v in VALENCE_MARKS.items()}
    names |= {"oeuvre": VALENCES[0], "a l'oeuvre": VALENCES[0], "l'oeuvre": VALENCES[0]}
    if key not in names:
        raise UsageError(msg("ret.unknown_valence", valence=text), hint=msg("ret.unknown_valence_hint"))
    return names[key]


def _speaker(seg: Segment | None) -> str:
    if seg is None:
        return ""
    return seg.speaker or "narration"


def retrieve(corpus: Corpus, book: Codebook, codings: Codings, code: str, *, coders: list[str] | None = None,
             territory: str | None = None, role: str | None = None, children: bool = True,
             valence: str | None = None) -> pd.DataFrame:
    """Every coding of ``code`` (and, with ``children``, of its descendants), with its context.

    Parameters
    ----------
    corpus, book, codings
        The loaded project (codings as given by ``load_codings``).
    code : str
        A code id of the codebook.
    coders : list of str, optional
        Keep only these coders (default: every coder).
    territory, role : str, optional
        Keep only segments of this territory / said by a speaker with this role
        (a segment's territory is its speaker's, as everywhere in Balises).
    children : bool
        Include the codes below ``code`` (default True).
    valence : str, optional
        Keep only the codings of this valence (see
        :data:`analyse.model.codings.VALENCES`; « échec », « contestee », « oeuvre »
        are understood too). A coding without one is *à l'œuvre*.

    Returns
    -------
    DataFrame
        One row per coding, sorted by document order then coder and code, with
        columns :data:`RETRIEVE_COLUMNS`.
    """
    codes = descendants(book, code)
    valence = parse_valence(valence) if valence is not None else None
    if not children:
        codes = [code]
    _check_filter(territory, corpus.territories, "territoire")
    _check_filter(role, {s.role for s in corpus.segments}, "rôle")
    frame = codings.frame
    frame = frame[frame["code"].isin(codes) & frame["segment"].notna()]
    if coders:
        frame = frame[frame["coder"].isin(coders)]
    if valence is not None:
        frame = frame[frame["valence"].fillna(VALENCES[0]) == valence]
    by_id = {s.id: s for s in corpus.segments}
    order = {s.id: i for i, s in enumerate(corpus.segments)}
    rows = []
    for rec in frame.itertuples(index=False):
        seg = by_id.get(rec.segment)
        if seg is None:
            continue
        if territory is not None and seg.territory != territory:
            continue
        if role is not None and seg.role != role:
            continue
        before, after = neighbours(corpus, seg)
        rows.append({
            "code": rec.code, "coder": rec.coder, "doc": seg.doc, "territory": seg.territory,
            "segment": seg.id, "speaker": _speaker(seg), "role": seg.role or "",
            "start": rec.start, "end": rec.end, "quote": rec.quote, "text": seg.text,
            "before_speaker": _speaker(before), "before": before.text if before else "",
            "after_speaker": _speaker(after), "after": after.text if after else "",
            "origin": rec.origin, "memo": rec.memo, "at": rec.at,
            "valence": rec.valence if isinstance(rec.valence, str) and rec.valence else VALENCES[0],
            "_order": order[seg.id],
        })
    out = pd.DataFrame(rows, columns=RETRIEVE_COLUMNS + ["_order"])
    out = out.sort_values(["_order", "start", "coder", "code"], kind="stable").drop(columns="_order")
    return out.reset_index(drop=True)


def compile_query(query: str, *, literal: bool = False) -> re.Pattern:
    """The query as a case-insensitive regular expression.

    A query that is not a valid regular expression (``"coût (de"``) is searched
    as plain text rather than refused; so is any query with ``literal``.
    """
    if not query or not query.strip():
        raise UsageError("recherche vide", hint="donner un mot, des mots ou une expression régulière")
    if not literal:
        try:
            return re.compile(query, re.IGNORECASE)
        except re.error:
            pass
    return re.compile(re.escape(query), re.IGNORECASE)


def _kwic_row(seg: Segment, start: int, end: int, window: int) -> dict:
    text = seg.text
    left = text[max(0, start - window):start].replace("\n", " ")
    right = text[end:end + window].replace("\n", " ")
    return {"doc": seg.doc, "territory": seg.territory, "segment": seg.id, "speaker": _speaker(seg),
            "role": seg.role or NO_ROLE, "start": seg.start + start, "end": seg.start + end,
            "left": left, "match": text[start:end].replace("\n", " "), "right": right}


def _lemma_index(doc) -> tuple[str, list[tuple[int, int, int, int]]]:
    """A segment's lower-cased lemmas joined by spaces, and for each token
    ``(lemma start, lemma end, char start, char end)`` to map a hit back to the text."""
    parts, spans, pos = [], [], 0
    for t in doc:
        if t.is_space or t.is_punct:
            continue
        lemma = (t.lemma_ or t.text).lower()
        spans.append((pos, pos + len(lemma), t.idx, t.idx + len(t.text)))
        parts.append(lemma)
        pos += len(lemma) + 1
    return " ".join(parts), spans


def lemmatise_query(query: str, layer=None) -> str:
    """Plain words of a query replaced by their lemmas (``"habitants engagés"`` → ``"habitant engager"``).

    A query holding regular-expression syntax is left as it is: it is then
    matched against the lemma text as written.
    """
    if not re.fullmatch(r"[\w\s'’-]+", query):
        return query
    from analyse.nlp import NLPLayer

    nlp = (layer or NLPLayer()).nlp
    return " ".join((t.lemma_ or t.text).lower() for t in nlp(query) if not (t.is_space or t.is_punct))


def search(corpus: Corpus, query: str, *, lemma: bool = False, territory: str | None = None,
           role: str | None = None, window: int = DEFAULT_WINDOW, literal: bool = False,
           layer=None) -> pd.DataFrame:
    """A concordance (keyword in context) of ``query`` in the corpus's segments.

    Parameters
    ----------
    query : str
        A regular expression, or words (case ignored). With ``lemma`` the words
        are lemmatised and matched against the segments' lemmas, so
        ``"habitant"`` also finds « habitantes » ; the hit shown is the
        original text of the matched tokens.
    territory, role : str, optional
        Restrict to segments of this territory / this speaker role.
    window : int
        Characters of context on each side.
    layer : NLPLayer, optional
        For ``lemma`` (its parses are cached on disk).

    Returns
    -------
    DataFrame
        One row per hit, columns :data:`KWIC_COLUMNS`, in corpus order; ``start``
        and ``end`` are offsets in the document body.
    """
    _check_filter(territory, corpus.territories, "territoire")
    _check_filter(role, {s.role for s in corpus.segments}, "rôle")
    segments = [s for s in corpus.segments
                if (territory is None or s.territory == territory) and (role is None or s.role == role)]
    rows = []
    if not lemma:
        pattern = compile_query(query, literal=literal)
        for seg in segments:
            for m in pattern.finditer(seg.text):
                if m.end() > m.start():
                    rows.append(_kwic_row(seg, m.start(), m.end(), window))
        return pd.DataFrame(rows, columns=KWIC_COLUMNS)

    from analyse.nlp import NLPLayer, default_cache_dir, parse_segments

    layer = layer or NLPLayer(cache_dir=default_cache_dir(corpus.root))
    pattern = compile_query(query if literal else lemmatise_query(query, layer), literal=literal)
    for seg, doc in parse_segments(segments, layer):
        text, spans = _lemma_index(doc)
        for m in pattern.finditer(text):
            hit = [s for s in spans if s[1] > m.start() and s[0] < m.end()]
            if hit:
                rows.append(_kwic_row(seg, hit[0][2], hit[-1][3], window))
    return pd.DataFrame(rows, columns=KWIC_COLUMNS)


def match_counts(hits: pd.DataFrame, by: str) -> pd.DataFrame:
    """Hits and distinct segments per ``by`` (territory, role or doc), most hits first."""
    if by not in COUNT_BY:
        raise UsageError(f"regroupement inconnu « {by} »", hint="possibles : " + ", ".join(COUNT_BY))
    if hits.empty:
        return pd.DataFrame(columns=[by, "occurrences", "segments"])
    out = (hits.groupby(by).agg(occurrences=("segment", "size"), segments=("segment", "nunique"))
           .reset_index().sort_values(["occurrences", by], ascending=[False, True], ignore_index=True))
    return out
