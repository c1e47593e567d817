"""Inter-coder agreement: worked examples with published values, edge cases, CLI, plot.

Known right answers used here:

* Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", the
  nominal example with 4 observers × 12 units and missing values:
  alpha = 0.743.
* Wikipedia, "Cohen's kappa": 50 items, 20 yes/yes, 5 yes/no, 10 no/yes,
  15 no/no: p_o = 0.7, p_e = 0.5, kappa = 0.4. On the same table, by hand,
  Krippendorff's alpha (two coders, no missing value, binary) is
  1 - (n - 1)(b + c) / (n_0 n_1) with n = 100 values, n_1 = 2·20 + 5 + 10 = 55,
  n_0 = 45: 1 - 99·15 / (45·55) = 0.4.
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path

import numpy as np
import pytest

from analyse.reliability.agreement import (agreement, agreement_json, agreement_table, cohen_kappa, krippendorff_alpha,
                               light_kappa, load_suggestions, percent_agreement, plot_agreement,
                               reliability_data, undefined_reason, with_suggestions)
from analyse.cli import main
from analyse.model.codebook import load_codebook
from analyse.model.codings import CodingStore, coding_record, coverage_record, load_codings
from analyse.model.corpus import load_corpus
from analyse.errors import UsageError

from tests.helpers import ROOT, write_doc

NAN = float("nan")
KRIPPENDORFF_2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, NAN, NAN, NAN],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NAN, 3],
    [NAN, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NAN],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NAN],
]
# Wikipedia's 2×2 table as two coders' values on 50 units: yes/yes, yes/no, no/yes, no/no.
WIKI_A = [1] * 20 + [1] * 5 + [0] * 10 + [0] * 15
WIKI_B = [1] * 20 + [0] * 5 + [1] * 10 + [0] * 15


# --------------------------------------------------------------------------- helpers

def many_segments_doc(doc_id: str, territory: str, n: int) -> str:
    """A transcript of ``n`` one-paragraph turns, alternating an elected member and a civil servant."""
    turns = [f"{'**P1 (élue)**' if i % 2 == 0 else '**P2 (DGS)**'} : Intervention {i + 1} sur la transition."
             for i in range(n)]
    return (f"---\nid: {doc_id}\ntitle: \"Atelier test\"\nterritory: {territory}\nkind: transcript\n"
            "atelier: engagement\ndate: 2018-03-01\nlanguage: fr\nsynthetic: true\nparticipants:\n"
            "  - {id: P1, name: \"Nadine Testu\", role: elu}\n"
            "  - {id: P2, name: \"Hervé Essai\", role: services}\n---\n" + "\n\n".join(turns) + "\n")


def add_doc(project: Path, territory: str, doc_id: str, n: int) -> None:
    write_doc(project / "corpus", territory, doc_id, many_segments_doc(doc_id, territory, n))


def code(project: Path, coder: str, plan: dict[str, list[str]], covered: list[str]) -> None:
    """Write ``coder``'s file: ``plan`` maps segment id -> codes; ``covered`` documents get coverage."""
    corpus = load_corpus(project / "corpus")
    segments = {s.id: s for s in corpus.segments}
    records = [coding_record(segments[seg], c, coder, at="2026-01-01T00:00:00+00:00")
               for seg, codes in plan.items() for c in codes]
    records += [coverage_record(d, coder, at="2026-01-01T00:00:00+00:00") for d in covered]
    CodingStore(project / "corpus" / "codings").append(coder, records)


def load(project: Path):
    corpus = load_corpus(project / "corpus")
    book = load_codebook(project / "codebook" / "balises.yaml")
    return corpus, book, load_codings(corpus, book)


