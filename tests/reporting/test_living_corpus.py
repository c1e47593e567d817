"""A living corpus (#13): new material never breaks the main job; the groupe-miroir folder is shareable.

One temporary project = the bundled corpus + one uncoded document in le-mene + a new territory coded by a
new coder (C) through the spreadsheet door. ``analyse batch`` then runs with the default options for both
audiences, for every territory and for the new territory alone; each run is made once (module fixture)
and the assertions read its folders.
"""

from __future__ import annotations

import csv
import os
import re
import shutil

import pytest

from tests.helpers import ROOT, run_cli

pytestmark = pytest.mark.slow

NEW = "val-de-brume"
# Participants of the two new documents, and people only mentioned in passing (planted).
PARTICIPANTS = {"P1": ("Ysolde Kerbrat", "elu", "élue"), "P2": ("Gaëtan Morvennec", "citoyen", "habitant"),
                "P3": ("Aurélien Quéméner", "acteur-economique", "artisan")}
IN_PASSING = ["Josiane", "Pellegrin", "Jean-Marc"]


def _document(doc_id: str, territory: str) -> str:
    people = "\n".join(f'  - {{id: {pid}, name: "{name}", role: {role}}}'
                       for pid, (name, role, _) in PARTICIPANTS.items())
    turns = [
        ("P1", "Quand on a lancé la régie de chaleur, personne n'y croyait (rires). Josiane, à l'accueil, "
               "tenait la liste des foyers volontaires, et monsieur Pellegrin prêtait sa grange pour les "
               "réunions. On a appris à faire confiance aux habitants, à leur laisser la main."),
        ("P2", "Moi j'ai suivi parce que Ysolde venait dans les fermes écouter ce qu'on disait [inaudible]. "
               "Jean-Marc, le voisin, a fini par venir aussi. [00:12:31] Les habitants portent le projet, "
               "ils en parlent entre eux, ils racontent l'histoire de la régie aux nouveaux…"),
        ("P3", "Pour les artisans, la coopération a changé le travail : on répond ensemble aux chantiers, "
               "on partage les outils, merci monsieur Morvennec pour le camion. La valeur reste ici, "
               "elle ne part plus ailleurs, et les jeunes restent au pays."),
        ("P1", "Il faut que la commune accepte de perdre un peu la main, sinon rien ne bouge. Les services "
               "ont changé leur manière de travailler, avec les habitants et non plus à leur place."),
    ]
    body = "\n\n".join(f"**{pid} ({PARTICIPANTS[pid][2]})** : {text}" for pid, text in turns)
    return (f"---\nid: {doc_id}\ntitle: \"Atelier test — {territory}\"\nterritory: {territory}\n"
            f"kind: transcript\natelier: engagement\ndate: 2019-03-01\nlanguage: fr\nsynthetic: true\n"
            f"participants:\n{people}\n---\n{body}\n")


@pytest.fixture(scope="module")
def living(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("vivant")
    for name in ("corpus", "codebook", "notebooks"):
        shutil.copytree(ROOT / name, root / name, ignore=shutil.ignore_patterns("*.lock", ".ipynb_checkpoints"))
    shutil.copyfile(ROOT / "balises.toml", root / "balises.toml")
    (root / "corpus" / "le-mene" / "le-mene-nouveau.md").write_text(_document("le-mene-nouveau", "le-mene"),
                                                                    encoding="utf-8")
    (root / "corpus" / NEW).mkdir()
    (root / "corpus" / NEW / f"{NEW}-atelier.md").write_text(_document(f"{NEW}-atelier", NEW), encoding="utf-8")
    # The spaCy cache is keyed by content: the bundled documents are parsed once for every test run.
    saved = os.environ.get("BALISES_NLP_CACHE")
    os.environ["BALISES_NLP_CACHE"] = str(ROOT / ".cache" / "nlp")
    try:
        # Coder C codes the new territory in a spreadsheet.
        sheet = root / "feuille-C.csv"
        assert run_cli(root, "sheet", "export", "--coder", "C", "--territory", NEW, "--out", str(sheet))[0] == 0
        with sheet.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
        codes = ["ENG.1; ENG.5", "ENG.3", "COOP.1; VAL.1", "MGT"]
        for row, code in zip(rows, codes):
            row["codes"] = code
        with sheet.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        assert run_cli(root, "sheet", "import", str(sheet), "--coder", "C")[0] == 0
        runs = {}
        for audience in ("chercheurs", "groupe-miroir"):
            out = f"outputs/rapport-{audience}"
            runs[audience] = (run_cli(root, "batch", "--audience", audience, "--out", out, "--quiet")[0],
                              root / out)
            out_new = f"outputs/nouveau-{audience}"
            runs[f"{audience}-new"] = (run_cli(root, "batch", "--audience", audience, "--territories", NEW,
                                               "--out", out_new, "--quiet")[0], root / out_new)
    finally:
        if saved is None:
            os.environ.pop("BALISES_NLP_CACHE", None)
        else:
            os.environ["BALISES_NLP_CACHE"] = saved
    return {"root": root, "runs": runs}


TERRITORIES = ["grande-synthe", "le-mene", "loos-en-gohelle", "malaunay", NEW]


@pytest.mark.parametrize("run, reports", [          # fiches: the groupe-miroir handout, in both folders
    ("chercheurs", TERRITORIES + ["synthese", "themes", "accord", "fiches"]),
    ("groupe-miroir", TERRITORIES + ["synthese", "themes", "fiches"]),
    ("chercheurs-new", [NEW, "synthese", "themes", "accord", "fiches"]),
    ("groupe-miroir-new", [NEW, "synthese", "themes", "fiches"]),
])
def test_batch_succeeds_with_a_report_for_every_territory(living, run, reports):
    code, out = living["runs"][run]
    assert code == 0, sorted(p.name for p in out.iterdir())
    assert sorted(p.stem for p in out.glob("*.html") if p.name != "index.html") == sorted(reports)
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "rapport indisponible" not in index
    assert "Codeur analysé : A" in index


@pytest.mark.parametrize("run", ["groupe-miroir", "groupe-miroir-new"])
def test_groupe_miroir_folder_is_safe_to_share(living, run):
    _, out = living["runs"][run]
    files = [p for p in out.rglob("*") if p.is_file()]
    assert {p.suffix for p in files} <= {".html", ".csv", ".png"}, {p.suffix for p in files}
    names = set(IN_PASSING)
    for name, _, _ in PARTICIPANTS.values():
        names |= {name, *name.split()}
    from analyse.model.corpus import load_corpus
    for doc in load_corpus(living["root"] / "corpus").documents.values():
        names |= {p.name for p in doc.participants}
    root = str(living["root"])
    for path in files:
        if path.suffix == ".png":
            continue
        text = path.read_text(encoding="utf-8")
        assert "Traceback" not in text and "site-packages" not in text, path.name
        assert root not in text and "/home/" not in text and "/tmp/" not in text, path.name
        for name in names:
            assert not re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text), (name, path.name)
    # the executed notebooks and logs are in the working folder beside it
    work = out.parent / f"{out.name}-travail"
    assert (work / f"{NEW}.ipynb").exists() and (work / "timings.json").exists()


