"""Local organisations and projects no lexicon lists (analyse.privacy.local_names), on sentences written for the test.

None of the names below is in a lexicon of the project: they must be found by the head-noun rules alone.
"""

from __future__ import annotations

import json

import pytest

from analyse.model.corpus import load_corpus
from analyse.privacy.lexicons import Lexicon
from analyse.privacy.local_names import NameRules, blank_doc
from analyse.privacy.masking import Masker, load_masker
from tests.helpers import ROOT


@pytest.fixture(scope="module")
def masker():
    return load_masker(ROOT, load_corpus(ROOT / "corpus"))


@pytest.fixture(scope="module")
def rules_only():
    """Lexicons and rules, no spaCy model: what the rules find by themselves."""
    return load_masker(ROOT, nlp=None)


def masked(m, text, territory="malaunay"):
    return m.mask(text, territory)[0]


# --- 1. unknown local organisations: head noun + name -------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("On travaille avec l'association Les Jardins de la Motte depuis deux ans.",
     "On travaille avec [une association locale] depuis deux ans."),
    ("La coopérative Terre d'Envol a racheté le hangar.", "[une coopérative locale] a racheté le hangar."),
    ("Le collectif Vélorution Bocage s'est monté en mars.", "[un collectif local] s'est monté en mars."),
    ("Les gamins vont au centre social Les Mouettes le mercredi.",
     "Les gamins vont à [un centre social] le mercredi."),
    ("L'entreprise Dupont Frères a fermé l'an dernier.", "[une entreprise locale] a fermé l'an dernier."),
    ("La SCIC Bois-Énergie du Plateau livre les plaquettes.", "[une coopérative locale] livre les plaquettes."),
    ("On passe par l'épicerie solidaire La Cagette pour les invendus.",
     "On passe par [une épicerie solidaire locale] pour les invendus."),
    ("Le club de foot de Plouguenast prête ses vestiaires.", "[un club local] prête ses vestiaires."),
    ("On achète le pain à la boulangerie Rault.", "On achète le pain à [une boulangerie locale]."),
    ("Les légumes viennent du GAEC du Pont-Neuf.", "Les légumes viennent de [une ferme locale]."),
    ("Il y a une boulangerie Rault qui a repris.", "Il y a [une boulangerie locale] qui a repris."),
    ("On a vu l'asso « Bouge ta rue » au marché.", "On a vu [une association locale] au marché."),
])
def test_unknown_local_organisations_are_masked_with_their_head(rules_only, text, expected):
    assert masked(rules_only, text) == expected


def test_an_unknown_local_acronym_is_an_organisation(rules_only):
    assert masked(rules_only, "Le SIAEP a voté la hausse, le PLU aussi, et la CAF a suivi.") \
        == "[une organisation locale] a voté la hausse, le PLU aussi, et la CAF a suivi."


@pytest.mark.parametrize("text", [
    "C'EST PAS POSSIBLE, franchement.",                 # shouted, not an acronym
    "Au chapitre XIII du rapport, on en parle.",          # a Roman numeral
    "Les CM2 et les CE1 ont planté les haies, avec un CDI à la clé.",
])
def test_capitals_that_are_not_local_bodies_stay(rules_only, text):
    assert masked(rules_only, text) == text


# --- 2. unknown local projects -------------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("On a lancé l'opération « Zéro mégot » avec les écoles.", "On a lancé [une opération locale] avec les écoles."),
    ("Le projet Ruche Commune a démarré au printemps.", "[un projet local] a démarré au printemps."),
    ("Le festival Les Arts Verts revient en juin.", "[un festival local] revient en juin."),
    ("Les Journées vertes du Val ont attiré du monde.", "[des journées locales] ont attiré du monde."),
    ("Tout le monde vient à la Fête de la pomme.", "Tout le monde vient à [une fête locale]."),
    ("Ça s'appelle Terre d'Envol, c'est une coopérative d'habitants.",
     "Ça s'appelle [un nom local], c'est une coopérative d'habitants."),
    ("On l'a baptisé « Cap Vert » pour faire joli.", "On l'a baptisé [un nom local] pour faire joli."),
])
def test_unknown_local_projects_are_masked(rules_only, text, expected):
    assert masked(rules_only, text) == expected


