"""Memos on every kind of object: targets, signature, atomic appends, the CLI."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from analyse.errors import UsageError
from analyse.model.codebook import load_codebook
from analyse.model.codings import CodingStore, coding_record, load_codings
from analyse.model.corpus import load_corpus
from analyse.model.memos import MEMO_FIELDS, MemoStore, check_target, parse_target, validate_memos
from tests.helpers import run_cli


def test_memo_on_each_target_type_is_dated_signed_and_listed(tmp_path: Path):
    store = MemoStore(tmp_path / "memos.jsonl")
    for spec in ["segment:d#1", "coding:A:d#1:ENG.1", "document:d", "code:ENG.1", "territory:le-mene", "project"]:
        kind, target = parse_target(spec)
        store.add(kind, target, f"mémo sur {spec}", "Claire")
    lines = [json.loads(line) for line in (tmp_path / "memos.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["target_type"] for r in lines] == ["segment", "coding", "document", "code", "territory", "project"]
    assert all(tuple(r) == MEMO_FIELDS and r["author"] == "Claire" and r["at"].endswith("+00:00") for r in lines)
    assert len({r["id"] for r in lines}) == 6
    assert [r["text"] for r in store.find("code", "ENG.1")] == ["mémo sur code:ENG.1"]
    assert [r["target"] for r in store.find("project")] == [""]
    assert store.find(author="Personne") == []


def test_bad_targets_and_unsigned_memos_are_refused(project: Path):
    corpus = load_corpus(project / "corpus")
    book = load_codebook(project / "codebook" / "balises.yaml")
    for spec, message in [("chapitre:1", "cible de mémo inconnue"), ("segment", "il manque l'identifiant"),
                          ("project:x", "n'a pas d'identifiant")]:
        with pytest.raises(UsageError, match=message):
            parse_target(spec)
    for kind, target, message in [("segment", "le-mene-test#9", "segment inconnu"),
                                  ("document", "nulle", "document inconnu"),
                                  ("territory", "atlantide", "territoire inconnu"),
                                  ("code", "ENG.9", "code inconnu"), ("coding", "A:x", "codage mal désigné")]:
        with pytest.raises(UsageError, match=message):
            check_target(kind, target, corpus, book)
    CodingStore(project / "corpus" / "codings").append("A", [coding_record(corpus.segments[0], "ENG.1", "A")])
    codings = load_codings(corpus, book, project / "corpus" / "codings")
    check_target("coding", "A:le-mene-test#1:ENG.1", corpus, book, codings)
    with pytest.raises(UsageError, match="aucun codage ENG.2"):
        check_target("coding", "A:le-mene-test#1:ENG.2", corpus, book, codings)
    store = MemoStore(project / "corpus" / "memos.jsonl")
    with pytest.raises(UsageError, match="signé"):
        store.add("project", "", "texte", " ")
    with pytest.raises(UsageError, match="vide"):
        store.add("project", "", "  ", "Claire")
    assert not store.path.exists()


def _add_many(path, who, n):
    store = MemoStore(path)
    for i in range(n):
        store.add("project", "", f"{who} {i}", who)


def test_concurrent_writers_lose_no_memo_and_keep_unreadable_lines(tmp_path: Path):
    path = tmp_path / "memos.jsonl"
    path.write_text("pas du json\n", encoding="utf-8")
    procs = [multiprocessing.Process(target=_add_many, args=(path, who, 15)) for who in ("A", "B")]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "pas du json" and len(lines) == 31
    assert len(MemoStore(path).records()) == 30
    assert [p.line for p in validate_memos(path)] == [1]
    assert not list(tmp_path.glob("*.tmp"))


def test_cli_memo_add_and_list(project: Path, capsys):
    code, out = run_cli(project, "memo", "add", "--on", "segment:le-mene-test#2", "--author", "Claire",
                        "Le passage sur l'été revient à Malaunay.", capsys=capsys)
    assert code == 0 and "ajouté sur segment:le-mene-test#2" in out.out
    code, out = run_cli(project, "memo", "add", "--on", "project", "--author", "Paul", "Réunion du 30.",
                        capsys=capsys)
    assert code == 0
    code, out = run_cli(project, "memo", "add", "--on", "code:NOPE", "--author", "Paul", "x", capsys=capsys)
    assert code == 2 and "code inconnu « NOPE »" in out.err
    with pytest.raises(SystemExit) as exc:                           # a memo is signed
        run_cli(project, "memo", "add", "--on", "segment:x#1", "x")
    assert exc.value.code == 2 and "--author" in capsys.readouterr().err
    code, out = run_cli(project, "memo", "list", capsys=capsys)
    assert "2 mémo(s)" in out.out and "Claire — segment:le-mene-test#2" in out.out
    code, out = run_cli(project, "memo", "list", "--on", "segment", "--json", capsys=capsys)
    (rec,) = [json.loads(line) for line in out.out.splitlines()]
    assert rec["text"] == "Le passage sur l'été revient à Malaunay."
    code, out = run_cli(project, "memo", "list", "--on", "project", capsys=capsys)
    assert "Réunion du 30." in out.out and "1 mémo(s)" in out.out
    code, out = run_cli(project, "validate", capsys=capsys)
    assert code == 0


def test_validate_warns_about_memos_whose_target_is_gone(project: Path, capsys):
    store = MemoStore(project / "corpus" / "memos.jsonl")
    store.add("code", "ENG.1", "toujours là", "Claire")
    store.add("code", "ENG.M1", "code disparu", "Claire")
    store.add("document", "ancien-doc", "document disparu", "Claire")
    code, out = run_cli(project, "validate", capsys=capsys)
    assert code == 0 and "2 avertissement(s)" in out.out
    assert "memos.jsonl:2: attention: mémo" in out.out and "code inconnu « ENG.M1 »" in out.out
    assert "document inconnu « ancien-doc »" in out.out
