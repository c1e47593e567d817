"""``analyse history SEGMENT|CODE|CODER|DOCUMENT``: what happened to the codings, from the coder logs."""

from __future__ import annotations

import argparse

from analyse.errors import EXIT_OK


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", metavar="CIBLE",
                        help="un segment (le-mene-valeur#4), un code (ENG.2, ses sous-codes inclus), "
                             "un codeur (A) ou un document")
    parser.add_argument("--coder", action="append", metavar="C",
                        help="seulement ce codeur (option répétable ; défaut : tous)")
    parser.add_argument("--csv", metavar="SORTIE", help="écrire le tableau complet en CSV")
    parser.add_argument("--json", action="store_true", help="le tableau en JSON (une ligne par événement)")


def run(args: argparse.Namespace) -> int:
    import json

    import pandas as pd

    from analyse.fileio import atomic_write
    from analyse.exchange.sheet import safe_csv_text
    from analyse.messages import msg
    from analyse.model.codings import CodingStore
    from analyse.model.history import french_table, history
    from analyse.project import Project

    project = Project.from_args(args)
    book, _ = project.validate_codebook()
    corpus = project.load_corpus()
    table = history(CodingStore(project.codings_dir, corpus=corpus), args.target, corpus, book, coders=args.coder)
    if args.csv:
        atomic_write(args.csv, safe_csv_text(table))
    if args.json:
        print(json.dumps(table.to_dict(orient="records"), ensure_ascii=False, indent=1))
        return EXIT_OK
    kinds = {"coder": msg("hist.kind.coder"), "segment": msg("hist.kind.segment"),
             "document": msg("hist.kind.document"), "code": msg("hist.kind.code")}
    if len(table):
        with pd.option_context("display.max_colwidth", 70, "display.width", 250):
            print(french_table(table).to_string(index=False))
    print(msg("hist.summary", n=len(table), kind=kinds[table.attrs["kind"]], target=args.target)
          + (f" ; tableau écrit dans {args.csv}" if args.csv else ""))
    return EXIT_OK
