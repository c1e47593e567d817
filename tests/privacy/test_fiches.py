"""Fiches de décontextualisation: pre-filled, never overwritten, checked with French messages."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
import yaml

from analyse.cli import main
from analyse.model.corpus import load_corpus
from analyse.privacy.fiches import REQUIRED, prefill_fiches, validate_fiches
from tests.helpers import ROOT


@pytest.fixture(scope="module")
def corpus():
    return load_corpus(ROOT / "corpus")


def _table():
    return pd.DataFrame([
        {"code": "ENG.1", "label": "Proximité", "class": "invariant robuste", "segments": 12, "territories": 2,
         "n_territories": 2, "D": 0.9, "D_low": 0.7, "D_high": 0.95},
        {"code": "ENG.2", "label": "Autre", "class": "partagé", "segments": 3, "territories": 1,
         "n_territories": 2, "D": 0.2, "D_low": 0.1, "D_high": 0.3},
    ])


def _verbatims():
    return pd.DataFrame([
        {"code": "ENG.1", "territory": "le-mene", "rank": 1, "segment": "le-mene-engagement#16",
         "masked": "de [une commune voisine]", "risk": 0.0, "proposed": True},
        {"code": "ENG.1", "territory": "malaunay", "rank": 1, "segment": "malaunay-engagement#9",
         "masked": "Gérard Duval à Malaunay", "risk": 2.0, "proposed": False},
        {"code": "ENG.1", "territory": "malaunay", "rank": 2, "segment": "malaunay-engagement#8",
         "masked": "[un·e habitant·e]", "risk": 0.3, "proposed": True},
    ])


def test_prefill_writes_invariants_only_with_low_risk_verbatims(tmp_path, corpus):
    written, kept = prefill_fiches(tmp_path, _table(), _verbatims())
    assert [p.name for p in written] == ["ENG.1.yaml"] and kept == []
    fiche = yaml.safe_load((tmp_path / "ENG.1.yaml").read_text(encoding="utf-8"))
    assert set(REQUIRED) <= set(fiche)
    assert fiche["classe"] == "invariant robuste"
    assert fiche["diffusion"] == {"territoires": 2, "sur": 2, "segments": 12, "D": 0.9, "D_bas": 0.7, "D_haut": 0.95}
    assert [v["segment"] for v in fiche["verbatims"]] == ["le-mene-engagement#16", "malaunay-engagement#8"]
    assert {v["territoire"] for v in fiche["verbatims"]} == {"le-mene", "malaunay"}
    assert validate_fiches(tmp_path, ["ENG.1", "ENG.2"], corpus).items == []


def test_reliability_and_failing_territories_are_carried_when_the_table_has_them(tmp_path):
    table = _table().assign(reliability=[0.81, None], failing=["malaunay", ""])
    prefill_fiches(tmp_path, table, _verbatims())
    fiche = yaml.safe_load((tmp_path / "ENG.1.yaml").read_text(encoding="utf-8"))
    assert fiche["diffusion"]["fiabilite"] == 0.81
    assert len(fiche["contre_exemples"]) == 1 and "malaunay" in fiche["contre_exemples"][0]


def test_an_existing_fiche_is_never_overwritten(tmp_path):
    prefill_fiches(tmp_path, _table(), _verbatims())
    path = tmp_path / "ENG.1.yaml"
    edited = path.read_text(encoding="utf-8").replace("concept_operationnel: ''",
                                                      "concept_operationnel: Partir du quotidien.")
    path.write_text(edited, encoding="utf-8")
    written, kept = prefill_fiches(tmp_path, _table(), _verbatims().assign(masked="autre"))
    assert written == [] and kept == [path]
    assert path.read_text(encoding="utf-8") == edited


def test_validation_names_missing_field_unknown_code_and_foreign_verbatim(tmp_path, corpus):
    prefill_fiches(tmp_path, _table(), _verbatims())
    good = yaml.safe_load((tmp_path / "ENG.1.yaml").read_text(encoding="utf-8"))
    bad = dict(good, code="ENG.99")
    del bad["methode"]
    bad["verbatims"] = [dict(good["verbatims"][0], segment="le-mene-engagement#999"),
                        dict(good["verbatims"][0], segment="le-mene-engagement#1")]
    (tmp_path / "ENG.99.yaml").write_text(yaml.safe_dump(bad, allow_unicode=True), encoding="utf-8")
    (tmp_path / "ENG.2.yaml").write_text("code: [ENG.2\n", encoding="utf-8")
    messages = [str(p) for p in validate_fiches(tmp_path, ["ENG.1", "ENG.2"], corpus)]
    text = "\n".join(messages)
    assert "champ manquant : « methode »" in text
    assert "code inconnu de la grille : « ENG.99 »" in text
    assert "« le-mene-engagement#999 » n'est pas dans le corpus" in text
    assert "tour de l'animateur" in text            # le-mene-engagement#1 is the facilitator's opening
    assert "ENG.2.yaml:" in text and "YAML invalide" in text
    assert all("ENG.1.yaml" not in m for m in messages)


def test_cli_check_exits_1_on_a_broken_fiche(tmp_path, capsys):
    for name in ("corpus", "codebook"):
        shutil.copytree(ROOT / name, tmp_path / name)
    (tmp_path / "fiches").mkdir()
    (tmp_path / "fiches" / "ENG.1.yaml").write_text("code: ENG.1\n", encoding="utf-8")
    assert main(["fiches", "--check", "--project", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "fiches/ENG.1.yaml: erreur: champ manquant : « verbatims »" in err


def test_markdown_handout_hides_territories_and_the_researchers_version_shows_them(tmp_path):
    from analyse.privacy.fiches import fiche_markdown, load_fiches

    prefill_fiches(tmp_path, _table(), _verbatims())
    (fiche,) = load_fiches(tmp_path)
    fiche["questions"] = ["Qui porte le risque chez vous ?"]
    public = fiche_markdown(fiche)
    assert "le-mene" not in public and "malaunay" not in public and "#" not in public.replace("### ", "")
    assert "« de [une commune voisine] »" in public and "- Qui porte le risque chez vous ?" in public
    assert "**Méthode.** *à écrire*" in public
    researchers = fiche_markdown(fiche, public=False)
    assert "le-mene, le-mene-engagement#16, risque 0.0" in researchers and "invariant robuste" in researchers


def test_cli_export_writes_the_handout_after_checking(tmp_path, capsys):
    for name in ("corpus", "codebook"):
        shutil.copytree(ROOT / name, tmp_path / name)
    prefill_fiches(tmp_path / "fiches", _table(), _verbatims())
    out = tmp_path / "livret.md"
    assert main(["fiches", "--check", "--project", str(tmp_path), "--export", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# Fiches de décontextualisation") and "### ENG.1 — Proximité" in text
    assert "le-mene-engagement#16" not in text


@pytest.mark.slow
def test_cli_writes_a_fiche_for_each_invariant_of_the_synthesis(tmp_path, capsys):
    from analyse.reporting.context import load_context

    for name in ("corpus", "codebook", "lexicons", "balises.toml"):
        (tmp_path / name).symlink_to(ROOT / name)
    (tmp_path / "fiches").mkdir()
    edited = tmp_path / "fiches" / "ENG.1.yaml"
    edited.write_text("code: ENG.1\nconcept_operationnel: écrit par l'équipe\n", encoding="utf-8")
    main(["fiches", "--project", str(tmp_path)])
    assert "déjà là laissée(s) telle(s) quelle(s)" in capsys.readouterr().err
    inv = load_context(tmp_path / "corpus", tmp_path / "codebook" / "balises.yaml", project_dir=tmp_path).invariance()
    invariants = set(inv.loc[inv["class"].str.startswith("invariant"), "code"])
    assert {p.stem for p in (tmp_path / "fiches").glob("*.yaml")} == invariants | {"ENG.1"}
    assert edited.read_text(encoding="utf-8") == "code: ENG.1\nconcept_operationnel: écrit par l'équipe\n"


def test_analyse_validate_checks_the_fiches_too(tmp_path, capsys):
    for name in ("corpus", "codebook"):
        shutil.copytree(ROOT / name, tmp_path / name)
    (tmp_path / "fiches").mkdir()
    (tmp_path / "fiches" / "ENG.1.yaml").write_text("code: ENG.1\n", encoding="utf-8")
    assert main(["validate", "--project", str(tmp_path)]) == 1
    assert "fiches/ENG.1.yaml: erreur: champ manquant : « verbatims »" in capsys.readouterr().out
