"""Codebook validation and rendering, on made-up and on the bundled codebook."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
import yaml

from analyse.model.codebook import CANONICAL_IDS, load_codebook, render_codebook, validate_codebook
from analyse.errors import CodebookError, UsageError

from tests.helpers import ROOT, make_codebook

BUNDLED = ROOT / "codebook" / "balises.yaml"


def _mode(cid, parent, **kw):
    code = {"id": cid, "label": cid, "dimension": "ENG", "kind": "mode", "parent": parent,
            "definition": "d", "include": ["i"], "exclude": ["e"], "examples": ["a", "b"],
            "keywords": ["k"]}
    code.update(kw)
    return code


def test_valid_codebook_loads_with_tree(tmp_path: Path):
    book = load_codebook(make_codebook(tmp_path / "cb.yaml", extra=[_mode("ENG.M1", "ENG.1")]))
    assert set(CANONICAL_IDS) <= set(book.codes)
    assert [c.id for c in book.children("ENG.1")] == ["ENG.M1"]
    tree = render_codebook(book, "tree")
    assert "\n    ENG.M1" in tree                      # indented under its parent


def test_missing_canonical_id_is_refused(tmp_path: Path):
    _, problems = validate_codebook(make_codebook(tmp_path / "cb.yaml", drop=("COOP.4",)))
    assert any("le code canonique « COOP.4 » manque" in p.message for p in problems.errors)


def test_duplicate_ids_unknown_parent_and_cycles(tmp_path: Path):
    path = make_codebook(tmp_path / "cb.yaml", extra=[
        _mode("ENG.M1", "ENG.9"), _mode("ENG.1", None),
        _mode("X.1", "X.2"), _mode("X.2", "X.1")])
    book, problems = validate_codebook(path)
    assert book is None
    text = "\n".join(str(p) for p in problems.errors)
    assert "le parent « ENG.9 » n'existe pas" in text
    assert "id de code « ENG.1 » en double" in text
    assert "cycle de parents X.1 -> X.2 -> X.1" in text
    dup = next(p for p in problems.errors if "en double" in p.message)
    assert dup.line and dup.line > 1


def test_empty_required_fields_are_named(tmp_path: Path):
    path = make_codebook(tmp_path / "cb.yaml", extra=[
        _mode("ENG.M2", None, definition="", examples=["seul"], exclude=[], keywords=[])])
    _, problems = validate_codebook(path)
    text = "\n".join(p.message for p in problems.errors)
    assert "ENG.M2 : « definition » est vide" in text
    assert "ENG.M2 : moins de 2 exemples" in text
    assert "ENG.M2 : les critères « exclude » sont vides" in text
    assert "ENG.M2 : ni mots-clés ni motifs" in text


def test_bad_pattern_and_bad_kind(tmp_path: Path):
    path = make_codebook(tmp_path / "cb.yaml", extra=[
        _mode("ENG.M3", None, kind="truc", patterns=[[{"LEMMA": "a", "REGEXX": "b"}]])])
    _, problems = validate_codebook(path)
    text = "\n".join(p.message for p in problems.errors)
    assert "le type « truc »" in text and "clé(s) de motif non prise(s) en charge : ['REGEXX']" in text


def test_invalid_yaml_raises_one_clear_error(tmp_path: Path):
    path = tmp_path / "cb.yaml"
    path.write_text("version: 1\ncodes: [\n", encoding="utf-8")
    with pytest.raises(CodebookError, match="YAML invalide"):
        load_codebook(path)
    with pytest.raises(UsageError, match="introuvable"):
        load_codebook(tmp_path / "absent.yaml")


def test_csv_and_markdown_renderings(tmp_path: Path):
    book = load_codebook(make_codebook(tmp_path / "cb.yaml"))
    rows = list(csv.DictReader(io.StringIO(render_codebook(book, "csv"))))
    assert [r["id"] for r in rows] == list(CANONICAL_IDS)
    md = render_codebook(book, "md")
    assert "| ENG.1 | Libellé ENG.1 | balise |" in md


@pytest.mark.skipif(not BUNDLED.exists(), reason="bundled codebook not written yet")
def test_bundled_codebook_is_valid_and_complete():
    book, problems = validate_codebook(BUNDLED)
    assert not problems.errors, [str(p) for p in problems.errors]
    assert book.version
    for cid in CANONICAL_IDS:
        code = book[cid]
        assert code.definition and len(code.examples) >= 2 and code.include and code.exclude
    kinds = {c.kind for c in book.codes.values()}
    assert {"balise", "mode", "dispositif", "concept"} <= kinds
    # every part has its modes de faire and dispositifs
    for dim in ("ENG", "SYS", "COOP", "VAL"):
        assert any(c.dimension == dim and c.kind == "mode" for c in book.codes.values())
        assert any(c.dimension == dim and c.kind == "dispositif" for c in book.codes.values())
    data = yaml.safe_load(BUNDLED.read_text(encoding="utf-8"))
    labels = " ".join(c["label"].lower() for c in data["codes"] if c["kind"] == "concept")
    for concept in ("écosystème", "immatérielles", "effets utiles", "externalités", "communs"):
        assert concept in labels
