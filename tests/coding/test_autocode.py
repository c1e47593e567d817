"""Rule-based and learned suggestions: matches, scores, thresholds, persistence."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import spacy
import yaml
from sklearn.base import clone

from analyse.coding.autocode import (ModelCodebookError, ModelError, RuleSuggester, SegmentCoder, best_threshold,
                              load_model, rule_score, save_model, train_model, training_data)
from analyse.model.codebook import load_codebook
from analyse.model.codings import CodingStore, coding_record, coverage_record, load_codings
from analyse.model.corpus import load_corpus
from analyse.errors import AnalyseError
from analyse.nlp import NLPLayer, load_pipeline, parse_segments

from tests.helpers import FRONT_MATTER, make_codebook

# --------------------------------------------------------------------------- a synthetic project
# Vocabulary that reliably signals three codes, and small talk that signals none:
# enough coded segments for the learned coder (which needs 5 positives per code).
SIGNALS = {
    "ENG.1": ["les voisins du quartier sont descendus", "au pied de l'immeuble les habitants discutent",
              "la rue entière est venue au jardin du quartier"],
    "COOP.3": ["on a co-construit le projet avec les associations", "décider ensemble avec les entreprises",
               "co-produire la charte avec tout le monde"],
    "VAL.6": ["l'argent reste sur le territoire grâce à la monnaie locale", "les euros circulent localement",
              "le circuit court garde la valeur ici"],
}
SMALL_TALK = ["Le café est au fond de la salle.", "On reprend à quinze heures.", "Qui prend les notes aujourd'hui ?",
              "Le projecteur ne marche toujours pas.", "Bonjour à toutes et à tous."]
TERRITORIES = ("le-mene", "malaunay", "grande-synthe", "loos-en-gohelle")

HEADER = FRONT_MATTER


def build_synthetic_project(root: Path, docs_per_territory: int = 3, segments_per_doc: int = 10,
                            coder: str = "A", seed: int = 0) -> Path:
    """A project whose coder A codes 3 codes by clear vocabulary (deterministic)."""
    rng = random.Random(seed)
    corpus = root / "corpus"
    truth: dict[str, list[set[str]]] = {}
    for territory in TERRITORIES:
        for d in range(docs_per_territory):
            doc_id = f"{territory}-doc{d}"
            turns, codes = [], []
            for n in range(segments_per_doc):
                chosen = {c for c in SIGNALS if rng.random() < 0.3}
                parts = [rng.choice(SIGNALS[c]) for c in sorted(chosen)] + [rng.choice(SMALL_TALK)]
                rng.shuffle(parts)
                turns.append(f"**P{1 + n % 2} (x)** : " + " ".join(p[0].upper() + p[1:] + ("" if p[-1] in ".?" else ".")
                                                                  for p in parts))
                codes.append(chosen)
            folder = corpus / territory
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{doc_id}.md").write_text(HEADER.format(id=doc_id, territory=territory)
                                                + "\n\n".join(turns) + "\n", encoding="utf-8")
            truth[doc_id] = codes
    (corpus / "codings").mkdir(parents=True, exist_ok=True)
    (root / "codebook").mkdir(exist_ok=True)
    book_path = make_codebook(root / "codebook" / "balises.yaml")
    data = yaml.safe_load(book_path.read_text(encoding="utf-8"))
    for code in data["codes"]:
        if code["id"] == "ENG.1":
            code["keywords"] = ["quartier", "voisin"]
        if code["id"] == "VAL.6":
            code["keywords"] = ["monnaie locale"]
    book_path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    loaded = load_corpus(corpus)
    assert not loaded.problems.errors, loaded.problems.errors
    records = []
    for doc_id, codes in truth.items():
        for seg, seg_codes in zip(loaded.segments_of(doc_id), codes):
            records += [coding_record(seg, c, coder) for c in sorted(seg_codes)]
        records.append(coverage_record(doc_id, coder))
    CodingStore(corpus / "codings").append(coder, records)
    return root


@pytest.fixture
def synthetic(tmp_path: Path) -> Path:
    return build_synthetic_project(tmp_path)


@pytest.fixture(scope="module")
def fr_nlp():
    return load_pipeline("fr_core_news_sm")


# --------------------------------------------------------------------------- rules

def test_rule_score_grows_with_distinct_terms():
    assert [rule_score(n) for n in range(4)] == [0.0, 0.5, 0.75, 0.875]


def test_rules_match_lemmas_lowercase_and_patterns_on_a_known_sentence(tmp_path: Path, fr_nlp):
    extra_keywords = {"ENG.1": ["petite action", "Quartier"], "ENG.3": ["confiance"]}
    book_path = make_codebook(tmp_path / "b.yaml")
    data = yaml.safe_load(book_path.read_text(encoding="utf-8"))
    for code in data["codes"]:
        code["keywords"] = extra_keywords.get(code["id"], code["keywords"])
        if code["id"] == "ENG.3":
            code["patterns"] = [[{"LEMMA": "faire"}, {"LEMMA": "confiance"}]]
    book_path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    book = load_codebook(book_path)
    rules = RuleSuggester(book, fr_nlp)
    assert rules.uses_lemmas and not rules.skipped_patterns

    sentence = "Dans le QUARTIER, des petites actions : on fait confiance aux gens."
    matches = rules.match(fr_nlp(sentence))
    found = {(m.code, m.term, sentence[m.start_char:m.end_char]) for m in matches}
    assert ("ENG.1", "« Quartier »", "QUARTIER") in found          # lower-case matcher
    assert ("ENG.1", "« petite action »", "petites actions") in found  # lemma matcher
    assert ("ENG.3", "motif 1", "fait confiance") in found            # Matcher pattern
    assert ("ENG.3", "« confiance »", "confiance") in found

    # offsets in the document body: segment start + offset in the segment
    class Seg:
        id, doc, start, text = "d#3", "d", 100, sentence
    frame = rules.suggest([(Seg, fr_nlp(sentence))])
    eng1 = frame[frame.code == "ENG.1"].iloc[0]
    assert (eng1.start, eng1.end, eng1.quote) == (108, 116, "QUARTIER")   # first match: "Dans le " is 8 characters
    assert eng1.score == 0.75 and eng1.terms == "« Quartier », « petite action »"
    eng3 = frame[frame.code == "ENG.3"].iloc[0]
    assert eng3.score == 0.75 and eng3.quote == "fait confiance"


def test_rules_with_a_blank_pipeline_skip_lemma_patterns(tmp_path: Path):
    book_path = make_codebook(tmp_path / "b.yaml")
    data = yaml.safe_load(book_path.read_text(encoding="utf-8"))
    data["codes"][0]["patterns"] = [[{"LEMMA": "faire"}, {"LEMMA": "confiance"}], [{"LOWER": "rue"}]]
    book_path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    rules = RuleSuggester(load_codebook(book_path), spacy.blank("fr"))
    assert not rules.uses_lemmas and rules.skipped_patterns == [("ENG.1", 0)]
    codes = rules.predict_codes([spacy.blank("fr")("Dans la RUE on fait confiance, motENG.2")])
    assert codes == [{"ENG.1", "ENG.2"}]


# --------------------------------------------------------------------------- thresholds

def test_best_threshold_known_answers():
    # scores 0.35 and 0.8 positive: cutting at 0.35 gives P=2/3, R=1 → F1 0.8 (best);
    # the threshold is halfway to the next lower score (0.1).
    assert best_threshold([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == (0.225, 0.8)
    # perfectly separable: F1 1, threshold between 0.3 and 0.6
    assert best_threshold([0, 0, 1, 1, 1], [0.1, 0.3, 0.6, 0.7, 0.9]) == (0.45, 1.0)
    # no positive: the default, F1 0
    assert best_threshold([0, 0, 0], [0.2, 0.5, 0.9]) == (0.5, 0.0)


# --------------------------------------------------------------------------- learned model

def _toy(n_docs: int = 8, per_doc: int = 6):
    """Segments whose code is given away by one word; rare code 'RARE' has 3 positives."""
    rng = random.Random(1)
    rows, y = [], []
    for d in range(n_docs):
        for k in range(per_doc):
            codes = set()
            words = ["bonjour", "café", "salle", "notes"]
            if rng.random() < 0.4:
                codes.add("A.1")
                words += ["quartier", "voisin"]
            if rng.random() < 0.4:
                codes.add("B.1")
                words += ["argent", "euro"]
            if len(rows) in (3, 20, 40):
                codes.add("RARE")
            rng.shuffle(words)
            text = " ".join(words)
            rows.append({"doc": f"d{d}", "text": text, "lemmas": text})
            y.append(codes)
    import pandas as pd
    return pd.DataFrame(rows), y


def test_segment_coder_is_a_sklearn_estimator_and_learns_the_toy_codes():
    X, y = _toy()
    model = SegmentCoder(char_ngrams=(2, 3), min_df=1, cv=4, random_state=0)
    assert clone(model).get_params() == model.get_params()
    assert not hasattr(model, "classes_")
    model.fit(X, y, groups=X["doc"])
    assert list(model.classes_) == ["A.1", "B.1"]
    assert model.skipped_ == {"RARE": 3}                     # fewer than 5 positives: reported, not learned
    assert model.thresholds_.shape == (2,) and model.cv_f1_.min() > 0.9
    proba = model.predict_proba(X)
    assert proba.shape == (len(X), 2) and ((proba >= 0) & (proba <= 1)).all()
    new = X.iloc[:0].copy()
    new.loc[0] = ["z", "le quartier et les voisins", "le quartier et les voisins"]
    new.loc[1] = ["z", "un euro et de l'argent", "un euro et de l'argent"]
    new.loc[2] = ["z", "bonjour le café", "bonjour le café"]
    assert model.predict_codes(new) == [["A.1"], ["B.1"], []]
    # deterministic: same data, same random_state → same thresholds
    again = SegmentCoder(char_ngrams=(2, 3), min_df=1, cv=4, random_state=0).fit(X, y, groups=X["doc"])
    assert np.array_equal(again.thresholds_, model.thresholds_)


def test_segment_coder_refuses_when_nothing_can_be_learned():
    X, y = _toy(n_docs=2, per_doc=2)
    with pytest.raises(ModelError, match="rien à apprendre"):
        SegmentCoder().fit(X, [set() for _ in y])


def test_training_data_uses_covered_documents_only(project: Path):
    corpus = load_corpus(project / "corpus")
    book = load_codebook(project / "codebook" / "balises.yaml")
    store = CodingStore(project / "corpus" / "codings")
    seg = corpus.segments_of("le-mene-test")[1]
    other = corpus.segments_of("malaunay-test")[0]
    store.append("A", [coding_record(seg, "ENG.1", "A"), coding_record(other, "ENG.2", "A"),
                       coverage_record("le-mene-test", "A")])
    codings = load_codings(corpus, book)
    X, y = training_data(corpus, codings, "A", {s.id: s.text.lower() for s in corpus.segments})
    assert list(X["segment"]) == ["le-mene-test#1", "le-mene-test#2", "le-mene-test#3"]
    assert y == [set(), {"ENG.1"}, set()]                     # malaunay-test is not covered: left out


def test_model_round_trip_and_refusal_on_codebook_version(synthetic: Path, tmp_path: Path, monkeypatch):
    corpus = load_corpus(synthetic / "corpus")
    book = load_codebook(synthetic / "codebook" / "balises.yaml")
    codings = load_codings(corpus, book)
    layer = NLPLayer(spacy.blank("fr"), cache_dir=tmp_path / "cache", progress=False)
    model, meta = train_model(corpus, book, codings, "A", layer, cv=3)
    assert set(model.classes_) == {"ENG.1", "COOP.3", "VAL.6"}
    assert meta["codebook_version"] == "0.0.1" and meta["coder"] == "A" and meta["segments"] == 120
    assert set(meta["thresholds"]) == {"ENG.1", "COOP.3", "VAL.6"} and meta["spacy_pipeline"] == layer.key
    path = save_model(model, meta, tmp_path / "m" / "model.joblib")
    loaded, meta2 = load_model(path, book)
    assert meta2 == meta and np.array_equal(loaded.thresholds_, model.thresholds_)

    book.version = "2.0.0"
    with pytest.raises(ModelCodebookError, match=r"version 0\.0\.1 de la grille.*version 2\.0\.0") as err:
        load_model(path, book)
    assert isinstance(err.value, AnalyseError) and "analyse train" in err.value.hint

    import sklearn
    monkeypatch.setattr(sklearn, "__version__", "0.1")
    with pytest.raises(ModelError, match="scikit-learn"):
        load_model(path)
    with pytest.raises(ModelError, match="fichier de modèle introuvable"):
        load_model(tmp_path / "nope.joblib")


def test_rules_on_parsed_corpus_segments(synthetic: Path, tmp_path: Path):
    corpus = load_corpus(synthetic / "corpus")
    book = load_codebook(synthetic / "codebook" / "balises.yaml")
    layer = NLPLayer(spacy.blank("fr"), cache_dir=tmp_path / "cache", progress=False)
    rules = RuleSuggester(book, layer.nlp)
    frame = rules.suggest(parse_segments(corpus, layer))
    assert set(frame.code) == {"ENG.1", "VAL.6"}
    for r in frame.itertuples():
        body = corpus.documents[r.doc].body
        assert body[r.start:r.end] == r.quote and r.quote.lower() in ("quartier", "voisin", "monnaie locale")
        assert r.segment.startswith(r.doc + "#")


def test_segment_coder_with_a_single_learnable_code():
    X, y = _toy()
    only_a = [s & {"A.1"} for s in y]
    model = SegmentCoder(char_ngrams=None, min_df=1, cv=3).fit(X, only_a, groups=X["doc"])
    assert list(model.classes_) == ["A.1"] and model.predict_proba(X).shape == (len(X), 1)
    assert [bool(c) for c in model.predict_codes(X)] == [bool(s) for s in only_a]


def test_wordwise_char_tfidf_equals_sklearn_char_wb():
    from sklearn.feature_extraction.text import TfidfVectorizer

    from analyse.coding.autocode import WordwiseCharTfidf

    train = ["Les voisins du Quartier", "l'argent reste ici, l'argent circule", "a b  c\tdé", "été œuvre"]
    new = ["QUARTIER quartier voisins inconnus", "", "l'argent\u00a0reste", "x"]
    ours = WordwiseCharTfidf(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True).fit(train)
    ref = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True).fit(train)
    a, b = ours.transform(new), ref.transform(new)
    assert a.shape == b.shape and np.allclose(a.toarray(), b.toarray())
    assert a[0].nnz > 0 and a[1].nnz == 0


def test_model_refused_with_another_spacy_pipeline(synthetic: Path, tmp_path: Path):
    corpus = load_corpus(synthetic / "corpus")
    book = load_codebook(synthetic / "codebook" / "balises.yaml")
    layer = NLPLayer(spacy.blank("fr"), cache_dir=tmp_path / "cache", progress=False)
    model, meta = train_model(corpus, book, load_codings(corpus, book), "A", layer, cv=2, char_ngrams=None)
    path = save_model(model, meta, tmp_path / "model.joblib")
    assert load_model(path, book, layer.key)[1]["spacy_pipeline"] == layer.key
    with pytest.raises(ModelError, match="pipeline spaCy"):
        load_model(path, book, "fr_core_news_sm-3.8.0-deadbeef")


def test_stacked_probabilities_equal_one_vs_rest():
    X, y = _toy()
    model = SegmentCoder(char_ngrams=(2, 3), min_df=1, cv=3).fit(X, y, groups=X["doc"])
    # one row per code, per dimension head and for the « rien à coder » head
    assert model.coef_.shape[0] == (len(model.classes_) + len(model.dimension_classes_)
                                    + (model.nothing_threshold_ is not None))
    ovr = model.pipeline_.predict_proba(X.assign(atelier="", role="", kind=""))
    assert np.allclose(model._all_proba(X), ovr)
    svm = SegmentCoder(classifier="svm", C=1.0, char_ngrams=None, min_df=1, cv=3).fit(X, y, groups=X["doc"])
    assert not hasattr(svm, "coef_") and svm.predict_proba(X).shape == (len(X), 2)


def test_named_designs_set_the_model_and_explicit_settings_win(synthetic: Path, tmp_path: Path):
    from analyse.coding.autocode import DEFAULT_DESIGN, DESIGNS, METADATA_COLUMNS

    corpus = load_corpus(synthetic / "corpus")
    book = load_codebook(synthetic / "codebook" / "balises.yaml")
    codings = load_codings(corpus, book)
    layer = NLPLayer(spacy.blank("fr"), cache_dir=tmp_path / "cache", progress=False)
    default, meta = train_model(corpus, book, codings, "A", layer, cv=2, char_ngrams=None)
    assert default.metadata == DESIGNS[DEFAULT_DESIGN].get("metadata", METADATA_COLUMNS)
    assert meta["design"] == DEFAULT_DESIGN
    for key in ("dimension_shift", "code_shift", "abstain_shift"):
        assert getattr(default, key) == DESIGNS[DEFAULT_DESIGN].get(key, 0.0)
    assert default.realtext_precision == DESIGNS[DEFAULT_DESIGN].get("realtext_precision")
    assert meta["corpus_weight"] == DESIGNS[DEFAULT_DESIGN].get("corpus_weight", 1.0)
    corpus_design, meta = train_model(corpus, book, codings, "A", layer, design="corpus", cv=2, char_ngrams=None)
    assert corpus_design.code_shift == 0 and corpus_design.dimension_shift == 0 and meta["design"] == "corpus"
    assert corpus_design.realtext_precision is None and corpus_design.metadata == METADATA_COLUMNS
    real, meta = train_model(corpus, book, codings, "A", layer, design="texte-reel", cv=2, char_ngrams=None)
    assert real.metadata == () and real.dimension_shift == DESIGNS["texte-reel"]["dimension_shift"] < 0
    assert meta["design"] == "texte-reel"
    mine, _ = train_model(corpus, book, codings, "A", layer, design="texte-reel", dimension_shift=0.25,
                          cv=2, char_ngrams=None)
    assert mine.dimension_shift == 0.25 and mine.metadata == ()
    with pytest.raises(ModelError, match="conception inconnue"):
        train_model(corpus, book, codings, "A", layer, design="texte-réel")


def test_the_model_file_keeps_the_coefficients_once_and_scores_are_unchanged(tmp_path: Path):
    import io

    import joblib

    import sklearn

    from analyse.coding.autocode import MODEL_FORMAT, _storable

    X, y = _toy(n_docs=10)
    model = SegmentCoder(char_ngrams=(2, 4), min_df=1, cv=3).fit(X, y, groups=X["doc"])
    before = model._all_proba(X)
    frame = X.assign(atelier="", role="", kind="")
    pipeline_before = model.pipeline_.predict_proba(frame)
    meta = {"format": MODEL_FORMAT, "sklearn_version": sklearn.__version__}
    path = save_model(model, meta, tmp_path / "model.joblib")
    # the model in memory is untouched by saving
    assert hasattr(model, "scorer_") and not hasattr(model, "coef_shared_")
    assert all(hasattr(e, "coef_") for e in model.pipeline_.named_steps["classify"].estimators_)
    loaded, _ = load_model(path)
    after = loaded._all_proba(X)
    assert np.max(np.abs(after - before)) <= 1e-9 and np.array_equal(loaded.predict(X), model.predict(X))
    # the one-vs-rest estimators are whole again (the pipeline still predicts, same probabilities)
    assert np.max(np.abs(loaded.pipeline_.predict_proba(frame) - pipeline_before)) <= 1e-9
    assert not hasattr(loaded, "coef_shared_")
    # the file holds one copy of the coefficients instead of three
    plain = io.BytesIO()
    joblib.dump({"meta": meta, "model": model}, plain)
    light = io.BytesIO()
    joblib.dump({"meta": meta, "model": _storable(model)}, light)
    coef_bytes = model.coef_.nbytes
    assert len(plain.getvalue()) - len(light.getvalue()) >= 1.8 * coef_bytes
    assert path.stat().st_size == len(light.getvalue())
