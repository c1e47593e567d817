"""Stable, role-based pseudonyms for groupe-miroir reports."""

from __future__ import annotations

import json
from pathlib import Path

from analyse.model.corpus import load_corpus
from analyse.privacy.pseudonymise import Pseudonymiser

from tests.helpers import DOC, write_doc


def test_same_person_same_pseudonym_across_documents(project: Path):
    # The same participant appears in both territories' documents.
    corpus = load_corpus(project / "corpus")
    p = Pseudonymiser.from_corpus(corpus)
    assert p.mapping == {"Hervé Essai": "Agent·e 1", "Nadine Testu": "Élu·e 1"}
    assert Pseudonymiser.from_corpus(corpus).mapping == p.mapping        # deterministic


def test_names_replaced_whole_word_case_and_accent_insensitive(project: Path):
    p = Pseudonymiser.from_corpus(load_corpus(project / "corpus"))
    text = "Merci Nadine ! NADINE TESTU et herve essai sont là ; Hervé aussi. Une essaim d'abeilles."
    out = p.apply(text)
    assert out == "Merci Élu·e 1 ! Élu·e 1 et Agent·e 1 sont là ; Agent·e 1 aussi. Une essaim d'abeilles."


def test_lowercase_common_word_equal_to_a_first_name_is_kept():
    p = Pseudonymiser({"Claire Dumas": "Animateur·rice 1"})
    assert p.apply("Une idée claire, dit Claire.") == "Une idée claire, dit Animateur·rice 1."


def test_shared_first_name_becomes_a_neutral_placeholder():
    p = Pseudonymiser({"Claire Dumas": "Élu·e 1", "Claire Le Goff": "Élu·e 2"})
    assert p.apply("Claire Le Goff répond à Claire.") == "Élu·e 2 répond à [PERSONNE]."


def test_person_entities_are_masked_and_mapping_round_trips(tmp_path: Path):
    p = Pseudonymiser({"Claire Dumas": "Élu·e 1"})
    text = "Jean Valjean parle à Claire Dumas."
    assert p.apply(text, person_spans=[(0, 12)]) == "[PERSONNE] parle à Élu·e 1."
    path = p.write_mapping(tmp_path / "m.json")
    assert json.loads(path.read_text(encoding="utf-8")) == {"Claire Dumas": "Élu·e 1"}
    assert Pseudonymiser.read_mapping(path).apply("Claire Dumas") == "Élu·e 1"


def test_people_mentioned_but_not_participants_are_masked():
    p = Pseudonymiser({"Claire Dumas": "Élu·e 1"})
    text = ("Claire a appelé Patrick, puis Jean-Pierre et madame Le Goff ; M. de Villiers aussi. "
            "Avec Kevin d'Hervé, on a vu monsieur Caron.")
    assert p.apply(text) == ("Élu·e 1 a appelé [PERSONNE], puis [PERSONNE] et madame [PERSONNE] ; "
                             "M. [PERSONNE] aussi. Avec [PERSONNE] d'[PERSONNE], on a vu monsieur [PERSONNE].")


def test_words_that_only_look_like_names_are_kept():
    p = Pseudonymiser({})
    text = ("Monsieur le Maire l'a dit à Noël, grâce à la Saint-Valentin, rue Jean-Jaurès, "
            "école Jules-Ferry : une idée claire, une pierre, Grâce à vous.")
    assert p.apply(text) == text


def test_counters_follow_roles(tmp_path: Path):
    corpus_dir = tmp_path / "corpus"
    text = DOC.format(id="le-mene-a", territory="le-mene").replace(
        '{id: P2, name: "Hervé Essai", role: services}', '{id: P2, name: "Anne Bel", role: elu}')
    write_doc(corpus_dir, "le-mene", "le-mene-a", text)
    p = Pseudonymiser.from_corpus(load_corpus(corpus_dir))
    assert p.mapping == {"Anne Bel": "Élu·e 1", "Nadine Testu": "Élu·e 2"}
