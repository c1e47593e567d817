"""End to end: a codebook whose labels and definitions hold hostile markup, rendered by the real batch.

Nothing of it may be live in any published file: no element pointing at the
remote host, no ``javascript:`` link, no script or frame from a label.
"""

from __future__ import annotations

import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from analyse.model.codings import CodingStore, coding_record, coverage_record
from analyse.model.corpus import load_corpus
from analyse.reporting.batch import run_batch
from tests.helpers import ROOT


def _document(doc_id: str, territory: str) -> str:
    turns = ["Dans le quartier, les voisins se sont mis à réparer les bancs eux-mêmes, au pied des immeubles.",
             "Côté services, on a dû apprendre à accompagner plutôt qu'à faire à la place des habitants.",
             "On raconte l'histoire du quartier autrement : on a fait la place ensemble, chaque samedi.",
             "Les enfants connaissent l'histoire et la racontent aux nouveaux venus du quartier."]
    body = "\n\n".join(f"**P{1 + k % 2} ({'élue' if k % 2 == 0 else 'DGS'})** : {t}" for k, t in enumerate(turns))
    return (f"---\nid: {doc_id}\ntitle: \"Atelier test\"\nterritory: {territory}\nkind: transcript\n"
            "atelier: engagement\ndate: 2018-03-01\nlanguage: fr\nsynthetic: true\nparticipants:\n"
            '  - {id: P1, name: "Zéphirine Quabeck", role: elu}\n'
            '  - {id: P2, name: "Anselme Vrignaud", role: services}\n'
            f"---\n{{body}}\n").replace("{body}", body)

pytestmark = pytest.mark.slow

VECTORS = ["![pixel](https://traceur.example/p.png)", '<iframe src="https://traceur.example/"></iframe>',
           "[cliquer](javascript:alert(1))", "<script>fetch('https://traceur.example/')</script>",
           '<img src="https://traceur.example/x.png" onerror="alert(2)">']


class _Live(HTMLParser):
    """Elements of the page that would load, run or link what a label smuggled in."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self._in_script = tag == "script"
        if tag in ("iframe", "object", "embed"):
            self.found.append(f"<{tag}>")
        for key, value in attrs:
            value = value or ""
            if "traceur" in value and key != "id" and not value.startswith("#"):
                self.found.append(f"<{tag} {key}={value[:60]!r}>")
            if value.strip().lower().startswith("javascript:") or (key.startswith("on") and "alert" in value):
                self.found.append(f"<{tag} {key}={value[:60]!r}>")

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script and "traceur" in data:
            self.found.append(f"<script>{data[:60]}")


def _live(text: str) -> list[str]:
    parser = _Live()
    parser.feed(text)
    return parser.found


def test_hostile_labels_are_inert_in_every_published_file(tmp_path: Path):
    root = tmp_path / "projet"
    shutil.copytree(ROOT / "codebook", root / "codebook")
    shutil.copytree(ROOT / "notebooks", root / "notebooks")
    book_path = root / "codebook" / "balises.yaml"
    book = yaml.safe_load(book_path.read_text(encoding="utf-8"))
    hostile = {}
    for code, vector in zip([c for c in book["codes"] if c["id"] in ("ENG.1", "ENG.2", "ENG.3", "ENG.4", "ENG.5")],
                            VECTORS):
        code["label"] = f"{code['label']} {vector}"
        code["definition"] = f"{code['definition']} {vector}"
        hostile[code["id"]] = vector
    book_path.write_text(yaml.safe_dump(book, allow_unicode=True, sort_keys=False), encoding="utf-8")
    for territory in ("le-mene", "malaunay"):
        folder = root / "corpus" / territory
        folder.mkdir(parents=True)
        for k in (1, 2):
            (folder / f"{territory}-{k}.md").write_text(_document(f"{territory}-{k}", territory), encoding="utf-8")
    corpus = load_corpus(root / "corpus")
    records = []
    for doc in corpus.documents:
        segs = corpus.segments_of(doc)
        records += [coding_record(segs[1], "ENG.1", "A"), coding_record(segs[1], "ENG.3", "A"),
                    coding_record(segs[2], "ENG.4", "A"), coding_record(segs[3], "ENG.2", "A"),
                    coding_record(segs[3], "ENG.5", "A"), coverage_record(doc, "A")]
    CodingStore(root / "corpus" / "codings").append("A", records)
    out = root / "outputs" / "miroir"
    result = run_batch(root, None, out, jobs=2, audience="groupe-miroir", progress=False)
    assert result.ok, [(j.name, j.error) for j in result.jobs]
    checked = 0
    for path in [p for p in out.rglob("*") if p.is_file() and p.suffix in (".html", ".md")]:
        text = path.read_text(encoding="utf-8", errors="ignore")
        live = _live(text)
        assert not live, (path.name, live[:3])
        checked += "traceur" in text or "cliquer" in text
    assert checked, "the hostile labels do not appear in any report: the test proves nothing"
