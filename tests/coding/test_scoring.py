"""The fast scorer gives the pipeline's scores, hence the same suggestions (issue 19, speed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from analyse.coding.autocode import SegmentCoder, _frame, segments_frame_for_model
from analyse.coding.scoring import LinearScorer
from analyse.model.codebook import load_codebook

from tests.coding.test_autocode import _toy, build_synthetic_project


def _pipeline_proba(model: SegmentCoder, X: pd.DataFrame) -> np.ndarray:
    features = model.pipeline_.named_steps["features"].transform(_frame(X))
    return expit(np.asarray(features @ model.coef_.T) + model.intercept_)


def test_fast_scores_equal_the_pipeline_on_a_trained_project(tmp_path: Path):
    """Every segment of a corpus: same scores (to rounding), same codes, same calibrated probabilities."""
    import spacy

    from analyse.coding.autocode import train_model
    from analyse.model.codings import load_codings
    from analyse.model.corpus import load_corpus
    from analyse.nlp import NLPLayer, segment_lemmas

    root = build_synthetic_project(tmp_path / "p", docs_per_territory=2)
    corpus = load_corpus(root / "corpus")
    book = load_codebook(root / "codebook" / "balises.yaml")
    layer = NLPLayer(spacy.blank("fr"), cache_dir=tmp_path / "cache", progress=False)
    model, _ = train_model(corpus, book, load_codings(corpus, book), "A", layer, cv=3, min_df=1)
    assert model.scorer() is not None
    lemmas = segment_lemmas(corpus.segments, layer)
    X = segments_frame_for_model(corpus.segments, lemmas)
    fast, slow = model._all_proba(X), _pipeline_proba(model, X)
    assert np.allclose(fast, slow, rtol=0, atol=1e-12)
    assert (model.decide(fast) == model.decide(slow)).all()
    assert model.decide(fast).any()          # the comparison is not between two empty outputs
    n = len(model.classes_)
    assert np.allclose(model.calibrate(fast[:, :n]), model.calibrate(slow[:, :n]), atol=1e-12)


def test_fast_scores_on_awkward_inputs():
    """Empty texts, unknown words only, repeated words, unknown metadata, whitespace runs, accents."""
    X, y = _toy()
    model = SegmentCoder(char_ngrams=(2, 4), metadata=("atelier", "role", "kind"), min_df=1, cv=3)
    model.fit(X, y, groups=X["doc"])
    odd = pd.DataFrame({
        "text": ["", "   ", "zzz qqq", "quartier quartier quartier voisin", "Quartier  \t VOISIN\n\nÉté",
                 "argent", "café"],
        "lemmas": ["", " ", "zzz qqq", "quartier quartier quartier voisin", "quartier voisin été",
                   "argent", "café"],
        "atelier": ["", "inconnu", "", "valeur", "", "", ""], "role": "", "kind": "",
    })
    assert np.allclose(model._all_proba(odd), _pipeline_proba(model, odd), rtol=0, atol=1e-12)
    assert np.allclose(model._all_proba(X), _pipeline_proba(model, X), rtol=0, atol=1e-12)


def test_settings_the_scorer_does_not_reproduce_fall_back_to_the_pipeline():
    X, y = _toy()
    model = SegmentCoder(word_ngrams=(1, 3), char_ngrams=None, min_df=1, cv=3).fit(X, y, groups=X["doc"])
    assert LinearScorer.build(model.pipeline_, model.coef_, model.intercept_) is None
    assert model.scorer() is None
    assert np.allclose(model._all_proba(X), _pipeline_proba(model, X))


@pytest.mark.parametrize("ngrams", [(1, 1), (1, 2)])
def test_word_ngrams_alone(ngrams):
    X, y = _toy()
    model = SegmentCoder(word_ngrams=ngrams, char_ngrams=None, metadata=(), min_df=1, cv=3).fit(
        X, y, groups=X["doc"])
    assert model.scorer() is not None
    assert np.allclose(model._all_proba(X), _pipeline_proba(model, X), rtol=0, atol=1e-12)
