"""IRaMuTeQ text format: export of the corpus and reading it back."""

from __future__ import annotations

from pathlib import Path

import pytest

from analyse.errors import UsageError
from analyse.exchange.iramuteq import format_iramuteq, iramuteq_texts, parse_iramuteq, read_iramuteq, write_iramuteq
from analyse.model.corpus import load_corpus

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def corpus():
    return load_corpus(ROOT / "corpus")


def test_round_trip_keeps_variables_and_texts(corpus, tmp_path):
    texts = iramuteq_texts(corpus)
    path = tmp_path / "corpus.txt"
    assert write_iramuteq(corpus, path) == len(texts)
    back = read_iramuteq(path)
    assert [t.variables for t in back] == [t.variables for t in texts]
    assert {t.variables["territoire"] for t in back} == set(corpus.territories) | {"inter-territoires"}
    assert {t.variables["role"] for t in back} <= {"elu", "services", "acteur-economique", "citoyen", "animateur",
                                                   "autre", "narration"}
    # Texts come back as written (stars removed, spaces normalised), one line per segment.
    for a, b in zip(texts, back):
        assert b.text == "\n".join(" ".join(line.replace("*", " ").split()) for line in a.text.split("\n"))


def test_one_text_per_turn_and_star_lines(corpus):
    text = format_iramuteq(iramuteq_texts(corpus))
    stars = [line for line in text.splitlines() if line.startswith("****")]
    turns = {(s.doc, s.turn) for s in corpus.segments if s.turn} | {s.id for s in corpus.segments if not s.turn}
    assert len(stars) <= len(turns)
    assert all(" *territoire_" in line and " *role_" in line and " *atelier_" in line for line in stars)
    assert all("-" not in line for line in stars)                     # hyphens written as underscores
    assert "**** *territoire_le_mene" in text


def test_facilitators_can_be_left_out(corpus):
    texts = iramuteq_texts(corpus, leave_out_roles=("animateur",))
    assert texts and all(t.variables["role"] != "animateur" for t in texts)


def test_reader_reports_bad_input():
    with pytest.raises(UsageError):
        parse_iramuteq("du texte sans ligne étoilée\n")
    parsed = parse_iramuteq("\ufeff**** *territoire_malaunay\n-*theme_energie\nUne ligne.\nUne autre.\n")
    assert parsed[0].themes == ["theme_energie"] and parsed[0].text == "Une ligne.\nUne autre."
