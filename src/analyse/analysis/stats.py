"""Descriptive statistics of the corpus and of the codings (``analyse stats``)."""

from __future__ import annotations

import pandas as pd

from analyse.model.codings import Codings, segment_codes
from analyse.model.corpus import Corpus, documents_frame, segments_frame


def corpus_summary(corpus: Corpus) -> pd.DataFrame:
    """Documents, words and segments per territory and kind (sorted, with totals)."""
    docs = documents_frame(corpus)
    if docs.empty:
        return pd.DataFrame(columns=["territory", "kind", "documents", "segments", "words"])
    if any(d.inter_territory for d in corpus.documents.values()):
        # A segment counts in its speaker's territory, a document in each territory it has segments in;
        # a facilitator's segments stay with the document's folder (inter-territoires).
        segs = segments_frame(corpus)
        segs["territory"] = segs["territory"].fillna(segs["doc"].map(docs.set_index("doc")["territory"]))
        table = (segs.groupby(["territory", "kind"], as_index=False)
                 .agg(documents=("doc", "nunique"), segments=("segment", "size"), words=("words", "sum")))
        return table.sort_values(["territory", "kind"], ignore_index=True)
    table = (docs.groupby(["territory", "kind"], as_index=False)
             .agg(documents=("doc", "count"), segments=("segments", "sum"), words=("words", "sum")))
    return table.sort_values(["territory", "kind"], ignore_index=True)


def by_atelier(corpus: Corpus) -> pd.DataFrame:
    docs = documents_frame(corpus)
    return (docs.groupby("atelier", as_index=False)
            .agg(documents=("doc", "count"), segments=("segments", "sum"), words=("words", "sum"))
            .sort_values("atelier", ignore_index=True))


def codings_by_coder_and_code(codings: Codings) -> pd.DataFrame:
    """Coded segments per coder and code (a segment counts once per code)."""
    frame = codings.frame.dropna(subset=["segment"])
    if frame.empty:
        return pd.DataFrame(columns=["coder", "code", "segments", "territories"])
    return (frame.drop_duplicates(["coder", "segment", "code"])
            .groupby(["coder", "code"], as_index=False)
            .agg(segments=("segment", "count"), territories=("territory", "nunique"))
            .sort_values(["coder", "code"], ignore_index=True))


def coder_overview(corpus: Corpus, codings: Codings) -> pd.DataFrame:
    """Per coder: codings, covered documents and segments, coded and empty segments."""
    rows = []
    total = len(corpus.segments)
    for coder in codings.coders:
        seg = segment_codes(codings, corpus, coder)
        covered = len(seg)
        rows.append({
            "coder": coder,
            "codings": int((codings.frame["coder"] == coder).sum()),
            "documents_covered": int((codings.coverage["coder"] == coder).sum()),
            "segments_covered": covered,
            "share_of_corpus": round(covered / total, 4) if total else 0.0,
            "segments_coded": sum(1 for v in seg.values() if v),
            "segments_no_code": sum(1 for v in seg.values() if not v),
        })
    return pd.DataFrame(rows, columns=["coder", "codings", "documents_covered", "segments_covered",
                                       "share_of_corpus", "segments_coded", "segments_no_code"])


def overlap(corpus: Corpus, codings: Codings) -> pd.DataFrame:
    """Segments covered by both coders, for every pair of coders."""
    coders = codings.coders
    covered = {c: set(segment_codes(codings, corpus, c)) for c in coders}
    rows = []
    for i, a in enumerate(coders):
        for b in coders[i + 1:]:
            both = covered[a] & covered[b]
            rows.append({"coders": f"{a}+{b}", "segments": len(both),
                         "documents": len({s.split("#")[0] for s in both})})
    return pd.DataFrame(rows, columns=["coders", "segments", "documents"])


def stats_dict(corpus: Corpus, codings: Codings | None) -> dict:
    """Everything ``analyse stats --json`` prints, as plain JSON-able values."""
    docs = documents_frame(corpus)
    out = {
        "documents": int(len(docs)),
        "segments": int(len(corpus.segments)),
        "words": int(docs["words"].sum()) if not docs.empty else 0,
        "by_territory_kind": corpus_summary(corpus).to_dict(orient="records"),
        "by_atelier": by_atelier(corpus).to_dict(orient="records"),
    }
    if codings is not None:
        out["coders"] = coder_overview(corpus, codings).to_dict(orient="records")
        out["codings_by_code"] = codings_by_coder_and_code(codings).to_dict(orient="records")
        out["overlap"] = overlap(corpus, codings).to_dict(orient="records")
    return out
