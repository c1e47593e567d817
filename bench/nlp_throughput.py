"""Throughput and memory of the NLP layer against bare ``nlp.pipe``.

The bundled corpus is replicated (each replica with its own document ids, so
the cache sees new units) to at least 500,000 words, then parsed:

1. bare ``nlp.pipe`` over the same texts with the same pipeline (the baseline);
2. the project's :class:`analyse.nlp.NLPLayer`, cold (temporary, empty cache);
3. the same again, warm (every unit read back from the cache).

Targets (ratios measured in the same run, not absolute times):
* layer throughput ≥ 0.8 × bare ``nlp.pipe`` (overhead ≤ 25 %);
* warm re-run ≤ 5 % of the cold run's time;
* peak memory of the layer (resident memory sampled during parsing, in a fresh
  subprocess) does not grow with the corpus: 4 replicas ≤ 1 replica × 1.10; a
  negative control that keeps every ``Doc`` must grow, or the probe is blind.

Usage: ``python bench/nlp_throughput.py [--words 500000] [--n-process 1] [--batch-size 128]``.
Exits 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from analyse.model.corpus import count_words, load_corpus  # noqa: E402
from analyse.nlp import DEFAULT_MODEL, NLPLayer, corpus_units, load_pipeline  # noqa: E402

OVERHEAD_RATIO = 0.8
WARM_SHARE = 0.05
MEMORY_GROWTH = 1.10


def replicated_units(replicas: int) -> list[tuple[str, list[str]]]:
    """The corpus's documents ``replicas`` times, each copy under new document ids."""
    base = corpus_units(load_corpus(ROOT / "corpus").segments)
    return [(f"{name}-r{r}", texts) for r in range(replicas) for name, texts in base]