def test_reports_say_what_is_coded_and_by_which_rule(living):
    _, out = living["runs"]["chercheurs"]
    new = (out / f"{NEW}.html").read_text(encoding="utf-8")
    # the new territory is coded by C only: its material is shown, with a clear sentence instead of code tables
    assert "pas encore de codage retenu" in new and "C" in new
    assert "Codeur analysé : A" in new
    assert f"Documents — {NEW}" in new and "Qui parle ?" in new and "Vocabulaire spécifique" in new
    mene = (out / "le-mene.html").read_text(encoding="utf-8")
    assert "Part du territoire codée" in mene and "Codes présents" in mene
    synth = (out / "synthese.html").read_text(encoding="utf-8")
    assert "Part de chaque territoire codée" in synth and "Codage partiel" in synth
    # vocabulary reads every segment: transcription marks are not words
    vocab = (out / "tables" / f"{NEW}-vocabulaire.csv").read_text(encoding="utf-8")
    assert "rire" not in vocab.lower() and "inaudible" not in vocab.lower()
    # a private, owner-only pseudonym table
    table = living["root"] / ".balises-prive" / "pseudonymes.json"
    assert table.stat().st_mode & 0o777 == 0o600 and "Ysolde Kerbrat" in table.read_text(encoding="utf-8")


def test_new_territory_alone_synthesis_explains_instead_of_failing(living):
    _, out = living["runs"]["chercheurs-new"]
    synth = (out / "synthese.html").read_text(encoding="utf-8")
    assert "Pas de classement invariant" in synth or "Aucun segment" in synth


def test_themes_typical_units_for_the_groupe_miroir_hide_people_mentioned_in_passing(living):
    # The themes report run on its own (no territory chosen: every document, the new ones included)
    # shows its typical units to the groupe miroir through the project's masker and pseudonyms,
    # like every other verbatim: the gazetteer alone let « monsieur Pellegrin » through.
    from analyse.project import Project
    from analyse.reporting.context_store import ensure_context
    from analyse.reporting.themes import stored_themes

    saved = os.environ.get("BALISES_NLP_CACHE")
    os.environ["BALISES_NLP_CACHE"] = str(ROOT / ".cache" / "nlp")
    try:
        project = Project.load(living["root"])
        rep = stored_themes(project, ensure_context(project), "A", territories=[])
    finally:
        if saved is None:
            os.environ.pop("BALISES_NLP_CACHE", None)
        else:
            os.environ["BALISES_NLP_CACHE"] = saved
    public = rep.typical_for(True)
    # the planted turn naming Josiane and monsieur Pellegrin is a typical unit (default classes)
    assert {"le-mene-nouveau#1", f"{NEW}-atelier#1"} <= set(public["segment"])
    for text in public["shown"]:
        for name in IN_PASSING + [n for full, _, _ in PARTICIPANTS.values() for n in full.split()]:
            assert name not in text, (name, text)
