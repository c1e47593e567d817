"""Masking of local context and choice of verbatims (analyse.privacy.decontext)."""

from __future__ import annotations

import pandas as pd
import pytest

from analyse.model.corpus import load_corpus
from analyse.privacy.decontext import (Gazetteer, build_gazetteer, decontextualised_verbatims, fold, load_gazetteer,
                               mask_segments, mask_spans, mask_text, mirror_view, representative_verbatims,
                               researcher_view)
from analyse.errors import AnalyseError
from analyse.analysis.invariants import material_from_frames


@pytest.fixture(scope="module")
def gazetteer():
    return build_gazetteer(participants=["Nadine Testu", "Hervé Essai", "Yannick Le Bihan"],
                           territories=["loos-en-gohelle", "le-mene"])


def test_fold_keeps_offsets():
    text = "Loos-en-Gohelle, l’Été œuvre"
    assert len(fold(text)) == len(text)
    assert fold(text) == "loos en gohelle, l'ete œuvre"


def test_mask_sentence_with_entities_and_gazetteer(gazetteer):
    text = ("Hier, Nadine Testu et Hervé ont présenté les Gohéliades à Loos-en-Gohelle "
            "avec l'ADEME et Paul Martin.")
    start = text.index("Paul Martin")
    entities = [(start, start + len("Paul Martin"), "PER")]
    assert mask_text(text, gazetteer, entities) == (
        "Hier, [PERSONNE] et [PERSONNE] ont présenté les [PROJET] à [LIEU] "
        "avec l'[ORGANISATION] et [PERSONNE].")


def test_matching_is_case_and_accent_tolerant_on_whole_words(gazetteer):
    assert mask_text("Au mene, à COLLINEE, à loos en gohelle", gazetteer) == "Au mene, à [LIEU], à [LIEU]"
    # « Mené » alone needs its capital: the participle is left alone.
    assert mask_text("Le projet mené au Mené", gazetteer) == "Le projet mené au [LIEU]"
    # Whole words only: « Lensois » is not « Lens ».
    assert mask_text("Les Lensois à Lens", gazetteer) == "Les Lensois à [LIEU]"
    # Curated projects match in any case.
    assert mask_text("les gohéliades et le FIFTY/FIFTY", gazetteer) == "les [PROJET] et le [PROJET]"


def test_longest_match_first(gazetteer):
    assert mask_text("à Saint-Jacut-du-Mené", gazetteer) == "à [LIEU]"
    assert mask_text("Yannick Le Bihan parle", gazetteer) == "[PERSONNE] parle"
    assert mask_text("Le Bihan parle, puis Yannick", gazetteer) == "[PERSONNE] parle, puis [PERSONNE]"
    assert mask_text("l'Archipel nourricier de Loos", gazetteer) == "l'[PROJET] de [LIEU]"


def test_overlapping_spans_are_merged(gazetteer):
    text = "la ville de Loos-en-Gohelle est loin"
    # spaCy's LOC covers « ville de Loos », the gazetteer « Loos-en-Gohelle »: one [LIEU].
    ent = (text.index("ville"), text.index("-en"), "LOC")
    assert mask_spans(text, gazetteer, [ent]) == [(3, 27, "LIEU")]
    assert mask_text(text, gazetteer, [ent]) == "la [LIEU] est loin"
    # The longest part decides the category: an ORG entity over a place name.
    text = "le Conseil de développement de Lens a voté"
    org = (3, text.index(" a voté"), "ORG")
    assert mask_text(text, gazetteer, [org]) == "le [ORGANISATION] a voté"


def test_misc_entities_left_unless_a_project(gazetteer):
    text = "le festival des Gohéliades 2018 et la Fête du Vent"
    misc = [(3, 31, "MISC"), (38, 50, "MISC")]
    assert mask_text(text, gazetteer, misc) == "le [PROJET] et la Fête du Vent"


