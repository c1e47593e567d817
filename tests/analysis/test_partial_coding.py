"""Partial coding is the normal state (#13): alignment, coverage, small territories, one coder rule."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from analyse.analysis.invariants import invariance_table
from analyse.analysis.material import align, coded_material, coverage_table, material_from_frames
from analyse.model.codings import CodingStore, coding_record, coverage_record, load_codings
from analyse.model.corpus import load_corpus, segments_frame
from analyse.project import Project

from tests.helpers import run_cli, write_doc


def _material(sizes: dict[str, int], code_every: int = 1) -> tuple[pd.DataFrame, object]:
    rows, codes = [], []
    for t, n in sizes.items():
        for k in range(n):
            seg = f"{t}-d{k % 2}#{k}"
            rows.append({"segment": seg, "doc": f"{t}-d{k % 2}", "territory": t, "words": 10})
            if k % code_every == 0:
                codes.append({"segment": seg, "code": "ENG.1"})
    segs = pd.DataFrame(rows)
    return segs, material_from_frames(segs, pd.DataFrame(codes))


def test_align_keeps_tokens_and_material_on_the_same_segments():
    segs, material = _material({"x": 4, "y": 4})
    tokens = pd.DataFrame({"segment": [*segs["segment"], "z-d0#0"], "lemma": "mot"})
    covered = material_from_frames(segs[segs["territory"] == "x"],
                                   material.codes[material.codes["segment"].str.startswith("x")])
    a = align(segs, covered, tokens=tokens)
    assert set(a.tokens["segment"]) == set(segs["segment"])          # the foreign segment is gone
    assert a.segments["coded"].tolist() == [True] * 4 + [False] * 4
    assert a.coded_territories == ["x"]


def test_coverage_table_says_how_much_is_coded_and_flags_little_material():
    segs, material = _material({"x": 30, "y": 6})
    extra = pd.DataFrame([{"segment": "w-d0#0", "doc": "w-d0", "territory": "w", "words": 5}])
    cov = coverage_table(pd.concat([segs, extra]), material, min_coded_segments=20)
    rows = {r["territory"]: r for r in cov.to_dict("records")}
    assert rows["x"]["segments_coded"] == 30 and not rows["x"]["little_material"]
    assert rows["y"]["little_material"] and rows["w"]["coded_share"] == 0.0 and rows["w"]["documents_coded"] == 0


def test_a_small_territory_is_kept_out_of_the_classification_with_a_note():
    segs, material = _material({"a": 40, "b": 40, "c": 40, "tiny": 9})
    full = invariance_table(material, n_boot=0)
    assert full.loc[full["code"] == "ENG.1", "territories"].item() == 4
    kept = invariance_table(material, n_boot=0, min_coded_segments=20)
    assert kept.attrs["excluded_territories"] == ["tiny"] and kept.attrs["territories"] == ["a", "b", "c"]
    # without a bootstrap there is no interval: an even code is at most a probable invariant
    assert kept.loc[kept["code"] == "ENG.1", "class"].item() == "invariant probable"
    alone = invariance_table(material, n_boot=0, min_coded_segments=41)
    assert alone.empty and alone.attrs["excluded_territories"] == ["a", "b", "c", "tiny"]
    one = invariance_table(material, n_boot=0, min_coded_segments=10)
    assert set(one["class"]) == {"invariant probable"}
    single = invariance_table(_material({"a": 40})[1], n_boot=0)
    assert set(single["class"]) == {"non classé"}


@pytest.fixture
def partly_coded(project: Path) -> Path:
    """le-mene coded by A, malaunay by C only, a third uncoded territory."""
    write_doc(project / "corpus", "val-de-brume", "val-de-brume-a")
    corpus = load_corpus(project / "corpus")
    store = CodingStore(project / "corpus" / "codings")
    seg = {s.id: s for s in corpus.segments}
    store.append("A", [coding_record(seg["le-mene-test#1"], "ENG.1", "A"), coverage_record("le-mene-test", "A")])
    store.append("C", [coding_record(seg["malaunay-test#1"], "ENG.2", "C"), coverage_record("malaunay-test", "C")])
    return project


def test_coder_that_coded_nothing_here_gives_an_empty_material_not_an_error(partly_coded: Path):
    corpus = load_corpus(partly_coded / "corpus").subset(["val-de-brume"])
    codings = load_codings(corpus, None, partly_coded / "corpus" / "codings")
    empty = coded_material(corpus, codings, ["A"], strict=False)
    assert empty.segments.empty and empty.codes.empty and "A" in empty.notes[0]
    a = align(segments_frame(corpus), empty)
    assert not a.segments["coded"].any()


def test_one_rule_for_the_analysed_coder(partly_coded: Path, capsys):
    project = Project.load(partly_coded)
    assert project.analysed_coder() == "A"
    assert "consensus" in project.coder_rule()
    args = ["invariants", "--json", "--n-boot", "5", "--min-coded-segments", "0"]
    code, _ = run_cli(partly_coded, *args)
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["coders"] == ["A"]                  # never a silent union of A and C
    assert {r["territory"]: r["segments_coded"] for r in out["coverage"]} == {
        "le-mene": 3, "malaunay": 0, "val-de-brume": 0}
    CodingStore(partly_coded / "corpus" / "codings").append("consensus", [coverage_record("malaunay-test",
                                                                                          "consensus")])
    assert Project.load(partly_coded).analysed_coder() == "consensus"
    (partly_coded / "balises.toml").write_text('[coders]\nprimary = "C"\nprefer_consensus = false\n',
                                               encoding="utf-8")
    assert Project.load(partly_coded).analysed_coder() == "C"


def test_context_of_a_partly_coded_corpus(partly_coded: Path, monkeypatch):
    from analyse.reporting.context import load_context

    monkeypatch.setenv("BALISES_SPACY_MODEL", "blank:fr")
    monkeypatch.setenv("BALISES_NLP_CACHE", str(partly_coded / "nlp-cache"))
    (partly_coded / "balises.toml").write_text('[territories]\nle-mene = "Le Mené"\n', encoding="utf-8")
    ctx = load_context(partly_coded / "corpus", partly_coded / "codebook" / "balises.yaml")
    assert ctx.coders == ["A"] and ctx.coder_line().startswith("Codeur analysé : A (règle :")
    assert ctx.is_coded("le-mene") and not ctx.is_coded("malaunay") and not ctx.is_coded("val-de-brume")
    assert "C" in ctx.uncoded_sentence("malaunay") and "pas encore de codage" in ctx.uncoded_sentence("val-de-brume")
    assert ctx.territory_label("le-mene") == "Le Mené" and ctx.territory_label("malaunay") == "malaunay"
    shown = ctx.coverage_shown()
    assert list(shown["territoire"]) == ["Le Mené", "malaunay", "val-de-brume"]
    assert "Codage partiel" in ctx.coverage_note()
    # vocabulary reads every segment; the token frame and the segments agree
    from analyse.analysis.specificities import specificities
    assert set(ctx.tokens["segment"]) <= set(ctx.segments["segment"])
    tokens = ctx.tokens.assign(lemma=ctx.tokens["text"].str.lower(), pos="NOUN", is_stop=False)
    spec = specificities(tokens, ctx.segments)        # the blank test model tags nothing: tag by hand
    assert set(spec["territory"]) == {"le-mene", "malaunay", "val-de-brume"}
