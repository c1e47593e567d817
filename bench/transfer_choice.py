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
    "précision visée 0,7": {"target_precision": 0.7},
    "précision visée 0,6": {"target_precision": 0.6},
    "précision visée 0,7, sans n-grammes de caractères": {"target_precision": 0.7, "char_ngrams": None},
}


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
    for name, params in CANDIDATES.items():
        if args.candidates and name not in args.candidates:
            continue
        t0 = time.perf_counter()
        model = SegmentCoder(labels=codes, dimensions=dimension_map(book), **params)
        model.fit(X, y, groups=X["doc"], extra=(Xe, ye, we))
        Yp, Dp = _predict(model, Xr, codes)
        m = transfer_metrics(Yt, Yp, codes, book, Dt, union_dimensions(Yp, codes, book, Dp),
                             balise_rows=np.array([bool(p["balise"]) for p in paras]))
        d = m["dimension"]
        print(json.dumps({"candidate": name, "params": params, "dimension_precision": d["micro_precision"],
                          "dimension_recall": d["micro_recall"], "dimension_micro_f1": d["micro_f1"],
                          "balise_micro_f1": (m["balise"] or {}).get("micro_f1"),
                          "abstention_rate": m["abstention_rate"],
                          "seconds": round(time.perf_counter() - t0)}, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