def test_keep_list_and_bad_spans(gazetteer):
    text = "Personne ne vient de la Région."
    ents = [(0, 8, "PER"), (21, 30, "ORG"), (5, 500, "LOC")]       # last one out of range: ignored
    assert mask_text(text, gazetteer, ents) == text


def test_mask_segments_uses_entity_offsets_or_text():
    segs = pd.DataFrame({"segment": ["d#1", "d#2"], "text": ["Merci Denis.", "Et Denis aussi."]})
    ents = pd.DataFrame({"segment": ["d#1", "d#2"], "start_char": [6, 120], "end_char": [11, 125],
                         "text": ["Denis", "Denis"], "label": ["PER", "PER"]})
    assert mask_segments(segs, None, ents).tolist() == ["Merci [PERSONNE].", "Et [PERSONNE] aussi."]


def test_bundled_gazetteer_holds_the_required_facts():
    g = load_gazetteer()
    for name, category in [("Gohéliades", "PROJET"), ("fifty/fifty", "PROJET"), ("Archipel nourricier", "PROJET"),
                           ("Loos-en-Gohelle", "LIEU"), ("Lens", "LIEU"), ("Le Mené", "LIEU"),
                           ("Collinée", "LIEU"), ("Malaunay", "LIEU"), ("Rouen", "LIEU"),
                           ("Grande-Synthe", "LIEU"), ("Dunkerque", "LIEU"), ("ATEMIS", "ORGANISATION"),
                           ("ADEME", "ORGANISATION"), ("AMAP", "ORGANISATION"), ("CPIE", "ORGANISATION")]:
        assert g.category(name) == category, name
    assert g.keeps("la Région")


def test_gazetteer_file_errors(tmp_path):
    bad = tmp_path / "g.yaml"
    bad.write_text("common:\n  VILLE: [Lens]\n", encoding="utf-8")
    with pytest.raises(AnalyseError, match="catégorie inconnue « VILLE »"):
        load_gazetteer(bad)
    bad.write_text("common: [\n", encoding="utf-8")
    with pytest.raises(AnalyseError, match="pas du YAML valide"):
        load_gazetteer(bad)
    with pytest.raises(AnalyseError, match="répertoire de noms introuvable"):
        load_gazetteer(tmp_path / "none.yaml")


def test_build_gazetteer_from_corpus_and_specific_lemmas(project):
    corpus = load_corpus(project / "corpus")
    specific = pd.DataFrame({"territory": ["malaunay", "malaunay", "le-mene"],
                             "lemma": ["Tisserands", "Moulin", "Région"], "f": 5, "specificity": 4.0})
    tokens = pd.DataFrame({"lemma": ["Moulin", "Moulin", "Tisserands"], "ent_type": ["LOC", "LOC", ""]})
    g = build_gazetteer(corpus, specific=specific, tokens=tokens, territories=["pays-de-bray"])
    assert g.category("Pays de Bray") == "LIEU"              # from a slug not in the gazetteer file
    assert g.category("Nadine Testu") == "PERSONNE" and g.category("Essai") == "PERSONNE"
    assert g.category("malaunay") == "LIEU"
    assert g.category("Tisserands") == "PROJET"             # no entity label known: a local project
    assert g.category("Moulin") == "LIEU"                   # tagged LOC by spaCy
    assert "Région" not in g                                 # on the keep list
    assert mask_text("la salle du moulin, avec Nadine", g) == "la salle du moulin, avec [PERSONNE]"
    frame = g.frame()
    assert set(frame["source"]) >= {"participant", "territory", "specific"}


# --- representative verbatims ----------------------------------------------------------------

