"""The coded material every cross-territory analysis reads: segments with their variables and codes.

:func:`coded_material` aligns the corpus's segments with the chosen coders'
codings once; invariants, co-occurrence, décontextualisation and profiles all
start from the :class:`Material` it returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence

import pandas as pd

from analyse.errors import UsageError
from analyse.messages import msg
from analyse.textutil import check_choice
from analyse.model.codings import VALENCES, Codings, segment_codes
from analyse.model.corpus import Corpus, segments_frame

HOWS = ("union", "majority")
LEVELS = ("code", "dimension")
# Value used for segments that belong to no speaker (narration in récits).
NO_ROLE = "none"

MATERIAL_SEGMENT_COLUMNS = ["segment", "doc", "n", "territory", "atelier", "kind", "role", "words"]
MATERIAL_CODE_COLUMNS = ["segment", "code", "dimension", "coders", "coded_by", "valence"]
FACILITATOR = "animateur"


# ---------------------------------------------------------------------------
# 1. The material: covered segments and the codes retained on them
# ---------------------------------------------------------------------------

@dataclass
class Material:
    """Segments analysed and the codes retained on them.

    Attributes
    ----------
    segments : DataFrame
        One row per segment in the material (covered by at least one chosen
        coder): ``segment, doc, n, territory, atelier, kind, role, words``
        (plus ``text``). Segments with no code are kept: they are part of each
        territory's size.
    codes : DataFrame
        One row per (segment, code) retained: ``segment, code, dimension,
        coders`` (how many chosen coders applied it), ``coded_by`` (their ids,
        comma-separated).
    coders : tuple of str
    how : str
        ``"union"`` or ``"majority"``.
    notes : list of str
        Things the user should know (e.g. a coder without coverage records).
    """

    segments: pd.DataFrame
    codes: pd.DataFrame
    coders: tuple[str, ...] = ()
    how: str = "union"
    notes: list[str] = field(default_factory=list)

    @property
    def territories(self) -> list[str]:
        return sorted(self.segments["territory"].unique())

    def at_level(self, level: str = "code") -> pd.DataFrame:
        """``segment, code, coders`` at the code level, or with dimension ids in ``code``.

        At the dimension level a segment coded ENG.1 and ENG.M2 counts once for
        ENG (with the larger number of coders of the two).
        """
        check_choice("level", level, LEVELS)
        if level == "code":
            return self.codes[["segment", "code", "coders"]]
        dim = self.codes[["segment", "dimension", "coders"]].rename(columns={"dimension": "code"})
        return (dim.groupby(["segment", "code"], as_index=False, sort=True)["coders"].max())

    def rolled_up(self, parents: dict[str, str]) -> "Material":
        """The material where a coding of a sub-theme also counts for its parent (``{child: parent}``).

        The codebook's sub-themes of MGT and ECH roll up this way, so that the canonical balises keep
        every segment that speaks of them. A segment coded with both keeps one parent row.
        """
        if not parents or self.codes.empty:
            return self
        kids = self.codes[self.codes["code"].isin(parents)]
        extra = kids.assign(code=kids["code"].map(parents))
        codes = (pd.concat([self.codes, extra], ignore_index=True)
                 .sort_values(["segment", "code", "valence"], ascending=[True, True, False])
                 .drop_duplicates(["segment", "code"], keep="first").reset_index(drop=True))
        return Material(segments=self.segments, codes=codes, coders=self.coders, how=self.how,
                        notes=list(self.notes))


def rollup_parents(codebook) -> dict[str, str]:
    """``{sub-theme: canonical balise}`` for the codebook's balises whose parent is a canonical balise."""
    if codebook is None:
        return {}
    from analyse.model.codebook import CANONICAL_IDS
    return {c.id: c.parent for c in codebook.codes.values()
            if c.kind == "balise" and c.parent in CANONICAL_IDS}


# The old private name, for modules of other branches that still import it.
_check_choice = check_choice


def _as_list(coders: str | Iterable[str] | None) -> list[str] | None:
    if coders is None:
        return None
    if isinstance(coders, str):
        return [coders]
    return list(coders)


def empty_material(coders: Sequence[str] = (), how: str = "union", notes: list[str] | None = None) -> Material:
    """A material with no segment (nothing coded yet), with the usual columns."""
    return Material(segments=pd.DataFrame(columns=MATERIAL_SEGMENT_COLUMNS + ["text"]),
                    codes=pd.DataFrame(columns=MATERIAL_CODE_COLUMNS).astype({"coders": int}),
                    coders=tuple(coders), how=how, notes=list(notes or []))


