"""Loading documents: front matter schema, speaker turns, segments, encodings."""

from __future__ import annotations

from pathlib import Path

import pytest

from analyse.model.corpus import (count_words, documents_frame, load_corpus, load_document,
                            read_text, segments_frame)
from analyse.errors import CorpusError

from tests.helpers import DOC, write_doc


def _doc(doc_id="le-mene-x", territory="le-mene", **replace):
    text = DOC.format(id=doc_id, territory=territory)
    for old, new in replace.items():
        text = text.replace(old.replace("_", " "), new)
    return text


def test_segments_have_stable_ids_offsets_speakers_and_roles(project: Path):
    corpus = load_corpus(project / "corpus")
    assert not corpus.problems
    segs = corpus.segments_of("le-mene-test")
    assert [s.id for s in segs] == ["le-mene-test#1", "le-mene-test#2", "le-mene-test#3"]
    body = corpus.documents["le-mene-test"].body
    for s in segs:
        assert body[s.start:s.end] == s.text
    assert segs[0].text == "Bonjour à tous, on commence."
    # A turn spanning two paragraphs keeps its speaker in the second segment.
    assert (segs[1].speaker, segs[1].role) == ("P1", "elu")
    assert segs[1].text.startswith("Deuxième paragraphe")
    assert (segs[2].speaker, segs[2].role, segs[2].speaker_label) == ("P2", "services", "DGS")
    assert {s.territory for s in corpus.segments} == {"le-mene", "malaunay"}


def test_frames_are_tidy(project: Path):
    corpus = load_corpus(project / "corpus")
    docs = documents_frame(corpus)
    assert list(docs["doc"]) == ["le-mene-test", "malaunay-test"]
    assert list(docs["segments"]) == [3, 3]
    segs = segments_frame(corpus)
    assert len(segs) == 6
    assert set(segs.columns) >= {"segment", "doc", "territory", "atelier", "speaker", "role", "start", "end", "text"}
    assert segs.loc[0, "words"] == count_words("Bonjour à tous, on commence.") == 5


def test_bom_and_crlf_are_accepted_and_offsets_match_normalised_body(tmp_path: Path):
    path = tmp_path / "le-mene" / "le-mene-x.md"
    path.parent.mkdir()
    path.write_bytes(b"\xef\xbb\xbf" + _doc().replace("\n", "\r\n").encode("utf-8"))
    doc, segs, problems = load_document(path)
    assert not problems.errors
    assert "\r" not in doc.body
    assert [doc.body[s.start:s.end] for s in segs] == [s.text for s in segs]
    assert segs[1].text.endswith("œuvre.")


def test_cp1252_file_is_reported_with_advice_not_decoded(tmp_path: Path):
    corpus = tmp_path / "corpus"
    write_doc(corpus, "le-mene", "le-mene-ok")
    bad = corpus / "malaunay" / "malaunay-cp.md"
    bad.parent.mkdir()
    bad.write_bytes(_doc("malaunay-cp", "malaunay").encode("cp1252"))
    loaded = load_corpus(corpus)
    assert list(loaded.documents) == ["le-mene-ok"]          # the rest is still loaded
    [problem] = loaded.problems.errors
    assert problem.path.endswith("malaunay-cp.md")
    assert "UTF-8" in str(problem) and "l'enregistrer en UTF-8" in str(problem)
    with pytest.raises(CorpusError, match="n'est pas en UTF-8"):
        read_text(bad)


def test_bad_yaml_names_file_and_line(tmp_path: Path):
    corpus = tmp_path / "corpus"
    write_doc(corpus, "le-mene", "le-mene-ok")
    text = _doc("le-mene-bad").replace('title: "Atelier test"', 'title: "Atelier test\n  oops: [')
    write_doc(corpus, "le-mene", "le-mene-bad", text)
    loaded = load_corpus(corpus)
    assert list(loaded.documents) == ["le-mene-ok"]
    [problem] = loaded.problems.errors
    assert "le-mene-bad.md" in problem.path and "YAML" in problem.message
    assert problem.line is not None and problem.line >= 3


def test_schema_problems_are_all_reported_with_lines(tmp_path: Path):
    text = _doc().replace("kind: transcript", "kind: podcast").replace("date: 2018-03-01", "date: 2018-13-45")
    path = write_doc(tmp_path, "le-mene", "le-mene-x", text)
    doc, _, problems = load_document(path)
    assert doc is None
    messages = " / ".join(str(p) for p in problems.errors)
    assert "kind" in messages and "podcast" in messages
    kind_problem = next(p for p in problems.errors if "kind" in p.message)
    assert kind_problem.line == 5          # the line of `kind:` in the file
    assert "valeurs permises : transcript" in kind_problem.hint


def test_invalid_calendar_date(tmp_path: Path):
    path = write_doc(tmp_path, "le-mene", "le-mene-x", _doc().replace("2018-03-01", "2018-02-30"))
    _, _, problems = load_document(path)
    assert any("n'existe pas dans le calendrier" in p.message for p in problems.errors)


