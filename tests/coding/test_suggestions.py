"""Suggestion files and `analyse suggest`: input errors, never touching coder files, accept/reject."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from analyse.model.codebook import load_codebook
from analyse.model.codings import load_codings
from analyse.model.corpus import load_corpus
from analyse.errors import UsageError
from analyse.coding.suggestions import SuggestionFile, read_texts

from tests.helpers import run_cli
from tests.coding.test_autocode import build_synthetic_project


@pytest.fixture
def blank_env(monkeypatch, tmp_path: Path):
    """The CLI runs with a blank French pipeline (fast) and a private cache."""
    monkeypatch.setenv("BALISES_SPACY_MODEL", "blank:fr")
    monkeypatch.setenv("BALISES_NLP_CACHE", str(tmp_path / "nlp-cache"))


def run(project: Path, *args: str, capsys=None):
    return run_cli(project, *args, capsys=capsys)


def digest(folder: Path) -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())
            if p.suffix != ".lock"}


# --------------------------------------------------------------------------- suggest --texts: bad input

BAD_INPUTS = [
    (b'{"id": 1, "text": "a"}\n\n{"id": 2, "text": "b"}\n', ":2: ligne vide"),
    (b'{"id": 1, "text": "a"}\n{"id": 2}\n', ":2: « text » manquant"),
    (b'{"text": "a"}\n', ":1: « id » manquant"),
    (b'{"id": "x", "text": "a"}\n{"id": "y", "text": "b"}\n{"id": "x", "text": "c"}\n',
     ":3: id 'x' en double (déjà ligne 1)"),
    (b'{"id": 1, "text": "a"}\n{"id": 2, "text": "caf\xe9"}\n', ":2: le fichier n'est pas en UTF-8 (octet 0xe9)"),
    (b'{"id": 1, "text": "a"\n', ":1: JSON invalide"),
    (b'["id", "text"]\n', ":1: une ligne doit être un objet JSON"),
    (b'{"id": 1, "text": 5}\n', ":1: « text » doit être une chaîne"),
    (b"", "le fichier d'entrée est vide"),
]


@pytest.mark.parametrize("content, message", BAD_INPUTS)
def test_suggest_texts_rejects_bad_input_naming_the_line(project: Path, capsys, content: bytes, message: str):
    (project / "in.jsonl").write_bytes(content)
    code, out = run(project, "suggest", "--texts", "in.jsonl", "--out", "out.jsonl", capsys=capsys)
    assert code == 2
    assert out.err.startswith("analyse : erreur : in.jsonl") and message in out.err
    assert len(out.err.strip().splitlines()) == 1                       # one line, no traceback
    assert not (project / "out.jsonl").exists()                         # nothing written
    assert not (project / "outputs").exists()                           # not even a model


def test_read_texts_accepts_crlf_bom_and_integer_ids(tmp_path: Path):
    path = tmp_path / "in.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"id": 1, "text": "a"}\r\n{"id": "b", "text": ""}\r\n')
    assert read_texts(path) == [(1, "a"), ("b", "")]
    path.write_bytes(b'{"id": true, "text": "a"}\n')
    with pytest.raises(UsageError, match="une chaîne ou un entier"):
        read_texts(path)


# --------------------------------------------------------------------------- suggest: happy paths

def test_suggest_texts_trains_if_absent_then_scores(tmp_path: Path, blank_env, capsys):
    root = build_synthetic_project(tmp_path / "p")
    before = digest(root / "corpus" / "codings")
    lines = [{"id": "q", "text": "Les voisins du quartier sont descendus."},
             {"id": 7, "text": "L'argent reste sur le territoire grâce à la monnaie locale."},
             {"id": "z", "text": "Le projecteur ne marche toujours pas."}]
    (root / "in.jsonl").write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines),
                                   encoding="utf-8")
    code, out = run(root, "suggest", "--texts", "in.jsonl", "--out", "out.jsonl", "--no-progress", capsys=capsys)
    assert code == 0, out.err
    assert "pas de modèle dans" in out.err and "entraînement sur les codages du codeur A" in out.err
    assert (root / "outputs" / "models" / "model.joblib").is_file()
    result = [json.loads(x) for x in (root / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in result] == ["q", 7, "z"]
    assert [r["codes"] for r in result] == [["ENG.1"], ["VAL.6"], []]
    assert set(result[0]["scores"]) == {"ENG.1", "COOP.3", "VAL.6"}
    assert result[0]["scores"]["ENG.1"] > result[0]["scores"]["VAL.6"]
    assert digest(root / "corpus" / "codings") == before

    code, out = run(root, "suggest", "--texts", "in.jsonl", "--out", "out2.jsonl", "--no-progress",
                    capsys=capsys)
    assert code == 0 and "training" not in out.err                      # the saved model is reused
    assert (root / "out2.jsonl").read_text(encoding="utf-8") == (root / "out.jsonl").read_text(encoding="utf-8")


def test_suggest_refuses_to_write_into_the_codings_folder(tmp_path: Path, blank_env, capsys):
    root = build_synthetic_project(tmp_path / "p")
    (root / "in.jsonl").write_text('{"id": 1, "text": "quartier"}\n', encoding="utf-8")
    before = digest(root / "corpus" / "codings")
    code, out = run(root, "suggest", "--texts", "in.jsonl", "--out", "corpus/codings/A.jsonl", capsys=capsys)
    assert code == 2 and "dossier des codages" in out.err
    code, out = run(root, "suggest", "--territory", "malaunay", "--out", "corpus/codings/rule.jsonl",
                    capsys=capsys)
    assert code == 2 and "dossier des codages" in out.err
    assert digest(root / "corpus" / "codings") == before


def test_suggest_territory_then_accept_and_reject(tmp_path: Path, blank_env, capsys):
    root = build_synthetic_project(tmp_path / "p")
    codings_dir = root / "corpus" / "codings"
    before = digest(codings_dir)

    # coder A covered everything: nothing to suggest
    code, out = run(root, "suggest", "--territory", "malaunay", "--no-progress", capsys=capsys)
    assert code == 0 and "rien à proposer" in out.out

    code, out = run(root, "suggest", "--territory", "malaunay", "--coder", "B", "--no-progress", capsys=capsys)
    assert code == 0, out.err
    assert out.out.startswith("malaunay : 30 segment(s) dans 3 document(s) non couverts par le codeur B")
    assert digest(codings_dir) == before                                 # suggest never writes coder files
    path = root / "outputs" / "suggestions" / "malaunay.jsonl"
    records = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]
    assert {r["origin"] for r in records} == {"rule", "model"}
    corpus = load_corpus(root / "corpus")
    for r in records:
        assert list(r) == ["doc", "start", "end", "quote", "code", "coder", "at", "origin", "score", "memo",
                           "segment", "confidence", "model_version", "codebook_version"]
        assert r["coder"] == r["origin"] and 0 <= r["score"] <= 1
        assert corpus.documents[r["doc"]].body[r["start"]:r["end"]] == r["quote"]
        assert r["doc"].startswith("malaunay-")

    sfile = SuggestionFile(path)
    pending = sfile.pending()
    assert len(pending) == len(records) and set(pending.status) == {"pending"}
    model_rows = pending[pending.origin == "model"]
    take, drop = model_rows.iloc[:2], model_rows.iloc[2:3]
    assert sfile.accept(take, "B", corpus, codings_dir) == 2
    assert sfile.accept(take, "B", corpus, codings_dir) == 0             # accepting twice writes nothing new
    assert sfile.reject(drop, "B", reason="hors sujet") == 1

    book = load_codebook(root / "codebook" / "balises.yaml")
    b = load_codings(corpus, book, codings_dir, coders=["B"]).frame
    assert len(b) == 2 and set(b.origin) == {"model-assisted"} and set(b.coder) == {"B"}
    assert all(m.startswith("acceptée depuis une suggestion du modèle") for m in b.memo)
    assert set(zip(b.segment, b.code)) == set(zip(take.segment, take.code))
    assert (b["start"].tolist(), b["end"].tolist()) == (
        [corpus.segments[[s.id for s in corpus.segments].index(x)].start for x in take.segment],
        [corpus.segments[[s.id for s in corpus.segments].index(x)].end for x in take.segment])
    assert digest(codings_dir).keys() == before.keys() | {"B.jsonl"}
    assert {k: v for k, v in digest(codings_dir).items() if k != "B.jsonl"} == before   # A untouched

    status = sfile.read().set_index(["segment", "code", "origin"])["status"]
    assert status[tuple(drop[["segment", "code", "origin"]].iloc[0])] == "rejected"
    decisions = sfile.decisions()
    assert sorted(decisions.decision) == ["accepted", "accepted", "rejected"]
    assert set(decisions.coder) == {"B"}

    # a new run proposes neither the rejected nor the accepted pairs again
    code, out = run(root, "suggest", "--territory", "malaunay", "--coder", "B", "--no-progress", capsys=capsys)
    assert code == 0
    again = {(r["segment"], r["code"]) for r in
             (json.loads(x) for x in path.read_text(encoding="utf-8").splitlines())}
    decided = set(zip(take.segment, take.code)) | set(zip(drop.segment, drop.code))
    assert not again & decided and again == {(r["segment"], r["code"]) for r in records} - decided


def test_accept_refuses_machine_coders_and_changed_text(tmp_path: Path):
    root = build_synthetic_project(tmp_path / "p")
    corpus = load_corpus(root / "corpus")
    seg = corpus.segments[0]
    path = tmp_path / "s.jsonl"
    sfile = SuggestionFile(path)
    rec = {"doc": seg.doc, "start": seg.start, "end": seg.end, "quote": seg.text, "code": "ENG.1",
           "coder": "model", "at": "2026-01-01T00:00:00+00:00", "origin": "model", "score": 0.9,
           "memo": "m", "segment": seg.id}
    assert sfile.write([rec]) == 1
    with pytest.raises(UsageError, match="codeur automatique"):
        sfile.accept([(seg.id, "ENG.1")], "model", corpus, root / "corpus" / "codings")
    with pytest.raises(UsageError, match="aucune proposition"):
        sfile.accept([(seg.id, "VAL.6")], "B", corpus, root / "corpus" / "codings")
    sfile.write([{**rec, "quote": "autre chose"}])
    from analyse.errors import CodingsError
    with pytest.raises(CodingsError, match="ne correspond plus au texte"):
        sfile.accept([(seg.id, "ENG.1")], "B", corpus, root / "corpus" / "codings")
    assert not (root / "corpus" / "codings" / "B.jsonl").exists()
    with pytest.raises(Exception, match="« rule » ou « model »"):
        sfile.write([{**rec, "coder": "A", "origin": "human"}])


def test_unreadable_suggestion_files_are_named_in_french(tmp_path):
    from analyse.coding.suggestions import SuggestionFile
    from analyse.errors import CodingsError

    sf = SuggestionFile(tmp_path / "le-mene.jsonl")
    sf.path.write_bytes(b'{"memo": "caf\xe9"}\n')
    with pytest.raises(CodingsError) as err:
        sf.read()
    assert "le-mene.jsonl:1" in str(err.value) and "UTF-8" in str(err.value) and "relancer" in str(err.value)
    sf.path.write_text("", encoding="utf-8")
    sf.log_path.write_text('{"decision": "accepted"\n', encoding="utf-8")
    with pytest.raises(CodingsError) as err:
        sf.decided_pairs()
    assert "le-mene.decisions.jsonl:1" in str(err.value) and "sans le supprimer" in str(err.value)
