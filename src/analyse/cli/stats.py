"""``analyse stats``: the corpus in figures (documents, words, segments, codings by coder)."""

from __future__ import annotations

import argparse
import json
import sys

from analyse.cli.common import skipped_problems
from analyse.errors import EXIT_OK, EXIT_PROBLEMS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="écrire du JSON plutôt que des tableaux")
    parser.add_argument("--by-code", action="store_true",
                        help="ajouter les segments codés par codeur et par code")


def run(args: argparse.Namespace) -> int:
    from analyse.analysis.stats import (by_atelier, codings_by_coder_and_code, coder_overview, corpus_summary,
                                        overlap, stats_dict)
    from analyse.project import Project

    project = Project.from_args(args)
    corpus = project.load_corpus()
    book, book_problems = project.validate_codebook()
    if book is None:
        # a broken codebook (a parent cycle, a missing canonical code…) makes every count by code wrong
        for p in book_problems.errors:
            print(f"analyse : erreur : {p}", file=sys.stderr)
        print("analyse : erreur : la grille a des erreurs : chiffres non calculés (corriger la grille, "
              "voir `analyse validate`)", file=sys.stderr)
        return EXIT_PROBLEMS
    codings = project.load_codings(corpus, book)
    bad = len(corpus.problems.errors) + len(codings.problems.errors)
    if args.json:
        data = stats_dict(corpus, codings)
        data["problems"] = bad
        print(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    else:
        import pandas as pd
        with pd.option_context("display.max_rows", 500, "display.width", 160):
            total = corpus_summary(corpus)
            print("Corpus par territoire et type de document")
            print(total.to_string(index=False))
            words = int(total["words"].sum()) if len(total) else 0
            print(f"\nTotal : {len(corpus.documents)} documents, {words} mots, {len(corpus.segments)} segments\n")
            print("Par atelier")
            print(by_atelier(corpus).to_string(index=False))
            print("\nCodeurs")
            print(coder_overview(corpus, codings).to_string(index=False))
            ov = overlap(corpus, codings)
            if len(ov):
                print("\nRecouvrement entre codeurs (segments couverts par les deux)")
                print(ov.to_string(index=False))
            if args.by_code:
                print("\nSegments codés par codeur et code")
                print(codings_by_coder_and_code(codings).to_string(index=False))
    skipped_problems(bad)
    return EXIT_OK
