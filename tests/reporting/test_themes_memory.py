"""The themes part's memory-bounded building blocks (issue #21): compact sentence tokens, bounded figures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from analyse.reporting import themes as themes_mod

ROOT = Path(__file__).resolve().parents[2]


def test_sentence_tokens_equal_the_token_frame(monkeypatch):
    """Same rows, order and values as nlp.token_frame(sentences=True), over several chunks."""
    from analyse import nlp
    from analyse.model.corpus import load_corpus

    monkeypatch.setenv("BALISES_NLP_CACHE", str(ROOT / ".cache" / "nlp"))
    corpus = load_corpus(ROOT / "corpus")
    docs = sorted(corpus.documents)[:6]
    segments = [s for d in docs for s in corpus.segments_of(d)]
    layer = nlp.NLPLayer(cache_dir=nlp.default_cache_dir(corpus.root), progress=False)
    direct = nlp.token_frame(segments, layer, sentences=True)
    compact = themes_mod.sentence_tokens(segments, layer, chunk=500)
    assert len(direct) > 2000     # several chunks, so their categories are joined
    assert list(compact.columns) == list(direct.columns)
    assert isinstance(compact["lemma"].dtype, pd.CategoricalDtype) and compact["idx"].dtype == np.int32
    for col in direct.columns:
        assert compact[col].astype(direct[col].dtype).tolist() == direct[col].tolist(), col


@pytest.mark.parametrize("size, dpi", [((14, 4.2), 150), ((14, 40.2), 84), ((400, 400), 50)])
def test_stored_figures_have_bounded_pixels(size, dpi):
    fig = Figure(figsize=size)
    assert themes_mod._figure_dpi(fig) == dpi
    if dpi > 50:
        assert size[0] * size[1] * dpi ** 2 <= themes_mod.MAX_FIGURE_PIXELS
