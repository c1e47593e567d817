"""Pseudonymisation planned as non-overlapping spans on the original text, applied once (#13)."""

from __future__ import annotations

from analyse.privacy.pseudonymise import Pseudonymiser

PEOPLE = {"Paul Muller": "Acteur·rice économique 13", "Marc Le Bihan": "Élu·e 5"}


def test_civility_and_participant_name_become_the_pseudonym_without_eating_the_next_word():
    p = Pseudonymiser(PEOPLE)
    assert p.apply("Merci monsieur Muller pour le camion.") == "Merci Acteur·rice économique 13 pour le camion."
    assert p.apply("M. Paul Muller arrive.") == "Acteur·rice économique 13 arrive."
    # a civility before someone who is not a participant keeps the civility, masks the name only
    assert p.apply("On a vu madame Caron hier.") == "On a vu madame [PERSONNE] hier."


def test_compound_given_name_is_masked_whole_never_tied_to_a_participant():
    p = Pseudonymiser(PEOPLE)
    out = p.apply("Jean-Marc est passé, puis Marc a parlé.")
    assert out == "[PERSONNE] est passé, puis Élu·e 5 a parlé."
    assert "Jean-Élu" not in out
    # a compound that is not a given name (a street) stays whole as well
    assert p.apply("rue Jean-Jaurès") == "rue Jean-Jaurès"


def test_a_second_pass_changes_nothing():
    p = Pseudonymiser(PEOPLE)
    once = p.apply("Merci monsieur Muller, et bonjour Jean-Marc et Patrick.")
    assert once == "Merci Acteur·rice économique 13, et bonjour [PERSONNE] et [PERSONNE]."
    assert p.apply(once) == once
    # an entity span that cuts into a hyphenated name masks the whole name
    assert p.apply("Avec Jean-Marc.", person_spans=[(10, 14)]) == "Avec [PERSONNE]."


def test_transcription_marks_are_not_masked():
    p = Pseudonymiser(PEOPLE)
    text = "Marc [rires] (Silence) [Inaudible] bon."
    assert p.apply(text) == "Élu·e 5 [rires] (Silence) [Inaudible] bon."
