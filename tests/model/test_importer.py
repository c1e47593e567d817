"""Importing transcripts: each speaker convention, participants, timecodes, bad inputs, the CLI."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import stat
from pathlib import Path

import pytest

from analyse.errors import CorpusError, UsageError
from analyse.model.corpus import load_corpus, load_document
from analyse.model.importer import import_file, pseudonymise_text, read_speakers_csv
from tests.model.test_readers import DATA, make_docx, make_odt, make_vtt

ROOT = Path(__file__).resolve().parents[2]


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def imported(tmp_path: Path, source: Path, territory: str = "le-mene", **kw):
    """Import for real, then check the written file loads like any corpus document."""
    corpus = tmp_path / "corpus"
    result = import_file(source, corpus, territory, date="2024-03-01", **kw)
    assert result.written and result.target.is_file()
    doc, segments, problems = load_document(result.target, corpus)
    assert doc is not None and not problems.errors, [str(p) for p in problems]
    assert [s.id for s in segments] == [s.id for s in result.segments]
    assert doc.synthetic is False and doc.language == "fr"
    return result, doc, segments


def shape(segments):
    return [(s.speaker, s.turn, s.start_time, s.end_time) for s in segments]


# --- one test per convention -------------------------------------------------------------------

def test_txt_name_colon(tmp_path: Path):
    r, doc, segs = imported(tmp_path, DATA / "noms.txt")
    assert [(p.id, p.name, p.role) for p in doc.participants] == [
        ("P1", "Nadine Testu", "autre"), ("P2", "Hervé Essai", "autre")]
    assert shape(segs) == [("P1", 1, None, None), ("P1", 1, None, None), ("P2", 2, None, None), ("P1", 3, None, None)]
    # Two paragraphs of one speaker: one turn, two segments, blank line between them.
    assert "enregistré.\n\nDeuxième paragraphe" in doc.body
    assert segs[0].text == "Bonjour à tous, on commence l'atelier sur la coopération.\nJe rappelle que tout est enregistré."
    assert doc.id == "le-mene-noms" and r.target == tmp_path / "corpus" / "le-mene" / "le-mene-noms.md"


def test_txt_capitals(tmp_path: Path):
    _, doc, segs = imported(tmp_path, DATA / "majuscules.txt")
    assert [p.name for p in doc.participants] == ["Nadine", "Hervé"]
    assert [(s.speaker, s.turn) for s in segs] == [("P1", 1), ("P2", 2), ("P2", 2), ("P1", 3)]


def test_txt_bracketed_timecodes(tmp_path: Path):
    _, doc, segs = imported(tmp_path, DATA / "horodatage.txt")
    assert shape(segs) == [("P1", 1, "00:03:12", None), ("P2", 2, "00:03:40", None),
                           ("P2", 2, "00:04:05", None), ("P1", 3, "00:05:10", None)]
    # The mark stays in the text: offsets are plain indices into the body.
    assert segs[0].text.startswith("[00:03:12] On ouvre")
    assert doc.body[segs[1].start:segs[1].end] == segs[1].text


def test_txt_video_call_name_and_time_lines(tmp_path: Path):
    _, doc, segs = imported(tmp_path, DATA / "visio.txt")
    assert [p.name for p in doc.participants] == ["Nadine Testu", "Hervé Essai"]
    assert shape(segs) == [("P1", 1, "00:00:03", None), ("P2", 2, "00:00:41", None), ("P1", 3, "00:01:02", None)]
    assert "On attend encore deux personnes." in segs[0].text


def test_srt_name_prefixes_merge_cues_until_a_pause(tmp_path: Path):
    _, doc, segs = imported(tmp_path, DATA / "noms.srt")
    assert [p.name for p in doc.participants] == ["Nadine", "Hervé"]
    assert shape(segs) == [("P1", 1, "00:00:01", "00:00:07"), ("P2", 2, "00:00:08", "00:00:11"),
                           ("P2", 2, "00:00:20", "00:00:23")]
    assert segs[0].text == "[00:00:01-00:00:07] Bonjour et bienvenue à l'atelier. On commence par un tour de table."


def test_vtt_voice_tags_hand_written(tmp_path: Path):
    _, doc, segs = imported(tmp_path, DATA / "voix.vtt")
    assert [p.name for p in doc.participants] == ["Nadine Testu", "Hervé Essai"]
    assert shape(segs) == [("P1", 1, "00:00:01", "00:00:05"), ("P2", 2, "00:00:05", "00:00:09")]


def test_vtt_written_by_webvtt_py(tmp_path: Path):
    src = make_vtt(tmp_path / "reunion.vtt", [
        ("00:01:00.000", "00:01:02.000", "<v Nadine Testu>On commence."),
        ("00:01:02.500", "00:01:04.000", "<v Hervé Essai>D'accord."),
        ("00:01:04.500", "00:01:06.000", "<v Hervé Essai>J'ai une question."),
        ("00:01:07.000", "00:01:09.000", "<v Nadine Testu>Allez-y."),
    ])
    _, doc, segs = imported(tmp_path, src)
    assert shape(segs) == [("P1", 1, "00:01:00", "00:01:02"), ("P2", 2, "00:01:02", "00:01:06"),
                           ("P1", 3, "00:01:07", "00:01:09")]
    assert segs[1].text.endswith("D'accord. J'ai une question.")


def test_docx_bold_names_written_by_python_docx(tmp_path: Path):
    src = make_docx(tmp_path / "Atelier mars.docx", [
        ("Nadine Testu :", " Bonjour à tous."),
        (None, "Je passe la parole à Hervé."),
        ("Hervé Essai", " : Merci Nadine."),
        ("Nadine Testu :", " [00:12:30] Une dernière chose."),
    ], title="Atelier du 3 mars")
    r, doc, segs = imported(tmp_path, src)
    assert doc.id == "le-mene-atelier-mars"
    assert [p.name for p in doc.participants] == ["Nadine Testu", "Hervé Essai"]
    assert shape(segs) == [("P1", 1, None, None), ("P1", 1, None, None), ("P2", 2, None, None),
                           ("P1", 3, "00:12:30", None)]
    # The heading before the first speaker is reported, not attributed to anyone.
    assert [text for _, text in r.layout.unplaced] == ["Atelier du 3 mars"]
    assert "Atelier du 3 mars" not in doc.body


def test_odt_written_by_odfpy(tmp_path: Path):
    src = make_odt(tmp_path / "entretien.odt", ["ENQUÊTRICE : Pouvez-vous vous présenter ?",
                                                 "HABITANTE : J'habite le bourg depuis vingt ans.",
                                                 "Je suis au conseil de quartier."])
    _, doc, segs = imported(tmp_path, src, kind="entretien")
    assert [p.name for p in doc.participants] == ["Enquêtrice", "Habitante"]
    assert doc.kind == "entretien"
    assert [(s.speaker, s.turn) for s in segs] == [("P1", 1), ("P2", 2), ("P2", 2)]


def test_rtf(tmp_path: Path):
    _, doc, segs = imported(tmp_path, DATA / "atelier.rtf")
    assert [p.name for p in doc.participants] == ["Nadine Testu", "Hervé Essai"]
    assert segs[1].text == "La chaufferie bois fonctionne depuis l'été."


def test_plain_markdown_with_bold_names(tmp_path: Path):
    src = tmp_path / "notes.md"
    src.write_text("**Nadine** : Bonjour.\n\n**Hervé** : Salut, *vraiment* content.\n", encoding="utf-8")
    _, doc, segs = imported(tmp_path, src)
    assert [p.name for p in doc.participants] == ["Nadine", "Hervé"]
    assert segs[1].text == "Salut, *vraiment* content."


def test_written_front_matter_and_new_document_loads_in_the_corpus(project: Path):
    import_file(DATA / "noms.txt", project / "corpus", "pays-de-mormal", date="2024-03-01",
                atelier="cooperation", doc_id="mormal-atelier")
    corpus = load_corpus(project / "corpus")
    assert not corpus.problems
    doc = corpus.documents["mormal-atelier"]
    assert (doc.territory, doc.kind, doc.atelier, doc.date) == ("pays-de-mormal", "transcript", "cooperation", "2024-03-01")
    assert doc.meta["source"] == "noms.txt"
    assert "pays-de-mormal" in corpus.territories


# --- participants, pseudonyms, dry run ----------------------------------------------------------

def test_speakers_csv_maps_names_to_ids_roles_and_territories(tmp_path: Path):
    csv_path = tmp_path / "locuteurs.csv"
    csv_path.write_text("name,id,role,territory\nNadine Testu,ANIM,animateur,\nhervé essai,P7,elu,le-mene\n",
                        encoding="utf-8")
    _, doc, segs = imported(tmp_path, DATA / "noms.txt", speakers=csv_path)
    assert [(p.id, p.name, p.role, p.territory) for p in doc.participants] == [
        ("ANIM", "Nadine Testu", "animateur", None), ("P7", "hervé essai", "elu", "le-mene")]
    assert [s.speaker for s in segs] == ["ANIM", "ANIM", "P7", "ANIM"]


def test_speakers_csv_errors_name_the_line(tmp_path: Path):
    bad = tmp_path / "l.csv"
    bad.write_text("name,id,role\nNadine,P1,maire\n", encoding="utf-8")
    with pytest.raises(UsageError, match="rôle « maire » inconnu") as exc:
        read_speakers_csv(bad)
    assert exc.value.line == 2
    bad.write_text("nom,id\nNadine,P1\n", encoding="utf-8")
    with pytest.raises(UsageError, match="colonne « name »"):
        read_speakers_csv(bad)


def test_inter_territory_import_takes_territories_from_the_csv(tmp_path: Path):
    csv_path = tmp_path / "l.csv"
    csv_path.write_text("name,id,role,territory\nNadine Testu,P1,elu,le-mene\nHervé Essai,P2,services,malaunay\n",
                        encoding="utf-8")
    r, doc, segs = imported(tmp_path, DATA / "noms.txt", territory="inter-territoires", speakers=csv_path)
    assert r.target.parent.name == "inter-territoires"
    assert [s.territory for s in segs] == ["le-mene", "le-mene", "malaunay", "le-mene"]
    with pytest.raises(CorpusError, match="sans territoire dans un document inter-territoires"):
        import_file(DATA / "visio.txt", tmp_path / "corpus", "inter-territoires", date="2024-03-01")
    assert files_under(tmp_path / "corpus") == ["inter-territoires/inter-noms.md"]


def test_pseudonymise_stores_ids_and_keeps_the_table_private(tmp_path: Path):
    private = tmp_path / ".balises-prive"
    r, doc, segs = imported(tmp_path, DATA / "noms.txt", pseudonymise=True, private_dir=private)
    text = r.target.read_text(encoding="utf-8")
    assert "Nadine" not in text and "Hervé" not in text and "Testu" not in text
    assert "Merci P1. Le café" in text and "Deuxième paragraphe de P1" in text
    assert [(p.id, p.name) for p in doc.participants] == [("P1", "P1"), ("P2", "P2")]
    table = json.loads(r.private_path.read_text(encoding="utf-8"))
    assert table["participants"][0] == {"id": "P1", "name": "Nadine Testu", "role": "autre"}
    assert stat.S_IMODE(os.stat(r.private_path).st_mode) == 0o600
    assert not r.private_path.is_relative_to(tmp_path / "corpus")


def test_pseudonymise_default_folder_is_beside_the_corpus(tmp_path: Path):
    r = import_file(DATA / "noms.txt", tmp_path / "corpus", "le-mene", date="2024-03-01", pseudonymise=True)
    assert r.private_path == tmp_path.resolve() / ".balises-prive" / "pseudonymes-le-mene-noms.json"


def test_pseudonymise_text_whole_names_then_parts():
    people = [{"id": "P1", "name": "Marie-Claire Dupont"}, {"id": "P2", "name": "Jean Dupontel"}]
    assert pseudonymise_text("Marie-Claire Dupont et Jean ; DUPONT, Dupontel.", people) == "P1 et P2 ; P1, P2."


def test_dry_run_writes_nothing(tmp_path: Path):
    corpus = tmp_path / "corpus"
    r = import_file(DATA / "horodatage.txt", corpus, "le-mene", date="2024-03-01", dry_run=True,
                    pseudonymise=True, private_dir=tmp_path / "prive")
    assert not r.written and len(r.segments) == 4 and r.turns == 3 and r.timed == 4
    assert not corpus.exists() and not (tmp_path / "prive").exists()


def test_date_defaults_to_the_file_and_says_so(tmp_path: Path):
    r = import_file(DATA / "noms.txt", tmp_path / "corpus", "le-mene", dry_run=True)
    assert "date de modification du fichier" in r.date_note and "--date" in r.date_note


# --- bad inputs: one French line, nothing written --------------------------------------------

def _encrypted_odt() -> bytes:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        z.writestr("META-INF/manifest.xml", "<manifest:manifest><manifest:file-entry><manifest:encryption-data/>"
                   "</manifest:file-entry></manifest:manifest>")
        z.writestr("content.xml", b"\x8a\x01chiffre")
    return buf.getvalue()


BAD = {
    "vide.txt": (b"", "le fichier est vide"),
    "blancs.txt": (b"  \n\n \n", "ne contient aucun texte"),
    "windows.txt": ("Hervé : l’été dernier".encode("cp1252"), "cp1252"),
    "ancien.txt": ("Hervé : été".encode("latin-1"), "Latin-1"),
    "sans-texte.srt": (b"1\n00:00:01,000 --> 00:00:02,000\n\n2\n00:00:03,000 --> 00:00:04,000\n\n",
                       "sous-titres ne contient aucun texte"),
    "abime.docx": (b"PK\x03\x04garbage", "document Word endommagé"),
    "secret.docx": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "protégé par mot de passe"),
    "abime.odt": (b"garbage", "OpenDocument endommagé"),
    "secret.odt": (_encrypted_odt(), "OpenDocument protégé par mot de passe"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_input_is_one_french_line_and_nothing_is_written(tmp_path: Path, name: str):
    data, message = BAD[name]
    src = tmp_path / name
    src.write_bytes(data)
    corpus = tmp_path / "corpus"
    with pytest.raises(CorpusError) as exc:
        import_file(src, corpus, "le-mene", date="2024-03-01")
    assert message in str(exc.value)
    assert str(src) in str(exc.value) and "\n" not in str(exc.value)
    assert files_under(corpus) == []


def test_forced_encoding_reads_a_cp1252_file(tmp_path: Path):
    src = tmp_path / "windows.txt"
    src.write_bytes("Hervé : l’été dernier, c'était « bien ».".encode("cp1252"))
    _, doc, segs = imported(tmp_path, src, encoding="cp1252")
    assert segs[0].text == "l’été dernier, c'était « bien »." and doc.participants[0].name == "Hervé"


def test_unrecognised_layout_shows_the_first_lines(tmp_path: Path):
    with pytest.raises(CorpusError, match="aucun locuteur reconnu") as exc:
        import_file(DATA / "sans-locuteur.txt", tmp_path / "corpus", "le-mene", date="2024-03-01")
    assert "« Compte rendu de la réunion du 3 mars »" in str(exc.value)
    assert files_under(tmp_path / "corpus") == []


def test_existing_id_is_never_overwritten_without_replace(tmp_path: Path):
    corpus = tmp_path / "corpus"
    first = import_file(DATA / "noms.txt", corpus, "le-mene", date="2024-03-01")
    before = first.target.read_text(encoding="utf-8")
    with pytest.raises(CorpusError, match="existe déjà") as exc:
        import_file(DATA / "majuscules.txt", corpus, "le-mene", date="2024-03-01", doc_id="le-mene-noms")
    assert "--replace" in exc.value.hint
    assert first.target.read_text(encoding="utf-8") == before
    with pytest.raises(CorpusError, match="déjà pris"):
        import_file(DATA / "noms.txt", corpus, "malaunay", date="2024-03-01", doc_id="le-mene-noms")
    assert files_under(corpus) == ["le-mene/le-mene-noms.md"]
    import_file(DATA / "majuscules.txt", corpus, "le-mene", date="2024-03-01", doc_id="le-mene-noms", replace=True)
    assert "**P1** : Bonjour, on commence" in first.target.read_text(encoding="utf-8")


@pytest.mark.parametrize("territory", ["Le Mené", "le_mene", "../le-mene", ""])
def test_territory_must_be_a_plain_slug(tmp_path: Path, territory: str):
    with pytest.raises(UsageError, match="n'est pas un identifiant simple"):
        import_file(DATA / "noms.txt", tmp_path / "corpus", territory, date="2024-03-01")
    assert files_under(tmp_path / "corpus") == []


# --- the command ---------------------------------------------------------------------------------

def cli_module():
    """``analyse.cli.import_``; before the CLI package exists beside the flat cli.py, load it by path."""
    try:
        return importlib.import_module("analyse.cli.import_")
    except ImportError:
        path = ROOT / "src" / "analyse" / "cli" / "import_.py"
        spec = importlib.util.spec_from_file_location("balises_cli_import_", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module


def run_cli(argv: list[str], corpus: Path) -> int:
    module = cli_module()
    parser = argparse.ArgumentParser(prog="analyse import")
    parser.add_argument("--corpus", default=str(corpus))
    parser.add_argument("--project", default=None)
    module.add_arguments(parser)
    return module.run(parser.parse_args(argv))


def test_cli_reports_what_it_found(tmp_path: Path, capsys):
    corpus = tmp_path / "corpus"
    src = make_docx(tmp_path / "atelier.docx", [("Nadine Testu :", " Bonjour."), ("Hervé Essai :", " Merci.")],
                    title="Atelier du 3 mars")
    code = run_cli([str(src), str(DATA / "horodatage.txt"), "--territory", "le-mene", "--date", "2024-03-01",
                    "--dry-run"], corpus)
    out = capsys.readouterr().out
    assert code == 0
    assert "locuteurs : 2 — P1 Nadine Testu (autre), P2 Hervé Essai (autre)" in out
    assert "tours : 3, segments : 4, mots : 25, segments horodatés : 4" in out
    assert "non placé : 1 ligne(s)" in out and "« Atelier du 3 mars »" in out
    assert "rien n'a été écrit" in out and not corpus.exists()


def test_cli_one_line_per_bad_file_and_exit_1(tmp_path: Path, capsys):
    corpus = tmp_path / "corpus"
    empty = tmp_path / "vide.txt"
    empty.write_bytes(b"")
    code = run_cli([str(empty), str(DATA / "noms.txt"), "--territory", "le-mene", "--date", "2024-03-01"], corpus)
    captured = capsys.readouterr()
    assert code == 1
    assert captured.err.strip().count("\n") == 0 and "le fichier est vide" in captured.err
    assert files_under(corpus) == ["le-mene/le-mene-noms.md"]
    with pytest.raises(UsageError, match="--id ne vaut que pour un seul fichier"):
        run_cli([str(empty), str(DATA / "noms.txt"), "--territory", "le-mene", "--id", "x"], corpus)


def test_pseudonymise_warns_when_the_id_holds_a_name(tmp_path: Path):
    src = tmp_path / "entretien-testu.txt"
    src.write_text("Nadine Testu : Bonjour.\n", encoding="utf-8")
    r = import_file(src, tmp_path / "corpus", "le-mene", date="2024-03-01", pseudonymise=True, dry_run=True)
    assert any("contient un nom (testu)" in n for n in r.notes)
    assert "source:" not in r.text and "Testu" not in r.text
