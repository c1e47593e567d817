"""Reconciliation: the disagreement list, its CSV/Markdown exports, recording a consensus."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from analyse.model.codings import CodingStore, load_codings, segment_codes
from analyse.errors import UsageError
from analyse.reliability.reconcile import (disagreements, export_disagreements, parse_decision, read_decisions,
                               record_consensus, to_markdown)

from tests.reliability.test_agreement import add_doc, code, load, run

DOCS = ["le-mene-r1", "malaunay-r2"]


def two_coders(project: Path) -> Path:
    """A and B on two 4-segment documents; C covers nothing in common.

    Disagreements (code, segment): ENG.1 r1#2 (A), ENG.1 r2#1 (B), VAL.1 r1#1 (B), VAL.1 r2#4 (A).
    Agreements: ENG.1 on r1#1, SYS.2 on r2#3.
    """
    add_doc(project, "le-mene", "le-mene-r1", 4)
    add_doc(project, "malaunay", "malaunay-r2", 4)
    code(project, "A", {"le-mene-r1#1": ["ENG.1"], "le-mene-r1#2": ["ENG.1"],
                        "malaunay-r2#3": ["SYS.2"], "malaunay-r2#4": ["VAL.1"]}, DOCS)
    code(project, "B", {"le-mene-r1#1": ["ENG.1", "VAL.1"], "malaunay-r2#1": ["ENG.1"],
                        "malaunay-r2#3": ["SYS.2"]}, DOCS)
    return project


def test_disagreements_lists_every_differing_code_sorted_by_code_then_segment(project: Path):
    corpus, book, codings = load(two_coders(project))
    table = disagreements(codings, corpus, ["A", "B"], codebook=book)
    assert list(zip(table["code"], table["segment"])) == [
        ("ENG.1", "le-mene-r1#2"), ("ENG.1", "malaunay-r2#1"),
        ("VAL.1", "le-mene-r1#1"), ("VAL.1", "malaunay-r2#4")]
    first = table.iloc[0]
    assert (first["applied_by"], first["not_applied_by"]) == ("A", "B")
    assert (first["territory"], first["role"], first["speaker"]) == ("le-mene", "services", "P2 (DGS)")
    assert first["text"] == "Intervention 2 sur la transition."
    assert first["label"] == "Libellé ENG.1"
    row = table.iloc[2]                                     # VAL.1 on r1#1: each coder's full code set
    assert (row["codes A"], row["codes B"]) == ("ENG.1", "ENG.1, VAL.1")
    assert table["decision"].eq("").all()


def test_exports_have_french_headers_and_never_overwrite_decisions(project: Path, tmp_path: Path):
    corpus, book, codings = load(two_coders(project))
    table = disagreements(codings, corpus, ["A", "B"], codebook=book)
    path = export_disagreements(table, tmp_path / "d.csv")
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")                  # BOM: spreadsheets read it as UTF-8
    header = raw.decode("utf-8-sig").splitlines()[0].split(";")
    assert header == ["code", "libellé", "segment", "document", "territoire", "rôle", "locuteur", "texte",
                      "appliqué par", "non appliqué par", "codes A", "codes B", "décision", "commentaire"]
    back, name = read_decisions(path)                       # French headers back to internal names
    assert name == str(path) and list(back.columns) == list(table.columns)
    assert back[["code", "segment"]].values.tolist() == table[["code", "segment"]].values.tolist()
    with pytest.raises(UsageError, match="contient peut-être les décisions de l'équipe"):
        export_disagreements(table, path)
    with pytest.raises(UsageError, match="impossible d'écrire"):
        export_disagreements(table, tmp_path / "d.xlsx")
    md = export_disagreements(table, tmp_path / "d.md").read_text(encoding="utf-8")
    assert "# Désaccords entre codeurs : A / B" in md
    assert "## ENG.1 — Libellé ENG.1 (2 désaccord(s))" in md and "## VAL.1" in md
    assert "| segment | territoire | rôle |" in md and "| le-mene-r1#2 |" in md


def test_markdown_escapes_pipes_and_markup_in_segment_text(project: Path):
    corpus, book, codings = load(two_coders(project))
    table = disagreements(codings, corpus, ["A", "B"], codebook=book)
    table.loc[0, "text"] = "a | b <script>\nc"
    md = to_markdown(table)
    assert "a \\| b &lt;script&gt;<br>c" in md


def test_parse_decision():
    assert [parse_decision(v, ["A", "B"]) for v in ("oui", " NON ", "o", "x", "0", "", "b")] == \
        [True, False, True, True, False, None, "B"]
    with pytest.raises(ValueError):
        parse_decision("peut-être", ["A", "B"])


def _fill(path: Path, decisions: dict[tuple[str, str], str], sep: str | None = None) -> Path:
    frame = pd.read_csv(path, sep=";", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    for i, row in frame.iterrows():
        frame.loc[i, "décision"] = decisions.get((row["code"], row["segment"]), "")
        if row["segment"] == "le-mene-r1#2":
            frame.loc[i, "commentaire"] = "relu en réunion"
    frame.to_csv(path, sep=sep or ";", index=False, encoding="utf-8-sig")
    return path


def test_record_consensus_writes_a_new_coder_and_leaves_the_coders_files_alone(project: Path, tmp_path: Path):
    corpus, book, codings = load(two_coders(project))
    store = CodingStore(project / "corpus" / "codings")
    before = {c: store.path(c).read_bytes() for c in ("A", "B")}
    csv_path = export_disagreements(disagreements(codings, corpus, ["A", "B"], codebook=book), tmp_path / "d.csv")
    # A spreadsheet may save it back comma-separated: still read.
    _fill(csv_path, {("ENG.1", "le-mene-r1#2"): "oui", ("ENG.1", "malaunay-r2#1"): "Non",
                     ("VAL.1", "le-mene-r1#1"): "A", ("VAL.1", "malaunay-r2#4"): "B"}, sep=",")
    result = record_consensus(csv_path, codings, corpus, store, codebook=book, at="2026-02-01T00:00:00+00:00")
    assert result.ok and result.decisions == 4
    assert result.documents == DOCS and result.skipped == {}
    assert {c: store.path(c).read_bytes() for c in ("A", "B")} == before
    after = load_codings(corpus, book)
    assert not after.problems
    consensus = segment_codes(after, corpus, "consensus")
    assert consensus == {
        "le-mene-r1#1": {"ENG.1"}, "le-mene-r1#2": {"ENG.1"}, "le-mene-r1#3": set(), "le-mene-r1#4": set(),
        "malaunay-r2#1": set(), "malaunay-r2#2": set(), "malaunay-r2#3": {"SYS.2"}, "malaunay-r2#4": set()}
    memo = after.frame.loc[(after.frame["coder"] == "consensus") & (after.frame["segment"] == "le-mene-r1#2"), "memo"]
    assert memo.tolist() == ["relu en réunion"]
    # Applying again does not duplicate anything; --replace gives the same state (and logs its decisions again).
    again = record_consensus(csv_path, codings, corpus, store, codebook=book)
    assert again.documents == [] and set(again.skipped) == set(DOCS)
    state = store.records("consensus")
    replaced = record_consensus(csv_path, codings, corpus, store, codebook=book, replace=True,
                                at="2026-02-01T00:00:00+00:00")
    assert replaced.documents == DOCS
    assert store.records("consensus") == state


def test_undecided_rows_keep_their_document_out(project: Path, tmp_path: Path):
    corpus, book, codings = load(two_coders(project))
    store = CodingStore(project / "corpus" / "codings")
    csv_path = export_disagreements(disagreements(codings, corpus, ["A", "B"], codebook=book), tmp_path / "d.csv")
    _fill(csv_path, {("ENG.1", "le-mene-r1#2"): "non", ("VAL.1", "le-mene-r1#1"): "non",
                     ("ENG.1", "malaunay-r2#1"): "oui"})
    result = record_consensus(csv_path, codings, corpus, store, codebook=book)
    assert result.documents == ["le-mene-r1"]
    assert result.skipped == {"malaunay-r2": "1 undecided disagreement(s)"}
    recs = [json.loads(line) for line in store.path("consensus").read_text(encoding="utf-8").splitlines()]
    assert {r["doc"] for r in recs} == {"le-mene-r1"}
    assert [(r.get("type"), r["doc"]) for r in store.records("consensus") if r.get("type")] == [("coverage", "le-mene-r1")]
    # both decisions are in the log, the rejected ones included
    assert sorted((r["code"], r["decision"]) for r in recs if r.get("type") == "decision") == [("ENG.1", "non"), ("VAL.1", "non")]


def test_bad_rows_are_reported_and_nothing_is_written(project: Path, tmp_path: Path):
    corpus, book, codings = load(two_coders(project))
    store = CodingStore(project / "corpus" / "codings")
    table = disagreements(codings, corpus, ["A", "B"], codebook=book)
    table["decision"] = ["peut-être", "oui", "oui", "non"]
    extra = table.iloc[[1]].assign(decision="non")                           # row 6: contradicts row 3
    stale = table.iloc[[1]].assign(code="ECH", decision="oui")                # row 7: not a disagreement
    ghost = table.iloc[[1]].assign(segment="le-mene-r1#99", decision="oui")   # row 8: unknown segment
    frame = pd.concat([table, extra, stale, ghost], ignore_index=True)
    result = record_consensus(frame, codings, corpus, store, codebook=book)
    assert not result.ok
    messages = {p.line: p.message for p in result.problems.errors}
    assert sorted(messages) == [2, 6, 7, 8]
    assert "décision « peut-être » incomprise" in messages[2]
    assert "tranché deux fois, différemment" in messages[6]
    assert "n'est plus un désaccord entre A, B" in messages[7]
    assert "segment inconnu « le-mene-r1#99 »" in messages[8]
    assert not store.path("consensus").exists()


def test_consensus_name_and_coders_are_checked(project: Path):
    corpus, book, codings = load(two_coders(project))
    store = CodingStore(project / "corpus" / "codings")
    table = disagreements(codings, corpus, ["A", "B"], codebook=book)
    with pytest.raises(UsageError, match="ne peut pas être enregistré sous le nom « A »"):
        record_consensus(table, codings, corpus, store, as_coder="A")
    with pytest.raises(UsageError, match="colonne.*décision"):
        record_consensus(table.drop(columns="decision"), codings, corpus, store)
    with pytest.raises(UsageError, match="ne nomment pas les codeurs comparés"):
        record_consensus(table.drop(columns=["codes A", "codes B"]), codings, corpus, store)


def test_cli_export_then_apply(project: Path, capsys):
    two_coders(project)
    assert run(project, "reconcile", "--coders", "A", "B", "--out", "d.csv") == 0
    assert "4 désaccord(s) sur 4 segment(s)" in capsys.readouterr().out
    assert run(project, "reconcile", "--coders", "A", "B", "--out", "d.csv") == 2
    assert "--force" in capsys.readouterr().err
    assert run(project, "reconcile", "--coders", "A", "B") == 0
    assert "## VAL.1" in capsys.readouterr().out                       # Markdown on stdout

    path = project / "d.csv"
    _fill(path, {("ENG.1", "le-mene-r1#2"): "oui", ("ENG.1", "malaunay-r2#1"): "non",
                 ("VAL.1", "le-mene-r1#1"): "non", ("VAL.1", "malaunay-r2#4"): "bof"})
    assert run(project, "reconcile", "--apply", "d.csv") == 1
    err = capsys.readouterr().err
    assert "d.csv:5: erreur: décision « bof » incomprise" in err and "rien n'a été enregistré" in err
    _fill(path, {("ENG.1", "le-mene-r1#2"): "oui", ("ENG.1", "malaunay-r2#1"): "non",
                 ("VAL.1", "le-mene-r1#1"): "non", ("VAL.1", "malaunay-r2#4"): "oui"})
    assert run(project, "reconcile", "--apply", "d.csv", "--as", "equipe") == 0
    out = capsys.readouterr().out
    assert "4 décision(s) lue(s) ; 2 document(s) enregistré(s) pour « equipe »" in out
    assert (project / "corpus/codings/equipe.jsonl").is_file()
    # The new coder is then compared like any other.
    assert run(project, "agreement", "--coders", "A", "equipe", "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["units"] == 8
    assert run(project, "reconcile", "--apply", "missing.csv") == 2
    assert "fichier de décisions introuvable" in capsys.readouterr().err
