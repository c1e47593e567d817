"""The coders registry: loading, French errors, unregistered coder files in `analyse validate`."""

from __future__ import annotations

from pathlib import Path

import pytest

from analyse.errors import CodingsError
from analyse.model.coders import load_registry, validate_registry
from analyse.model.codings import CodingStore, coding_record
from analyse.model.corpus import load_corpus
from tests.helpers import ROOT, run_cli

GOOD = """\
# un commentaire
coders:
  - id: A
    who: "Claire"
    kind: human
    since: 2026-01-15
    blind: false
    method: "À la main dans le panneau."
"""


def test_bundled_registry_describes_both_coders_honestly():
    registry = load_registry(ROOT / "corpus" / "codings")
    assert set(registry.coders) == set(CodingStore(ROOT / "corpus" / "codings").coders())   # every file described
    assert {"A", "B"} <= set(registry.coders)
    assert {c.kind for c in registry.coders.values()} == {"llm"}          # no bundled coding was made by hand
    assert registry["B"].blind and not registry["A"].blind
    assert "modèle de langage" in registry["A"].method
    assert "coders.yaml" in (ROOT / "corpus" / "README.md").read_text(encoding="utf-8")


def test_registry_loads_and_absent_registry_is_none(tmp_path: Path):
    assert load_registry(tmp_path) is None
    (tmp_path / "coders.yaml").write_text(GOOD, encoding="utf-8")
    registry = load_registry(tmp_path)
    assert registry["A"].since == "2026-01-15" and registry["A"].is_human


@pytest.mark.parametrize("edit, message", [
    (lambda t: t.replace("kind: human", "kind: robot"), "type « robot » inconnu"),
    (lambda t: t.replace("since: 2026-01-15", "since: hier"), "n'est pas une date"),
    (lambda t: t.replace("blind: false", "blind: peut-être"), "doit valoir true ou false"),
    (lambda t: t.replace('    method: "À la main dans le panneau."\n', ""), "champ(s) manquant(s) : method"),
    (lambda t: t + t.split("coders:\n")[1], "décrit deux fois"),
    (lambda t: t.replace("id: A", "id: A/B"), "identifiant de codeur invalide"),
    (lambda t: t.replace("coders:", "codeurs:"), "clé « coders »"),
    (lambda t: t.replace("kind: human", "kind: [human"), "YAML invalide"),
])
def test_registry_errors_are_french_and_located(tmp_path: Path, edit, message):
    (tmp_path / "coders.yaml").write_text(edit(GOOD), encoding="utf-8")
    registry, problems = validate_registry(tmp_path / "coders.yaml")
    assert registry is None and any(message in p.message for p in problems.errors), list(problems)
    assert all(p.line for p in problems.errors if "clé" not in p.message and "YAML" not in p.message)
    with pytest.raises(CodingsError, match="coders.yaml"):
        load_registry(tmp_path)


def test_validate_warns_about_unregistered_coder_files(project: Path, capsys):
    corpus = load_corpus(project / "corpus")
    store = CodingStore(project / "corpus" / "codings")
    store.append("A", [coding_record(corpus.segments[0], "ENG.1", "A")])
    store.append("C", [coding_record(corpus.segments[0], "ENG.2", "C")])
    code, out = run_cli(project, "validate", capsys=capsys)
    assert code == 0 and "2 avertissement(s)" in out.out and "n'est pas décrit dans le registre" in out.out
    (project / "corpus" / "codings" / "coders.yaml").write_text(GOOD, encoding="utf-8")
    code, out = run_cli(project, "validate", capsys=capsys)
    assert code == 0 and "1 avertissement(s)" in out.out and "C.jsonl: attention: le codeur C" in out.out
    (project / "corpus" / "codings" / "coders.yaml").write_text(GOOD.replace("human", "robot"), encoding="utf-8")
    code, out = run_cli(project, "validate", capsys=capsys)
    assert code == 1 and "type « robot » inconnu" in out.out
