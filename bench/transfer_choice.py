"""Choose the learned coder's transfer settings on the référentiel, never on the development set.

Each candidate setting of :class:`SegmentCoder` is trained on coder A's corpus codings and the
codebook's texts (NOT the référentiel), its thresholds chosen by grouped CV on the corpus as
always; it then scores the référentiel's paragraphs, labelled by the section they stand in
(text written by other people, in another register than the workshops: the validation set for
transfer). Printed per candidate: dimension precision, recall, micro-F1 on the référentiel, and
the false-alarm rate of the inner grouped CV on the corpus's uncoded segments.

The development set of other towns (tests/data/devset) is not read here: it is only reported,
by ``analyse evaluate``, once per design.

Usage: ``python bench/transfer_choice.py [--candidates NAME…] [--cache DIR]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import numpy as np  # noqa: E402

from analyse.coding.autocode import SegmentCoder, dimension_map, knowledge_documents  # noqa: E402
from analyse.coding.evaluate import (DIMENSIONS, _predict, _texts_frame, evaluation_data, indicator,  # noqa: E402
                                     transfer_metrics, union_dimensions)
from analyse.coding.knowledge import default_referentiel_path, referentiel_paragraphs  # noqa: E402
from analyse.model.codebook import load_codebook  # noqa: E402
from analyse.model.codings import load_codings  # noqa: E402
from analyse.model.corpus import load_corpus  # noqa: E402
from analyse.nlp import NLPLayer, default_cache_dir  # noqa: E402

CANDIDATES = {
    "défaut (précision visée 0,8)": {},
    "codes 0,7, « rien à coder » 0,8": {"target_precision": 0.7, "abstain_precision": 0.8},
    "codes 0,6, « rien à coder » 0,8": {"target_precision": 0.6, "abstain_precision": 0.8},
    "codes 0,7, « rien à coder » 0,9": {"target_precision": 0.7, "abstain_precision": 0.9},
}
# Rule fixed before any run: the candidate with the highest référentiel dimension micro-F1 among those
# whose référentiel dimension precision is at least 0.8 (a margin over the 0.7 required on real text).


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--candidates", nargs="*", help="names (default: all)")
    ap.add_argument("--cache", type=Path, help="NLP cache folder (default: the project's)")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    corpus = load_corpus(ROOT / "corpus")
    book = load_codebook(ROOT / "codebook" / "balises.yaml")
    codings = load_codings(corpus, book)
    layer = NLPLayer(cache_dir=args.cache or default_cache_dir(corpus.root), progress=False)
    X, y, _ = evaluation_data(corpus, codings, "A", layer)
    Xe, ye, we, _ = knowledge_documents(book, layer, None)
    paras = referentiel_paragraphs(default_referentiel_path(ROOT), book)
    Xr = _texts_frame([p["text"] for p in paras], layer, "referentiel-eval")
    codes = list(book.codes)
    Yt = indicator([{p["balise"]} if p["balise"] else set() for p in paras], codes)
    Dt = np.array([[p["dimension"] == d for d in DIMENSIONS] for p in paras], dtype=int)
    chosen = {k: v for k, v in CANDIDATES.items() if not args.candidates or k in args.candidates}
    # every candidate differs only by its precision targets: one fit at the lowest targets, the
    # others derived from its out-of-fold scores (SegmentCoder.with_targets: same model as a refit)
    lowest = min(p.get("target_precision", 0.8) for p in chosen.values())
    lowest_abstain = min(p.get("abstain_precision", p.get("target_precision", 0.8)) for p in chosen.values())
    t0 = time.perf_counter()
    base = SegmentCoder(labels=codes, dimensions=dimension_map(book), target_precision=lowest,
                        abstain_precision=lowest_abstain)
    base.fit(X, y, groups=X["doc"], extra=(Xe, ye, we))
    print(f"one fit in {time.perf_counter() - t0:.0f} s", flush=True)
    for name, params in chosen.items():
        model = base.with_targets(params.get("target_precision", 0.8), params.get("abstain_precision"))
        Yp, Dp = _predict(model, Xr, codes)
        m = transfer_metrics(Yt, Yp, codes, book, Dt, union_dimensions(Yp, codes, book, Dp),
                             balise_rows=np.array([bool(p["balise"]) for p in paras]))
        d = m["dimension"]
        # the corpus's own uncoded segments, out of fold: how often the codes fire there
        scores = model.oof_scores_
        n, k = len(model.classes_), len(model.dimension_classes_)
        fires = (scores[:, :n] >= model.thresholds_).any(axis=1) | (scores[:, n:n + k] >= model.dimension_thresholds_).any(axis=1)
        if model.nothing_threshold_ is not None:
            fires &= scores[:, -1] < model.nothing_threshold_
        uncoded = np.array([not s for s in y])
        print(json.dumps({"candidate": name, "params": params, "dimension_precision": d["micro_precision"],
                          "dimension_recall": d["micro_recall"], "dimension_micro_f1": d["micro_f1"],
                          "balise_micro_f1": (m["balise"] or {}).get("micro_f1"),
                          "abstention_rate": m["abstention_rate"],
                          "corpus_oof_false_alarm_rate": round(float(fires[uncoded].mean()), 4)},
                         ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
