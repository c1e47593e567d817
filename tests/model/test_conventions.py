"""Transcription conventions: kept in the displayed text, never counted as words (#13)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import spacy

from analyse import nlp
from analyse.analysis.specificities import specificities
from analyse.model import conventions
from analyse.model.corpus import load_corpus, segments_frame

from tests.helpers import FRONT_MATTER, write_doc

MARKS = ["(rires)", "[rires]", "[Rires]", "[inaudible]", "(silence)", "[00:12:31]", "(pause 3 s)", "…"]


def test_each_documented_mark_is_recognised_and_words_are_not():
    for mark in MARKS:
        assert conventions.is_convention(mark), mark
    for word in ("rires", "(le maire)", "[PERSONNE]", "silence"):
        assert not conventions.is_convention(word), word
    text = "On a ri (rires) [00:12:31] et puis… bon [inaudible]"
    assert [text[s:e] for s, e in conventions.spans(text)] == ["(rires)", "[00:12:31]", "…", "[inaudible]"]
    assert len(conventions.blank(text)) == len(text)


def test_a_project_adds_its_own_conventions():
    assert not conventions.is_convention("{toux}")
    assert conventions.is_convention("{toux}", extra=[r"\{[^}]*\}"])


def test_marks_are_absent_from_tokens_and_specificities_but_kept_in_the_text(tmp_path: Path):
    corpus_dir = tmp_path / "corpus"
    body = ("**P1 (élue)** : Les jardins partagés (rires) [Rires] ont pris. [00:12:31] Les jardins… "
            "(rires) [inaudible] les jardins encore.\n\n**P2 (DGS)** : Le budget (silence) du budget.\n")
    write_doc(corpus_dir, "le-mene", "le-mene-a", FRONT_MATTER.format(id="le-mene-a", territory="le-mene") + body)
    body2 = "**P1 (élue)** : La mairie et la mairie (rires) encore la mairie.\n"
    write_doc(corpus_dir, "malaunay", "malaunay-a", FRONT_MATTER.format(id="malaunay-a", territory="malaunay") + body2)
    corpus = load_corpus(corpus_dir)
    layer = nlp.NLPLayer(spacy.blank("fr"), cache_dir=tmp_path / "cache", progress=False)
    tokens = nlp.token_frame(corpus, layer)
    words = set(tokens["text"].str.lower())
    assert not words & {"rires", "inaudible", "silence", "00:12:31", "…", "(", "["}, words & {"rires"}
    assert "jardins" in words
    # the displayed text keeps them
    segs = segments_frame(corpus)
    assert "(rires) [Rires]" in segs["text"].iloc[0]
    tokens = tokens.assign(lemma=tokens["text"].str.lower(), pos="NOUN", is_stop=False)
    spec = specificities(tokens, segs)
    assert not set(spec["lemma"]) & {"rires", "rire", "inaudible", "silence"}
    assert {"jardins", "mairie"} <= set(spec["lemma"])
    assert isinstance(spec, pd.DataFrame)
