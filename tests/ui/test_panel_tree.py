"""The codebook as a searchable tree beside the text, definitions on hover; suggestions only on demand,
never for a blind coder (a second coder on a document is blind by default)."""

from __future__ import annotations

from pathlib import Path

import pytest

from analyse.coding.suggestions import SuggestionFile
from analyse.errors import UsageError
from analyse.model.codebook import load_codebook
from analyse.model.codings import CodingStore, coding_record
from analyse.model.corpus import load_corpus
from analyse.ui.panel import CodingPanel
from analyse.ui.panel_widgets import codebook_tree
from analyse.ui.workbench import Workbench
from tests.helpers import make_codebook

EXTRA = [  # sub-codes written after the balises, as in codebook/balises.yaml
    {"id": "ENG.D1", "label": "Dispositif sous un mode", "dimension": "ENG", "kind": "dispositif", "parent": "ENG.M1",
     "definition": "Un dispositif rangé sous ENG.M1.", "include": ["quand"], "exclude": ["sinon"],
     "examples": ["un", "deux"], "keywords": ["motd1"]},
    {"id": "ENG.M1", "label": "Mode de faire", "dimension": "ENG", "kind": "mode", "parent": "ENG.1",
     "definition": "Un mode de faire de la balise ENG.1.", "include": ["un atelier ouvert"],
     "exclude": ["une réunion fermée"], "examples": ["un", "deux"], "keywords": ["motm1"]},
]


@pytest.fixture
def book(project: Path):
    return load_codebook(make_codebook(project / "codebook" / "balises.yaml", extra=EXTRA))


def _panel(project, book, **kw):
    return CodingPanel("le-mene-test", "B", corpus=load_corpus(project / "corpus"), codebook=book,
                       store=CodingStore(project / "corpus" / "codings"), **kw)


def test_tree_is_dimension_balise_subcodes_with_definitions_on_hover(project: Path, book):
    tree = dict(codebook_tree(book))
    assert [(c.id, depth) for c, depth in tree["ENG"][:4]] == [("ENG.1", 0), ("ENG.M1", 1), ("ENG.D1", 2), ("ENG.2", 0)]
    assert list(tree)[:2] == ["ENG", "SYS"]
    panel = _panel(project, book)
    box = panel.widget()
    left, right = box.children[2].children                     # the text on the left, the tree beside it
    assert panel.text in left.children and panel.tree in right.children and panel.search in right.children
    assert panel.tree.titles[0] == "ENG — ENG"
    assert [cb.description for cb in panel.tree.children[0].children][:3] == [
        "ENG.1 — Libellé ENG.1", "ENG.M1 — Mode de faire", "ENG.D1 — Dispositif sous un mode"]
    assert panel.checkboxes["ENG.D1"].layout.margin == "0 0 0 3.0em"
    tip = panel.checkboxes["ENG.M1"].tooltip                    # shown on hover (the title attribute)
    assert tip.splitlines() == ["ENG.M1 — Mode de faire", "Un mode de faire de la balise ENG.1.",
                                "Inclure : un atelier ouvert", "Exclure : une réunion fermée"]


def test_search_keeps_the_matches_in_their_place_in_the_tree(project: Path, book):
    panel = _panel(project, book)
    panel.widget()
    panel.tree.selected_index = 2
    panel.search.value = "dispositif rangé"                    # typed in the search box
    shown = {cid for cid, cb in panel.checkboxes.items() if cb.layout.display != "none"}
    assert shown == {"ENG.D1", "ENG.M1", "ENG.1"}                # the match and the codes above it
    assert panel.tree.selected_index == 0 and panel.visible_codes() == ["ENG.D1"]
    panel.search.value = ""
    assert all(cb.layout.display is None for cb in panel.checkboxes.values())


def _suggestions(project, corpus):
    s = corpus.segments_of("le-mene-test")[0]
    sf = SuggestionFile(project / "sugg.jsonl")
    sf.write([{"doc": s.doc, "start": s.start, "end": s.end, "quote": s.text, "coder": "rule", "code": "ENG.3",
               "score": 0.9, "at": "2026-01-01T00:00:00+00:00", "origin": "rule", "memo": "", "segment": s.id}])
    return sf


def test_suggestions_only_when_asked_and_only_for_that_segment(project: Path, book):
    corpus = load_corpus(project / "corpus")
    panel = _panel(project, book, suggestions=_suggestions(project, corpus))
    panel.widget()
    assert "sur demande" in panel.suggestions.children[0].value and panel.b_suggest.layout.display is None
    panel.b_suggest.click()
    assert panel.suggestions.children[0].children[2].value.startswith("ENG.3")
    panel.next()
    assert "sur demande" in panel.suggestions.children[0].value      # another segment: ask again
    panel.previous()
    assert "sur demande" in panel.suggestions.children[0].value


def test_a_blind_coder_never_sees_suggestions(project: Path, book):
    corpus = load_corpus(project / "corpus")
    panel = _panel(project, book, suggestions=_suggestions(project, corpus), blind=True)
    panel.widget()
    assert panel.suggestion_file is None and panel.b_suggest.layout.display == "none"
    assert "Codage à l&#x27;aveugle" in panel.suggestions.children[0].value
    with pytest.raises(UsageError, match="aveugle"):
        panel.ask_suggestions()
    panel.text._handle_custom_msg({"event": "key", "key": "s", "alt": False}, [])
    assert "aveugle" in panel.status.value and panel.pending_suggestions() == []


def test_a_second_coder_on_a_document_is_blind_by_default(project: Path, book):
    corpus = load_corpus(project / "corpus")
    store = CodingStore(project / "corpus" / "codings")
    store.append("A", [coding_record(corpus.segments_of("le-mene-test")[0], "ENG.2", "A",
                                     at="2026-11-01T10:00:00+00:00")])
    (project / "corpus" / "codings" / "coders.yaml").write_text(
        "coders:\n  - {id: C, who: Claire, kind: human, since: 2026-11-30, blind: false, method: panneau}\n",
        encoding="utf-8")
    bench = Workbench(corpus, book, store, suggestions=_suggestions(project, corpus))
    bench.widget()
    bench.choose_document("le-mene-test")
    bench.choose_coder("F")                                    # not in the registry, A coded this document first
    assert bench.panel.blind and bench.panel.suggestion_file is None
    assert "un autre codeur a codé ce document avant vous" in bench.message.value
    assert bench.blind_reason("A") is None                     # the first coder is not blind
    bench.choose_coder("C")                                    # the registry says C is not blind
    assert not bench.panel.blind and bench.panel.suggestion_file is not None
    bench.choose_document("malaunay-test")                     # nobody coded it yet
    bench.choose_coder("F")
    assert not bench.panel.blind
    bench.panel.toggle("ENG.1")
    assert bench.blind_reason("F") is None                     # F is now the first on malaunay-test


def test_codes_in_a_parent_cycle_are_still_in_the_tree():
    from types import SimpleNamespace as NS

    codes = {cid: NS(id=cid, dimension="ENG", parent=parent)
             for cid, parent in [("ENG.1", None), ("ENG.X", "ENG.Y"), ("ENG.Y", "ENG.X")]}
    book = NS(dimensions={"ENG": "Engagement", "SYS": "vide"}, codes=codes)
    assert [(dim, [(c.id, d) for c, d in rows]) for dim, rows in codebook_tree(book)] == [
        ("ENG", [("ENG.1", 0), ("ENG.X", 0), ("ENG.Y", 0)])]