def wiki_project(project: Path) -> Path:
    """Coders A and B reproduce Wikipedia's table on ENG.1 over 50 segments; A also uses ENG.2 everywhere."""
    add_doc(project, "le-mene", "le-mene-wiki", 50)
    segs = [f"le-mene-wiki#{i + 1}" for i in range(50)]
    code(project, "A", {s: ["ENG.1"] * a for s, a in zip(segs, WIKI_A)}, ["le-mene-wiki"])
    code(project, "B", {s: ["ENG.1"] * b for s, b in zip(segs, WIKI_B)}, ["le-mene-wiki"])
    return project


def run(project: Path, *args: str):
    cwd = os.getcwd()
    os.chdir(project)
    try:
        return main(list(args))
    finally:
        os.chdir(cwd)


# --------------------------------------------------------------------------- worked examples

def test_krippendorff_2011_nominal_example():
    assert krippendorff_alpha(KRIPPENDORFF_2011) == pytest.approx(0.743, abs=5e-4)
    # None marks missing values as well as NaN does.
    with_none = [[None if isinstance(v, float) and math.isnan(v) else v for v in row] for row in KRIPPENDORFF_2011]
    assert krippendorff_alpha(with_none) == pytest.approx(0.743, abs=5e-4)
    # Unit 12 has a single value: it cannot be paired and is left out; units 2, 6 and 8 hold a
    # disagreement, the 8 others agree fully.
    assert percent_agreement(KRIPPENDORFF_2011) == pytest.approx(8 / 11)


def test_cohen_kappa_wikipedia_example():
    assert cohen_kappa(WIKI_A, WIKI_B) == pytest.approx(0.4)
    assert percent_agreement([WIKI_A, WIKI_B]) == pytest.approx(0.7)
    assert krippendorff_alpha([WIKI_A, WIKI_B]) == pytest.approx(0.4)
    # Missing values are dropped pairwise: appending units only A coded changes nothing.
    assert cohen_kappa(WIKI_A + [1, 0], WIKI_B + [None, None]) == pytest.approx(0.4)


def test_light_kappa_is_the_mean_of_pairwise_kappas():
    a, b, c = [1, 1, 0, 0], [1, 1, 0, 0], [1, 0, 0, 0]
    # kappa(a, b) = 1; kappa(a, c) = kappa(b, c) = (0.75 - 0.5) / (1 - 0.5) = 0.5
    assert light_kappa([a, b, c]) == pytest.approx((1 + 0.5 + 0.5) / 3)


def test_undefined_statistics_are_nan_with_a_reason_never_a_number():
    assert undefined_reason([[0, 0, 0], [0, 0, 0]]) == "never_used"
    assert undefined_reason([[1, 1], [1, 1]]) == "always_used"
    assert undefined_reason([[1, NAN], [NAN, 0]]) == "no_units"
    assert math.isnan(krippendorff_alpha([[0, 0, 0], [0, 0, 0]]))
    assert math.isnan(cohen_kappa([1, 1], [1, 1]))
    # One coder constant, the other not: kappa is defined (0), not undefined.
    assert cohen_kappa([0, 0, 0, 0], [0, 1, 0, 0]) == 0.0


# --------------------------------------------------------------------------- through the codings files

def test_wikipedia_table_through_coder_files(project: Path):
    corpus, book, codings = load(wiki_project(project))
    table = agreement(codings, corpus, ["A", "B"], codebook=book).set_index("group")
    eng1 = table.loc["ENG.1"]
    assert eng1["n_units"] == 50
    assert (eng1["n_present_any"], eng1["n_present_all"]) == (35, 20)
    assert eng1["percent_agreement"] == pytest.approx(0.7)
    assert eng1["kappa"] == pytest.approx(0.4)
    assert eng1["alpha"] == pytest.approx(0.4)
    # Only ENG.1 is in play, so the overall row equals it, pooled and mean alike.
    overall = table.loc["overall"]
    assert overall["n_codes"] == 1 and overall["n_units"] == 50
    assert overall[["kappa", "alpha", "kappa_mean", "alpha_mean"]].tolist() == pytest.approx([0.4] * 4)


