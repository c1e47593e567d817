"""Retrieval (segments coded with a code) and search (KWIC), checked against pandas recomputations."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

from analyse.analysis.retrieval import match_counts, retrieve, search
from analyse.errors import UsageError
from analyse.model.codebook import load_codebook
from analyse.model.codings import CodingStore, coding_record, load_codings
from analyse.model.corpus import load_corpus, segments_frame
from tests.helpers import ROOT, make_codebook, run_cli

CHILD = {"id": "ENG.M1", "label": "Aller vers", "dimension": "ENG", "kind": "mode", "parent": "ENG.1",
         "definition": "Aller vers les habitants.", "include": ["quand"], "exclude": ["sinon"],
         "examples": ["un", "deux"], "keywords": ["aller vers"]}


@pytest.fixture(scope="module")
def bundled():
    corpus = load_corpus(ROOT / "corpus")
    book = load_codebook(ROOT / "codebook" / "balises.yaml")
    return corpus, book, load_codings(corpus, book)


def _raw_codings() -> pd.DataFrame:
    """The coder files read with pandas alone (no Balises code), coverage lines dropped."""
    frames = []
    for path in sorted((ROOT / "corpus" / "codings").glob("*.jsonl")):
        frame = pd.read_json(path, lines=True)
        if "type" in frame:
            frame = frame[frame["type"].isna()]
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _family(code: str) -> set[str]:
    codes = yaml.safe_load((ROOT / "codebook" / "balises.yaml").read_text(encoding="utf-8"))["codes"]
    family = {code}
    for _ in range(5):
        family |= {c["id"] for c in codes if c.get("parent") in family}
    return family


@pytest.mark.parametrize("code", ["ENG.1", "VAL.6", "COOP.3"])
def test_retrieve_counts_match_a_pandas_recomputation(bundled, code):
    corpus, book, codings = bundled
    raw = _raw_codings()
    raw = raw[raw["code"].isin(_family(code))]
    segs = segments_frame(corpus)
    # a coding belongs to the segment that contains it
    merged = raw.merge(segs[["doc", "segment", "start", "end", "territory"]], on="doc", suffixes=("", "_seg"))
    merged = merged[(merged["start"] >= merged["start_seg"]) & (merged["end"] <= merged["end_seg"])]
    assert len(merged) == len(raw)
    expected = merged.groupby(["coder", "territory"]).size().sort_index()
    rows = retrieve(corpus, book, codings, code)
    got = rows.groupby(["coder", "territory"]).size().sort_index()
    assert got.to_dict() == expected.to_dict() and len(rows) == len(raw)
    only = retrieve(corpus, book, codings, code, coders=["B"], territory="le-mene")
    assert len(only) == expected.get(("B", "le-mene"), 0)


def test_retrieve_children_context_and_filters(project: Path):
    make_codebook(project / "codebook" / "balises.yaml", extra=[CHILD])
    corpus = load_corpus(project / "corpus")
    book = load_codebook(project / "codebook" / "balises.yaml")
    store = CodingStore(project / "corpus" / "codings")
    seg = {s.id: s for s in corpus.segments}
    store.append("A", [coding_record(seg["le-mene-test#2"], "ENG.1", "A"),
                       coding_record(seg["malaunay-test#3"], "ENG.M1", "A")])
    store.append("B", [coding_record(seg["le-mene-test#3"], "ENG.M1", "B")])
    codings = load_codings(corpus, book, store.folder)
    rows = retrieve(corpus, book, codings, "ENG.1")
    assert list(rows["segment"]) == ["le-mene-test#2", "le-mene-test#3", "malaunay-test#3"]
    first = rows.iloc[0]
    assert first["before"] == seg["le-mene-test#1"].text and first["after"] == seg["le-mene-test#3"].text
    assert (first["speaker"], first["role"], first["before_speaker"], first["after_speaker"]) == ("P1", "elu", "P1", "P2")
    assert rows.iloc[2]["after"] == ""                                  # last segment of its document
    assert list(retrieve(corpus, book, codings, "ENG.1", children=False)["segment"]) == ["le-mene-test#2"]
    assert list(retrieve(corpus, book, codings, "ENG.1", role="services")["segment"]) == [
        "le-mene-test#3", "malaunay-test#3"]
    assert list(retrieve(corpus, book, codings, "ENG.1", coders=["B"])["coder"]) == ["B"]
    with pytest.raises(UsageError, match="territoire inconnu"):
        retrieve(corpus, book, codings, "ENG.1", territory="nulle-part")
    with pytest.raises(UsageError, match="code inconnu"):
        retrieve(corpus, book, codings, "ENG.99")


@pytest.mark.parametrize("query", [r"coopér\w*", "confiance", r"\bmairie\b"])
def test_search_counts_match_a_pandas_recomputation(bundled, query):
    corpus = bundled[0]
    segs = segments_frame(corpus)
    segs["role"] = segs["role"].fillna("(narration)")
    segs["hits"] = segs["text"].str.count(query, flags=re.IGNORECASE)
    hits = search(corpus, query)
    assert len(hits) == segs["hits"].sum() > 0
    for by in ("territory", "role", "doc"):
        expected = segs.groupby(by)["hits"].sum()
        expected = expected[expected > 0].to_dict()
        table = match_counts(hits, by)
        assert dict(zip(table[by], table["occurrences"])) == expected
        seg_expected = segs[segs["hits"] > 0].groupby(by).size().to_dict()
        assert dict(zip(table[by], table["segments"])) == seg_expected
    one = search(corpus, query, territory="malaunay")
    assert len(one) == segs.loc[segs["territory"] == "malaunay", "hits"].sum()


def test_search_kwic_offsets_point_into_the_document(bundled):
    corpus = bundled[0]
    hits = search(corpus, "café", window=20)
    for r in hits.itertuples():
        body = corpus.documents[r.doc].body
        assert body[r.start:r.end].lower() == "café" and body[r.start - len(r.left):r.start] == r.left
        assert len(r.left) <= 20 and len(r.right) <= 20


def test_search_invalid_regex_is_searched_as_text(project: Path):
    corpus = load_corpus(project / "corpus")
    assert search(corpus, "été, (œuvre").empty
    assert len(search(corpus, "accents : été, œ")) == 2
    with pytest.raises(UsageError):
        search(corpus, "  ")


def test_search_by_lemma_finds_inflected_forms(project: Path):
    corpus = load_corpus(project / "corpus")
    plain = search(corpus, "paragraphe")
    hits = search(corpus, "paragraphes", lemma=True)       # the query is lemmatised too
    assert len(plain) == len(hits) == 2
    assert set(hits["match"]) == {"paragraphe"}


def test_cli_retrieve_and_search_write_csv(project: Path, capsys):
    corpus = load_corpus(project / "corpus")
    store = CodingStore(project / "corpus" / "codings")
    seg = {s.id: s for s in corpus.segments}
    store.append("A", [coding_record(seg["le-mene-test#2"], "SYS.1", "A")])
    code, out = run_cli(project, "retrieve", "SYS.1", "--csv", "r.csv", capsys=capsys)
    assert code == 0 and "1 codage(s)" in out.out and "[avant — P1]" in out.out
    rows = list(csv.DictReader((project / "r.csv").open(encoding="utf-8")))
    assert [r["segment"] for r in rows] == ["le-mene-test#2"]
    code, out = run_cli(project, "search", "café", "--csv", "s.csv", capsys=capsys)
    assert code == 0 and "2 occurrence(s)" in out.out and "Par territoire" in out.out
    rows = list(csv.DictReader((project / "s.csv").open(encoding="utf-8")))
    assert {r["territory"] for r in rows} == {"le-mene", "malaunay"}
    code, out = run_cli(project, "retrieve", "XX", capsys=capsys)
    assert code == 2 and "code inconnu" in out.err


def test_csv_exports_never_hold_a_live_formula(project: Path, capsys):
    # a memo pasted from a spreadsheet: opened in Excel or LibreOffice it must stay text
    corpus = load_corpus(project / "corpus")
    store = CodingStore(project / "corpus" / "codings")
    seg = {s.id: s for s in corpus.segments}
    store.append("A", [coding_record(seg["le-mene-test#2"], "SYS.1", "A", memo='=HYPERLINK("http://x","y")')])
    for command, out_name in ((("retrieve", "SYS.1"), "r.csv"), (("history", "SYS.1"), "h.csv")):
        code, _ = run_cli(project, *command, "--csv", out_name, capsys=capsys)
        assert code == 0
        rows = list(csv.DictReader((project / out_name).open(encoding="utf-8")))
        cells = [v for r in rows for v in r.values() if v]
        assert not [v for v in cells if v[0] in "=+-@"], out_name
    (memo,) = [r["memo"] for r in csv.DictReader((project / "r.csv").open(encoding="utf-8"))]
    assert memo == "'=HYPERLINK(\"http://x\",\"y\")"


@pytest.mark.parametrize("code, valence", [("ENG.5", "mise en échec"), ("SYS.1", "contestée"),
                                           ("ENG.1", "à l'œuvre"), ("VAL.1", "contestée")])
def test_retrieve_by_valence_matches_a_pandas_recomputation(bundled, code, valence):
    corpus, book, codings = bundled
    raw = _raw_codings()
    raw["valence"] = raw["valence"].fillna("à l'œuvre") if "valence" in raw else "à l'œuvre"
    raw = raw[raw["code"].isin(_family(code)) & (raw["valence"] == valence)]
    expected = raw.groupby(["coder", "code"]).size().sort_index()
    rows = retrieve(corpus, book, codings, code, valence=valence)
    assert (rows["valence"] == valence).all()
    assert rows.groupby(["coder", "code"]).size().sort_index().to_dict() == expected.to_dict()
    assert len(rows) == len(raw) > 0
    # the three valences partition the codings of the code
    every = retrieve(corpus, book, codings, code)
    parts = sum(len(retrieve(corpus, book, codings, code, valence=v)) for v in ("à l'œuvre", "échec", "contestee"))
    assert parts == len(every)


def test_cli_retrieve_valence(project: Path, capsys):
    corpus = load_corpus(project / "corpus")
    seg = {s.id: s for s in corpus.segments}
    CodingStore(project / "corpus" / "codings").append("A", [
        coding_record(seg["le-mene-test#1"], "SYS.1", "A", valence="contestée"),
        coding_record(seg["le-mene-test#2"], "SYS.1", "A"),
        coding_record(seg["le-mene-test#3"], "SYS.1", "A", valence="mise en échec")])
    code, out = run_cli(project, "retrieve", "SYS.1", "--valence", "contestée", "--csv", "r.csv", capsys=capsys)
    assert code == 0 and "1 codage(s)" in out.out and "· contestée" in out.out
    rows = list(csv.DictReader((project / "r.csv").open(encoding="utf-8")))
    assert [(r["segment"], r["valence"]) for r in rows] == [("le-mene-test#1", "contestée")]
    code, out = run_cli(project, "retrieve", "SYS.1", "--valence", "oeuvre", capsys=capsys)
    assert code == 0 and "1 codage(s)" in out.out
    code, out = run_cli(project, "retrieve", "SYS.1", "--valence", "douteuse", capsys=capsys)
    assert code == 2 and "valence inconnue « douteuse »" in out.err and "contestée" in out.err
