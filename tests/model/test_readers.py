"""Reader registry and source readers: fixtures made by the libraries themselves at test time."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from analyse.errors import CorpusError
from analyse.model.corpus import load_corpus, load_document
from analyse.model.readers import (DOCUMENT_READERS, SOURCE_READERS, decode, document_reader, read_source,
                                   source_reader)
from tests.helpers import write_doc

DATA = Path(__file__).resolve().parents[1] / "data" / "import"


def make_docx(path: Path, paragraphs: list[tuple[str | None, str]], title: str | None = None) -> Path:
    """A Word file written by python-docx: ``(bold name or None, text)`` per paragraph."""
    import docx

    document = docx.Document()
    if title:
        document.add_heading(title, level=1)
    for name, text in paragraphs:
        p = document.add_paragraph()
        if name:
            p.add_run(name).bold = True
        p.add_run(text)
    document.save(str(path))
    return path


def make_odt(path: Path, paragraphs: list[str]) -> Path:
    """An OpenDocument text written by odfpy."""
    from odf.opendocument import OpenDocumentText
    from odf.text import P

    document = OpenDocumentText()
    for text in paragraphs:
        document.text.addElement(P(text=text))
    document.save(str(path))
    return path


def make_vtt(path: Path, cues: list[tuple[str, str, str]]) -> Path:
    """A WebVTT file written by webvtt-py: ``(start, end, text)`` per cue."""
    import webvtt

    captions = webvtt.WebVTT()
    for start, end, text in cues:
        captions.captions.append(webvtt.Caption(start, end, text))
    captions.save(str(path))
    return path


def test_registry_by_suffix():
    assert document_reader("corpus/le-mene/x.md") is DOCUMENT_READERS[".md"] is load_document
    for suffix in (".docx", ".odt", ".txt", ".md", ".rtf", ".vtt", ".srt"):
        assert suffix in SOURCE_READERS
        assert source_reader(f"a/b{suffix.upper()}") is SOURCE_READERS[suffix]
    assert document_reader("x.docx") is None and source_reader("x.pdf") is None


def test_unknown_format_is_refused_in_french(tmp_path: Path):
    f = tmp_path / "notes.pdf"
    f.write_bytes(b"%PDF-1.4")
    with pytest.raises(CorpusError, match="non pris en charge") as exc:
        read_source(f)
    assert ".docx" in exc.value.hint


def test_load_corpus_warns_about_files_it_does_not_read(project: Path):
    corpus = project / "corpus"
    (corpus / "le-mene" / "atelier-mars.docx").write_bytes(b"PK")
    (corpus / "le-mene" / "notes.pdf").write_bytes(b"%PDF")
    (corpus / "le-mene" / ".atelier.md.tmp").write_text("en cours")  # hidden: an atomic write in progress
    (corpus / "le-mene" / "README.md").write_text("# lisez-moi")
    loaded = load_corpus(corpus)
    assert sorted(loaded.documents) == ["le-mene-test", "malaunay-test"]
    warnings = {p.path: p for p in loaded.problems.warnings}
    assert set(warnings) == {"le-mene/atelier-mars.docx", "le-mene/notes.pdf"}
    assert "transcription à importer" in warnings["le-mene/atelier-mars.docx"].message
    assert "analyse import" in warnings["le-mene/atelier-mars.docx"].hint
    assert "--territory le-mene" in warnings["le-mene/atelier-mars.docx"].hint
    assert not loaded.problems.errors


def test_docx_bold_names_become_block_speakers(tmp_path: Path):
    path = make_docx(tmp_path / "atelier.docx", [
        ("Nadine Testu :", " Bonjour à tous."),
        ("Hervé Essai", " : Merci."),
        (None, "Suite du propos d'Hervé, sans nom."),
        ("Attention", " ce mot en gras n'est suivi d'aucun deux-points."),
    ], title="Atelier du 3 mars")
    source = read_source(path)
    assert source.format == "docx" and source.unit == "paragraphe"
    got = [(b.speaker, b.text) for b in source.blocks]
    assert got[0] == (None, "Atelier du 3 mars")
    assert got[1] == ("Nadine Testu", "Bonjour à tous.")
    assert got[2] == ("Hervé Essai", "Merci.")
    assert got[3] == (None, "Suite du propos d'Hervé, sans nom.")
    # A bold word is a name only if it looks like one; the text keeps it and the importer decides.
    assert got[4][1].startswith("Attention ce mot")
    assert source.date is not None


def test_odt_paragraphs_in_order(tmp_path: Path):
    path = make_odt(tmp_path / "atelier.odt", ["Nadine Testu : Bonjour.", "", "Hervé Essai : Merci, été."])
    source = read_source(path)
    assert [b.text for b in source.blocks] == ["Nadine Testu : Bonjour.", "Hervé Essai : Merci, été."]


def test_vtt_voice_tags_and_timecodes(tmp_path: Path):
    path = make_vtt(tmp_path / "visio.vtt", [
        ("00:00:01.000", "00:00:03.000", "<v Nadine Testu>Bonjour à tous."),
        ("00:00:03.500", "00:00:05.000", "<v.loud Hervé Essai>Merci !"),
    ])
    blocks = read_source(path).blocks
    assert [(b.speaker, b.text, b.start, b.end, b.cue) for b in blocks] == [
        ("Nadine Testu", "Bonjour à tous.", "00:00:01.000", "00:00:03.000", True),
        ("Hervé Essai", "Merci !", "00:00:03.500", "00:00:05.000", True),
    ]


def test_srt_cues_keep_text_and_times():
    blocks = read_source(DATA / "noms.srt").blocks
    assert blocks[0].text == "Nadine : Bonjour et bienvenue à l'atelier."
    assert (blocks[0].start, blocks[0].end, blocks[0].speaker) == ("00:00:01.000", "00:00:04.000", None)
    assert len(blocks) == 4


def test_rtf_accents_come_through():
    text = "\n".join(b.text for b in read_source(DATA / "atelier.rtf").blocks)
    assert "l'énergie et de l'école" in text and "Hervé Essai :" in text


def test_plain_markdown_with_front_matter_is_a_corpus_document(tmp_path: Path):
    doc = write_doc(tmp_path, "le-mene", "le-mene-x")
    with pytest.raises(CorpusError, match="déjà un en-tête YAML"):
        read_source(doc)


def test_decode_names_cp1252_and_latin1_and_accepts_forced_encoding(tmp_path: Path):
    with pytest.raises(CorpusError, match=r"cp1252 \(Windows\)") as exc:
        decode("Hervé : l’été".encode("cp1252"), "a.txt")
    assert "--encoding cp1252" in exc.value.hint
    with pytest.raises(CorpusError, match="Latin-1") as exc:
        decode("Hervé : été".encode("latin-1"), "a.txt")
    assert "--encoding latin-1" in exc.value.hint
    assert decode("Hervé : l’été".encode("cp1252"), "a.txt", "cp1252")[0] == "Hervé : l’été"
    assert decode("\ufeffA : b\r\nc".encode("utf-8"), "a.txt") == ("A : b\nc", "utf-8")
    assert decode("A : é".encode("utf-16"), "a.txt")[0] == "A : é"


def test_corrupt_and_protected_office_files(tmp_path: Path):
    bad = tmp_path / "abime.docx"
    bad.write_bytes(b"PK\x03\x04 pas vraiment une archive")
    with pytest.raises(CorpusError, match="endommagé"):
        read_source(bad)
    locked = tmp_path / "secret.docx"
    locked.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512)
    with pytest.raises(CorpusError, match="protégé par mot de passe"):
        read_source(locked)
    not_word = tmp_path / "autre.docx"
    with zipfile.ZipFile(not_word, "w") as z:
        z.writestr("bonjour.txt", "rien à voir")
    with pytest.raises(CorpusError, match="endommagé"):
        read_source(not_word)
    locked_odt = tmp_path / "secret.odt"
    with zipfile.ZipFile(locked_odt, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        z.writestr("META-INF/manifest.xml", '<manifest:manifest><manifest:file-entry manifest:full-path="content.xml">'
                   '<manifest:encryption-data/></manifest:file-entry></manifest:manifest>')
        z.writestr("content.xml", b"\x8a\x01chiffre")
    with pytest.raises(CorpusError, match="OpenDocument protégé par mot de passe"):
        read_source(locked_odt)
    bad_odt = tmp_path / "abime.odt"
    bad_odt.write_bytes(b"\x00\x01\x02")
    with pytest.raises(CorpusError, match="OpenDocument endommagé"):
        read_source(bad_odt)
