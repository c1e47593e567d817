"""The shape of the bundled illustrative corpus (so an accidental deletion fails CI).

These tests pin counts and coverage, not wording.
"""

from __future__ import annotations

import re

import pytest

from analyse.model.codebook import CANONICAL_IDS, load_codebook
from analyse.model.codings import load_codings, segment_codes
from analyse.model.corpus import documents_frame, load_corpus

from tests.helpers import ROOT

TERRITORIES = ["grande-synthe", "le-mene", "loos-en-gohelle", "malaunay"]
INTER = "inter-territoires"
ATELIERS = ["cooperation", "engagement", "synthese", "transversalite", "valeur"]


@pytest.fixture(scope="module")
def bundled():
    corpus = load_corpus(ROOT / "corpus")
    book = load_codebook(ROOT / "codebook" / "balises.yaml")
    codings = load_codings(corpus, book)
    return corpus, book, codings


def test_no_problem_in_bundled_data(bundled):
    corpus, _, codings = bundled
    assert not corpus.problems.items and not codings.problems.items


def test_documents_per_territory(bundled):
    corpus, _, _ = bundled
    docs = documents_frame(corpus)
    assert sorted(docs["territory"].unique()) == sorted(TERRITORIES + [INTER])
    assert docs["synthetic"].all()
    assert docs["words"].sum() >= 45_000
    for territory, group in docs[docs["territory"] != INTER].groupby("territory"):
        transcripts = group[group["kind"] == "transcript"]
        assert sorted(transcripts["atelier"]) == ATELIERS, territory
        assert (transcripts["words"] >= 1500).all(), transcripts[["doc", "words"]]
        assert (transcripts["turns"] >= 25).all(), transcripts[["doc", "turns"]]
        recits = group[group["kind"] == "recit"]
        assert len(recits) >= 2, territory
        assert recits["words"].between(600, 1500).all(), recits[["doc", "words"]]


def test_roles_present_in_every_transcript(bundled):
    corpus, _, _ = bundled
    for doc in corpus.documents.values():
        if doc.kind == "transcript":
            roles = {p.role for p in doc.participants}
            assert {"elu", "services", "animateur"} <= roles, doc.id
            assert roles & {"citoyen", "acteur-economique"}, doc.id


def test_inter_territory_workshops_each_speaker_in_a_town(bundled):
    corpus, _, codings = bundled
    inter = [d for d in corpus.documents.values() if d.territory == INTER]
    assert sorted(d.atelier for d in inter) == ["cooperation", "engagement", "transversalite", "valeur"]
    for doc in inter:
        towns = {p.territory for p in doc.participants if p.role != "animateur"}
        assert towns == set(TERRITORIES), doc.id
        segs = corpus.segments_of(doc.id)
        assert {s.territory for s in segs} == set(TERRITORIES) | {None}
    for coder in ("C", "D"):            # both coded all of it, apart from each other
        covered = set(codings.coverage.loc[codings.coverage["coder"] == coder, "doc"])
        assert covered == {d.id for d in inter}
        assert set(codings.of(coder)["origin"]) == {"llm"}


def test_coder_a_covers_everything_and_every_balise_is_well_represented(bundled):
    corpus, _, codings = bundled
    a = segment_codes(codings, corpus, "A")
    own = [s for s in corpus.segments if corpus.documents[s.doc].territory != INTER]
    assert len(a) == len(own)
    uncoded = sum(1 for codes in a.values() if not codes) / len(a)
    assert 0.10 <= uncoded <= 0.35, uncoded          # "about a fifth" match no code
    frame = codings.of("A").drop_duplicates(["segment", "code"])
    for cid in CANONICAL_IDS:
        rows = frame[frame["code"] == cid]
        assert len(rows) >= 12, cid
        assert rows["territory"].nunique() >= 2, cid


def test_coder_b_sample_is_stratified_and_large_enough(bundled):
    corpus, _, codings = bundled
    if "B" not in codings.coders:
        pytest.skip("coder B's file is absent")
    b = segment_codes(codings, corpus, "B")
    own = [s for s in corpus.segments if corpus.documents[s.doc].territory != INTER]
    assert len(b) >= 0.25 * len(own)
    covered = set(codings.coverage.loc[codings.coverage["coder"] == "B", "doc"])
    docs = documents_frame(corpus).set_index("doc").loc[sorted(covered)]
    assert set(docs["territory"]) == set(TERRITORIES)
    assert set(ATELIERS) <= set(docs["atelier"])


def test_intent_table_names_real_codes(bundled):
    _, book, _ = bundled
    readme = (ROOT / "corpus" / "README.md").read_text(encoding="utf-8")
    named = set(re.findall(r"\b(?:ENG|SYS|COOP|VAL|CON)\.[0-9MD]+\d*\b|\bMGT\b", readme))
    assert {"ENG.D1", "VAL.6", "VAL.M3", "ENG.D3", "MGT"} <= named
    assert named <= set(book.codes)