def test_unused_and_always_used_codes_are_undefined_with_a_note(project: Path):
    add_doc(project, "le-mene", "le-mene-four", 4)
    segs = [f"le-mene-four#{i}" for i in range(1, 5)]
    code(project, "A", {s: ["ENG.2", "ENG.1"] if s.endswith("1") else ["ENG.2"] for s in segs}, ["le-mene-four"])
    code(project, "B", {s: ["ENG.2"] for s in segs}, ["le-mene-four"])
    corpus, book, codings = load(project)
    rel = reliability_data(codings, corpus, ["A", "B"], codebook=book)
    table = agreement_table(rel).set_index("group")
    never = table.loc["SYS.1"]
    assert math.isnan(never["alpha"]) and math.isnan(never["kappa"])
    assert never["reason"] == "never_used" and "aucun codeur n'a appliqué le code" in never["note"]
    assert never["percent_agreement"] == 1.0          # everyone agrees it is absent
    always = table.loc["ENG.2"]
    assert math.isnan(always["alpha"]) and always["reason"] == "always_used"
    # JSON: null plus a note, never NaN.
    data = agreement_json(rel, agreement_table(rel))
    rows = {r["group"]: r for r in data["rows"]}
    assert rows["SYS.1"]["alpha"] is None and rows["SYS.1"]["kappa"] is None
    assert "aucune variation" in rows["SYS.1"]["note"]
    assert "NaN" not in json.dumps(data)
    # Overall pools the codes in play (ENG.1, ENG.2): 8 units, 7 agreements.
    assert data["overall"]["n_codes"] == 2 and data["overall"]["percent_agreement"] == pytest.approx(7 / 8)
    # Mean over defined per-code values: only ENG.1 (ENG.2 undefined).
    assert data["overall"]["n_codes_defined"] == 1
    assert data["overall"]["alpha_mean"] == pytest.approx(rows["ENG.1"]["alpha"])


def test_one_coder_unknown_coder_and_no_overlap_are_clear_errors(project: Path):
    add_doc(project, "le-mene", "le-mene-x", 4)
    code(project, "A", {"le-mene-x#1": ["ENG.1"]}, ["le-mene-x"])
    code(project, "B", {"le-mene-test#1": ["ENG.1"]}, ["le-mene-test"])
    code(project, "C", {"le-mene-x#2": ["ENG.1"]}, [])
    corpus, book, codings = load(project)
    with pytest.raises(UsageError, match="au moins 2 codeurs"):
        reliability_data(codings, corpus, ["A"])
    with pytest.raises(UsageError, match="au moins 2 codeurs"):
        reliability_data(codings, corpus, ["A", "A"])
    with pytest.raises(UsageError, match="codeur.*inconnu.*Z") as err:
        reliability_data(codings, corpus, ["A", "Z"])
    assert "A, B, C" in err.value.hint
    with pytest.raises(UsageError, match="aucun segment en commun entre les codeurs A, B") as err:
        reliability_data(codings, corpus, ["A", "B"])
    assert "couverts" in err.value.hint and "ligne de couverture" in err.value.hint
    with pytest.raises(UsageError, match="C a couvert 0 document.*1 codage.*aucune ligne de couverture"):
        reliability_data(codings, corpus, ["A", "C"])


