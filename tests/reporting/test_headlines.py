"""Headline figures of the reports, checked against a recomputation from the library objects."""

from __future__ import annotations

import krippendorff
import numpy as np
import pytest

from analyse.model.codings import segment_codes
from analyse.model.corpus import count_words
from analyse.analysis.invariants import CLASSES, invariance_table
from analyse.reliability.agreement import reliability_data
from analyse.reporting.context import load_context
from analyse.reporting.headlines import agreement_headline, synthesis_headline, territory_headline

from tests.helpers import ROOT


@pytest.fixture(scope="module")
def bundled():
    """The bundled corpus, coded by A and B."""
    return load_context(ROOT / "corpus", ROOT / "codebook" / "balises.yaml", coders=["A", "B"])


def test_agreement_headline_counts_shared_segments_not_units_per_code(bundled):
    ctx = bundled
    rel = reliability_data(ctx.codings, ctx.corpus, ["A", "B"], codebook=ctx.codebook)
    head = agreement_headline(rel)
    # shared = documents both coders marked as covered; their segments are the compared units
    cov = ctx.codings.coverage
    shared_docs = set(cov.loc[cov["coder"] == "A", "doc"]) & set(cov.loc[cov["coder"] == "B", "doc"])
    shared_segments = [s.id for s in ctx.corpus.segments if s.doc in shared_docs]
    assert (head.documents, head.units) == (len(shared_docs), len(shared_segments)) == (9, 277)
    # pooled alpha: one nominal rating per (code in play, shared segment), 1 = applied
    codes = {c: segment_codes(ctx.codings, ctx.corpus, c, covered_only=True) for c in ("A", "B")}
    in_play = sorted({code for c in codes.values() for seg in shared_segments for code in c.get(seg, ())})
    data = np.array([[float(code in codes[c].get(seg, ())) for code in in_play for seg in shared_segments]
                     for c in ("A", "B")])
    assert head.alpha == pytest.approx(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"))
    assert head.coders == ["A", "B"] and head.level == "segment"


def test_synthesis_headline_counts_every_code_once(bundled):
    ctx = bundled
    inv = invariance_table(ctx.material, labels=ctx.labels, n_boot=50)
    head = synthesis_headline(ctx, inv, "chercheurs")
    assert list(head.class_counts) == list(CLASSES)
    assert sum(head.class_counts.values()) == inv["code"].nunique() == len(inv)
    for cls, n in head.class_counts.items():
        assert n == int((inv["class"] == cls).sum())
    assert head.thresholds == inv.attrs["thresholds"]
    assert len(head.territories) == len(ctx.corpus.territories) == 4


def test_territory_headline_matches_the_corpus(bundled):
    ctx = bundled
    head = territory_headline(ctx, "le-mene", "chercheurs")
    own = [d for d in ctx.corpus.documents.values() if d.territory == "le-mene"]
    inter = [d for d in ctx.corpus.documents.values() if d.territory == "inter-territoires"]
    segs = [s for d in own for s in ctx.corpus.segments_of(d.id)]
    spoken = [s for d in inter for s in ctx.corpus.segments_of(d.id) if s.territory == "le-mene"]
    assert (head.documents, head.segments) == (len(own) + len(inter), len(segs) + len(spoken))
    assert head.words == sum(count_words(s.text) for s in segs + spoken)
    assert sum(count_words(s.text) for s in segs) == ctx.documents.loc[
        ctx.documents["territory"] == "le-mene", "words"].sum()
    assert head.name == "Le Mené"