def coded_material(corpus: Corpus, codings: Codings, coders: str | Iterable[str] | None = None,
                   how: str = "union", facilitators: bool = False, strict: bool = True) -> Material:
    """The segments and codes to analyse, for one or several coders.

    Parameters
    ----------
    corpus : Corpus
    codings : Codings
        As returned by :func:`analyse.model.codings.load_codings`.
    coders : str or list of str, optional
        Coder ids (file names of ``corpus/codings``); ``"consensus"`` or any
        other name works the same way. Default: every coder in ``codings``.
    how : {"union", "majority"}
        With several coders, ``"union"`` keeps a code on a segment when any
        of them applied it; ``"majority"`` when strictly more than half of
        the chosen coders *who covered that document* applied it (a segment
        only one coder looked at keeps that coder's codes). With one coder
        both are the same.
    facilitators : bool
        Keep the facilitators' turns (role ``animateur``)? Default no: a
        facilitator's question is not evidence of what a territory does.
    strict : bool
        With ``False`` (reports of a corpus still being coded), a coder who
        coded nothing here gives an empty material with a French note
        instead of an error.

    Returns
    -------
    Material
        The material is the segments of the documents covered by at least one
        chosen coder (coverage records; a coder with no coverage record at all
        is taken to cover the documents they coded, with a note).

    Raises
    ------
    UsageError
        Unknown coder, unknown ``how``, or no material at all.

    Examples
    --------
    >>> m = coded_material(corpus, codings, coders=["A", "B"], how="majority")  # doctest: +SKIP
    >>> m.codes.head()                                                         # doctest: +SKIP
    """
    check_choice("how", how, HOWS)
    available = codings.coders
    chosen = _as_list(coders) or list(available)
    if not chosen:
        raise UsageError(msg("mat.no_codings"), hint=msg("mat.no_codings_hint"))
    unknown = [c for c in chosen if c not in available]
    if unknown and not strict:
        return empty_material(chosen, how, [f"Le codeur {', '.join(unknown)} n'a encore rien codé dans ce "
                                            "matériau."])
    if unknown:
        raise UsageError(msg("unknown_coders", coders=", ".join(unknown)),
                         hint=msg("available", items=", ".join(available) or msg("none")))
    chosen = sorted(set(chosen))
    notes: list[str] = []
    covered_by: dict[str, set[str]] = {}          # doc -> coders who covered it
    rows = []
    for coder in chosen:
        per_segment = segment_codes(codings, corpus, coder, covered_only=True)
        if not per_segment:
            # Imported codings may lack coverage lines: the documents the coder
            # coded are then the best guess of what they read.
            per_segment = segment_codes(codings, corpus, coder, covered_only=False)
            docs = {seg.split("#")[0] for seg in per_segment}
            if docs:
                notes.append(msg("mat.no_coverage_note", coder=coder, n=len(docs)))
            for s in corpus.segments:
                if s.doc in docs:
                    per_segment.setdefault(s.id, set())
        for seg, codes in per_segment.items():
            covered_by.setdefault(seg.split("#")[0], set()).add(coder)
            rows.extend((seg, code, coder) for code in codes)
    if not covered_by and not strict:
        return empty_material(chosen, how, [*notes, f"Le codeur {', '.join(chosen)} n'a encore couvert "
                                                   "aucun document de ce matériau."])
    if not covered_by:
        raise UsageError(msg("mat.nothing_covered", coders=", ".join(chosen)), hint=msg("mat.nothing_covered_hint"))
    segs = segments_frame(corpus)
    segs = segs[segs["doc"].isin(covered_by)].copy()
    segs["role"] = segs["role"].fillna(NO_ROLE)
    segs = segs[MATERIAL_SEGMENT_COLUMNS + ["text"]].sort_values(["doc", "n"], ignore_index=True)
    # A facilitator of an inter-territory document speaks for no territory: out of the comparison.
    no_place = segs["territory"].isna()
    if no_place.any():
        notes.append(f"{int(no_place.sum())} segment(s) sans territoire (animation d'un document "
                     f"inter-territoires) laissé(s) hors de la comparaison entre territoires")
        segs = segs[~no_place].reset_index(drop=True)
        rows = [r for r in rows if r[0] in set(segs["segment"])]

    if not facilitators:
        led = segs["role"] == FACILITATOR
        if led.any():
            notes.append(f"{int(led.sum())} tour(s) d'animation laissé(s) hors de l'analyse "
                         "(option facilitators=True pour les garder)")
            segs = segs[~led].reset_index(drop=True)
            kept = set(segs["segment"])
            rows = [r for r in rows if r[0] in kept]
    raw = pd.DataFrame(rows, columns=["segment", "code", "coder"]).drop_duplicates()
    if raw.empty:
        codes = pd.DataFrame(columns=MATERIAL_CODE_COLUMNS)
    else:
        codes = (raw.sort_values("coder").groupby(["segment", "code"], as_index=False, sort=True)
                 .agg(coders=("coder", "size"), coded_by=("coder", ",".join)))
        if how == "majority":
            looked = codes["segment"].str.split("#").str[0].map(lambda d: len(covered_by[d]))
            codes = codes[codes["coders"] * 2 > looked]
        dims = _dimension_map(codings)
        codes["dimension"] = codes["code"].map(lambda c: dims.get(c, c.split(".")[0]))
        codes["valence"] = _valences(codings, chosen, codes)
        codes = codes[MATERIAL_CODE_COLUMNS].reset_index(drop=True)
    codes["coders"] = codes["coders"].astype(int)
    return Material(segments=segs, codes=codes, coders=tuple(chosen), how=how, notes=notes)