def test_document_level_counts_a_code_present_anywhere_in_the_document(project: Path):
    # Three documents of 3 segments. ENG.1: doc1 both (different segments), doc2 A only, doc3 neither.
    for d in ("le-mene-d1", "le-mene-d2", "malaunay-d3"):
        add_doc(project, d.split("-d")[0], d, 3)
    docs = ["le-mene-d1", "le-mene-d2", "malaunay-d3"]
    code(project, "A", {"le-mene-d1#1": ["ENG.1"], "le-mene-d2#2": ["ENG.1"], "malaunay-d3#1": ["VAL.1"]}, docs)
    code(project, "B", {"le-mene-d1#3": ["ENG.1"], "malaunay-d3#1": ["VAL.1"], "le-mene-d2#1": ["VAL.1"]}, docs)
    corpus, book, codings = load(project)
    seg = agreement(codings, corpus, ["A", "B"], codebook=book).set_index("group")
    doc = agreement(codings, corpus, ["A", "B"], codebook=book, level="document").set_index("group")
    # Segment level, ENG.1 over 9 segments: A {d1#1, d2#2}, B {d1#3}: 6 agree of 9.
    assert seg.loc["ENG.1", "percent_agreement"] == pytest.approx(6 / 9)
    # Document level, ENG.1 over 3 documents: A {d1, d2}, B {d1}: 2 of 3; VAL.1: A {d3}, B {d2, d3}.
    assert doc.loc["ENG.1", "n_units"] == 3
    assert doc.loc["ENG.1", "percent_agreement"] == pytest.approx(2 / 3)
    assert doc.loc["ENG.1", "kappa"] == pytest.approx(cohen_kappa([1, 1, 0], [1, 0, 0]))
    assert doc.loc["VAL.1", "alpha"] == pytest.approx(krippendorff_alpha([[0, 0, 1], [0, 1, 1]]))
    # Pooled overall at document level: ENG.1 then VAL.1 units side by side.
    assert doc.loc["overall", "alpha"] == pytest.approx(krippendorff_alpha([[1, 1, 0, 0, 0, 1], [1, 0, 0, 0, 1, 1]]))


def test_by_dimension_and_by_territory_pool_the_right_units(project: Path):
    for d in ("le-mene-t1", "malaunay-t2"):
        add_doc(project, d.split("-t")[0], d, 4)
    docs = ["le-mene-t1", "malaunay-t2"]
    code(project, "A", {"le-mene-t1#1": ["ENG.1", "ENG.2"], "le-mene-t1#2": ["VAL.1"],
                        "malaunay-t2#1": ["ENG.1"], "malaunay-t2#3": ["VAL.1"]}, docs)
    code(project, "B", {"le-mene-t1#1": ["ENG.1"], "le-mene-t1#2": ["VAL.1"],
                        "malaunay-t2#2": ["ENG.1"], "malaunay-t2#3": ["VAL.1"]}, docs)
    corpus, book, codings = load(project)
    rel = reliability_data(codings, corpus, ["A", "B"], codebook=book)
    v = {c: rel.values[rel.codes.index(c)] for c in ("ENG.1", "ENG.2", "VAL.1")}   # coders × 8 units
    dims = agreement_table(rel, "dimension").set_index("group")
    assert dims.loc["ENG", "n_codes"] == 2
    assert dims.loc["ENG", "alpha"] == pytest.approx(krippendorff_alpha(np.hstack([v["ENG.1"], v["ENG.2"]])))
    assert dims.loc["VAL", "alpha"] == pytest.approx(krippendorff_alpha(v["VAL.1"]))
    assert dims.loc["SYS", "reason"] == "no_codes" and math.isnan(dims.loc["SYS", "alpha"])
    per_code = agreement_table(rel, "code").set_index("group")
    assert dims.loc["ENG", "alpha_mean"] == pytest.approx(
        np.mean([per_code.loc["ENG.1", "alpha"], per_code.loc["ENG.2", "alpha"]]))
    terr = agreement_table(rel, "territory").set_index("group")
    t1 = slice(0, 4)                            # le-mene-t1 segments come first in corpus order
    assert list(terr.index) == ["le-mene", "malaunay", "overall"]
    # In le-mene the codes in play are ENG.1, ENG.2 and VAL.1.
    assert terr.loc["le-mene", "n_codes"] == 3
    assert terr.loc["le-mene", "alpha"] == pytest.approx(
        krippendorff_alpha(np.hstack([v[c][:, t1] for c in ("ENG.1", "ENG.2", "VAL.1")])))
    # In malaunay ENG.2 is never used, so only ENG.1 and VAL.1 are pooled.
    assert terr.loc["malaunay", "n_codes"] == 2
    assert terr.loc["malaunay", "alpha"] == pytest.approx(
        krippendorff_alpha(np.hstack([v[c][:, 4:] for c in ("ENG.1", "VAL.1")])))


