"""Keyboard shortcuts, sent by the browser as custom messages of the text view (as anywidget does)."""

from __future__ import annotations

from pathlib import Path

import pytest

from analyse.model.codebook import load_codebook
from analyse.model.codings import CodingStore
from analyse.model.corpus import load_corpus
from analyse.ui.panel import CodingPanel
from analyse.ui.panel_widgets import KEYS


@pytest.fixture
def panel(project: Path):
    p = CodingPanel("le-mene-test", "B", corpus=load_corpus(project / "corpus"),
                    codebook=load_codebook(project / "codebook" / "balises.yaml"),
                    store=CodingStore(project / "corpus" / "codings"))
    p.widget()
    return p


def press(panel, key, alt=False):
    """What the browser sends when a key is pressed in the panel."""
    panel.text._handle_custom_msg({"event": "key", "key": key, "alt": alt}, [])


def _codes_on_disk(panel):
    # the replayed state of the coder's log (un-ticking appends a removal event)
    return [r["code"] for r in panel.store.records("B") if r.get("type") is None] if panel.store.path("B").exists() else []


def test_the_browser_is_told_which_keys_to_pass_on(panel):
    assert panel.text.shortcut_keys == list(KEYS)
    assert {"ArrowRight", "ArrowLeft", "j", "k", "u", "1", "9", "s", "Escape"} <= set(KEYS)


def test_next_previous_and_next_uncoded(panel):
    press(panel, "j")
    assert panel.index == 1
    press(panel, "ArrowRight")
    assert panel.index == 2 and "Segment 3 / 3" in panel.header.value
    press(panel, "k")
    press(panel, "ArrowLeft")
    assert panel.index == 0
    panel.toggle("ENG.1")
    panel.go(1)
    panel.toggle("ENG.1")
    panel.go(0)
    press(panel, "u")
    assert panel.segment.id == "le-mene-test#3"
    panel.toggle("ENG.1")
    press(panel, "u")                                  # all coded: said, nothing moves
    assert panel.index == 2 and "chaque segment de ce document a un code" in panel.status.value
    press(panel, "x")                                  # not a shortcut: nothing happens
    assert panel.index == 2


def test_digits_tick_the_nth_code_shown(panel):
    # nothing open, nothing searched: no code is numbered
    assert panel.visible_codes() == [] and not any(cb.description.startswith("[") for cb in panel.checkboxes.values())
    press(panel, "1")
    assert "pas de code n° 1" in panel.status.value and _codes_on_disk(panel) == []
    panel.tree.selected_index = 0                      # the ENG dimension opened
    assert panel.visible_codes()[:2] == ["ENG.1", "ENG.2"]
    assert panel.checkboxes["ENG.2"].description == "[2] ENG.2 — Libellé ENG.2"
    press(panel, "2")
    assert _codes_on_disk(panel) == ["ENG.2"] and panel.checkboxes["ENG.2"].value
    press(panel, "2")                                  # again: off
    assert _codes_on_disk(panel) == [] and not panel.checkboxes["ENG.2"].value
    panel.search.value = "coop.3"                      # a search: its matches are numbered
    assert panel.visible_codes() == ["COOP.3"] and panel.checkboxes["COOP.3"].description.startswith("[1] ")
    assert not panel.checkboxes["ENG.2"].description.startswith("[")
    press(panel, "1", alt=True)                        # Alt+1 from the search box
    assert _codes_on_disk(panel) == ["COOP.3"]


def test_a_digit_codes_the_selected_passage_and_escape_clears_it(panel):
    panel.search.value = "SYS.2"
    panel.text.selection = [0, 7]                      # selected in the browser
    press(panel, "1")
    (rec,) = [r for r in panel.store.records("B") if r.get("type") is None]
    assert (rec["code"], rec["quote"]) == ("SYS.2", panel.segment.text[:7])
    assert panel.selection is None
    panel.text.selection = [0, 7]
    press(panel, "Escape")
    assert panel.selection is None and panel.text.selection == []


def test_s_asks_for_suggestions_and_says_so_when_there_are_none(panel):
    press(panel, "s")
    assert "aucun fichier de suggestions" in panel.status.value