def _material():
    words = lambda n: " ".join(["mot"] * n)
    segs = pd.DataFrame([
        {"segment": "x-a#1", "doc": "x-a", "n": 1, "territory": "x", "words": 10, "text": words(10)},
        {"segment": "x-a#2", "doc": "x-a", "n": 2, "territory": "x", "words": 60, "text": words(59) + " Lens"},
        {"segment": "x-a#3", "doc": "x-a", "n": 3, "territory": "x", "words": 40, "text": words(40)},
        {"segment": "x-a#4", "doc": "x-a", "n": 4, "territory": "x", "words": 45, "text": words(45)},
        {"segment": "y-b#1", "doc": "y-b", "n": 1, "territory": "y", "words": 200, "text": words(200)},
        {"segment": "y-b#2", "doc": "y-b", "n": 2, "territory": "y", "words": 30, "text": words(29) + " Rouen"},
    ])
    codes = pd.DataFrame([
        {"segment": "x-a#1", "code": "C", "coders": 2},      # too short, despite two coders
        {"segment": "x-a#2", "code": "C", "coders": 1},
        {"segment": "x-a#2", "code": "D", "coders": 1},      # another code on it
        {"segment": "x-a#3", "code": "C", "coders": 2},      # two coders: first choice
        {"segment": "x-a#4", "code": "C", "coders": 1},
        {"segment": "y-b#1", "code": "C", "coders": 1},
        {"segment": "y-b#2", "code": "C", "coders": 1},
    ])
    return material_from_frames(segs, codes)


def test_representative_verbatims_follow_the_documented_rule():
    v = representative_verbatims(_material(), ["C"], n=3)
    x = v[v["territory"] == "x"]
    # x-a#3 (2 coders) > x-a#4 (alone on it, 1 coder) > x-a#2 (one other code) ; x-a#1 too short.
    assert x["segment"].tolist() == ["x-a#3", "x-a#4", "x-a#2"]
    assert x["rank"].tolist() == [1, 2, 3]
    y = v[v["territory"] == "y"]
    assert y["segment"].tolist() == ["y-b#2", "y-b#1"]        # in-bounds length first
    assert representative_verbatims(_material(), ["C"], n=1)["segment"].tolist() == ["x-a#3", "y-b#2"]


def test_decontextualised_views():
    g = Gazetteer()
    g.add("Lens", "LIEU")
    g.add("Rouen", "LIEU")
    v = decontextualised_verbatims(_material(), ["C", "D"], g, n=1)
    assert v[["code", "territory", "segment"]].values.tolist() == [
        ["C", "x", "x-a#3"], ["C", "y", "y-b#2"], ["D", "x", "x-a#2"]]
    assert v["masked"].str.endswith("[LIEU]").tolist() == [False, True, True]
    assert v["original"].iloc[1].endswith("Rouen")
    researcher = researcher_view(v)
    assert list(researcher.columns) == ["code", "territory", "segment", "original", "masked"]
    mirror = mirror_view(v, {"C": "Libellé C"})
    assert list(mirror.columns) == ["code", "label", "excerpt", "masked"]
    assert mirror["excerpt"].tolist() == [1, 2, 1]
    assert not mirror.apply(lambda r: "Rouen" in r["masked"] or "Lens" in r["masked"], axis=1).any()


def test_small_model_mistakes_are_corrected(gazetteer):
    text = "Merci Thierry. C'est vrai, hein, Sophie."
    ents = [(0, 13, "PER"), (27, 31, "PER"), (33, 39, "PER")]
    # « Merci » (keep list) is trimmed off the entity; « hein » has no capital: not a name.
    assert mask_text(text, gazetteer, ents) == "Merci [PERSONNE]. C'est vrai, hein, [PERSONNE]."


def test_address_patterns_mask_unknown_place_names():
    g = Gazetteer()
    text = "Né Rue des Tisserands, il anime la salle du Moulin et la résidence des Tilleuls Verts."
    assert mask_text(text, g) == "Né Rue des [LIEU], il anime la salle du [LIEU] et la résidence des [LIEU]."
    assert mask_text("la rue principale et le quartier Nord", g) == "la rue principale et le quartier [LIEU]"
    assert mask_text("place de la Région", g) == "place de la [LIEU]"
    g.keep.add("region")
    assert mask_text("place de la Région", g) == "place de la Région"
    g.place_patterns = False
    assert mask_text(text, g) == text