@pytest.mark.parametrize("text", [
    "Le fifty-fifty, la monnaie locale, le budget participatif et l'AMAP : tout ça se transfère.",
    "On a le café réparation, le repair café et les jardins partagés.",
    "On a eu le label Territoire engagé pour la nature et le programme Leader.",
    "Le défi Familles à énergie positive a marché, le plan Climat aussi.",
    "On est allés au Forum des associations, puis à la Fête de la musique et à la fête de Noël.",
    "L'association des maires de France nous a écrit.",
])
def test_transferable_dispositifs_and_national_programmes_stay_readable(masker, text):
    assert masked(masker, text) == text


# --- 3. institutional words are never masked alone ------------------------------------------------
def test_institutional_words_alone_stay(masker):
    text = ("La Métropole a promis, la communauté urbaine aussi ; l'agglo s'en fiche, la mairie suit, "
            "le conseil municipal vote, la préfecture signe, le département et la région paient.")
    assert masked(masker, text) == text


def test_a_local_name_after_an_institutional_word_is_masked(masker):
    assert masked(masker, "La Métropole Rouen Normandie finance.") == "[une structure locale] finance."   # lexicon
    assert masked(masker, "La communauté de communes du Val d'Oust a suivi.") == "[l'intercommunalité] a suivi."
    assert masked(masker, "C'est Loudéac Communauté qui porte, avec Lens-Liévin Agglo.") \
        == "C'est [l'intercommunalité] qui porte, avec [l'intercommunalité]."


# --- reading and precedence ----------------------------------------------------------------------
def test_a_head_rule_reads_better_than_the_place_inside_it(masker):
    # the lexicon knows Loos; the whole name is an association's, and reads as one
    assert masked(masker, "L'association Les Amis de Loos a monté un repair café.") \
        == "[une association locale] a monté un repair café."


@pytest.mark.parametrize("text, expected", [
    # « collectif » after a noun is an adjective, not a head
    ("Le compostage collectif de la résidence des Tilleuls, gros échec.",
     "Le compostage collectif de [une résidence], gros échec."),
    # an indefinite farm « de » a place is a farm somewhere: only the place goes
    ("Il y a une ferme de la Sarthe qui fait pareil.", "Il y a une ferme de [un lieu] qui fait pareil."),
    # a given name after a head is a person: the person rules mask it
    ("Le projet de Martine, c'était un jardin.", "Le projet de [une personne], c'était un jardin."),
    ("La coopérative emploie Michel depuis deux ans.", "La coopérative emploie [une personne] depuis deux ans."),
    # a head alone is no name
    ("L'association a monté un projet avec le club.", "L'association a monté un projet avec le club."),
])
def test_heads_without_a_local_name_are_left(masker, text, expected):
    assert masked(masker, text) == expected


def test_the_guard_list_stays_in_force(masker):
    text = "Sinon on n'aurait jamais commencé. Pardon, euh, Quatorze personnes à la fête de Noël."
    assert masked(masker, text) == text


def test_a_multi_word_capitalised_entity_is_a_name(masker):
    # no head noun: spaCy's entity (MISC or ORG) of several capitalised words is masked
    out = masked(masker, "Moi je bosse chez Dupont Frères depuis vingt ans.")
    assert "Dupont" not in out and "Frères" not in out


