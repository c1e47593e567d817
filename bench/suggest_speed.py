"""Speed of learned suggestions once the NLP cache is warm (target ≥ 5,000 segments/s).

The bundled corpus is replicated to at least 100,000 segments, each replica
under new document ids. The cache is warmed by parsing the corpus once and
giving every replica a copy of its document's cache files: the replicas'
texts are identical, so those files are byte for byte what parsing them would
write, and the measured run goes through the layer's normal lookups (one hash
and one file read per unit). The model is trained on coder A in a temporary
folder (not timed).

Measured, end to end: :func:`analyse.coding.suggestions.suggest_segments` with the
model only (cache read → features → probabilities → suggestion records).
Baseline in the same run: the same call on a cold cache for a sample of the
segments (spaCy parsing included), to show what the cache buys.

Usage: ``python bench/suggest_speed.py [--segments 100000]``. Exits 1 if the target is missed.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from analyse.coding.autocode import train_model  # noqa: E402
from analyse.model.codebook import load_codebook  # noqa: E402
from analyse.model.codings import load_codings  # noqa: E402
from analyse.model.corpus import load_corpus  # noqa: E402
from analyse.nlp import NLPLayer, content_hash, corpus_units  # noqa: E402
from analyse.coding.suggestions import suggest_segments  # noqa: E402

TARGET = 5000.0
COLD_SAMPLE = 2000


def replicate(segments, replicas: int):
    """Segments of ``replicas`` copies of the corpus, each copy with its own document ids."""
    return [dataclasses.replace(s, id=f"{s.doc}-r{r}#{s.n}", doc=f"{s.doc}-r{r}")
            for r in range(replicas) for s in segments]


def warm_by_copy(layer: NLPLayer, base_units, replicas: int) -> None:
    """Give every replica unit the cache files of its (identical) original document."""
    key = layer.key
    for name, texts in base_units:
        digest = content_hash(texts, key)
        src_doc, src_lemmas = layer._paths(name, digest)
        for r in range(replicas):
            dst_doc, dst_lemmas = layer._paths(f"{name}-r{r}", digest)
            shutil.copyfile(src_doc, dst_doc)
            shutil.copyfile(src_lemmas, dst_lemmas)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--segments", type=int, default=100_000)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    corpus = load_corpus(ROOT / "corpus")
    book = load_codebook(ROOT / "codebook" / "balises.yaml")
    codings = load_codings(corpus, book)
    with tempfile.TemporaryDirectory() as tmp:
        layer = NLPLayer(cache_dir=Path(tmp) / "cache", progress=False)
        t0 = time.perf_counter()
        model, meta = train_model(corpus, book, codings, "A", layer)
        print(f"model: {len(model.classes_)} codes learned on {meta['segments']} segments of coder A "
              f"(trained in {time.perf_counter() - t0:.0f} s, not timed below)")
        base_units = corpus_units(corpus.segments)
        list(layer.parse_units(base_units, docs=False))         # the whole corpus is in the cache
        replicas = math.ceil(args.segments / len(corpus.segments))
        segments = replicate(corpus.segments, replicas)
        warm_by_copy(layer, base_units, replicas)

        warm_layer = NLPLayer(cache_dir=Path(tmp) / "cache", progress=False)
        t0 = time.perf_counter()
        records = suggest_segments(segments, layer=warm_layer, model=model)
        warm = time.perf_counter() - t0
        assert warm_layer.stats["segments_parsed"] == 0, warm_layer.stats
        rate = len(segments) / warm

        sample = replicate(corpus.segments, 3)[:COLD_SAMPLE]
        sample = [dataclasses.replace(s, id=s.id.replace("-r", "-cold"), doc=s.doc.replace("-r", "-cold"))
                  for s in sample]
        cold_layer = NLPLayer(cache_dir=Path(tmp) / "cache", progress=False)
        t0 = time.perf_counter()
        suggest_segments(sample, layer=cold_layer, model=model)
        cold_rate = len(sample) / (time.perf_counter() - t0)

    print(f"warm cache : {len(segments)} segments ({replicas} replicas) in {warm:.2f} s = {rate:,.0f} segments/s, "
          f"{len(records)} suggestions (target ≥ {TARGET:,.0f}/s)")
    print(f"cold cache : {len(sample)} segments parsed by spaCy = {cold_rate:,.0f} segments/s "
          f"(warm is ×{rate / cold_rate:.0f} faster)")
    if rate < TARGET:
        print(f"FAILED: {rate:,.0f} segments/s < {TARGET:,.0f}")
        return 1
    print("target met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
