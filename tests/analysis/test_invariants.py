"""Code × territory tables, dispersion, bootstrap and classification (analyse.analysis.invariants)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analyse.cli import main
from analyse.model.codings import CodingStore, coding_record, coverage_record, load_codings
from analyse.model.corpus import load_corpus
from analyse.errors import UsageError
from analyse.analysis.invariants import (Thresholds, code_territory_table, coded_material, invariance_table,
                                         is_invariant, juilland_d, material_from_frames, shannon_evenness)

ROOT = Path(__file__).resolve().parents[2]


# --- hand-made material ------------------------------------------------------

def make_material(spec: dict[str, list[tuple[int, int, list[list[str]]]]]) -> "Material":
    """Material from ``{territory: [(n_segments, words_each, codes per segment...), ...per doc]}``.

    Each document is ``(words, [codes of segment 1], [codes of segment 2], ...)``.
    """
    seg_rows, code_rows = [], []
    for territory, docs in spec.items():
        for d, (words, *segments) in enumerate(docs):
            doc = f"{territory}-d{d}"
            for n, codes in enumerate(segments, start=1):
                seg = f"{doc}#{n}"
                seg_rows.append({"segment": seg, "doc": doc, "territory": territory, "words": words, "n": n})
                code_rows.extend({"segment": seg, "code": c} for c in codes)
    return material_from_frames(pd.DataFrame(seg_rows),
                                pd.DataFrame(code_rows, columns=["segment", "code"]))


# --- dispersion: known answers -------------------------------------------------

def test_even_code_has_d_one_and_entropy_one():
    rates = np.array([0.2, 0.2, 0.2, 0.2])
    assert juilland_d(rates) == pytest.approx(1.0)
    assert shannon_evenness(rates) == pytest.approx(1.0)


def test_code_in_one_territory_has_d_zero_and_entropy_zero():
    rates = np.array([0.0, 0.0, 0.35, 0.0])
    assert juilland_d(rates) == pytest.approx(0.0)
    assert shannon_evenness(rates) == pytest.approx(0.0)


def test_dispersion_of_an_uneven_code_by_hand():
    rates = np.array([5.0, 2.0, 2.0, 1.0])
    # mean 2.5; population sd = sqrt((6.25 + 0.25 + 0.25 + 2.25) / 4) = 1.5; V = 0.6
    assert juilland_d(rates) == pytest.approx(1 - 0.6 / math.sqrt(3))
    q = rates / rates.sum()
    assert shannon_evenness(rates) == pytest.approx(-(q * np.log(q)).sum() / math.log(4))


def test_dispersion_is_nan_for_an_absent_code_or_one_territory():
    assert math.isnan(juilland_d(np.zeros(4)))
    assert math.isnan(shannon_evenness(np.zeros(4)))
    assert math.isnan(juilland_d(np.array([0.4])))


def test_dispersion_is_vectorised_along_an_axis():
    rates = np.array([[0.1, 0.0], [0.1, 0.0], [0.1, 0.3]])      # territories × codes
    assert juilland_d(rates, axis=0) == pytest.approx([1.0, 0.0])


def test_frequencies_are_normalised_by_territory_size():
    # Territory x has twice as many segments and twice as many coded: an even code.
    m = make_material({
        "x": [(10, ["C"], ["C"], [], [])],
        "y": [(10, ["C"], [])],
    })
    table = invariance_table(m, n_boot=0)
    row = table.set_index("code").loc["C"]
    assert row["D"] == pytest.approx(1.0)
    assert row["top_share"] == pytest.approx(0.5)


# --- tables ----------------------------------------------------------------------

def test_code_territory_table_counts_and_shares():
    m = make_material({
        "x": [(10, ["A", "B"], ["A"], [])],        # 3 segments, 30 words
        "y": [(20, ["B"]), (5, [])],               # 2 segments, 25 words
    })
    t = code_territory_table(m).set_index(["territory", "code"])
    assert t.loc[("x", "A"), "segments"] == 2
    assert t.loc[("x", "A"), "segment_share"] == pytest.approx(2 / 3)
    assert t.loc[("x", "A"), "word_share"] == pytest.approx(20 / 30)
    assert t.loc[("y", "B"), "words"] == 20
    assert t.loc[("y", "B"), "word_share"] == pytest.approx(20 / 25)
    assert t.loc[("y", "A"), "segments"] == 0                     # absent codes show as zeros
    assert t.loc[("y", "A"), "segments_total"] == 2
    assert len(t) == 4


def test_code_territory_table_by_role_and_atelier():
    segs = pd.DataFrame({
        "segment": ["a#1", "a#2", "a#3", "b#1"], "doc": ["a", "a", "a", "b"],
        "territory": ["x", "x", "x", "x"], "words": [10, 10, 10, 10],
        "role": ["elu", "citoyen", None, "elu"], "atelier": ["valeur", "valeur", "valeur", "engagement"],
    })
    m = material_from_frames(segs, pd.DataFrame({"segment": ["a#1", "a#3", "b#1"], "code": ["C", "C", "C"]}))
    by_role = code_territory_table(m, by=["territory", "role"]).set_index("role")
    assert by_role.loc["elu", "segments"] == 2 and by_role.loc["elu", "segment_share"] == 1.0
    assert by_role.loc["citoyen", "segments"] == 0
    assert by_role.loc["none", "segments"] == 1                   # narration: no speaker role
    by_atelier = code_territory_table(m, by="atelier").set_index("atelier")
    assert by_atelier.loc["valeur", "segment_share"] == pytest.approx(2 / 3)
    with pytest.raises(UsageError):
        code_territory_table(m, by="speaker")


def test_dimension_level_counts_a_segment_once_per_dimension():
    m = make_material({"x": [(10, ["ENG.1", "ENG.M2", "SYS.1"], ["ENG.2"])]})
    t = code_territory_table(m, level="dimension").set_index("code")
    assert t.loc["ENG", "segments"] == 2
    assert t.loc["SYS", "segments"] == 1


def test_codes_parameter_orders_rows_and_adds_absent_codes():
    m = make_material({"x": [(10, ["B"], ["A"])]})
    t = code_territory_table(m, codes=["B", "A", "Z"])
    assert t["code"].tolist() == ["B", "A", "Z"]
    assert t["segments"].tolist() == [1, 1, 0]


# --- coded material from a project (coders, union, majority) --------------------------

def _code(store, corpus, coder, seg_id, code):
    seg = next(s for s in corpus.segments if s.id == seg_id)
    store.append(coder, [coding_record(seg, code, coder, at="2026-01-01T00:00:00+00:00")])


@pytest.fixture
def coded_project(project):
    corpus = load_corpus(project / "corpus")
    store = CodingStore(project / "corpus" / "codings")
    _code(store, corpus, "A", "le-mene-test#1", "ENG.1")
    _code(store, corpus, "A", "le-mene-test#2", "SYS.1")
    _code(store, corpus, "A", "malaunay-test#1", "ENG.1")
    store.append("A", [coverage_record("le-mene-test", "A"), coverage_record("malaunay-test", "A")])
    _code(store, corpus, "B", "le-mene-test#1", "ENG.1")
    _code(store, corpus, "B", "le-mene-test#3", "COOP.1")
    store.append("B", [coverage_record("le-mene-test", "B")])
    return project


def _pairs(material):
    return sorted(zip(material.codes["segment"], material.codes["code"], material.codes["coders"]))


def test_coded_material_one_coder(coded_project):
    corpus = load_corpus(coded_project / "corpus")
    m = coded_material(corpus, load_codings(corpus), coders="A")
    assert _pairs(m) == [("le-mene-test#1", "ENG.1", 1), ("le-mene-test#2", "SYS.1", 1),
                         ("malaunay-test#1", "ENG.1", 1)]
    assert len(m.segments) == 6                                  # uncoded covered segments count
    assert set(m.segments["role"]) == {"elu", "services"}


def test_coded_material_union_and_majority(coded_project):
    corpus = load_corpus(coded_project / "corpus")
    codings = load_codings(corpus)
    union = coded_material(corpus, codings, coders=["A", "B"], how="union")
    assert _pairs(union) == [("le-mene-test#1", "ENG.1", 2), ("le-mene-test#2", "SYS.1", 1),
                             ("le-mene-test#3", "COOP.1", 1), ("malaunay-test#1", "ENG.1", 1)]
    assert union.codes.set_index("segment").loc["le-mene-test#1", "coded_by"] == "A,B"
    majority = coded_material(corpus, codings, coders=["A", "B"], how="majority")
    # le-mene-test was read by A and B: both must agree; malaunay-test by A alone.
    assert _pairs(majority) == [("le-mene-test#1", "ENG.1", 2), ("malaunay-test#1", "ENG.1", 1)]


def test_coded_material_only_covered_documents(coded_project):
    corpus = load_corpus(coded_project / "corpus")
    m = coded_material(corpus, load_codings(corpus), coders="B")
    assert set(m.segments["doc"]) == {"le-mene-test"}
    assert m.territories == ["le-mene"]


def test_coded_material_rejects_unknown_coder_and_how(coded_project):
    corpus = load_corpus(coded_project / "corpus")
    codings = load_codings(corpus)
    with pytest.raises(UsageError, match="codeur.*inconnu"):
        coded_material(corpus, codings, coders="Z")
    with pytest.raises(UsageError, match="how : valeur « vote » inconnue") as err:
        coded_material(corpus, codings, coders="A", how="vote")
    assert err.value.hint == "valeurs possibles : union, majority"


def test_coder_without_coverage_falls_back_on_coded_documents(project):
    corpus = load_corpus(project / "corpus")
    store = CodingStore(project / "corpus" / "codings")
    _code(store, corpus, "consensus", "malaunay-test#2", "VAL.1")
    m = coded_material(corpus, load_codings(corpus), coders="consensus")
    assert set(m.segments["doc"]) == {"malaunay-test"}
    assert _pairs(m) == [("malaunay-test#2", "VAL.1", 1)]
    assert "aucune ligne de couverture" in m.notes[0]


# --- invariance table -------------------------------------------------------------------

def _even_and_singular():
    docs = {}
    for t in ("t1", "t2", "t3", "t4"):
        # Two documents per territory, each with one E segment out of four: identical rates.
        docs[t] = [(10, ["E"], [], [], ["S"] if t == "t1" else []),
                   (10, ["E"], [], ["S"] if t == "t1" else [], [])]
    return make_material(docs)


def test_invariance_table_classifies_and_describes_codes():
    table = invariance_table(_even_and_singular(), n_boot=200, n_perm=99, seed=3).set_index("code")
    assert table.loc["E", "class"] == "invariant robuste"
    assert table.loc["E", "D"] == pytest.approx(1.0)
    assert table.loc["E", "territories"] == 4 and table.loc["E", "segments"] == 8
    assert table.loc["E", "min_territory_segments"] == 2
    assert table.loc["E", "reliability"] == "non mesurée"
    assert table.loc["S", "class"] == "rare"                       # 2 segments < 5
    assert table.loc["S", "top_territory"] == "t1" and table.loc["S", "top_share"] == 1.0
    assert table.loc["S", "D"] == 0.0 and table.loc["S", "entropy"] == 0.0


def test_no_bootstrap_gives_nan_intervals():
    table = invariance_table(_even_and_singular(), n_boot=0, n_perm=0)
    assert table["D_low"].isna().all() and table["p_conc"].isna().all()


def test_invariance_by_words_and_by_dimension():
    m = make_material({
        "x": [(10, ["ENG.1"], ["ENG.2"], []), (30, [])],
        "y": [(10, ["ENG.1", "ENG.2"], [], [])],
    })
    words = invariance_table(m, level="dimension", unit="words", n_boot=0, n_perm=0).set_index("code")
    # x: 20 coded words of 60; y: 10 of 30 → equal rates.
    assert words.loc["ENG", "D"] == pytest.approx(1.0)
    segs = invariance_table(m, level="dimension", n_boot=0, n_perm=0).set_index("code")
    # x: 2 segments of 4 (0.5); y: 1 of 3 → rates 0.5 and 1/3.
    assert segs.loc["ENG", "top_territory"] == "x"
    assert segs.loc["ENG", "top_share"] == pytest.approx(0.5 / (0.5 + 1 / 3))


def test_invariance_table_order_labels_and_attrs():
    table = invariance_table(_even_and_singular(), n_boot=10, n_perm=9, labels={"E": "Engagement"})
    assert table["code"].tolist() == ["E", "S"]                   # invariant before rare
    assert table.loc[0, "label"] == "Engagement"
    assert table.attrs["territories"] == ["t1", "t2", "t3", "t4"]
    assert table.attrs["thresholds"]["d_inv"] == Thresholds().d_inv and len(table.attrs["rule"]) == 5


def test_unreliable_code_is_never_invariant():
    rel = pd.DataFrame({"code": ["E", "S"], "status": ["peu fiable", "fiable"], "alpha": [0.4, 0.9]})
    table = invariance_table(_even_and_singular(), n_boot=50, n_perm=49, reliability=rel).set_index("code")
    assert table.loc["E", "class"] == "indéterminé" and "peu fiable" in table.loc["E", "reason"]
    assert table.loc["E", "alpha"] == 0.4


# --- command line -------------------------------------------------------------------------

def test_cli_invariants_json(coded_project, capsys):
    p = coded_project
    code = main(["invariants", "--corpus", str(p / "corpus"), "--codebook", str(p / "codebook/balises.yaml"),
                 "--coders", "A", "--json", "--n-boot", "20", "--min-segments", "1",
                 "--min-coded-segments", "0"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    rows = {r["code"]: r for r in out["rows"]}
    assert out["coders"] == ["A"]
    assert rows["ENG.1"]["territories"] == 2 and rows["ENG.1"]["label"] == "Libellé ENG.1"
    # SYS.1 sits in one territory, but B did not code it where both coded: it cannot be called singular
    assert rows["SYS.1"]["top_territory"] == "le-mene" and rows["SYS.1"]["D_high"] < 0.3
    assert rows["SYS.1"]["reliability"] == "peu fiable" and rows["SYS.1"]["class"] == "indéterminé"
    assert len(out["rule"]) == 5


def test_cli_invariants_table_and_errors(coded_project, capsys):
    p = coded_project
    args = ["--corpus", str(p / "corpus"), "--codebook", str(p / "codebook/balises.yaml")]
    assert main(["invariants", *args, "--level", "dimension", "--n-boot", "10", "--min-coded-segments", "0"]) == 0
    out = capsys.readouterr().out
    assert "Règle" in out and "ENG" in out and "class" in out
    # with the default threshold (20 coded segments) both small territories are flagged, nothing is classed
    assert main(["invariants", *args, "--n-boot", "10"]) == 0
    captured = capsys.readouterr()
    assert "peu de matériau codé" in captured.err and "le-mene" in captured.err
    assert main(["invariants", *args, "--coders", "Z"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("analyse : erreur :") and "codeur(s) inconnu(s)" in err and len(err.strip().splitlines()) == 1


# --- the bundled corpus against the intent of its README --------------------------------

INTENDED_INVARIANTS = ["ENG.1", "ENG.2", "ENG.3", "SYS.1", "SYS.2", "COOP.1", "COOP.3", "VAL.1", "MGT"]
INTENDED_SINGULAR = {
    "ENG.D1": "loos-en-gohelle", "COOP.6": "loos-en-gohelle",
    "VAL.6": "le-mene", "VAL.D3": "le-mene",
    "VAL.M3": "malaunay", "VAL.4": "malaunay",
    "ENG.6": "grande-synthe", "ENG.D3": "grande-synthe",
}


@pytest.fixture(scope="module")
def bundled_table():
    from analyse.reliability.agreement import reliability_data
    from analyse.reliability.per_code import code_reliability
    from analyse.model.codebook import load_codebook

    corpus = load_corpus(ROOT / "corpus")
    book = load_codebook(ROOT / "codebook" / "balises.yaml")
    codings = load_codings(corpus, book)
    rel = code_reliability(reliability_data(codings, corpus, ["A", "B"], codebook=book), n_boot=200)
    material = coded_material(corpus, codings, coders="A")
    return invariance_table(material, n_boot=300, n_perm=299, reliability=rel).set_index("code"), material


def test_bundled_corpus_intended_singularities_are_found_or_flagged(bundled_table):
    table, _ = bundled_table
    wrong = []
    for code, place in INTENDED_SINGULAR.items():
        row = table.loc[code]
        # a singularity may only be missed because its coding is not reliable enough to conclude
        if not ((row["class"] == "singulier" and row["top_territory"] == place)
                or (row["class"] == "indéterminé" and row["reliability"] == "peu fiable")):
            wrong.append(f"{code}: {row['class']} (top {row['top_territory']})")
    assert not wrong, "; ".join(wrong)


def test_bundled_corpus_intended_invariants_are_never_called_singular(bundled_table):
    table, _ = bundled_table
    for code in INTENDED_INVARIANTS:
        assert table.loc[code, "class"] in ("invariant robuste", "invariant probable", "indéterminé"), code


def test_bundled_corpus_no_unreliable_invariant(bundled_table):
    table, material = bundled_table
    inv = table[is_invariant(table["class"])]
    assert len(inv) and (inv["reliability"] == "fiable").all()
    assert "animateur" not in set(material.segments["role"])


def test_cli_specificities_wires_the_nlp_layer(project, monkeypatch, capsys):
    from analyse import nlp

    def tokens(corpus, layer=None):
        rows = []
        for s in corpus.segments:
            lemma = "mené" if s.territory == "le-mene" else "malaunay"
            rows += [(s.id, i, lemma, lemma, "NOUN", False, "") for i in range(5)]
        return pd.DataFrame(rows, columns=nlp.TOKEN_COLUMNS)

    monkeypatch.setattr(nlp, "NLPLayer", lambda **kw: None)
    # one read of the cache gives both tables
    monkeypatch.setattr(nlp, "token_entity_frames", lambda corpus, layer=None: (tokens(corpus), pd.DataFrame(
        [("le-mene-test#1", 0, 7, "Bonjour", "PER")], columns=nlp.ENTITY_COLUMNS)))
    p = project
    assert main(["specificities", "--corpus", str(p / "corpus"), "--json", "--top", "3"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {(r["territory"], r["lemma"]) for r in out["flesh"]} == {("le-mene", "mené"), ("malaunay", "malaunay")}
    assert out["entities"] == [{"territory": "le-mene", "label": "PER", "count": 1, "distinct": 1}]
