"""``analyse search``: a concordance (keyword in context) and counts by territory, role, document."""

from __future__ import annotations

import argparse

from analyse.errors import EXIT_OK

COUNT_BY = ("territory", "role", "doc")
COUNT_TITLES = {"territory": "territoire", "role": "rôle", "doc": "document"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("query", help="expression régulière ou mots (casse ignorée)")
    parser.add_argument("--lemma", action="store_true",
                        help="comparer les lemmes (« habitant » trouve aussi « habitantes ») ; charge spaCy")
    parser.add_argument("--literal", action="store_true", help="chercher le texte tel quel, sans expression régulière")
    parser.add_argument("--territory", metavar="T", help="seulement ce territoire")
    parser.add_argument("--role", metavar="R", help="seulement les segments dits par ce rôle")
    parser.add_argument("--window", type=int, default=60, metavar="N", help="caractères de contexte (défaut : 60)")
    parser.add_argument("--limit", type=int, default=50, metavar="N",
                        help="lignes de concordance affichées (défaut : 50 ; le CSV a tout)")
    parser.add_argument("--csv", metavar="SORTIE", help="écrire la concordance complète en CSV")


def run(args: argparse.Namespace) -> int:
    from analyse.analysis.retrieval import match_counts, search
    from analyse.fileio import atomic_write
    from analyse.exchange.sheet import safe_csv_text
    from analyse.project import Project

    project = Project.from_args(args)
    corpus = project.load_corpus()
    layer = None
    if args.lemma:
        from analyse.nlp import NLPLayer
        layer = NLPLayer(cache_dir=project.cache_dir, progress=False)
    hits = search(corpus, args.query, lemma=args.lemma, territory=args.territory, role=args.role,
                  window=args.window, literal=args.literal, layer=layer)
    if args.csv:
        atomic_write(args.csv, safe_csv_text(hits))
    for r in hits.head(max(args.limit, 0)).itertuples(index=False):
        print(f"{r.segment:<32} {r.left:>{args.window}} [{r.match}] {r.right}")
    if len(hits) > args.limit:
        print(f"… {len(hits) - args.limit} autre(s) occurrence(s)" + (" dans le CSV" if args.csv else " (--csv)"))
    print(f"\n{len(hits)} occurrence(s) dans {hits['segment'].nunique()} segment(s)")
    for by in COUNT_BY:
        table = match_counts(hits, by)
        if table.empty:
            continue
        print(f"\nPar {COUNT_TITLES[by]} :")
        for row in table.itertuples(index=False):
            print(f"  {getattr(row, by):<34} {row.occurrences:>5} occurrence(s) {row.segments:>5} segment(s)")
    return EXIT_OK
