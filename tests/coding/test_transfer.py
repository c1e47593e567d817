"""Issue 19, recall on real text: dimension targets, rows of another register in the thresholds, référentiel blocks."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pandas as pd

from analyse.coding.autocode import SegmentCoder, precision_threshold, referentiel_blocks
from analyse.model.codebook import load_codebook

from tests.coding.test_precision import REFERENTIEL, _synthetic

DIMS = {"A.1": "ENG", "B.1": "VAL"}


def _with_dimension_rows(n: int = 40, seed: int = 1):
    """The synthetic corpus plus rows of « another register » labelled at dimension level only."""
    X, y = _synthetic()
    rng = random.Random(seed)
    texts, labels = [], []
    for k in range(n):
        dim, cue = ("ENG", "quartier voisins") if k % 2 else ("VAL", "budget monnaie")
        words = cue.split() + rng.sample(["démarche", "collectif", "réseau", "politique"], 2)
        rng.shuffle(words)
        texts.append(" ".join(words))
        labels.append({f"dim:{dim}"})
    rows = pd.DataFrame({"doc": [f"ref:{k // 10}" for k in range(n)], "text": texts, "lemmas": texts})
    return pd.concat([X, rows], ignore_index=True), y + labels, np.r_[np.ones(len(X)), np.full(n, 0.5)]


def test_dimension_heads_have_their_own_target_and_with_targets_equals_a_refit():
    X, y = _synthetic()
    common = dict(char_ngrams=None, metadata=(), min_df=1, cv=3, dimensions=DIMS)
    low = SegmentCoder(dimension_precision=0.6, **common).fit(X, y, groups=X["doc"])
    default = SegmentCoder(**common).fit(X, y, groups=X["doc"])
    # the dimension target does not move the codes' thresholds
    assert np.array_equal(low.thresholds_, default.thresholds_)
    assert (low.dimension_thresholds_ <= default.dimension_thresholds_).all()
    for target in (None, 0.7, 0.9):
        refit = SegmentCoder(dimension_precision=target, **common).fit(X, y, groups=X["doc"])
        derived = low.with_targets(0.8, None, target)
        assert derived.dimension_precision == target and low.dimension_precision == 0.6
        kept = np.isin(derived.dimension_classes_, refit.dimension_classes_)
        assert (derived.predict_dimensions(X)[:, kept] == refit.predict_dimensions(X)).all()
        assert (derived.predict(X) == refit.predict(X)).all()


def test_rows_labelled_at_dimension_level_choose_dimension_thresholds_not_code_thresholds():
    X, y, w = _with_dimension_rows()
    groups = X["doc"]
    model = SegmentCoder(char_ngrams=None, metadata=(), min_df=1, cv=3, dimensions=DIMS)
    model.fit(X, y, groups=groups, sample_weight=w)
    n, d = len(model.classes_), len(model.dimension_classes_)
    rows = model.oof_code_rows_
    assert len(model.oof_scores_) == len(X) and rows.sum() == len(X) - 40 and not rows[-40:].any()
    for j in range(n):          # a code's threshold ignores the dimension-only rows
        assert model.thresholds_[j] == precision_threshold(model.oof_labels_[rows, j], model.oof_scores_[rows, j],
                                                           0.8)[0]
    for k in range(d):          # a dimension's threshold counts them, out of fold like the others
        assert model.dimension_thresholds_[k] == precision_threshold(model.oof_labels_[:, n + k],
                                                                     model.oof_scores_[:, n + k], 0.8)[0]
    # their weight reaches the classifiers: unit weights give the unweighted model, others do not
    unit = SegmentCoder(char_ngrams=None, metadata=(), min_df=1, cv=3, dimensions=DIMS)
    unit.fit(X, y, groups=groups, sample_weight=np.ones(len(X)))
    plain = SegmentCoder(char_ngrams=None, metadata=(), min_df=1, cv=3, dimensions=DIMS).fit(X, y, groups=groups)
    assert np.allclose(unit.coef_, plain.coef_) and not np.allclose(model.coef_, plain.coef_)


def test_referentiel_blocks_group_consecutive_paragraphs(tmp_path: Path, project: Path):
    import spacy

    from analyse.nlp import NLPLayer

    path = tmp_path / "ref.txt"
    path.write_text(REFERENTIEL, encoding="utf-8")
    book = load_codebook(project / "codebook" / "balises.yaml")
    layer = NLPLayer(spacy.blank("fr"), cache_dir=tmp_path / "cache", progress=False)
    X, y, groups, paras = referentiel_blocks(book, layer, path, block=2)
    assert list(X["segment"]) == [p["id"] for p in paras] and len(X) == 4
    assert groups == ["referentiel:0", "referentiel:0", "referentiel:1", "referentiel:1"]
    assert y == [p["labels"] for p in paras] and set(X["doc"]) == {"referentiel"}
    empty = referentiel_blocks(book, layer, tmp_path / "absent.txt")
    assert len(empty[0]) == 0 and empty[1:] == ([], [], [])


def test_prototype_similarities_fold_into_the_fast_scorer():
    """With prototypes the fast scorer still gives the pipeline's scores and decisions (weights folded)."""
    from analyse.coding.scoring import LinearScorer
    from tests.coding.test_scoring import _pipeline_proba

    X, y = _synthetic(n_docs=16)
    extra_text = ["quartier voisins immeuble rue", "argent euros monnaie budget"] * 4
    extra = (pd.DataFrame({"text": extra_text, "lemmas": extra_text}), [{"A.1"}, {"B.1"}] * 4, np.full(8, 0.3))
    model = SegmentCoder(char_ngrams=(2, 4), min_df=1, cv=3, dimensions=DIMS)          # prototypes by default
    model.fit(X, y, groups=X["doc"], extra=extra)
    names = model.pipeline_.named_steps["features"].get_feature_names_out()
    assert sum(n.startswith("prototypes__") for n in names) == 4           # A.1, B.1, dim:ENG, dim:VAL
    assert isinstance(model.scorer(), LinearScorer)
    odd = pd.DataFrame({"text": ["", "zzz", "quartier quartier argent"], "lemmas": ["", "zzz", "quartier quartier argent"]})
    for frame in (X, odd):
        fast, slow = model._all_proba(frame), _pipeline_proba(model, frame)
        assert np.allclose(fast, slow, rtol=0, atol=1e-12)
        assert (model.decide(fast) == model.decide(slow)).all()
    assert model.decide(model._all_proba(X)).any()
    # the prototypes carry weight: the model without them scores differently
    plain = SegmentCoder(char_ngrams=(2, 4), min_df=1, cv=3, dimensions=DIMS, prototypes=False)
    plain.fit(X, y, groups=X["doc"], extra=extra)
    assert not np.allclose(plain._all_proba(X), model._all_proba(X))


