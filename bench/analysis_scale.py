"""Does the cross-territory analysis scale linearly with the corpus?

Runs the whole analysis — material, code × territory tables (by territory,
role and atelier), invariance with a 500-replicate bootstrap (codes and
dimensions), co-occurrence (segments and documents), specificities on a
token frame with flesh and skeleton — on the bundled corpus replicated 1×, 4×
and 16× (every document copied under a new id, with its codings and tokens),
and prints the time (best of ``--repeat`` runs) and the peak memory
(tracemalloc, a separate run) at each scale.

Exit status 1 when the 16× corpus takes more than 20 times the 1× time, 2 when
the corpus or its codings are missing.

The token frame comes from :mod:`analyse.nlp` when the spaCy parse is
available (cached after the first run); ``--regex-tokens`` uses a plain
regular-expression tokeniser instead (the specificities then see word forms,
which is all a timing needs).

Usage::

    .venv/bin/python bench/analysis_scale.py [--corpus corpus] [--coder A] [--repeat 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
import time
import tracemalloc
from pathlib import Path

import pandas as pd

from analyse.model.codings import Codings, load_codings
from analyse.analysis.cooccurrence import cooccurrence
from analyse.model.corpus import Corpus, load_corpus, segments_frame
from analyse.errors import AnalyseError, Problems
from analyse.analysis.invariants import code_territory_table, coded_material, invariance_table
from analyse.analysis.specificities import skeleton_candidates, specificities, territory_flesh

SCALES = (1, 4, 16)
MAX_RATIO = 20.0                # 16× corpus in at most 20× the time
WORD = re.compile(r"\w+(?:['’-]\w+)*")


def regex_tokens(corpus: Corpus) -> pd.DataFrame:
    """A token frame without spaCy: word forms as lemmas, long words as nouns."""
    rows = []
    for s in corpus.segments:
        for i, w in enumerate(WORD.findall(s.text)):
            rows.append((s.id, i, w, w.lower(), "NOUN" if len(w) > 3 else "X", False, ""))
    return pd.DataFrame(rows, columns=["segment", "i", "text", "lemma", "pos", "is_stop", "ent_type"])


def base_tokens(corpus: Corpus, use_regex: bool) -> tuple[pd.DataFrame, str]:
    if not use_regex:
        try:
            from analyse import nlp
            return nlp.token_frame(corpus), "spaCy (analyse.nlp)"
        except (ImportError, AnalyseError) as exc:          # no model: time the analysis all the same
            print(f"note: NLP layer unavailable ({exc}); using regex tokens", file=sys.stderr)
    return regex_tokens(corpus), "regex"


def replicate(corpus: Corpus, codings: Codings, tokens: pd.DataFrame, times: int):
    """The corpus, its codings and tokens copied ``times`` times under new document ids."""
    if times == 1:
        return corpus, codings, tokens
    documents, segments = {}, []
    frames, covers, toks = [], [], []
    for k in range(times):
        suffix = f"-x{k}"
        rename = {doc: doc + suffix for doc in corpus.documents}
        for doc_id, doc in corpus.documents.items():
            documents[rename[doc_id]] = dataclasses.replace(doc, id=rename[doc_id])
        segments.extend(dataclasses.replace(s, id=f"{rename[s.doc]}#{s.n}", doc=rename[s.doc])
                        for s in corpus.segments)
        f = codings.frame.copy()
        f["segment"] = f["doc"].map(rename) + "#" + f["segment"].str.split("#").str[1]
        f["doc"] = f["doc"].map(rename)
        frames.append(f)
        covers.append(codings.coverage.assign(doc=codings.coverage["doc"].map(rename)))
        doc_of = tokens["segment"].str.split("#")
        toks.append(tokens.assign(segment=doc_of.str[0].map(rename) + "#" + doc_of.str[1]))
    big = Corpus(corpus.root, documents, segments, Problems())
    big_codings = Codings(pd.concat(frames, ignore_index=True), pd.concat(covers, ignore_index=True), Problems())
    return big, big_codings, pd.concat(toks, ignore_index=True)


def analysis(corpus: Corpus, codings: Codings, tokens: pd.DataFrame, coder: str) -> dict:
    """The whole cross-territory analysis; returns sizes so that nothing is optimised away."""
    material = coded_material(corpus, codings, coders=coder)
    tables = [code_territory_table(material, by=by) for by in ("territory", ["territory", "role"], "atelier")]
    inv = invariance_table(material, n_boot=500, seed=0)
    inv_dim = invariance_table(material, level="dimension", n_boot=500, seed=0)
    pairs = [cooccurrence(material, unit=u) for u in ("segment", "document")]
    spec = specificities(tokens, segments_frame(corpus))
    flesh, skeleton = territory_flesh(spec), skeleton_candidates(spec)
    return {"segments": len(material.segments), "rows": sum(map(len, tables)) + len(inv) + len(inv_dim)
            + sum(map(len, pairs)) + len(spec) + len(flesh) + len(skeleton)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="corpus")
    parser.add_argument("--coder", default="A")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--regex-tokens", action="store_true", help="do not use spaCy for the token frame")
    args = parser.parse_args(argv)
    root = Path(args.corpus)
    if not (root / "codings" / f"{args.coder}.jsonl").exists():
        print(f"bench: {root}/codings/{args.coder}.jsonl not found", file=sys.stderr)
        return 2
    corpus = load_corpus(root)
    codings = load_codings(corpus, None, coders=[args.coder])
    tokens, source = base_tokens(corpus, args.regex_tokens)
    print(f"corpus: {len(corpus.documents)} documents, {len(corpus.segments)} segments, "
          f"{len(codings.frame)} codings by {args.coder}, {len(tokens)} tokens ({source})")
    print(f"{'scale':>5} {'documents':>9} {'segments':>9} {'tokens':>9} {'time s':>8} {'ratio':>6} {'peak MiB':>9}")
    times = {}
    for scale in SCALES:
        big, big_codings, big_tokens = replicate(corpus, codings, tokens, scale)
        best = float("inf")
        for _ in range(args.repeat):
            start = time.perf_counter()
            analysis(big, big_codings, big_tokens, args.coder)
            best = min(best, time.perf_counter() - start)
        tracemalloc.start()
        analysis(big, big_codings, big_tokens, args.coder)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        times[scale] = best
        print(f"{scale:>4}× {len(big.documents):>9} {len(big.segments):>9} {len(big_tokens):>9} "
              f"{best:>8.2f} {best / times[1]:>6.1f} {peak / 2**20:>9.1f}")
    ratio = times[SCALES[-1]] / times[1]
    ok = ratio <= MAX_RATIO
    print(f"{SCALES[-1]}× corpus took {ratio:.1f}× the 1× time (limit {MAX_RATIO:g}×): {'ok' if ok else 'TOO SLOW'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
