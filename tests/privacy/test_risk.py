"""Re-identification risk of verbatims, and its use when choosing groupe-miroir verbatims."""

from __future__ import annotations

import pandas as pd

from analyse.analysis.material import material_from_frames
from analyse.privacy.decontext import decontextualised_verbatims, mirror_view, representative_verbatims, researcher_view
from analyse.privacy.lexicons import Lexicon
from analyse.privacy.masking import Masker
from analyse.privacy.risk import RiskModel, WEIGHTS, reidentification_risk


def _lexicon():
    lex = Lexicon.from_data({"commune": ["Loos"], "projets": ["Gohéliades"]}, "x")
    lex.add_shared()
    return lex


def test_risk_counts_what_stays_visible_and_says_why():
    model = RiskModel(_lexicon(), {"loos-en-gohelle": {"terrils": "terril", "terril": "terril"}})
    text = "Au pied du terril, la fosse a fermé en 1986, disait Wilczek. Sinon, les Gohéliades à Loos."
    score, terms = reidentification_risk(text, [], model)
    assert terms[:2] == ["Gohéliades", "Loos"]                       # lexicon names first
    assert set(terms) == {"Gohéliades", "Loos", "Wilczek", "terril", "1986"}
    assert score == round(2 * WEIGHTS["lexicon"] + WEIGHTS["name"] + WEIGHTS["specific"] + WEIGHTS["year"], 2)
    assert "Sinon" not in terms                                       # guard word, sentence start


def test_masked_spans_do_not_count():
    lex = _lexicon()
    model = RiskModel(lex, {})
    text = "Les Gohéliades de Loos, avec la CAF et l'AMAP."
    _, spans = Masker(lex).mask(text, "x")
    assert reidentification_risk(text, spans, model) == (0.0, [])


def test_each_term_counts_once():
    model = RiskModel(None, {"x": {"terril": "terril", "terrils": "terril"}})
    assert reidentification_risk("Un terril, deux terrils, trois terrils.", [], model) == (WEIGHTS["specific"], ["terril"])


def test_risk_model_from_specificities_keeps_strongly_specific_nouns():
    spec = pd.DataFrame({
        "territory": ["a", "a", "a", "b"], "lemma": ["terril", "voir", "banc", "terril"],
        "pos": ["NOUN", "VERB", "NOUN", "NOUN"], "f": [10, 10, 3, 0], "specificity": [6.0, 6.0, 2.5, -3.0]})
    tokens = pd.DataFrame({"text": ["terrils", "Terril", "vu"], "lemma": ["terril", "terril", "voir"]})
    model = RiskModel.from_specificities(spec, tokens, _lexicon())
    assert model.specific == {"a": {"terrils": "terril", "terril": "terril"}}


# --- choosing verbatims -------------------------------------------------------------------------
def _material():
    words = lambda n: " ".join(["mot"] * n)
    segs = pd.DataFrame([
        {"segment": "x-a#1", "doc": "x-a", "n": 1, "territory": "x", "words": 60, "role": "animateur",
         "text": words(60) + " ?"},
        {"segment": "x-a#2", "doc": "x-a", "n": 2, "territory": "x", "words": 60, "role": "citoyen",
         "text": words(50) + " les Gohéliades, en 1986, chez Wilczek à Loos"},
        {"segment": "x-a#3", "doc": "x-a", "n": 3, "territory": "x", "words": 45, "role": "elu", "text": words(45)},
        {"segment": "y-b#1", "doc": "y-b", "n": 1, "territory": "y", "words": 40, "role": "elu",
         "text": words(39) + " Loos"},
    ])
    codes = pd.DataFrame([
        {"segment": "x-a#1", "code": "C", "coders": 2},
        {"segment": "x-a#2", "code": "C", "coders": 2},
        {"segment": "x-a#3", "code": "C", "coders": 1},
        {"segment": "y-b#1", "code": "C", "coders": 1},
    ])
    return material_from_frames(segs, codes)


def test_facilitator_turns_are_never_verbatims():
    v = representative_verbatims(_material(), ["C"], n=5)
    assert "x-a#1" not in set(v["segment"])


def test_high_risk_verbatims_are_held_back_and_researchers_see_why():
    lex = _lexicon()
    model = RiskModel(lex, {}, threshold=1.0)
    v = decontextualised_verbatims(_material(), ["C"], masker=Masker(lex), risk=model, n=1)
    x = v[v["territory"] == "x"]
    # x-a#2 ranks first (two coders) but its year and family name stay visible: 0.75 ≤ 1, proposed.
    assert x["segment"].tolist() == ["x-a#2"] and bool(x["proposed"].iloc[0])
    assert x["risk_terms"].iloc[0] == "Wilczek; 1986"
    assert "[le projet]" in x["masked"].iloc[0] and "[la commune]" in x["masked"].iloc[0]
    strict = RiskModel(lex, {}, threshold=0.5)
    v = decontextualised_verbatims(_material(), ["C"], masker=Masker(lex), risk=strict, n=1)
    x = v[v["territory"] == "x"]
    assert x["segment"].tolist() == ["x-a#2", "x-a#3"]
    assert x["proposed"].tolist() == [False, True]
    assert list(researcher_view(v).columns) == ["code", "territory", "segment", "original", "masked",
                                                "risk", "risk_terms", "proposed"]
    mirror = mirror_view(v)
    assert len(mirror) == 2 and not mirror["masked"].str.contains("Wilczek").any()
    # y's text names another territory's commune
    assert v.loc[v["territory"] == "y", "masked"].iloc[0].endswith("[une autre commune]")


def test_no_facilitator_question_among_the_bundled_corpus_verbatims():
    """Issue 17 found 14 % of the chosen verbatims were facilitator questions."""
    from analyse.analysis.material import coded_material
    from analyse.model.codebook import load_codebook
    from analyse.model.codings import load_codings
    from analyse.model.corpus import load_corpus
    from tests.helpers import ROOT

    corpus = load_corpus(ROOT / "corpus")
    codings = load_codings(corpus, load_codebook(ROOT / "codebook" / "balises.yaml"), coders=["A"])
    material = coded_material(corpus, codings, ["A"])
    codes = sorted(material.codes["code"].unique())
    v = representative_verbatims(material, codes, n=3)
    roles = {s.id: s.role for s in corpus.segments}
    assert len(v) > 50
    assert not [s for s in v["segment"] if roles[s] == "animateur"]