def _valences(codings: Codings, coders: list[str], codes: pd.DataFrame) -> pd.Series:
    """Valence of each retained (segment, code): failing or contested as soon as one chosen coder says so."""
    f = codings.frame
    if f.empty or "valence" not in f:
        return pd.Series(VALENCES[0], index=codes.index)
    against = f[f["coder"].isin(coders) & (f["valence"] != VALENCES[0])]
    worst = (against.sort_values("valence").groupby(["segment", "code"])["valence"].first())
    keys = pd.MultiIndex.from_frame(codes[["segment", "code"]])
    return pd.Series(worst.reindex(keys).fillna(VALENCES[0]).to_numpy(), index=codes.index)


def _dimension_map(codings: Codings) -> dict[str, str]:
    f = codings.frame
    if f.empty:
        return {}
    return dict(zip(f["code"], f["dimension"]))


def material_from_frames(segments: pd.DataFrame, codes: pd.DataFrame) -> Material:
    """A :class:`Material` built from hand-made frames (tests, notebooks, imports).

    ``segments`` needs ``segment, doc, territory`` and ``words``; ``atelier``,
    ``role``, ``kind``, ``n`` default to ``"none"``/0. ``codes`` needs
    ``segment, code``; ``dimension`` defaults to the part before the first
    dot, ``coders`` to 1.

    Examples
    --------
    >>> segs = pd.DataFrame({"segment": ["d#1", "d#2"], "doc": "d", "territory": "t", "words": [10, 5]})
    >>> m = material_from_frames(segs, pd.DataFrame({"segment": ["d#1"], "code": ["ENG.1"]}))
    >>> m.codes[["segment", "code", "dimension", "coders"]].values.tolist()
    [['d#1', 'ENG.1', 'ENG', 1]]
    """
    segs = segments.copy()
    for col, default in (("atelier", "none"), ("kind", "none"), ("role", NO_ROLE), ("n", 0), ("text", "")):
        if col not in segs:
            segs[col] = default
    segs["role"] = segs["role"].fillna(NO_ROLE)
    codes = codes.copy()
    if "dimension" not in codes:
        codes["dimension"] = codes["code"].str.split(".").str[0]
    if "coders" not in codes:
        codes["coders"] = 1
    if "coded_by" not in codes:
        codes["coded_by"] = ""
    if "valence" not in codes:
        codes["valence"] = VALENCES[0]
    unknown = set(codes["segment"]) - set(segs["segment"])
    if unknown:
        raise UsageError(msg("mat.segments_missing", n=len(unknown), example=sorted(unknown)[0]))
    return Material(segments=segs[MATERIAL_SEGMENT_COLUMNS + ["text"]].reset_index(drop=True),
                    codes=codes[MATERIAL_CODE_COLUMNS].drop_duplicates(["segment", "code"])
                    .reset_index(drop=True))


# ---------------------------------------------------------------------------
# 2. Partial coding: one alignment of segments, coded material and NLP frames
# ---------------------------------------------------------------------------

COVERAGE_COLUMNS = ["territory", "documents", "documents_coded", "segments", "segments_coded", "coded_share",
                    "little_material"]