# --- the lists: per project, and their errors ----------------------------------------------------
def test_a_project_extends_the_heads_and_the_never_mask_list(tmp_path):
    folder = tmp_path / "lexicons"
    folder.mkdir()
    (folder / "ville.yaml").write_text("commune: [Bourg-Truc]\n", encoding="utf-8")
    (folder / "_regles.yaml").write_text(
        "tetes_organisations:\n  - {tete: confrérie, remplacement: \"[une confrérie locale]\"}\n"
        "generiques: [Ruche Commune]\nsigles_courants: [SIAEP]\n", encoding="utf-8")
    m = load_masker(tmp_path, lexicons=folder, nlp=None)
    text = "La confrérie Les Joyeux Tasseurs, le projet Ruche Commune et le SIAEP de Bourg-Truc."
    assert masked(m, text, "ville") == "[une confrérie locale], le projet Ruche Commune et le SIAEP de [la commune]."
    assert "_regles" not in {e.territory for e in m.lexicon.entries.values()}


def test_a_bad_head_entry_is_a_french_error(tmp_path):
    from analyse.errors import AnalyseError

    with pytest.raises(AnalyseError, match="tetes_projets"):
        NameRules.from_data({"tetes_projets": [{"remplacement": "[x]"}]}, sources=["_regles.yaml"])


def test_rules_read_tokens_of_any_pipeline():
    rules = NameRules.load()
    doc = blank_doc("On a vu la régie de quartier Les Hauts Vents et le projet « Bouge ton quartier ».")
    found = [(doc.text[f.start:f.end], f.kind, f.replacement) for f in rules.find(doc)]
    assert found == [("régie de quartier Les Hauts Vents", "organisation", "[une régie de quartier]"),
                     ("projet « Bouge ton quartier »", "projet", "[un projet local]")]


def test_rules_run_without_a_lexicon_or_a_model():
    m = Masker(Lexicon(), nlp=None)
    assert m.mask("La fromagerie Le Petit Pré a ouvert.")[0] == "[une fromagerie locale] a ouvert."


# --- proper nouns nobody listed, with no head noun -------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("On bosse avec les Anges Gardins depuis dix ans.", "On bosse avec [un nom local] depuis dix ans."),
    ("On a demandé conseil à Terre d'Envol, qui avait déjà fait ça.",
     "On a demandé conseil à [un lieu], qui avait déjà fait ça."),
])
def test_a_capitalised_word_inside_a_sentence_is_a_name(masker, text, expected):
    assert masked(masker, text) == expected


def test_unlisted_proper_nouns_belong_to_the_spacy_pass(rules_only):
    # without spaCy (e.g. a text masked already), the risk score counts such words instead
    assert masked(rules_only, "On bosse avec les Anges Gardins.") == "On bosse avec les Anges Gardins."


@pytest.mark.parametrize("text", [
    "Bon. Ensuite, Vous voyez ce que je veux dire ?",            # sentence starts
    "Il m'a dit : Allez, on y va.",
    "Ligne un.\nDeuxième ligne, pareil.",
    "La Région et l'État paient, le Département aussi.",         # never-mask words
    "On l'a vu sur Internet, dans un PowerPoint.",                # guard words
    "On était à la Fête de la musique, puis au Forum des associations.",
    "On a fait un atelier Coopération et un atelier Engagement.",  # the référentiel's workshops
])
def test_capitalised_words_that_are_not_names_stay(masker, text):
    assert masked(masker, text) == text


# --- measuring what the rules change ---------------------------------------------------------------
def _one_document_project(tmp_path):
    (tmp_path / "corpus" / "ville").mkdir(parents=True)
    (tmp_path / "corpus" / "ville" / "ville-a.md").write_text(
        "---\nid: ville-a\ntitle: Atelier\nterritory: ville\nkind: transcript\natelier: none\ndate: 2020-01-01\n"
        "language: fr\nsynthetic: true\nparticipants:\n  - {id: P1, name: \"Jeanne Pic\", role: citoyen}\n---\n"
        "**P1 (habitante)** : On passe par l'épicerie solidaire La Cagette, à Bourg-Truc, et la Métropole suit.\n",
        encoding="utf-8")
    (tmp_path / "lexicons").mkdir()
    (tmp_path / "lexicons" / "ville.yaml").write_text("commune: [Bourg-Truc]\n", encoding="utf-8")
    return tmp_path