def test_three_coders_with_missing_data(project: Path):
    for d in ("le-mene-m1", "le-mene-m2"):
        add_doc(project, "le-mene", d, 2)
    code(project, "A", {"le-mene-m1#1": ["ENG.1"], "le-mene-m2#1": ["ENG.1"]}, ["le-mene-m1", "le-mene-m2"])
    code(project, "B", {"le-mene-m1#1": ["ENG.1"], "le-mene-m2#2": ["ENG.1"]}, ["le-mene-m1", "le-mene-m2"])
    code(project, "C", {"le-mene-m1#2": ["ENG.1"]}, ["le-mene-m1"])
    corpus, book, codings = load(project)
    # overlap "all": only m1, covered by all three.
    assert reliability_data(codings, corpus, ["A", "B", "C"]).units == ["le-mene-m1#1", "le-mene-m1#2"]
    rel = reliability_data(codings, corpus, ["A", "B", "C"], codebook=book, overlap="pairable")
    assert rel.units == ["le-mene-m1#1", "le-mene-m1#2", "le-mene-m2#1", "le-mene-m2#2"]
    expected = [[1, 0, 1, 0], [1, 0, 0, 1], [0, 1, NAN, NAN]]
    np.testing.assert_array_equal(rel.values[rel.codes.index("ENG.1")], expected)
    tidy = rel.frame()
    assert len(tidy) == len(rel.codes) * 3 * 4
    eng1_c = tidy[(tidy["code"] == "ENG.1") & (tidy["coder"] == "C")]
    assert eng1_c["unit"].tolist() == rel.units and eng1_c["value"].isna().tolist() == [False, False, True, True]
    row = agreement_table(rel).set_index("group").loc["ENG.1"]
    assert row["alpha"] == pytest.approx(krippendorff_alpha(expected))
    assert row["kappa"] == pytest.approx(light_kappa(expected))
    assert row["percent_agreement"] == 0.0


# --------------------------------------------------------------------------- machine suggestions

def _suggestion(corpus, seg_id: str, code_id: str, origin: str = "model", score: float = 0.9) -> dict:
    seg = next(s for s in corpus.segments if s.id == seg_id)
    return {"doc": seg.doc, "start": seg.start, "end": seg.end, "quote": seg.text, "code": code_id,
            "coder": "suggest", "origin": origin, "score": score, "at": "2026-01-01T00:00:00+00:00"}


def test_model_is_a_pseudo_coder_read_from_a_suggestions_file(project: Path, tmp_path: Path):
    wiki_project(project)
    add_doc(project, "malaunay", "malaunay-other", 3)     # covered by nobody
    corpus, book, codings = load(project)
    # The model reproduces coder B exactly, plus low-score noise and a rule line.
    lines = [_suggestion(corpus, f"le-mene-wiki#{i + 1}", "ENG.1") for i, b in enumerate(WIKI_B) if b]
    lines += [_suggestion(corpus, "le-mene-wiki#50", "ENG.3", score=0.1),
              _suggestion(corpus, "le-mene-wiki#1", "ENG.1", origin="rule", score=None),
              {"type": "coverage", "doc": "le-mene-wiki"}]
    path = tmp_path / "suggestions.jsonl"
    path.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), encoding="utf-8")
    machine = load_suggestions(path, corpus, book, min_score=0.5)
    assert not machine.problems
    assert sorted(set(machine.frame["coder"])) == ["model", "rule"]
    assert "ENG.3" not in set(machine.frame["code"])                 # below min_score
    both = with_suggestions(codings, machine)
    table = agreement(both, corpus, ["A", "model"], codebook=book).set_index("group")
    assert table.loc["ENG.1", "kappa"] == pytest.approx(0.4)            # same as A vs B
    assert table.loc["ENG.1", "n_units"] == 50                          # A's documents only
    # Machine coverage: every document by default, only suggested ones on request.
    assert set(machine.coverage.loc[machine.coverage["coder"] == "model", "doc"]) == set(corpus.documents)
    only = load_suggestions(path, corpus, book, coverage="suggested")
    assert set(only.coverage["doc"]) == {"le-mene-wiki"}