@dataclass
class Aligned:
    """Every frame a report reads, over the same segments.

    ``segments`` is every segment of the corpus (coded or not) with a
    ``coded`` flag (covered by the analysed coder); ``material`` the coded
    part; ``tokens`` and ``entities`` are restricted to ``segments``.
    Vocabulary reads ``segments`` (all the material), code tables read
    ``material``: a document nobody has coded yet still has words.
    """

    segments: pd.DataFrame
    material: Material
    tokens: pd.DataFrame | None = None
    entities: pd.DataFrame | None = None

    @property
    def coded_territories(self) -> list[str]:
        return sorted(self.material.segments["territory"].unique())


def align(segments: pd.DataFrame, material: Material, tokens: pd.DataFrame | None = None,
          entities: pd.DataFrame | None = None) -> Aligned:
    """Align the segments, the coded material and the token / entity frames, once.

    The material keeps only segments present in ``segments``; tokens and
    entities only those of ``segments`` (a token frame built on a larger
    corpus, or a material of a coder who covered other documents, no longer
    disagree with the rest).

    Examples
    --------
    >>> segs = pd.DataFrame({"segment": ["d#1", "d#2"], "doc": "d", "territory": "t", "words": [3, 4]})
    >>> m = material_from_frames(segs.iloc[:1], pd.DataFrame({"segment": ["d#1"], "code": ["ENG.1"]}))
    >>> a = align(segs, m, tokens=pd.DataFrame({"segment": ["d#1", "x#9"], "lemma": ["a", "b"]}))
    >>> a.segments["coded"].tolist(), a.tokens["segment"].tolist()
    ([True, False], ['d#1'])
    """
    known = set(segments["segment"])
    m_segs = material.segments[material.segments["segment"].isin(known)].reset_index(drop=True)
    m_codes = material.codes[material.codes["segment"].isin(set(m_segs["segment"]))].reset_index(drop=True)
    aligned_material = Material(segments=m_segs, codes=m_codes, coders=material.coders, how=material.how,
                                notes=list(material.notes))
    segs = segments.copy()
    segs["coded"] = segs["segment"].isin(set(m_segs["segment"]))

    def restrict(frame):
        return None if frame is None else frame[frame["segment"].isin(known)].reset_index(drop=True)

    return Aligned(segments=segs, material=aligned_material, tokens=restrict(tokens), entities=restrict(entities))


def coverage_table(segments: pd.DataFrame, material: Material, min_coded_segments: int = 0) -> pd.DataFrame:
    """How much of each territory is coded: documents, segments, share; small territories flagged.

    ``little_material`` is true when a territory has fewer than
    ``min_coded_segments`` coded segments (balises.toml,
    ``[analysis] min_coded_segments``): it is left out of the invariant /
    singular classification.

    Examples
    --------
    >>> segs = pd.DataFrame({"segment": ["a#1", "a#2", "b#1"], "doc": ["a", "a", "b"],
    ...                      "territory": ["x", "x", "y"], "words": 1})
    >>> m = material_from_frames(segs.iloc[:2], pd.DataFrame({"segment": ["a#1"], "code": ["C"]}))
    >>> coverage_table(segs, m, 2)[["territory", "segments_coded", "coded_share", "little_material"]].values.tolist()
    [['x', 2, 1.0, False], ['y', 0, 0.0, True]]
    """
    coded = set(material.segments["segment"])
    segs = segments.assign(_coded=segments["segment"].isin(coded))
    docs_coded = segs[segs["_coded"]].groupby("territory")["doc"].nunique()
    out = (segs.groupby("territory", sort=True)
           .agg(documents=("doc", "nunique"), segments=("segment", "size"), segments_coded=("_coded", "sum"))
           .reset_index())
    out["documents_coded"] = out["territory"].map(docs_coded).fillna(0).astype(int)
    out["segments_coded"] = out["segments_coded"].astype(int)
    out["coded_share"] = out["segments_coded"] / out["segments"].where(out["segments"] > 0)
    out["little_material"] = out["segments_coded"] < min_coded_segments
    return out[COVERAGE_COLUMNS]


def restrict_territories(material: Material, territories: Iterable[str]) -> Material:
    """The material of some territories only (e.g. without those with little material)."""
    keep = set(territories)
    segs = material.segments[material.segments["territory"].isin(keep)].reset_index(drop=True)
    codes = material.codes[material.codes["segment"].isin(set(segs["segment"]))].reset_index(drop=True)
    return Material(segments=segs, codes=codes, coders=material.coders, how=material.how,
                    notes=list(material.notes))
