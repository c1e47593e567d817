"""What the report notebooks load: audience-aware text and vocabulary."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analyse.model.codings import CodingStore, coverage_record
from analyse.reporting.context import load_context
from analyse.errors import UsageError


@pytest.fixture
def ctx_factory(project: Path, monkeypatch):
    monkeypatch.setenv("BALISES_SPACY_MODEL", "blank:fr")
    monkeypatch.setenv("BALISES_NLP_CACHE", str(project / "nlp-cache"))
    CodingStore(project / "corpus" / "codings").append(
        "A", [coverage_record("le-mene-test", "A"), coverage_record("malaunay-test", "A")])

    def make(audience):
        return load_context(project / "corpus", project / "codebook" / "balises.yaml", coders=["A"],
                            audience=audience)
    return make


def _with_entities(ctx, rows):
    ctx.__dict__["entities"] = pd.DataFrame(rows, columns=["segment", "start_char", "end_char", "text", "label"])
    return ctx


def test_groupe_miroir_masks_names_and_person_entities(ctx_factory):
    ctx = _with_entities(ctx_factory("groupe-miroir"),
                         [("le-mene-test#1", 0, 7, "Bonjour", "PER")])
    text = "Bonjour à tous, on commence."
    assert ctx.shown_text("le-mene-test#1", text) == "[PERSONNE] à tous, on commence."
    assert ctx.shown_text("le-mene-test#2", "Merci Nadine.") == "Merci Élu·e 1."


def test_spans_of_the_original_never_cut_into_another_text(ctx_factory):
    # offsets computed on the original segment must not be applied to its masked version
    ctx = _with_entities(ctx_factory("groupe-miroir"),
                         [("le-mene-test#1", 6, 18, "Jeanne Dupré", "PER")])
    masked = "Merci [PERSONNE], on commence."
    assert ctx.shown_text("le-mene-test#1", masked) == masked


def test_researchers_see_the_text_as_is(ctx_factory):
    ctx = _with_entities(ctx_factory("chercheurs"), [("le-mene-test#1", 0, 7, "Bonjour", "PER")])
    assert ctx.shown_text("le-mene-test#1", "Bonjour Nadine") == "Bonjour Nadine"


def test_vocabulary_for_the_groupe_miroir_drops_names_and_proper_nouns(ctx_factory):
    spec = pd.DataFrame({"lemma": ["nadine", "Loos", "jardin"], "pos": ["NOUN", "PROPN", "NOUN"]})
    assert ctx_factory("groupe-miroir").for_audience(spec)["lemma"].tolist() == ["jardin"]
    assert len(ctx_factory("chercheurs").for_audience(spec)) == 3


def test_territory_subset_and_unknown_territory(project: Path, ctx_factory):
    ctx_factory("chercheurs")
    ctx = load_context(project / "corpus", project / "codebook" / "balises.yaml", coders=["A"],
                       territories=["malaunay"])
    assert ctx.territories == ["malaunay"]
    with pytest.raises(UsageError, match="territoire.*inconnu.*nowhere"):
        load_context(project / "corpus", project / "codebook" / "balises.yaml", territories=["nowhere"])
    with pytest.raises(UsageError, match="territoire inconnu « x »"):
        ctx.check_territory("x")


def test_synthesis_of_a_subset_reports_no_false_problem(project: Path, ctx_factory):
    # codings of every territory, checked against the whole corpus: none is an « unknown document »
    from analyse.model.codebook import CANONICAL_IDS
    from analyse.model.codings import coding_record
    from analyse.model.corpus import load_corpus

    ctx_factory("chercheurs")
    corpus = load_corpus(project / "corpus")
    CodingStore(project / "corpus" / "codings").append(
        "A", [coding_record(s, CANONICAL_IDS[0], "A") for s in corpus.segments])
    full = load_context(project / "corpus", project / "codebook" / "balises.yaml", coders=["A"])
    assert full.problems == [] and len(full.codings.frame) == len(corpus.segments)
    ctx = load_context(project / "corpus", project / "codebook" / "balises.yaml", coders=["A"],
                       territories=["malaunay"])
    assert ctx.problems == [] and ctx.problems_frame().empty
    assert set(ctx.codings.frame["doc"]) == set(ctx.codings.coverage["doc"]) == {"malaunay-test"}
    assert set(ctx.material.segments["territory"]) == {"malaunay"}