def test_bad_suggestion_lines_are_reported_with_file_and_line(project: Path, tmp_path: Path):
    corpus, book, _ = load(project)
    good = _suggestion(corpus, "le-mene-test#1", "ENG.1")
    path = tmp_path / "s.jsonl"
    bad = [good, {**good, "code": "NOPE"}, {**good, "origin": "human"}, "{oops",
           {**good, "quote": "autre chose"}, {**good, "end": 10 ** 6}]
    path.write_text("".join((b if isinstance(b, str) else json.dumps(b)) + "\n" for b in bad), encoding="utf-8")
    machine = load_suggestions(path, corpus, book)
    assert [p.line for p in machine.problems.errors] == [2, 3, 4, 5, 6]
    assert all(p.path == str(path) for p in machine.problems)
    assert len(machine.frame) == 1


# --------------------------------------------------------------------------- command line

def test_cli_json_text_and_errors(project: Path, capsys):
    wiki_project(project)
    assert run(project, "agreement", "--coders", "A", "B", "--json") == 0
    data = json.loads(capsys.readouterr().out)
    rows = {r["group"]: r for r in data["rows"]}
    assert rows["ENG.1"]["kappa"] == pytest.approx(0.4) and rows["ENG.1"]["alpha"] == pytest.approx(0.4)
    assert rows["ENG.2"]["alpha"] is None and rows["ENG.2"]["note"]
    assert data["overall"]["alpha"] == pytest.approx(0.4) and data["overall"]["n_units"] == 50
    assert data["coders"] == ["A", "B"] and data["level"] == "segment"

    assert run(project, "agreement", "--coders", "A", "B", "--by", "dimension", "--level", "document") == 0
    out = capsys.readouterr().out
    assert "non défini" in out and not re.search(r"\bnan\b", out, re.IGNORECASE)
    assert "ENG" in out and "overall" in out

    assert run(project, "agreement", "--coders", "A") == 2
    err = capsys.readouterr().err
    assert "l'accord demande au moins 2 codeurs" in err and "Traceback" not in err

    assert run(project, "agreement", "--coders", "A", "Z") == 2
    assert "codeur(s) inconnu(s) : Z" in capsys.readouterr().err

    assert run(project, "agreement", "--coders", "A", "model") == 2
    assert "--suggestions" in capsys.readouterr().err
    # Without --suggestions, a coder file named model.jsonl is an ordinary coder.
    (project / "corpus/codings/model.jsonl").write_bytes((project / "corpus/codings/B.jsonl").read_bytes()
                                                         .replace(b'"coder": "B"', b'"coder": "model"'))
    assert run(project, "agreement", "--coders", "A", "model", "--json") == 0
    assert json.loads(capsys.readouterr().out)["overall"]["kappa"] == pytest.approx(0.4)

    # A line in error in B's file (30 codings + 1 coverage before it): file:line, exit 1, no figure.
    with (project / "corpus/codings/B.jsonl").open("a", encoding="utf-8") as fh:
        fh.write('{"doc": "le-mene-wiki", "start": 0, "end": 5}\n')
    assert run(project, "agreement", "--coders", "A", "B") == 1
    captured = capsys.readouterr()
    assert "B.jsonl:32: erreur: champ(s) manquant(s)" in captured.err and captured.out == ""