def test_missing_required_field(tmp_path: Path):
    path = write_doc(tmp_path, "le-mene", "le-mene-x", _doc().replace("synthetic: true\n", ""))
    _, _, problems = load_document(path)
    assert any("synthetic" in p.message for p in problems.errors)


def test_duplicate_participant_id(tmp_path: Path):
    text = _doc().replace('{id: P2, name: "Hervé Essai"', '{id: P1, name: "Hervé Essai"')
    path = write_doc(tmp_path, "le-mene", "le-mene-x", text)
    _, _, problems = load_document(path)
    [problem] = problems.errors
    assert "le participant « P1 » est déclaré deux fois" in problem.message
    assert problem.line == 12


def test_unknown_speaker_is_an_error_with_its_line(tmp_path: Path):
    text = _doc().replace("**P2 (DGS)**", "**P9 (DGS)**")
    path = write_doc(tmp_path, "le-mene", "le-mene-x", text)
    doc, segs, problems = load_document(path)
    [problem] = problems.errors
    assert "intervenant inconnu « P9 »" in problem.message
    assert problem.line == doc.body.split("\n").index("**P9 (DGS)** : Le café est au fond.") + doc.body_first_line
    assert "P1, P2" in problem.hint
    assert len(segs) == 2


def test_territory_must_equal_folder_and_id_the_file_name(tmp_path: Path):
    path = write_doc(tmp_path, "malaunay", "malaunay-x", _doc("malaunay-x", "le-mene"))
    _, _, problems = load_document(path)
    assert any("diffère de son dossier « malaunay »" in p.message for p in problems.errors)
    path = write_doc(tmp_path, "le-mene", "le-mene-y", _doc("le-mene-z"))
    _, _, problems = load_document(path)
    assert any("diffère du nom du fichier" in p.message for p in problems.errors)


def test_text_before_first_turn_in_a_transcript(tmp_path: Path):
    text = _doc().replace("**P1 (élue)** : Bonjour", "Préambule sans orateur.\n\n**P1 (élue)** : Bonjour")
    path = write_doc(tmp_path, "le-mene", "le-mene-x", text)
    _, segs, problems = load_document(path)
    assert any("avant le premier tour de parole" in p.message for p in problems.errors)
    assert segs[0].text.startswith("Bonjour")


def test_narration_allowed_in_a_recit(tmp_path: Path):
    text = _doc().replace("kind: transcript", "kind: recit").replace(
        "**P1 (élue)** : Bonjour", "Il était une fois la mine.\n\n**P1 (élue)** : Bonjour")
    path = write_doc(tmp_path, "le-mene", "le-mene-x", text)
    _, segs, problems = load_document(path)
    assert not problems.errors
    assert segs[0].text == "Il était une fois la mine." and segs[0].speaker is None


def test_new_territory_is_just_a_new_folder(tmp_path: Path):
    corpus = tmp_path / "corpus"
    write_doc(corpus, "pays-de-mormal", "pays-de-mormal-1")
    assert load_corpus(corpus).territories == ["pays-de-mormal"]


def test_missing_corpus_folder(tmp_path: Path):
    with pytest.raises(CorpusError, match="dossier du corpus introuvable"):
        load_corpus(tmp_path / "nope")


def test_loading_a_corpus_imports_no_table_or_number_library(project: Path):
    """pandas is imported where a table is built (documents_frame, segments_frame), babel where a
    number is written: loading and validating a corpus (``analyse segments``, imports, a warm
    report) pays neither."""
    import subprocess
    import sys

    code = ("import sys; from analyse.model.corpus import load_corpus; "
            f"c = load_corpus({str(project / 'corpus')!r}); assert c.segments and not c.problems.errors; "
            "print(sorted(m for m in ('pandas', 'numpy', 'babel', 'jsonschema') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert proc.stdout.strip().splitlines()[-1] == "[]"


def test_count_words_leaves_timecodes_out():
    assert count_words("[00:03:12] Bonjour à tous") == count_words("Bonjour à tous") == 3
    assert count_words("l'élue [rires] parle") == 3          # a mark that is no timecode: its word counts


def test_word_counts_are_counted_once_and_follow_the_segments(project: Path, monkeypatch):
    import analyse.model.corpus as corpus_module

    corpus = load_corpus(project / "corpus")
    calls = []
    real = corpus_module.count_words
    monkeypatch.setattr(corpus_module, "count_words", lambda text: calls.append(text) or real(text))
    docs, segs = documents_frame(corpus), segments_frame(corpus)
    assert len(calls) == len(corpus.segments)                      # one count per segment for both tables
    assert docs["words"].sum() == segs["words"].sum() == sum(real(s.text) for s in corpus.segments)
    corpus.segments = corpus.segments[:2]                          # a new list: counted again
    assert segments_frame(corpus)["words"].tolist() == [real(s.text) for s in corpus.segments[:2]]
    assert documents_frame(corpus)["words"].sum() == segments_frame(corpus)["words"].sum()
