"""Speed of the learned suggestions on already-parsed segments, against the bare spaCy parse (target ≥ 20,000/s).

The bundled corpus is parsed once (lemmas) and replicated to ``--segments`` segments. Two things
are timed in the same run, in alternated rounds (scoring, parse, scoring, parse…) so that a busy
machine slows both alike; min and median over the rounds are printed, per second of wall-clock
time (the target) and per second of the process's CPU time (what a free core gives: on a shared
machine the wall clock also counts the time spent waiting for a core). The process's first full-size
pass (its arrays land in memory touched for the first time: about a quarter slower) is timed and
printed apart; the rounds, and the verdict on their minimum, are the steady rate:

* **scoring**: from segments already parsed (text + lemma text) to the suggestions' decisions —
  features, scores of every head, per-code precision thresholds, « rien à coder » abstention and
  calibrated probabilities (:meth:`SegmentCoder.decide`, :meth:`SegmentCoder.calibrate`);
* **parse**: ``nlp.pipe`` of the spaCy pipeline on a sample of the same texts (what a segment
  costs before it can be scored, paid once per segment thanks to the NLP cache).

The model is trained on coder A (not timed; without the extra codebook/référentiel documents by
default since they change the weights, not the cost of scoring; ``--knowledge`` to include them).

The scores come from :class:`analyse.coding.scoring.LinearScorer` (whole-array TF-IDF and one
product per feature block); ``--pipeline`` times the scikit-learn pipeline instead, for comparison.
``--model PATH`` scores with a model saved by ``analyse train`` instead of training one (saves minutes).

``--against PATH`` also scores a second saved model (e.g. main's design: ``analyse train --conception corpus
--apprentissage aucun --model …``) in the same alternated rounds and prints the ratio of the two medians.

Usage: ``python bench/suggest_speed.py [--segments 100000] [--rounds 5] [--model PATH] [--against PATH] [--cache DIR]
[--pipeline]``.
Exits 1 if the target is missed.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import pandas as pd  # noqa: E402

from analyse.coding.autocode import load_model, segments_frame_for_model, train_model  # noqa: E402
from analyse.model.codebook import load_codebook  # noqa: E402
from analyse.model.codings import load_codings  # noqa: E402
from analyse.model.corpus import load_corpus  # noqa: E402
from analyse.nlp import NLPLayer, segment_lemmas  # noqa: E402

TARGET = 20_000.0
PARSE_SAMPLE = 300


def score(model, X: pd.DataFrame):
    scores = model._all_proba(X)
    decided = model.decide(scores)
    return decided, model.calibrate(scores[:, :len(model.classes_)])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--segments", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--knowledge", action="store_true", help="train with the codebook and référentiel documents")
    ap.add_argument("--cv", type=int, default=3, help="inner folds of the (untimed) training (default 3)")
    ap.add_argument("--model", type=Path, help="a model saved by `analyse train` (no training)")
    ap.add_argument("--cache", type=Path, help="NLP cache folder to reuse (default: a new temporary one)")
    ap.add_argument("--pipeline", action="store_true", help="time the scikit-learn pipeline, not the fast scorer")
    ap.add_argument("--against", type=Path, help="a second saved model timed in the same rounds (ratio printed)")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    corpus = load_corpus(ROOT / "corpus")
    book = load_codebook(ROOT / "codebook" / "balises.yaml")
    codings = load_codings(corpus, book)
    with tempfile.TemporaryDirectory() as tmp:
        layer = NLPLayer(cache_dir=args.cache or Path(tmp) / "cache", progress=False)
        t0 = time.perf_counter()
        if args.model:
            model, meta = load_model(args.model, trust=True)
            print(f"model: {len(model.classes_)} codes suggestable, read from {args.model}", flush=True)
        else:
            model, meta = train_model(corpus, book, codings, "A", layer, knowledge=args.knowledge, cv=args.cv)
            print(f"model: {len(model.classes_)} codes suggestable, trained on {meta['segments']} segments of "
                  f"coder A in {time.perf_counter() - t0:.0f} s (not timed)", flush=True)
        other = load_model(args.against, trust=True)[0] if args.against else None
        if other is not None:
            print(f"against: {len(other.classes_)} codes suggestable, read from {args.against}", flush=True)
        if args.pipeline:
            model.scorer_ = None
            if other is not None:
                other.scorer_ = None
        lemmas = segment_lemmas(corpus.segments, layer)
    base = segments_frame_for_model(corpus.segments, lemmas)
    replicas = math.ceil(args.segments / len(base))
    X = pd.concat([base] * replicas, ignore_index=True).iloc[:args.segments]
    texts = list(base["text"].iloc[:PARSE_SAMPLE])
    nlp = layer.nlp
    list(nlp.pipe(texts[:20]))                                  # warm-up of the pipeline
    # The first full-size pass of a process is slower (its arrays are first-touched memory: 17,800/s then
    # 24,000/s in one profile): it is timed and printed on its own, and the rounds measure the steady rate.
    t0, c0 = time.perf_counter(), time.process_time()
    score(model, X)
    first = (len(X) / (time.perf_counter() - t0), len(X) / (time.process_time() - c0))
    if other is not None:
        score(other, X)
    score_rates, parse_rates, score_cpu, parse_cpu, suggested = [], [], [], [], 0
    other_rates, other_cpu = [], []
    for _ in range(args.rounds):
        if other is not None:
            t0, c0 = time.perf_counter(), time.process_time()
            score(other, X)
            other_rates.append(len(X) / (time.perf_counter() - t0))
            other_cpu.append(len(X) / (time.process_time() - c0))
        t0, c0 = time.perf_counter(), time.process_time()
        decided, _ = score(model, X)
        score_rates.append(len(X) / (time.perf_counter() - t0))
        score_cpu.append(len(X) / (time.process_time() - c0))
        suggested = int((decided.sum(axis=1) > 0).sum())
        t0, c0 = time.perf_counter(), time.process_time()
        for _doc in nlp.pipe(texts):
            pass
        parse_rates.append(len(texts) / (time.perf_counter() - t0))
        parse_cpu.append(len(texts) / (time.process_time() - c0))

    def show(rates):
        return f"min {min(rates):,.0f}/s, median {statistics.median(rates):,.0f}/s"

    print(f"scoring of parsed segments ({len(X):,} segments × {args.rounds} rounds): {show(score_rates)}; "
          f"{suggested:,} segments get at least one suggestion ({suggested / len(X):.0%})")
    print(f"first full pass of the process (fresh memory, not in the rounds): {first[0]:,.0f}/s wall clock, "
          f"{first[1]:,.0f}/s CPU time")
    print(f"bare spaCy parse ({nlp.meta.get('name', '?')}, {len(texts)} segments × {args.rounds} rounds): "
          f"{show(parse_rates)}")
    print(f"per second of this process's CPU time (what one free core gives; the wall-clock figures above "
          f"include waiting for a shared machine): scoring {show(score_cpu)}, parse {show(parse_cpu)}")
    print(f"parsing costs ×{statistics.median(score_rates) / statistics.median(parse_rates):,.0f} the scoring "
          "(median against median): a segment is parsed once and cached")
    if other is not None:
        print(f"against {args.against}: wall clock {show(other_rates)}, CPU time {show(other_cpu)}; ratio of the "
              f"medians (this model / against): wall clock {statistics.median(score_rates) / statistics.median(other_rates):.2f}, "
              f"CPU time {statistics.median(score_cpu) / statistics.median(other_cpu):.2f}")
    if min(score_rates) < TARGET:
        print(f"FAILED: {min(score_rates):,.0f} segments/s < {TARGET:,.0f}")
        return 1
    print(f"target met (≥ {TARGET:,.0f}/s, worst round)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