def test_cli_no_overlap_exit_code(project: Path, capsys):
    code(project, "A", {}, ["le-mene-test"])
    code(project, "B", {}, ["malaunay-test"])
    assert run(project, "agreement", "--coders", "A", "B") == 2
    err = capsys.readouterr().err
    assert "aucun segment en commun entre les codeurs A, B" in err and "A a couvert 1 document(s)" in err


# --------------------------------------------------------------------------- plot

def test_plot_agreement_orders_codes_and_marks_thresholds_and_undefined(project: Path):
    import matplotlib
    matplotlib.use("Agg")
    add_doc(project, "le-mene", "le-mene-p", 6)
    segs = [f"le-mene-p#{i}" for i in range(1, 7)]
    code(project, "A", {segs[0]: ["ENG.1", "ENG.2"], segs[1]: ["ENG.1", "ENG.2"], segs[2]: ["ENG.2"]},
         ["le-mene-p"])
    code(project, "B", {segs[0]: ["ENG.1", "ENG.2"], segs[1]: ["ENG.1"], segs[3]: ["ENG.2"]}, ["le-mene-p"])
    corpus, book, codings = load(project)
    table = agreement(codings, corpus, ["A", "B"], codebook=book)
    fig = plot_agreement(table)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    # barh draws bottom-up: the best code (ENG.1, alpha 1) is the top label, ENG.2 (lower) below it.
    assert labels[-1] == "ENG.1" and labels[-2] == "ENG.2"
    assert len(labels) == len(book.codes)
    texts = [t.get_text() for t in ax.texts]
    assert "seuil minimal 0,667" in texts and "seuil recommandé 0,8" in texts
    assert "indéfini : code jamais appliqué" in texts
    assert {round(line.get_xdata()[0], 3) for line in ax.lines} >= {0.667, 0.8}
    hatched = [p for p in ax.patches if p.get_hatch()]
    assert len(hatched) == len(book.codes) - 2
    assert "1,000 (n = 2)" in texts              # decimal comma, and the units it rests on
    fig2 = plot_agreement(table, show_undefined=False)
    assert len(fig2.axes[0].get_yticklabels()) == 2


# --------------------------------------------------------------------------- independent check

BUNDLED = ROOT / "corpus"


def _independent_figures(corpus_dir: Path):
    """Kappa and alpha per code and pooled, computed straight from A.jsonl and B.jsonl.

    Deliberately separate from analyse.reliability.agreement: segments are found by
    character overlap, the 2×2 counts a, b, c, d are tallied by hand, and
    kappa = (p_o - p_e) / (1 - p_e), alpha = 1 - (n - 1)(b + c) / (n_0 n_1)
    with n = 2N values (two coders, binary data, no missing value).
    """
    corpus = load_corpus(corpus_dir)
    spans = {}
    for s in corpus.segments:
        spans.setdefault(s.doc, []).append((s.start, s.end, s.id))
    coded, covered = {}, {}
    for coder in ("A", "B"):
        coded[coder], covered[coder] = {}, set()
        for line in (corpus_dir / "codings" / f"{coder}.jsonl").read_text(encoding="utf-8-sig").splitlines():
            if not line.strip():
                continue
            rec = json.loads(line)
            if rec.get("type") == "coverage":
                covered[coder].add(rec["doc"])
                continue
            body = corpus.documents[rec["doc"]].body
            start = rec["start"]
            if body[start:rec["end"]] != rec["quote"]:     # re-anchor on the quote, nearest occurrence
                hits = [i for i in range(len(body)) if body.startswith(rec["quote"], i)]
                start = min(hits, key=lambda h: abs(h - start))
            end = start + len(rec["quote"])
            best = max(spans[rec["doc"]], key=lambda sp: min(end, sp[1]) - max(start, sp[0]))
            coded[coder].setdefault(best[2], set()).add(rec["code"])
    docs = covered["A"] & covered["B"]
    units = [s.id for s in corpus.segments if s.doc in docs]
    codes = sorted({c for coder in coded for u in units for c in coded[coder].get(u, ())})

    def stats(a, b, c, d):
        n_units = a + b + c + d
        po = (a + d) / n_units
        pe = ((a + b) * (a + c) + (c + d) * (b + d)) / n_units ** 2
        n1, n0 = 2 * a + b + c, 2 * d + b + c
        kappa = (po - pe) / (1 - pe) if pe < 1 else None
        alpha = 1 - (2 * n_units - 1) * (b + c) / (n0 * n1) if n0 and n1 else None
        return po, kappa, alpha

    per_code, total = {}, [0, 0, 0, 0]
    for c in codes:
        cells = [0, 0, 0, 0]
        for u in units:
            x, y = c in coded["A"].get(u, ()), c in coded["B"].get(u, ())
            cells[(0 if x else 2) + (0 if y else 1)] += 1
        per_code[c] = stats(*cells)
        total = [t + k for t, k in zip(total, cells)]
    return len(units), per_code, stats(*total)