def test_add_referentiel_joins_the_rows_as_extra_documents_or_as_cross_validated_rows():
    from analyse.coding.autocode import add_referentiel

    X = pd.DataFrame({"doc": ["d1", "d2"], "text": ["a", "b"], "lemmas": ["a", "b"]})
    Xe = pd.DataFrame({"doc": ["codebook"], "text": ["c"], "lemmas": ["c"]})
    Xr = pd.DataFrame({"doc": ["referentiel"] * 2, "text": ["r1", "r2"], "lemmas": ["r1", "r2"]})
    extra, ref = (Xe, [{"A.1"}], np.array([0.3])), (Xr, [{"dim:ENG"}, {"B.1"}], ["referentiel:0"] * 2)
    Xt, yt, groups, w, ex = add_referentiel(X, [{"A.1"}, set()], ["d1", "d2"], extra, ref, "cv", 0.5)
    assert list(Xt["text"]) == ["a", "b", "r1", "r2"] and yt[2:] == [{"dim:ENG"}, {"B.1"}]
    assert groups == ["d1", "d2", "referentiel:0", "referentiel:0"] and list(w) == [1, 1, 0.5, 0.5] and ex is extra
    Xt, yt, groups, w, ex = add_referentiel(X, [{"A.1"}, set()], ["d1", "d2"], extra, ref, "extra", 0.5)
    assert len(Xt) == 2 and w is None and groups == ["d1", "d2"]
    assert list(ex[0]["text"]) == ["c", "r1", "r2"] and ex[1] == [{"A.1"}, {"dim:ENG"}, {"B.1"}]
    assert list(ex[2]) == [0.3, 0.5, 0.5]
    empty = (Xr.iloc[:0], [], [])
    assert add_referentiel(X, [set(), set()], ["d1", "d2"], extra, empty, "cv")[3] is None
