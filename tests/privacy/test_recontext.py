"""Re-contextualisation checklist: fiches confronted with the facts of a territory outside the corpus."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
import yaml

from analyse.cli import main
from analyse.errors import UsageError
from analyse.nlp import load_pipeline
from analyse.privacy.recontext import (build_checklist, check_territory, checklist_html, clean_facts, read_facts,
                                       split_conditions)
from tests.helpers import ROOT

FACTS = ["Le marché du samedi attire toute la vallée.",
         "Peu d'associations de quartier, mais un centre social actif.",
         "Une usine textile a fermé en 2010."]


@pytest.fixture(scope="module")
def nlp():
    return load_pipeline(exclude=("parser", "ner"))


def _fiche(code="ENG.1", **fields):
    fiche = {"code": code, "libelle": "Proximité", "classe": "invariant robuste", "territoires": [],
             "diffusion": {}, "verbatims": [], "concept_operationnel": "Partir du quotidien des habitants.",
             "methode": "Des agents vont au-devant des habitants, puis au marché.",
             "conditions": "- Une association de quartier déjà active.\n- Des agents disponibles le samedi.\n"
                           "- Un marché hebdomadaire où tout le monde passe.",
             "contre_exemples": ["Sans local, la démarche s'est essoufflée."],
             "questions": ["Où les habitants se croisent-ils ?"]}
    fiche.update(fields)
    return fiche


def test_conditions_split_by_bullet_line_and_sentence():
    assert split_conditions("- Un maire présent. Une association.\n* Un marché") == \
        ["Un maire présent.", "Une association.", "Un marché"]
    assert split_conditions(["a", " ", None, "b  c"]) == ["a", "b c"]
    assert split_conditions("") == [] and split_conditions(None) == []


def test_each_condition_meets_the_facts_that_touch_it(nlp):
    checklist = build_checklist([_fiche()], "Saint-Dié", FACTS, nlp)
    item = checklist.items[0]
    touched = {c.text: c.facts for c in item.conditions}
    assert touched == {"Une association de quartier déjà active.": [FACTS[1]],
                       "Des agents disponibles le samedi.": [FACTS[0]],
                       "Un marché hebdomadaire où tout le monde passe.": [FACTS[0]]}
    assert "association" in item.conditions[0].shared[0] and "quartier" in item.conditions[0].shared[0]
    assert checklist.orphan_facts == [FACTS[2]]
    # concept + method + people, one per condition × fact, the counter-example, the fiche's question, the orphan
    assert checklist.n_questions == 3 + 3 + 1 + 1 + 1


def test_an_unwritten_fiche_still_asks_what_made_it_work(nlp):
    checklist = build_checklist([_fiche(conditions="", contre_exemples=[], questions=[])], "Saint-Dié", FACTS, nlp)
    page = checklist_html(checklist)
    assert "Les conditions ne sont pas encore écrites" in page
    assert checklist.n_questions == 4 + 3     # concept, method, people, what made it work; three orphan facts
    assert len(checklist.orphan_facts) == 3


def test_the_page_is_french_escaped_and_counts_its_questions(nlp):
    fiche = _fiche(concept_operationnel="Partir <script>alert(1)</script> du quotidien.")
    checklist = build_checklist([fiche], "Saint-Dié <b>", FACTS, nlp)
    page = checklist_html(checklist, illustrative=True, date="2026-12-01")
    assert "<script>" not in page and "&lt;script&gt;" in page and "Saint-Dié &lt;b&gt;" in page
    assert page.count("☐") == checklist.n_questions
    text = html.unescape(re.sub(r"<[^>]+>", " ", page))
    assert "Re-contextualiser à Saint-Dié <b>" in text and "Ce fait aide-t-il, gêne-t-il" in text


def test_bad_inputs_are_french_errors(tmp_path):
    with pytest.raises(UsageError, match="nom du territoire est vide"):
        check_territory("  ")
    with pytest.raises(UsageError, match="déjà un territoire du corpus"):
        check_territory("Le Mené", ["le-mene"], {"le-mene": "Le Mené"}.get)
    with pytest.raises(UsageError, match="déjà un territoire du corpus"):
        check_territory("le mene", ["le-mene"])
    assert check_territory(" Saint-Dié ", ["le-mene"]) == "Saint-Dié"
    with pytest.raises(UsageError, match="aucun fait"):
        clean_facts([" ", ""])
    bad = tmp_path / "faits.yaml"
    for content, message in (("faits: [a\n", "YAML invalide"), ("a: 1\n", "une liste de phrases"),
                             ("- a\n- {x: 1}\n", "fait n° 2")):
        bad.write_text(content, encoding="utf-8")
        with pytest.raises(UsageError, match=message):
            read_facts(bad)
    with pytest.raises(UsageError, match="introuvable"):
        read_facts(tmp_path / "absent.yaml")
    bad.write_text("territoire: X\nfaits:\n  - Un marché.\n  - 12 communes\n", encoding="utf-8")
    assert read_facts(bad) == ["Un marché.", "12 communes"]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for name in ("corpus", "codebook", "lexicons", "balises.toml"):
        (tmp_path / name).symlink_to(ROOT / name)
    (tmp_path / "fiches").mkdir()
    fiche = _fiche(conditions="Une association de quartier déjà active à Malaunay.",
                   verbatims=[{"segment": "le-mene-engagement#16", "territoire": "le-mene", "texte": "x"}])
    (tmp_path / "fiches" / "ENG.1.yaml").write_text(yaml.safe_dump(fiche, allow_unicode=True), encoding="utf-8")
    (tmp_path / "fiches" / "COOP.3.yaml").write_text(
        yaml.safe_dump(_fiche("COOP.3", conditions=""), allow_unicode=True), encoding="utf-8")
    return tmp_path


def test_the_command_writes_one_page(project, capsys):
    facts = project / "faits.yaml"
    facts.write_text(yaml.safe_dump({"faits": FACTS[:2]}, allow_unicode=True), encoding="utf-8")
    out = project / "sortie"
    code = main(["recontextualiser", "--project", str(project), "--territoire", "Saint-Dié-des-Vosges",
                 "--faits", str(facts), "--fait", FACTS[2], "--codes", "ENG.1", "--out", str(out)])
    assert code == 0
    err = capsys.readouterr().err
    assert "1 fiche(s), 8 question(s)" in err, err
    page = (out / "recontextualisation-saint-die-des-vosges.html").read_text(encoding="utf-8")
    assert "ENG.1" in page and "COOP.3" not in page
    assert "Malaunay" not in page                   # the fiche's text is masked for another territory's peers
    assert page.count("☐") == 8     # 3 + the condition × its fact + counter + question + 2 orphan facts


@pytest.mark.parametrize("args, message, exit_code", [
    (["--territoire", "Malaunay", "--fait", "x"], "déjà un territoire du corpus", 2),
    (["--territoire", "Ailleurs"], "aucun fait sur le territoire", 2),
    (["--territoire", "Ailleurs", "--fait", "x", "--codes", "ENG.9"], "fiche(s) absente(s) : ENG.9", 2),
    (["--territoire", "Ailleurs", "--faits", "absent.yaml"], "introuvable", 2),
])
def test_the_command_says_what_is_wrong(project, capsys, args, message, exit_code):
    code = main(["recontextualiser", "--project", str(project), *args, "--out", str(project / "o")])
    err = capsys.readouterr().err
    assert code == exit_code and message in err and "Traceback" not in err
    assert not (project / "o").exists()


def test_the_command_needs_fiches_and_valid_ones(project, capsys):
    args = ["recontextualiser", "--project", str(project), "--territoire", "Ailleurs", "--fait", "x",
            "--out", str(project / "o")]
    (project / "fiches" / "COOP.3.yaml").write_text("code: COOP.3\nverbatims: [\n", encoding="utf-8")
    assert main(args) == 1
    assert "YAML invalide" in capsys.readouterr().err
    for f in (project / "fiches").iterdir():
        f.unlink()
    assert main(args) == 2
    assert "aucune fiche" in capsys.readouterr().err


def test_the_command_refuses_a_file_as_out(project, capsys):
    target = project / "page.html"
    target.write_text("déjà là", encoding="utf-8")
    assert main(["recontextualiser", "--project", str(project), "--territoire", "Ailleurs", "--fait", "x",
                 "--out", str(target)]) == 2
    assert "--out doit être un dossier" in capsys.readouterr().err
    assert target.read_text(encoding="utf-8") == "déjà là"