def test_rule_masks_lists_what_the_rules_change(tmp_path):
    from analyse.privacy.masking_eval import rule_masks

    root = _one_document_project(tmp_path)
    corpus = load_corpus(root / "corpus")
    changes = rule_masks(corpus, load_masker(root, corpus, nlp=None))
    assert changes[["text", "replacement", "change"]].values.tolist() == [
        ["l'épicerie solidaire La Cagette", "[une épicerie solidaire locale]", "ajouté"]]


def test_evaluate_masking_prints_the_rule_masks_and_scores_without_the_rules(tmp_path, capsys):
    from analyse.cli import main

    root = _one_document_project(tmp_path)
    assert main(["evaluate-masking", "--project", str(root), "--rule-masks", "--no-ner"]) == 0
    out = capsys.readouterr().out
    assert "1 ajouté(s), 0 remplacé(s), 0 retiré(s)" in out and "La Cagette" in out
    (root / "labels").mkdir()
    name = "épicerie solidaire La Cagette"
    start = load_corpus(root / "corpus").documents["ville-a"].body.index(name)
    label = {"doc": "ville-a", "start": start, "end": start + len(name), "text": name, "kind": "organisation"}
    (root / "labels" / "labels.jsonl").write_text(json.dumps(label, ensure_ascii=False) + "\n", encoding="utf-8")
    (root / "labels" / "split.yaml").write_text("dev: [ville-a]\nheldout: []\n", encoding="utf-8")
    for flags, recall in (([], "1.0"), (["--no-rules"], "0.0")):
        assert main(["evaluate-masking", "--project", str(root), "--labels", str(root / "labels"), "--no-ner",
                     "--json", *flags]) == 0
        scores = {r["kind"]: r for r in json.loads(capsys.readouterr().out)["dev"]["scores"]}
        assert str(scores["organisation"]["recall"]) == recall


def test_a_capitalised_run_touching_a_mask_goes_with_it(masker):
    # « Bretagne » is in a lexicon, « Vivante » in none: the whole name goes, by the lexicon's words
    assert masked(masker, "On a travaillé avec Bretagne Vivante sur les haies.") \
        == "On a travaillé avec [un lieu] sur les haies."
    # a civility stays out of the name (the person rules' « Madame [une personne] » is unchanged)
    assert masked(masker, "On a écrit à Madame Kerjean.") == "On a écrit à Madame [une personne]."


@pytest.mark.parametrize("text, expected", [
    ("La communauté de communes Brenne et Canal paie.", "[l'intercommunalité] paie."),
    ("La SAS Vents de Lère a eu son permis.", "[une entreprise locale] a eu son permis."),
    ("Le parc éolien des Quatre Vents tourne.", "[un parc éolien] tourne."),
    ("On met ça dans le programme Lère Énergie 2030.", "On met ça dans [un programme local]."),
    ("Et la Maison de santé des Ormes veut des panneaux.", "Et [une maison de santé] veut des panneaux."),
    # « et » joins two names only after a head noun: two people stay two
])
def test_names_with_links_numbers_and_legal_forms(rules_only, text, expected):
    assert masked(rules_only, text) == expected


def test_et_joins_two_names_only_after_a_head_noun(masker):
    import re

    assert re.fullmatch(r"On a vu \[[^\]]+\] et \[[^\]]+\] au marché\.", masked(masker, "On a vu Zébulon et Arsène au marché."))


def test_the_rules_development_set_stays_found():
    """tests/data/masking/regles-dev: every labelled span masked (a non-regression set, tuned on)."""
    from analyse.privacy.masking_eval import evaluate_masking, load_labels, load_split

    folder = ROOT / "tests" / "data" / "masking" / "regles-dev"
    corpus = load_corpus(folder / "documents")
    scores, _ = evaluate_masking(corpus, load_masker(ROOT, corpus), load_labels(folder / "labels.jsonl"),
                                 load_split(folder / "split.yaml")["dev"])
    by_kind = scores.set_index("kind")
    assert by_kind.loc["ensemble", "recall"] == 1.0 and by_kind.loc["ensemble", "precision"] >= 0.95
