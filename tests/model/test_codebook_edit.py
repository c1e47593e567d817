"""The evolving codebook: add, rename, merge, split, retire; codings migrated with no loss; refusals."""

from __future__ import annotations

import datetime
import difflib
import json
import shutil
from collections import Counter
from pathlib import Path

import pytest
import yaml

from analyse.errors import CodebookError, UsageError
from analyse.model.codebook import load_codebook, render_codebook
from analyse.model.codebook_edit import CodebookEditor
from analyse.model.codings import CodingStore, coding_record, load_codings
from analyse.model.corpus import load_corpus
from tests.helpers import ROOT, make_codebook, run_cli


def _code(cid, parent="ENG.1", kind="mode", dim="ENG"):
    return {"id": cid, "label": f"Libellé {cid}", "dimension": dim, "kind": kind, "parent": parent,
            "definition": f"Définition de {cid}.", "include": ["quand"], "exclude": ["sinon"],
            "examples": ["un", "deux"], "keywords": [f"mot{cid}"]}


@pytest.fixture
def proj(project: Path):
    """The tiny project with ENG.M1 (child ENG.D1) and ENG.M2 under ENG.1, coded by A and B."""
    make_codebook(project / "codebook" / "balises.yaml",
                  extra=[_code("ENG.M1"), _code("ENG.D1", parent="ENG.M1", kind="dispositif"), _code("ENG.M2")])
    corpus = load_corpus(project / "corpus")
    store = CodingStore(project / "corpus" / "codings")
    s = {x.id: x for x in corpus.segments}
    store.append("A", [coding_record(s["le-mene-test#1"], "ENG.M1", "A", memo="premier"),
                       coding_record(s["le-mene-test#2"], "ENG.M1", "A"),
                       coding_record(s["le-mene-test#3"], "ENG.M1", "A"),
                       coding_record(s["le-mene-test#1"], "ENG.M2", "A", memo="second"),
                       coding_record(s["malaunay-test#1"], "ENG.1", "A"),
                       coding_record(s["malaunay-test#2"], "ENG.D1", "A")])
    store.append("B", [coding_record(s["le-mene-test#2"], "ENG.M1", "B"),
                       {"type": "coverage", "doc": "le-mene-test", "coder": "B", "at": "2026-11-30T10:00:00+00:00"}])
    editor = CodebookEditor(project / "codebook" / "balises.yaml", store)
    return project, corpus, store, editor


def _codes(store) -> Counter:
    return Counter((r["coder"], r["code"]) for c in store.coders() for r in store.records(c) if r.get("type") != "coverage")


def _snapshot(project: Path) -> dict:
    return {p: p.read_bytes() for p in sorted(project.rglob("*")) if p.is_file() and not p.name.endswith(".lock")}


