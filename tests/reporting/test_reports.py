"""The real report notebooks, rendered by the batch on a small corpus.

Checks what a groupe miroir must be able to trust: no participant name in any
output file, and document text shown as text (never as live HTML).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from analyse.reporting.batch import run_batch
from analyse.model.codings import CodingStore, coding_record, coverage_record
from analyse.model.corpus import load_corpus

from tests.helpers import ROOT

pytestmark = pytest.mark.slow

PEOPLE = {"P1": ("Zéphirine Quabeck", "elu"), "P2": ("Anselme Vrignaud", "services"),
          "P3": ("Philomène Ardouin", "citoyen"), "ANIM": ("Gontran Lebasque", "animateur")}
MARKUP = "<script>alert('x')</script> et <b>gras</b>"


def _document(doc_id: str, territory: str) -> str:
    participants = "\n".join(f'  - {{id: {pid}, name: "{name}", role: {role}}}'
                             for pid, (name, role) in PEOPLE.items())
    turns = [
        ("ANIM", "Bonjour à tous. Zéphirine, tu veux commencer ? Anselme prend les notes."),
        ("P1", "Oui. Dans le quartier, les voisins se sont mis à réparer les bancs eux-mêmes, au pied des "
               "immeubles. On leur a fait confiance et ils sont restés, même quand la mairie traînait. "
               f"Quelqu'un a écrit sur le panneau : {MARKUP}, on en rit encore."),
        ("P2", "Côté services, on a dû apprendre à accompagner plutôt qu'à faire à la place. Merci Philomène "
               "pour ta patience : au début on arrivait avec nos plans tout faits, maintenant on vient "
               "écouter, avec les habitants, ce qu'ils veulent pour leur rue."),
        ("P3", "Moi ce que je retiens, c'est qu'on raconte l'histoire du quartier autrement. Avant on disait "
               "que rien ne bougeait, maintenant on dit qu'on a fait la place ensemble, avec Gontran Lebasque "
               "qui venait chaque samedi, et Patrick du garage, et monsieur Caron qui prêtait son camion. "
               "Les enfants connaissent l'histoire et la racontent aux nouveaux."),
    ]
    body = "\n\n".join(f"**{pid} ({PEOPLE[pid][1]})** : {text}" for pid, text in turns)
    return (f"---\nid: {doc_id}\ntitle: \"Atelier test\"\nterritory: {territory}\nkind: transcript\n"
            f"atelier: engagement\ndate: 2018-03-01\nlanguage: fr\nsynthetic: true\nparticipants:\n"
            f"{participants}\n---\n{body}\n")


@pytest.fixture(scope="module")
def small_project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("projet")
    shutil.copytree(ROOT / "codebook", root / "codebook")
    shutil.copytree(ROOT / "notebooks", root / "notebooks")
    for territory in ("le-mene", "malaunay"):
        for k in (1, 2):
            folder = root / "corpus" / territory
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{territory}-{k}.md").write_text(_document(f"{territory}-{k}", territory), encoding="utf-8")
    corpus = load_corpus(root / "corpus")
    store = CodingStore(root / "corpus" / "codings")
    records = []
    for doc in corpus.documents:
        segs = corpus.segments_of(doc)
        records += [coding_record(segs[1], "ENG.1", "A"), coding_record(segs[1], "ENG.3", "A"),
                    coding_record(segs[2], "ENG.4", "A"), coding_record(segs[3], "ENG.2", "A"),
                    coverage_record(doc, "A")]
    store.append("A", records)
    return root


def _outputs(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


@pytest.fixture(scope="module")
def miroir(small_project: Path):
    """One batch run (every territory, groupe miroir) shared by the tests of this module."""
    out = small_project / "outputs" / "miroir"
    result = run_batch(small_project, None, out, jobs=2, audience="groupe-miroir", progress=False)
    assert result.ok, [(j.name, j.error) for j in result.jobs]
    return out, result


def test_groupe_miroir_reports_contain_no_participant_name(miroir):
    out, result = miroir
    assert {p.name for p in out.glob("*.html")} == {"index.html", "le-mene.html", "malaunay.html", "synthese.html",
                                                 "themes.html", "fiches.html"}    # fiches.html: the handout
    words = {"Patrick", "Caron"}  # named in passing, not participants
    for name, _ in PEOPLE.values():
        words |= {name, *name.split()}
    for path in _outputs(out):
        text = path.read_text(encoding="utf-8", errors="ignore")
        for word in words:
            assert not re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text), (word, path.name)
    # masks are whole words, never glued to leftover letters of a name (« [PERSONNE]NE »)
    for path in out.glob("*.html"):
        assert not re.search(r"\[(PERSONNE|LIEU|ORGANISATION|PROJET)\]\w", path.read_text(encoding="utf-8")), path.name
    # the reports are still readable: pseudonyms stand where the names were
    page = (out / "le-mene.html").read_text(encoding="utf-8")
    assert "Habitant·e 1" in page and "Animateur·rice 1" in page   # « Merci Philomène », « Gontran Lebasque »
    # the mapping exists, outside the shared folder
    assert "Zéphirine Quabeck" in result.pseudonyms.read_text(encoding="utf-8")
    assert out not in result.pseudonyms.parents


def test_markup_in_a_transcript_is_shown_as_text(miroir):
    out, _ = miroir
    page = (out / "le-mene.html").read_text(encoding="utf-8")
    assert "alert(&#x27;x&#x27;)" in page or "alert(&#39;x&#39;)" in page or "alert('x')&lt;/script&gt;" in page
    assert "&lt;script&gt;alert" in page
    assert "<script>alert" not in page and "<b>gras</b>" not in page
