"""``analyse mask`` and ``analyse evaluate-masking`` on the bundled project."""

from __future__ import annotations

import json

import pytest

from analyse.cli import main
from tests.helpers import ROOT


def _write(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def test_mask_writes_masked_texts_and_spans(tmp_path, capsys):
    src = _write(tmp_path / "in.jsonl", [
        {"id": "a", "text": "Sinon on a vu les Gohéliades à Loos, avec l'AMAP.", "territory": "loos-en-gohelle"},
        {"id": 2, "text": "Une habitante des Tisserands, rue des Tisserands."},
    ])
    out = tmp_path / "out.jsonl"
    assert main(["mask", "--project", str(ROOT), "--texts", str(src), "--out", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == ["a", 2]
    assert rows[0]["masked"] == "Sinon on a vu [le projet] à [la commune], avec l'AMAP."
    assert {s["label"] for s in rows[0]["spans"]} == {"projet", "lieu"}
    text = "Sinon on a vu les Gohéliades à Loos, avec l'AMAP."
    assert [text[s["start"]:s["end"]] for s in rows[0]["spans"]] == ["les Gohéliades", "Loos"]
    assert "Tisserands" not in rows[1]["masked"]
    assert all(set(s) >= {"start", "end", "label"} for r in rows for s in r["spans"])


@pytest.mark.parametrize("line, message", [
    ("{not json", "JSON invalide"),
    ('{"id": "a"}', "« text »"),
    ('{"text": "x"}', "« id »"),
    ('{"id": "a", "text": "x", "territory": 3}', "« territory »"),
])
def test_mask_bad_input_is_one_french_line(tmp_path, capsys, line, message):
    src = tmp_path / "in.jsonl"
    src.write_text(line + "\n", encoding="utf-8")
    code = main(["mask", "--project", str(ROOT), "--texts", str(src), "--out", str(tmp_path / "o.jsonl")])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err
    assert not (tmp_path / "o.jsonl").exists()


def test_evaluate_masking_reports_both_parts_separately(capsys):
    assert main(["evaluate-masking", "--project", str(ROOT), "--part", "both", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"dev", "heldout"}
    assert not set(data["dev"]["documents"]) & set(data["heldout"]["documents"])
    dev = {r["kind"]: r for r in data["dev"]["scores"]}
    assert dev["ensemble"]["labelled"] > 100
    # The targets, on the development part.
    assert dev["personne"]["recall"] >= 0.95 and dev["lieu"]["recall"] >= 0.95
    assert dev["ensemble"]["precision"] >= 0.9


def _heldout(folder, capsys):
    """``evaluate-masking --part heldout --json`` on a labelled folder: the JSON and its scores by kind."""
    assert main(["evaluate-masking", "--project", str(ROOT), "--labels", str(folder), "--part", "heldout",
                 "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    scores = {r["kind"]: r for r in data["heldout"]["scores"]}
    return data, scores


def test_evaluate_masking_on_new_documents_outside_the_corpus(capsys):
    # tests/data/masking/nouveaux brings its own documents (written and labelled after the lexicons
    # were frozen): they are loaded from its documents/ folder, not from the corpus.
    folder = ROOT / "tests" / "data" / "masking" / "nouveaux"
    data, scores = _heldout(folder, capsys)
    assert len(data["heldout"]["documents"]) == 4
    assert scores["ensemble"]["labelled"] == 126
    assert scores["organisation"]["labelled"] >= 15 and scores["projet"]["labelled"] >= 5
    # People and places hold on material nobody tuned on (measured once: 1.00 and 0.98).
    assert scores["personne"]["recall"] >= 0.95 and scores["lieu"]["recall"] >= 0.95


def test_evaluate_masking_on_the_second_new_documents(capsys):
    # tests/data/masking/nouveaux-2: five documents written and labelled by people who never saw the
    # masker, measured once after the head-noun rules were merged (see its README). From then on a
    # regression guard: the targets on organisations and projects must keep holding there.
    folder = ROOT / "tests" / "data" / "masking" / "nouveaux-2"
    _, scores = _heldout(folder, capsys)
    assert scores["ensemble"]["labelled"] == 350
    assert scores["organisation"]["labelled"] == 72 and scores["projet"]["labelled"] == 48
    assert scores["personne"]["recall"] >= 0.95 and scores["lieu"]["recall"] >= 0.95
    assert scores["organisation"]["recall"] >= 0.85 and scores["projet"]["recall"] >= 0.85
    assert scores["ensemble"]["precision"] >= 0.9
