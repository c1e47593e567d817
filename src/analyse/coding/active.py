"""Active learning: which uncoded segment would most help the learned coder if a human coded it.

Uncertainty sampling (Lewis & Gale 1994): the model learns most from the segments it cannot
decide. For each segment and each learned head (codes and « rien à coder »), the calibrated
probability's closeness to 0.5, ``1 - |2p - 1|`` (1 when the model cannot tell, 0 when it is
sure); a segment's usefulness is the largest of these over the heads. The panel's « segment
suivant le plus utile » button and ``bench/learning_curve.py`` use :func:`rank_uncoded`.

scikit-learn has no active-learning loop, and modAL (the usual library) is unmaintained and
fits single-label estimators; the rule is a few lines over :meth:`SegmentCoder.calibrate`.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from analyse.errors import UsageError
from analyse.messages import msg
from analyse.model.corpus import Segment

RANK_COLUMNS = ["segment", "doc", "usefulness"]


def usefulness(model, X: pd.DataFrame) -> np.ndarray:
    """Usefulness of coding each row of ``X`` (model input), in [0, 1]: see the module docstring.

    Examples
    --------
    >>> usefulness(model, segments_frame_for_model(segments, lemmas))   # doctest: +SKIP
    array([0.98, 0.12, ...])
    """
    if not len(X):
        return np.zeros(0)
    scores = model._all_proba(X)
    n = len(model.classes_)
    probs = model.calibrate(scores[:, :n])
    if getattr(model, "nothing_threshold_", None) is not None:
        probs = np.c_[probs, _calibrated_nothing(model, scores[:, -1])]
    if not probs.shape[1]:
        return np.zeros(len(X))
    return (1 - np.abs(2 * probs - 1)).max(axis=1)


def _calibrated_nothing(model, scores: np.ndarray) -> np.ndarray:
    # the « rien à coder » head is the last of the stacked heads, and of calibration_
    cal = getattr(model, "calibration_", None)
    if not cal or len(cal[-1][0]) < 2:
        return scores
    x, y = cal[-1]
    return np.interp(scores, x, y)


def rank_uncoded(segments: Sequence[Segment], model, layer, coded: Iterable[str] = ()) -> pd.DataFrame:
    """The segments not in ``coded``, most useful to code first.

    Parameters
    ----------
    segments : sequence of Segment
        A territory's or a document's segments (e.g. ``corpus.segments_of(doc)``).
    model : SegmentCoder
    layer : analyse.nlp.NLPLayer
        Gives the segments' lemmas (through its cache).
    coded : iterable of segment ids
        Segments already coded (or covered): left out.

    Returns
    -------
    DataFrame
        ``segment, doc, usefulness``, most useful first (ties in corpus order).

    Examples
    --------
    >>> rank_uncoded(corpus.segments_of("malaunay-valeur"), model, layer, coded={"malaunay-valeur#1"})
    ...                                                                       # doctest: +SKIP
    """
    from analyse.coding.autocode import segments_frame_for_model
    from analyse.nlp import segment_lemmas

    coded = set(coded)
    todo = [s for s in segments if s.id not in coded]
    if not todo:
        return pd.DataFrame(columns=RANK_COLUMNS)
    lemmas = segment_lemmas(todo, layer)
    u = usefulness(model, segments_frame_for_model(todo, [lemmas[s.id] for s in todo]))
    order = np.argsort(-u, kind="stable")
    return pd.DataFrame({"segment": [todo[i].id for i in order], "doc": [todo[i].doc for i in order],
                         "usefulness": np.round(u[order], 4)}, columns=RANK_COLUMNS)


def most_useful_segments(segments: Sequence[Segment], model, layer, k: int = 1,
                         coded: Iterable[str] = ()) -> list[tuple[str, float]]:
    """« Segment suivant le plus utile » : ``[(segment id, usefulness), …]`` for the ``k`` best.

    Examples
    --------
    >>> most_useful_segments(corpus.segments_of("malaunay-valeur"), model, layer, k=3)   # doctest: +SKIP
    [('malaunay-valeur#7', 0.98), ...]
    """
    ranked = rank_uncoded(segments, model, layer, coded).head(k)
    return [(s, float(u)) for s, u in zip(ranked["segment"], ranked["usefulness"])]


def project_model(corpus, codebook):
    """The project's trained model (``outputs/models/model.joblib`` beside the corpus folder).

    Raises a French :class:`~analyse.errors.UsageError` when there is none yet.
    """
    from pathlib import Path

    from analyse.coding.autocode import DEFAULT_MODEL_PATH, load_model

    path = (Path(corpus.root).parent if corpus.root else Path.cwd()) / DEFAULT_MODEL_PATH
    if not path.is_file():
        raise UsageError(msg("panel.no_model"), hint=msg("model.not_found_hint"))
    return load_model(path, codebook, trusted_dir=path.parent)[0]


def project_layer(corpus):
    """The NLP layer with the project's cache (the lemmas of segments already parsed are read, not parsed)."""
    from analyse.nlp import NLPLayer, default_cache_dir

    return NLPLayer(cache_dir=default_cache_dir(corpus.root), progress=False)
