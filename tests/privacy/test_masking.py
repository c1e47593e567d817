"""Masking by category (analyse.privacy.masking, lexicons): each failure listed in issue 17 is a test."""

from __future__ import annotations

import pytest

from analyse.model.corpus import load_corpus
from analyse.privacy.lexicons import Lexicon, load_lexicons
from analyse.privacy.masking import Masker, load_masker, masking_pipeline, render
from tests.helpers import ROOT


@pytest.fixture(scope="module")
def masker():
    return load_masker(ROOT, load_corpus(ROOT / "corpus"))


def masked(m, text, territory=None):
    return m.mask(text, territory)[0]


# --- identifiers that were left visible -------------------------------------------------------
@pytest.mark.parametrize("text, gone", [
    ("On a travaillé avec un bureau de Nantes sur le plan.", "Nantes"),
    ("C'est une habitante des Tisserands qui l'a proposé.", "Tisserands"),
    ("Moi je suis né à la cité 5, dans la maison où j'habite.", "cité 5"),
    ("C'est ce qu'on essaie de faire avec « La transition prend ses quartiers ».", "transition prend"),
    ("On a ouvert le code source loossois à tout le monde.", "loossois"),
    ("Ils sont allés voir une ville de l'Aisne, un peu comme nous.", "Aisne"),
    ("Un de mes gars, Michel, qui était un peu bourru, a changé.", "Michel"),
])
def test_identifiers_are_masked(masker, text, gone):
    assert gone not in masked(masker, text)


@pytest.mark.parametrize("text, gone", [
    ("On était la ville des terrils, la ville noire.", "terrils"),
    ("Avec la fusion, les sept communes déléguées ont gardé leur mairie.", "sept communes"),
    ("Les hauts fourneaux fumaient jour et nuit.", "hauts fourneaux"),
])
def test_distinctive_local_facts_are_masked(masker, text, gone):
    assert gone not in masked(masker, text)


# --- words that were taken for names -----------------------------------------------------------
def test_sinon_is_not_a_person(masker):
    text = "Mais j'insiste sur un point : on n'a pas attendu. Sinon on n'aurait jamais commencé."
    assert masked(masker, text, "loos-en-gohelle") == text


@pytest.mark.parametrize("text", [
    "Prochaine séance le 17 janvier, sur la valeur.",
    "Pardon pour le retard. J'ai entendu la fin.",
    "Euh, je sais plus trop, franchement.",
    "Quatorze personnes sont venues au premier atelier.",
    "Les jeunes, ils sont tous sur Snapchat maintenant.",
    "On s'est vus au pont de l'Ascension, et à Noël, et en Août.",
    "Bon. Ben voilà. Attendez, un par un.",
])
def test_spoken_french_words_are_not_names(masker, text):
    assert masked(masker, text) == text


# --- generic bodies and transferable dispositifs stay -------------------------------------------
def test_generic_bodies_and_dispositifs_are_never_masked(masker):
    text = "L'AMAP, la CAF, Pôle emploi, la Région et le fifty-fifty : c'est ce qui se transfère."
    assert masked(masker, text, "malaunay") == text


def test_lexicon_cannot_mask_a_generic_name():
    lex = Lexicon()
    lex.add_shared()
    lex.add("AMAP", "organisations", "malaunay")
    lex.add("fifty-fifty", "projets", "loos-en-gohelle")
    assert len(lex) == 0


# --- masking by category reads -------------------------------------------------------------------
def test_masking_by_category_keeps_the_sentence_readable(masker):
    text = "Au Mené, les Gohéliades de Loos et la résidence du Moulin."
    assert masked(masker, text, "le-mene") == (
        "À [la commune], [le projet] de [une autre commune] et [une résidence].")


def test_participants_become_their_role(masker):
    # Bertrand Lemonnier is an elected member in the Malaunay workshops.
    assert masked(masker, "Merci de le dire, Bertrand.", "malaunay") == "Merci de le dire, [un·e élu·e]."


def test_lower_case_demonym_is_an_adjective_and_capitalised_one_a_noun():
    lex = Lexicon.from_data({"gentiles": ["Loossois"]}, "loos-en-gohelle")
    m = Masker(lex)
    assert masked(m, "Les Loossois et le code source loossois.") == "[les habitants] et le code source [local]."


def test_one_word_place_needs_a_capital_but_facts_do_not():
    lex = Lexicon.from_data({"commune": ["Mené"], "faits": [{"nom": "terrils", "remplacement": "[des collines]"}]},
                            "le-mene")
    m = Masker(lex)
    assert masked(m, "Le projet mené au Mené.", "le-mene") == "Le projet mené à [la commune]."
    assert masked(m, "Les Terrils.") == "[des collines]."


def test_spans_describe_the_replaced_text(masker):
    text = "Elle habite des Tisserands, près de Rennes."
    out, spans = masker.mask(text, "malaunay")
    assert render(text, spans) == out
    assert all(0 <= s.start < s.end <= len(text) for s in spans)
    assert {s.kind for s in spans} == {"lieu"}


def test_transcription_marks_are_not_names(masker):
    text = "(rires) [inaudible] [00:24:30] Pardon, je rebondis."
    assert masked(masker, text) == text


def test_entity_ruler_sits_before_ner():
    lex = load_lexicons(ROOT / "lexicons")
    nlp = masking_pipeline(lex)
    names = nlp.pipe_names
    assert names.index("entity_ruler") < names.index("ner")
    doc = nlp("Sinon on a vu les Gohéliades.")
    labels = {e.text: e.label_ for e in doc.ents}
    assert labels.get("Sinon") == "KEEP" and labels.get("Gohéliades") == "MISC"


def test_bad_lexicon_gives_a_french_error(tmp_path):
    from analyse.errors import AnalyseError

    (tmp_path / "x.yaml").write_text("villes: [Lens]\n", encoding="utf-8")
    with pytest.raises(AnalyseError, match="catégorie inconnue"):
        load_lexicons(tmp_path)
    (tmp_path / "x.yaml").write_text("commune: [Lens\n", encoding="utf-8")
    with pytest.raises(AnalyseError, match="YAML invalide"):
        load_lexicons(tmp_path)
