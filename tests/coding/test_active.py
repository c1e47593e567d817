"""Active learning: the uncoded segment the model is least sure of comes first (issue 19)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from analyse.coding.active import rank_uncoded, usefulness
from analyse.coding.autocode import segments_frame_for_model
from analyse.errors import UsageError
from analyse.model.codebook import load_codebook

from tests.coding.test_autocode import build_synthetic_project


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    import spacy

    from analyse.coding.autocode import train_model
    from analyse.model.codings import load_codings
    from analyse.model.corpus import load_corpus
    from analyse.nlp import NLPLayer

    tmp = tmp_path_factory.mktemp("active")
    root = build_synthetic_project(tmp / "p", docs_per_territory=2)
    corpus = load_corpus(root / "corpus")
    book = load_codebook(root / "codebook" / "balises.yaml")
    layer = NLPLayer(spacy.blank("fr"), cache_dir=tmp / "cache", progress=False)
    model, meta = train_model(corpus, book, load_codings(corpus, book), "A", layer, cv=3, char_ngrams=None)
    return root, corpus, book, layer, model, meta


def test_usefulness_is_highest_where_the_calibrated_probability_is_closest_to_one_half(trained):
    from analyse.nlp import segment_lemmas

    _, corpus, _, layer, model, _ = trained
    segs = corpus.segments
    lemmas = segment_lemmas(segs, layer)
    X = segments_frame_for_model(segs, [lemmas[s.id] for s in segs])
    u = usefulness(model, X)
    assert u.shape == (len(segs),) and ((0 <= u) & (u <= 1)).all()
    scores = model._all_proba(X)
    p = model.calibrate(scores[:, :len(model.classes_)])
    # every code's closeness to 1/2 is bounded by the segment's usefulness
    assert (1 - np.abs(2 * p - 1) <= u[:, None] + 1e-12).all()


def test_rank_uncoded_leaves_out_coded_segments_and_sorts(trained):
    _, corpus, _, layer, model, _ = trained
    segs = corpus.segments_of("malaunay-doc0")
    ranked = rank_uncoded(segs, model, layer, coded={segs[0].id, segs[1].id})
    assert set(ranked["segment"]) == {s.id for s in segs[2:]}
    assert list(ranked["usefulness"]) == sorted(ranked["usefulness"], reverse=True)
    assert rank_uncoded(segs, model, layer, coded={s.id for s in segs}).empty


def test_panel_goes_to_the_most_useful_uncoded_segment(trained, tmp_path: Path):
    from analyse.model.codings import CodingStore
    from analyse.ui.panel import CodingPanel

    root, corpus, book, layer, model, _ = trained
    store = CodingStore(tmp_path / "codings")
    panel = CodingPanel("malaunay-doc0", "Z", corpus=corpus, codebook=book, store=store)
    first = rank_uncoded(panel.segments, model, layer)["segment"].iloc[0]
    assert panel.next_most_useful(model, layer).id == first
    panel.toggle(book.codes[next(iter(book.codes))].id)           # code it: it leaves the ranking
    second = panel.next_most_useful(model, layer)
    assert second.id != first
    assert second.id == rank_uncoded(panel.segments, model, layer, coded={first})["segment"].iloc[0]
    panel.finish()                                                 # finished: nothing left to propose
    assert panel.next_most_useful(model, layer) is None


def test_panel_without_a_trained_model_says_so_in_french(trained, tmp_path: Path):
    from analyse.model.codings import CodingStore
    from analyse.ui.panel import CodingPanel

    _, corpus, book, layer, _, _ = trained
    panel = CodingPanel("malaunay-doc0", "Z", corpus=corpus, codebook=book, store=CodingStore(tmp_path / "c"))
    with pytest.raises(UsageError, match="pas de modèle entraîné"):
        panel.next_most_useful(layer=layer)
    panel.widget()
    panel.b_useful.click()                                        # the button shows the error, no traceback
    assert "pas de modèle entraîné" in panel.status.value