def test_rename_migrates_every_coding_and_reparents_children(proj):
    project, corpus, store, editor = proj
    before = _codes(store)
    report = editor.rename("ENG.M1", "ENG.M7", author="Claire")
    after = _codes(store)
    assert sum(after.values()) == sum(before.values()) == 7
    assert after[("A", "ENG.M7")] == 3 and after[("B", "ENG.M7")] == 1 and ("A", "ENG.M1") not in after
    assert report.migrated == {"A": 3, "B": 1} and report.version_after == "0.1.0"
    book = load_codebook(project / "codebook" / "balises.yaml")
    assert "ENG.M1" not in book and book["ENG.D1"].parent == "ENG.M7" and book.version == "0.1.0"
    assert load_codings(corpus, book, store.folder).problems.errors == []
    assert len([r for r in store.records("B") if r.get("type") == "coverage"]) == 1   # coverage kept
    memo = [r for r in store.records("A") if r.get("memo") == "premier"]
    assert memo and memo[0]["code"] == "ENG.M7"
    log = (project / "codebook" / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "## 0.1.0" in log and "renommage ENG.M1 → ENG.M7" in log and "par Claire" in log
    with pytest.raises(UsageError, match="reste réservé"):                 # ids are never reused
        editor.add(_code("ENG.M1"))


@pytest.mark.parametrize("action", [
    lambda ed: ed.rename("ENG.1", "ENG.9"),
    lambda ed: ed.merge("COOP.3", "COOP.1"),
    lambda ed: ed.retire("MGT"),
    lambda ed: ed.retire("ECH", into="MGT"),
    lambda ed: ed.retire("ENG.M1"),                         # used by 4 codings, no --into
    lambda ed: ed.retire("ENG.M2", into="NOPE"),
    lambda ed: ed.rename("ENG.M1", "ENG.M2"),               # target exists
    lambda ed: ed.rename("ENG.M1", "eng m1"),
    lambda ed: ed.merge("ENG.M1", "ENG.D1"),                 # into its own child
    lambda ed: ed.split("ENG.M1", {}),                       # a split needs rules
    lambda ed: ed.split("ENG.1", {"ENG.M8": "voisin"}),      # a balise's children need --kind
    lambda ed: ed.add({**_code("ENG.M9"), "examples": ["un seul"]}),   # invalid codebook after the change
])
def test_refusals_leave_every_file_untouched(proj, action):
    project, _, store, editor = proj
    before = _snapshot(project)
    with pytest.raises((UsageError, CodebookError)):
        action(editor)
    assert _snapshot(project) == before


def test_retire_refusal_names_the_codings(proj):
    with pytest.raises(UsageError, match=r"4 codage\(s\) \(A 3, B 1\)"):
        proj[3].retire("ENG.M1")


def test_merge_folds_duplicates_and_keeps_their_memos(proj):
    project, corpus, store, editor = proj
    report = editor.merge("ENG.M2", "ENG.M1")
    after = _codes(store)
    # A had ENG.M1 and ENG.M2 on le-mene-test#1: one coding remains, with both memos
    assert after[("A", "ENG.M1")] == 3 and ("A", "ENG.M2") not in after and sum(after.values()) == 6
    assert report.merged_duplicates == {"A": 1} and report.version_after == "1.0.0"
    (kept,) = [r for r in store.records("A") if "premier" in (r.get("memo") or "")]
    assert kept["memo"] == "premier | second"
    data = yaml.safe_load((project / "codebook" / "balises.yaml").read_text(encoding="utf-8"))
    assert [r["id"] for r in data["retired"]] == ["ENG.M2"] and data["retired"][0]["merged_into"] == "ENG.M1"


def test_retire_with_into_and_retire_unused(proj):
    project, corpus, store, editor = proj
    report = editor.retire("ENG.D1", into="ENG.M2")
    assert report.action == "retire" and "retrait de ENG.D1" in report.summary
    assert "retrait de ENG.D1 (ses codages" in (project / "codebook" / "CHANGELOG.md").read_text(encoding="utf-8")
    assert _codes(store)[("A", "ENG.M2")] == 2 and sum(_codes(store).values()) == 7
    editor.add(_code("ENG.M5"))
    report = editor.retire("ENG.M5")
    assert report.migrated == {} and "ENG.M5" not in load_codebook(project / "codebook" / "balises.yaml")
    data = yaml.safe_load((project / "codebook" / "balises.yaml").read_text(encoding="utf-8"))
    assert [r["id"] for r in data["retired"]] == ["ENG.D1", "ENG.M5"] and data["version"] == "2.0.0"   # major, minor, major


def test_split_moves_codings_by_rule_and_keeps_the_rest_on_the_parent(proj):
    project, corpus, store, editor = proj
    # quotes: #1 « Bonjour à tous… », #2 « Deuxième paragraphe… accents… », #3 « Le café est au fond. »
    report = editor.split("ENG.M1", {"ENG.M1.1": r"café|thé", "ENG.M1.2": "accents"},
                          labels={"ENG.M1.1": "Convivialité"}, author="Paul")
    after = _codes(store)
    assert sum(after.values()) == 7
    assert (after[("A", "ENG.M1.1")], after[("A", "ENG.M1.2")], after[("A", "ENG.M1")]) == (1, 1, 1)
    assert after[("B", "ENG.M1.2")] == 1
    book = load_codebook(project / "codebook" / "balises.yaml")
    assert book["ENG.M1.1"].parent == "ENG.M1" and book["ENG.M1.1"].label == "Convivialité"
    assert [c.id for c in book.children("ENG.M1")] == ["ENG.M1.1", "ENG.M1.2", "ENG.D1"] or \
        {c.id for c in book.children("ENG.M1")} == {"ENG.M1.1", "ENG.M1.2", "ENG.D1"}
    assert report.migrated == {"A": 2, "B": 1}


def test_dry_run_writes_nothing(proj):
    project, _, store, editor = proj
    before = _snapshot(project)
    report = editor.rename("ENG.M1", "ENG.M7", dry_run=True)
    assert report.migrated == {"A": 3, "B": 1} and not report.written and _snapshot(project) == before


def test_bundled_codebook_keeps_its_comments_and_layout(tmp_path: Path):
    shutil.copytree(ROOT / "codebook", tmp_path / "codebook")
    shutil.copytree(ROOT / "corpus" / "codings", tmp_path / "codings")
    path = tmp_path / "codebook" / "balises.yaml"
    original = path.read_text(encoding="utf-8")
    store = CodingStore(tmp_path / "codings")
    before = _codes(store)
    report = CodebookEditor(path, store).rename("ENG.M1", "ENG.M9")
    after = _codes(store)
    assert sum(after.values()) == sum(before.values())
    assert after[("A", "ENG.M9")] == before[("A", "ENG.M1")] == 21 and after[("B", "ENG.M9")] == 4
    new = path.read_text(encoding="utf-8")
    diff = [line for line in difflib.unified_diff(original.splitlines(), new.splitlines(), lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    # comments and layout kept: only the version, the id and the new `retired` list differ
    assert sorted(diff) == sorted([
        '-version: "1.1.0"', '+version: "1.2.0"', "-  - id: ENG.M1", "+  - id: ENG.M9",
        "+# Identifiants retirés : réservés, jamais réutilisés (analyse codebook).", "+retired:",
        f'+  - {{"id": "ENG.M1", "renamed_to": "ENG.M9", "date": "{datetime.date.today().isoformat()}"}}'])
    assert any("→ ENG.M1" in line for line in report.to_review)          # texts still naming the old id
    book = load_codebook(path)
    assert len(book.codes) == len(load_codebook(ROOT / "codebook" / "balises.yaml").codes)


def test_cli_codebook_display_unchanged_and_actions(proj, capsys):
    project, corpus, store, editor = proj
    expected = render_codebook(load_codebook(project / "codebook" / "balises.yaml"), "csv")
    code, out = run_cli(project, "codebook", "--format", "csv", capsys=capsys)
    assert code == 0 and out.out == expected
    code, out = run_cli(project, "codebook", "rename", "ENG.M1", "ENG.M7", "--dry-run", capsys=capsys)
    assert code == 0 and "essai à blanc" in out.out and "A 3, B 1" in out.out
    code, out = run_cli(project, "codebook", "retire", "ENG.M1", capsys=capsys)
    assert code == 2 and "orphelinerait" in out.err
    code, out = run_cli(project, "codebook", "split", "ENG.M1", "ENG.M1.1", capsys=capsys)
    assert code == 2 and "règle" in out.err
    code, out = run_cli(project, "codebook", "split", "ENG.M1", "--rule", "ENG.M1.1=café", capsys=capsys)
    assert code == 0 and "grille écrite" in out.out
    code, out = run_cli(project, "codebook", "add", "CON.9", "--label", "Communs", "--dimension", "CON",
                        "--kind", "concept", "--definition", "Les communs.", "--include", "quand",
                        "--exclude", "sinon", "--example", "un", "--example", "deux", "--keyword", "communs",
                        capsys=capsys)
    assert code == 0, out.err
    code, out = run_cli(project, "codebook", "merge", "ENG.M2", capsys=capsys)
    assert code == 2 and "--into" in out.err
    book = load_codebook(project / "codebook" / "balises.yaml")
    assert "CON.9" in book and "ENG.M1.1" in book and book.version == "0.2.0"
    log = (project / "codebook" / "CHANGELOG.md").read_text(encoding="utf-8")
    assert log.count("\n## ") == 3                                     # start + split + add
    assert json.loads(store.read_lines("A")[0])                       # files stay JSONL