def _compare_cli_with_independent(project_root: Path, capsys) -> dict:
    n_units, per_code, pooled = _independent_figures(project_root / "corpus")
    exit_code = run(project_root, "agreement", "--coders", "A", "B", "--json")
    captured = capsys.readouterr()
    assert exit_code == 0, captured.err
    data = json.loads(captured.out)
    rows = {r["group"]: r for r in data["rows"]}
    assert data["units"] == n_units
    for c, (po, kappa, alpha) in per_code.items():
        assert rows[c]["percent_agreement"] == pytest.approx(po, abs=1e-6), c
        assert rows[c]["kappa"] == (None if kappa is None else pytest.approx(kappa, abs=1e-6)), c
        assert rows[c]["alpha"] == (None if alpha is None else pytest.approx(alpha, abs=1e-6)), c
    assert all(rows[c]["alpha"] is None for c in rows if c not in per_code)
    overall = data["overall"]
    assert overall["n_codes"] == len(per_code)
    assert [overall["percent_agreement"], overall["kappa"], overall["alpha"]] == pytest.approx(list(pooled), abs=1e-6)
    alphas = [a for _, _, a in per_code.values() if a is not None]
    assert overall["alpha_mean"] == pytest.approx(float(np.mean(alphas)), abs=1e-6)
    return data


def test_random_project_matches_an_independent_computation(project: Path, capsys):
    """Seeded random codings (some on part of a segment, some outside B's documents)."""
    rng = np.random.default_rng(7)
    docs = [("le-mene", "le-mene-r1"), ("le-mene", "le-mene-r2"), ("malaunay", "malaunay-r3")]
    for territory, d in docs:
        add_doc(project, territory, d, 12)
    corpus = load_corpus(project / "corpus")
    codes = ["ENG.1", "ENG.2", "SYS.3", "COOP.1", "VAL.6", "MGT"]
    store = CodingStore(project / "corpus" / "codings")
    for coder, covered in (("A", [d for _, d in docs]), ("B", ["le-mene-r1", "malaunay-r3"])):
        records = []
        for s in corpus.segments:
            for c in codes:
                if rng.random() < 0.3:
                    cut = int(rng.integers(1, len(s.text)))     # a span inside the segment
                    body = corpus.documents[s.doc].body
                    records.append(coding_record(s, c, coder, start=s.start, end=s.start + cut, body=body))
        store.append(coder, records + [coverage_record(d, coder) for d in covered])
    data = _compare_cli_with_independent(project, capsys)
    assert data["documents"] == 2 and data["units"] == 24


@pytest.mark.skipif(not ((BUNDLED / "codings" / "A.jsonl").is_file() and (BUNDLED / "codings" / "B.jsonl").is_file()
                         and (ROOT / "codebook" / "balises.yaml").is_file()),
                    reason="bundled corpus/codings/A.jsonl and B.jsonl (or the codebook) are not there yet")
def test_bundled_corpus_cli_matches_an_independent_computation(capsys):
    _compare_cli_with_independent(ROOT, capsys)