def rss_mb() -> float:
    """Current resident memory of this process (Linux /proc; else the peak so far)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * resource.getpagesize() / 2**20
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class RSSSampler(threading.Thread):
    """Samples the resident memory every 20 ms: the peak *during* parsing.

    ``ru_maxrss`` alone would only show the peak of loading the pipeline,
    which is higher than anything parsing adds.
    """

    def __init__(self):
        super().__init__(daemon=True)
        self.peak = rss_mb()
        self._stop_event = threading.Event()

    def run(self):
        while not self._stop_event.wait(0.02):
            self.peak = max(self.peak, rss_mb())

    def stop(self) -> float:
        self._stop_event.set()
        self.join()
        return max(self.peak, rss_mb())


def child(method: str, replicas: int, batch_size: int, n_process: int) -> None:
    """Run one method in this fresh process and print its time and memory as JSON."""
    units = replicated_units(replicas)
    nlp = load_pipeline(DEFAULT_MODEL)
    list(nlp.pipe(["Échauffement du pipeline."]))
    before = rss_mb()
    sampler = RSSSampler()
    sampler.start()
    t0 = time.perf_counter()
    texts = (t for _, ts in units for t in ts)
    if method == "bare":
        for _ in nlp.pipe(texts, batch_size=batch_size, n_process=n_process):
            pass
    elif method == "hold-all":       # negative control: keeps every Doc, must grow
        kept = list(nlp.pipe(texts, batch_size=batch_size, n_process=n_process))
    else:
        with tempfile.TemporaryDirectory() as cache:
            layer = NLPLayer(nlp, cache_dir=cache, batch_size=batch_size, n_process=n_process, progress=False)
            for _ in layer.parse_units(units, docs=True):
                pass
    seconds = time.perf_counter() - t0
    peak = sampler.stop()
    print(json.dumps({"seconds": seconds, "before_mb": before, "peak_mb": peak, "added_mb": peak - before}))


def run_child(method: str, replicas: int, args) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", method, "--replicas", str(replicas),
                          "--batch-size", str(args.batch_size), "--n-process", str(args.n_process)],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--words", type=int, default=500_000, help="minimum words parsed (default 500000)")
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--n-process", type=int, default=1)
    ap.add_argument("--child", choices=["bare", "layer", "hold-all"], help=argparse.SUPPRESS)
    ap.add_argument("--replicas", type=int, default=1, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.replicas, args.batch_size, args.n_process)
        return 0

    one = replicated_units(1)
    words_once = sum(count_words(t) for _, texts in one for t in texts)
    replicas = math.ceil(args.words / words_once)
    units = replicated_units(replicas)
    texts = [t for _, ts in units for t in ts]
    words = words_once * replicas
    print(f"corpus: {words_once} words, {sum(len(ts) for _, ts in one)} segments; "
          f"{replicas} replicas → {words} words, {len(texts)} segments, {len(units)} units "
          f"(batch {args.batch_size}, {args.n_process} process(es))")

    nlp = load_pipeline(DEFAULT_MODEL)
    list(nlp.pipe(texts[:200], batch_size=args.batch_size))        # warm-up, not timed

    t0 = time.perf_counter()
    for _ in nlp.pipe(texts, batch_size=args.batch_size, n_process=args.n_process):
        pass
    bare = time.perf_counter() - t0

    with tempfile.TemporaryDirectory() as cache:
        layer = NLPLayer(nlp, cache_dir=cache, batch_size=args.batch_size, n_process=args.n_process,
                         progress=False)
        t0 = time.perf_counter()
        for _ in layer.parse_units(units, docs=True):
            pass
        cold = time.perf_counter() - t0
        warm_layer = NLPLayer(nlp, cache_dir=cache, progress=False)
        t0 = time.perf_counter()
        for _ in warm_layer.parse_units(units, docs=True):
            pass
        warm = time.perf_counter() - t0
        lemma_layer = NLPLayer(nlp, cache_dir=cache, progress=False)
        t0 = time.perf_counter()
        for _ in lemma_layer.parse_units(units, docs=False):
            pass
        warm_lemmas = time.perf_counter() - t0
        assert warm_layer.stats["segments_parsed"] == 0 and lemma_layer.stats["segments_parsed"] == 0
        cache_mb = sum(p.stat().st_size for p in Path(cache).rglob("*")) / 2**20

    ratio = bare / cold
    print(f"bare nlp.pipe      : {bare:8.1f} s  {words / bare:9.0f} words/s")
    print(f"NLP layer, cold    : {cold:8.1f} s  {words / cold:9.0f} words/s  "
          f"ratio to bare {ratio:.3f} (target ≥ {OVERHEAD_RATIO})  cache {cache_mb:.1f} MB")
    print(f"NLP layer, warm    : {warm:8.2f} s  = {warm / cold:.2%} of cold (target ≤ {WARM_SHARE:.0%}); "
          f"lemmas only {warm_lemmas:.2f} s = {warm_lemmas / cold:.2%}")

    mem = {(m, r): run_child(m, r, args) for m in ("bare", "layer", "hold-all") for r in (1, 4)}
    for m in ("bare", "layer", "hold-all"):
        a, b = mem[(m, 1)], mem[(m, 4)]
        note = "  (negative control: keeps every Doc)" if m == "hold-all" else ""
        print(f"memory {m:8s}: pipeline loaded {a['before_mb']:5.0f} MB; added while parsing: "
              f"1 replica {a['added_mb']:6.1f} MB, 4 replicas {b['added_mb']:6.1f} MB; "
              f"peak {a['peak_mb']:5.0f} → {b['peak_mb']:5.0f} MB (×{b['peak_mb'] / a['peak_mb']:.3f}){note}")
    growth = mem[("layer", 4)]["peak_mb"] / mem[("layer", 1)]["peak_mb"]
    control = mem[("hold-all", 4)]["peak_mb"] / mem[("hold-all", 1)]["peak_mb"]

    failures = []
    if ratio < OVERHEAD_RATIO:
        failures.append(f"throughput ratio {ratio:.3f} < {OVERHEAD_RATIO}")
    if warm > WARM_SHARE * cold:
        failures.append(f"warm run {warm / cold:.2%} of cold > {WARM_SHARE:.0%}")
    if growth > MEMORY_GROWTH:
        failures.append(f"peak memory grows ×{growth:.3f} from 1 to 4 replicas (> ×{MEMORY_GROWTH})")
    if control <= MEMORY_GROWTH:
        failures.append(f"the negative control did not grow (×{control:.3f}): the memory probe sees nothing")
    print("FAILED: " + "; ".join(failures) if failures else "all targets met")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
