"""Text units and the unit × lemma matrices of the lexical classification.

Reinert's method (:mod:`analyse.analysis.reinert`) does not classify whole
segments: a segment of 300 words mixes several topics, a segment of 5 words
says almost nothing. It classifies *text units* (IRaMuTeQ's « segments de
texte ») of about ``unit_size`` words, cut at sentence boundaries.

Input is the token frame of :mod:`analyse.nlp` built with ``sentences=True``
(columns ``segment, i, text, lemma, pos, is_stop, sent, idx``), read from the
DocBin cache: nothing is parsed again here. Tests build such a frame by hand.

Cutting (:func:`build_units`)
    Sentences of a segment are taken in order and gathered until the unit has
    at least ``unit_size`` words; a sentence longer than twice ``unit_size`` is
    first cut after commas (or, failing that, every ``unit_size`` words). A
    last unit shorter than half ``unit_size`` is merged with the unit before it
    in the same segment. Units never cross segments, so each has one segment
    (and one speaker, territory, coding).

Forms (:func:`unit_matrices`)
    *Active* forms are lemmas tagged NOUN, VERB, ADJ or ADV, not stop words,
    with a letter and no digit, not a transcription convention (words inside
    short brackets such as « (rires) », « [inaudible] », and fillers such as
    « euh »), not a participant's name, and present in at least ``min_freq``
    units. Every other lemma with a letter (pronouns, proper nouns, stop
    words, rare forms…) is *supplementary*: profiled, never used to classify.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from analyse.errors import UsageError

ACTIVE_POS = ("NOUN", "VERB", "ADJ", "ADV")
UNIT_COLUMNS = ["unit", "segment", "doc", "n", "k", "start", "end", "words"]
# Oral fillers written out by transcribers; not content, whatever spaCy tags them.
FILLERS = frozenset({"euh", "heu", "hum", "hmm", "mh", "bah", "ben", "hein", "pff", "ouais", "mmh", "oh", "ah"})
# « (rires) », « [inaudible] », « (silence) »: transcription notes are short bracketed groups.
MAX_NOTE_TOKENS = 4
NON_WORD_POS = ("PUNCT", "SPACE", "SYM")
TOKEN_NEEDED = ("segment", "i", "text", "lemma", "pos", "is_stop", "sent", "idx")


@dataclass
class UnitMatrices:
    """Binary and count matrices of text units (rows of ``units``, in order)."""

    units: pd.DataFrame          # UNIT_COLUMNS + segment metadata, canonical order
    active: sparse.csr_matrix    # unit × active lemma, binary
    counts: sparse.csr_matrix    # unit × active lemma, occurrences (for TF-IDF)
    terms: np.ndarray            # active lemmas, sorted
    supplementary: sparse.csr_matrix  # unit × supplementary lemma, binary
    supplementary_terms: np.ndarray


def _distinct(col: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """Codes of a column's values and those values as ``str`` (what ``astype(str)`` gives), once each.

    String work (strip, lower, regex, length) is done per distinct value, then read through the
    codes: a million tokens hold a few tens of thousands of distinct words, and a new ``str`` per
    token is what made the classification's memory grow with the corpus.
    """
    if isinstance(col.dtype, pd.CategoricalDtype):
        codes = col.cat.codes.to_numpy().astype(np.int64)
        values = [str(v) for v in col.cat.categories] + ["nan"]   # a missing value reads "nan", as astype(str)
        codes[codes < 0] = len(values) - 1
    else:
        codes, uniques = pd.factorize(col)
        codes, values = codes.astype(np.int64), [str(v) for v in uniques]
        missing = codes < 0
        if missing.any():   # None, NaN, pd.NA each read as astype(str) writes them ("None", "nan", "<NA>")
            na_codes, na_values = pd.factorize(np.array([str(v) for v in col.to_numpy(dtype=object)[missing]],
                                                        dtype=object))
            codes[missing] = len(values) + na_codes
            values += list(na_values)
    return codes, pd.Series(values, dtype=object)


def _check_tokens(tokens: pd.DataFrame) -> None:
    missing = set(TOKEN_NEEDED) - set(tokens.columns)
    if missing:
        raise UsageError(f"le tableau de jetons n'a pas la ou les colonnes {', '.join(sorted(missing))}",
                         hint="construisez-le avec analyse.nlp.token_frame(..., sentences=True)")


def _segment_order(segments: pd.DataFrame) -> pd.DataFrame:
    """Segments sorted by document and number: the canonical order (input row order never matters)."""
    need = {"segment", "doc", "n"}
    if need - set(segments.columns):
        raise UsageError("le tableau des segments doit avoir les colonnes segment, doc, n",
                         hint="utilisez analyse.model.corpus.segments_frame(corpus)")
    return segments.drop_duplicates("segment").sort_values(["doc", "n"], kind="mergesort", ignore_index=True)


def _pieces(words: np.ndarray, sents: np.ndarray, commas: np.ndarray, unit_size: int) -> list[tuple[int, int]]:
    """Token ranges ``[a, b)`` of sentences, over-long sentences cut after commas."""
    pieces = []
    bounds = np.flatnonzero(np.diff(sents)) + 1
    starts = np.concatenate([[0], bounds])
    ends = np.concatenate([bounds, [len(sents)]])
    for a, b in zip(starts, ends):
        if words[a:b].sum() <= 2 * unit_size:
            pieces.append((a, b))
            continue
        # Cut a long sentence at the comma nearest each multiple of unit_size, else hard.
        cum = np.cumsum(words[a:b])
        start = a
        while cum[-1] - (cum[start - a - 1] if start > a else 0) > 2 * unit_size:
            base = cum[start - a - 1] if start > a else 0
            target = base + unit_size
            candidates = [j for j in range(start, b) if commas[j] and unit_size / 2 <= cum[j - a] - base <= 1.5 * unit_size]
            cut = (min(candidates, key=lambda j: abs(cum[j - a] - target)) + 1 if candidates
                   else int(np.searchsorted(cum, target) + a + 1))
            pieces.append((start, cut))
            start = cut
        pieces.append((start, b))
    return pieces


def _group(pieces: list[tuple[int, int]], words: np.ndarray, unit_size: int) -> list[tuple[int, int]]:
    units: list[list[int]] = []
    count = 0
    for a, b in pieces:
        if units and count < unit_size:
            units[-1][1] = b
        else:
            units.append([a, b])
            count = 0
        count += int(words[a:b].sum())
    # A short tail joins the unit before it.
    if len(units) > 1 and words[units[-1][0]:units[-1][1]].sum() < unit_size / 2:
        tail = units.pop()
        units[-1][1] = tail[1]
    return [(a, b) for a, b in units]


def build_units(tokens: pd.DataFrame, segments: pd.DataFrame, unit_size: int = 40) -> tuple[pd.DataFrame, np.ndarray]:
    """Cut segments into text units of about ``unit_size`` words at sentence boundaries.

    Parameters
    ----------
    tokens : DataFrame
        Token frame with sentences (``segment, i, text, lemma, pos, is_stop, sent, idx``).
    segments : DataFrame
        One row per segment with at least ``segment, doc, n`` (other columns,
        e.g. ``territory, role, atelier, kind``, are copied onto the units).
    unit_size : int
        Target number of words per unit.

    Returns
    -------
    units : DataFrame
        ``unit, segment, doc, n, k, start, end, words`` and the segment's
        other columns; ``unit`` is ``<segment>/<k>``; ``start``/``end`` are
        character offsets in the segment text. Sorted by doc, n, k.
    token_unit : ndarray
        For each row of ``tokens`` (in its order), the row number of its unit
        in ``units`` (-1 for a token of a segment not in ``segments``).

    Examples
    --------
    >>> t = pd.DataFrame({"segment": "d#1", "i": range(4), "text": ["Un", "mot", ".", "Fin"],
    ...     "lemma": ["un", "mot", ".", "fin"], "pos": ["DET", "NOUN", "PUNCT", "NOUN"],
    ...     "is_stop": [True, False, False, False], "sent": [0, 0, 0, 1], "idx": [0, 3, 6, 8]})
    >>> units, _ = build_units(t, pd.DataFrame({"segment": ["d#1"], "doc": ["d"], "n": [1]}), unit_size=3)
    >>> units[["unit", "start", "end", "words"]].values.tolist()
    [['d#1/1', 0, 11, 3]]
    """
    if unit_size < 1:
        raise UsageError("la taille des unités doit être d'au moins 1 mot")
    _check_tokens(tokens)
    segs = _segment_order(segments)
    order = {s: j for j, s in enumerate(segs["segment"])}
    seg_rank = tokens["segment"].map(order)
    keep = seg_rank.notna().to_numpy()
    # Canonical token order: segment order, then token index.
    rows = np.flatnonzero(keep)
    rows = rows[np.lexsort((tokens["i"].to_numpy()[rows], seg_rank.to_numpy()[rows]))]
    t = tokens.iloc[rows]
    words = (~t["pos"].isin(NON_WORD_POS)).to_numpy()
    text_codes, text_values = _distinct(t["text"])
    commas = text_values.isin([",", ";", ":"]).to_numpy()[text_codes]
    sents = t["sent"].to_numpy()
    seg_ids = t["segment"].to_numpy()
    idx = t["idx"].to_numpy().astype(np.int64)
    ends = idx + text_values.str.len().to_numpy()[text_codes]
    token_unit = np.full(len(tokens), -1, dtype=np.int64)
    records = []
    bounds = np.flatnonzero(seg_ids[1:] != seg_ids[:-1]) + 1
    for a, b in zip(np.concatenate([[0], bounds]), np.concatenate([bounds, [len(t)]])):
        if a == b:
            continue
        seg = seg_ids[a]
        pieces = _pieces(words[a:b], sents[a:b], commas[a:b], unit_size)
        for k, (u0, u1) in enumerate(_group(pieces, words[a:b], unit_size), start=1):
            token_unit[rows[a + u0:a + u1]] = len(records)
            records.append((f"{seg}/{k}", seg, k, int(idx[a + u0]), int(ends[a + u1 - 1]),
                            int(words[a + u0:a + u1].sum())))
    units = pd.DataFrame(records, columns=["unit", "segment", "k", "start", "end", "words"])
    meta = segs.drop(columns=[c for c in ("text", "start", "end", "words", "k") if c in segs.columns])
    units = units.merge(meta, on="segment", how="left", sort=False)
    first = ["unit", "segment", "doc", "n", "k", "start", "end", "words"]
    return units[first + [c for c in units.columns if c not in first]], token_unit


def _note_mask(t: pd.DataFrame) -> np.ndarray:
    """Tokens inside short bracketed groups (« (rires) », « [inaudible] »)."""
    codes, values = _distinct(t["text"])
    text = values.to_numpy()[codes]     # shared str objects, not one new per token
    seg = t["segment"].to_numpy()
    mask = np.zeros(len(t), dtype=bool)
    opened = None
    for j, tok in enumerate(text):
        if opened is not None and (seg[j] != seg[opened] or j - opened > MAX_NOTE_TOKENS + 1):
            opened = None
        if tok in ("(", "["):
            opened = j
        elif tok in (")", "]") and opened is not None:
            mask[opened:j + 1] = True
            opened = None
    return mask


def _binary_matrix(unit_rows: np.ndarray, codes: np.ndarray, n_units: int, n_terms: int):
    counts = sparse.csr_matrix((np.ones(len(unit_rows), dtype=np.float64), (unit_rows, codes)),
                               shape=(n_units, n_terms))
    counts.sum_duplicates()
    binary = counts.copy()
    binary.data[:] = 1.0
    return counts, binary


def unit_matrices(tokens: pd.DataFrame, segments: pd.DataFrame, unit_size: int = 40, min_freq: int = 3,
                  exclude: set[str] | frozenset[str] = frozenset()) -> UnitMatrices:
    """Text units and their active / supplementary lemma matrices (scipy.sparse).

    Parameters
    ----------
    tokens, segments, unit_size
        As for :func:`build_units`.
    min_freq : int
        An active lemma must occur in at least this many units; rarer ones
        become supplementary.
    exclude : set of str
        Lower-cased words never counted (participants' names, see :func:`speaker_names`).
    """
    units, token_unit = build_units(tokens, segments, unit_size)
    t = tokens.assign(_unit=token_unit)
    order = np.lexsort((t["i"].to_numpy(), t["segment"].to_numpy()))
    note = np.zeros(len(t), dtype=bool)
    note[order] = _note_mask(t.iloc[order])
    # String tests per distinct lemma / text, read through the codes (see _distinct).
    l_codes, l_values = _distinct(t["lemma"])
    lemma = l_values.str.strip()
    lower = lemma.str.lower()
    t_codes, t_values = _distinct(t["text"])
    text_lower = t_values.str.lower()
    wordlike = (lemma.str.contains(r"[^\W\d_]", regex=True) & ~lemma.str.contains(r"\d", regex=True)).to_numpy()
    lemma_out = ~wordlike | lower.isin(FILLERS).to_numpy() | lower.isin(exclude).to_numpy()
    text_out = text_lower.isin(FILLERS).to_numpy() | text_lower.isin(exclude).to_numpy()
    out = (t["_unit"].to_numpy() < 0) | note | lemma_out[l_codes] | text_out[t_codes] | (t["pos"] == "NUM").to_numpy()
    active = t["pos"].isin(ACTIVE_POS).to_numpy() & ~t["is_stop"].astype(bool).to_numpy() & ~out
    # Proper nouns keep their capital (as in analyse.analysis.specificities); the rest is lower-cased.
    # A token's key is key_values[key_codes]: its lemma's stripped form (PROPN) or lower-cased form.
    key_values = np.empty(2 * len(lemma), dtype=object)
    key_values[0::2], key_values[1::2] = lemma.to_numpy(), lower.to_numpy()
    key_codes = 2 * l_codes + (t["pos"] != "PROPN").to_numpy()
    n_units = len(units)
    unit_rows = t["_unit"].to_numpy()

    def terms_of(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``np.unique(key[mask], return_inverse=True)`` through the codes."""
        used, inverse = np.unique(key_codes[mask], return_inverse=True)
        terms, term_of_used = np.unique(key_values[used], return_inverse=True)
        return terms, term_of_used[inverse]

    a_terms, a_codes = terms_of(active)
    a_counts, a_bin = _binary_matrix(unit_rows[active], a_codes, n_units, len(a_terms))
    doc_freq = np.asarray(a_bin.sum(axis=0)).ravel()
    frequent = doc_freq >= max(1, int(min_freq))
    rare = np.isin(key_values, list(set(a_terms[~frequent])))
    supp = ~out & (~active | rare[key_codes])
    s_terms, s_codes = terms_of(supp)
    _, s_bin = _binary_matrix(unit_rows[supp], s_codes, n_units, len(s_terms))
    return UnitMatrices(units=units, active=a_bin[:, frequent].tocsr(), counts=a_counts[:, frequent].tocsr(),
                        terms=a_terms[frequent], supplementary=s_bin.tocsr(), supplementary_terms=s_terms)


def speaker_names(corpus) -> frozenset[str]:
    """Lower-cased first and last names of every participant of the corpus (kept out of the forms)."""
    names = set()
    for doc in corpus.documents.values():
        for p in doc.participants:
            names.update(part.lower() for part in p.name.replace("-", " ").split() if len(part) > 2)
    return frozenset(names)


def context_units(units: pd.DataFrame, min_words: int) -> np.ndarray:
    """Consecutive units of a speaker turn gathered until each group has ``min_words`` words.

    Reinert's double classification runs twice on such context units of two
    sizes; every unit then inherits the class of its context. A context never
    crosses a speaker turn (IRaMuTeQ's « unité de contexte initiale » in our
    export, :mod:`analyse.exchange.iramuteq`): the turn is ``(doc, turn)`` when
    ``units`` has a ``turn`` column and the turn is numbered, else the segment.
    A short tail joins the group before it in the same turn. Returns the group
    number of each unit (``units`` in canonical order, as :func:`build_units`
    returns them).

    Examples
    --------
    >>> u = pd.DataFrame({"segment": ["a#1", "a#2", "a#2", "b#1"], "doc": ["a", "a", "a", "b"],
    ...                   "turn": [1, 1, 1, 1], "words": [30, 30, 10, 5]})
    >>> context_units(u, 50).tolist()
    [0, 0, 0, 1]
    """
    if "turn" in units.columns:
        turn = pd.to_numeric(units["turn"], errors="coerce").fillna(0).astype(int)
        key = np.where(turn > 0, units["doc"].astype(str) + "\x1f" + turn.astype(str), units["segment"].astype(str))
    else:
        key = units["segment"].astype(str).to_numpy()
    group = np.empty(len(units), dtype=np.int64)
    words = units["words"].to_numpy()
    current = -1
    bounds = np.flatnonzero(key[1:] != key[:-1]) + 1
    for a, b in zip(np.concatenate([[0], bounds]), np.concatenate([bounds, [len(units)]])):
        first, size = current + 1, min_words
        for j in range(a, b):
            if size >= min_words:
                current += 1
                size = 0
            group[j] = current
            size += words[j]
        if size < min_words and current > first:   # short tail joins the group before it
            group[a:b][group[a:b] == current] = current - 1
            current -= 1
    return group
