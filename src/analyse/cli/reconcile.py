"""``analyse reconcile``: the coders' disagreements to discuss, then the team's decisions as a coder."""

from __future__ import annotations

import argparse
import sys

from analyse.cli.agreement import add_coder_options, load_inputs
from analyse.cli.common import print_problems
from analyse.errors import EXIT_OK, EXIT_PROBLEMS, UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_coder_options(parser, required=False)
    parser.add_argument("--out", metavar="FICHIER",
                        help="écrire les désaccords dans FICHIER.csv (à remplir) ou FICHIER.md "
                             "(défaut : Markdown à l'écran)")
    parser.add_argument("--force", action="store_true",
                        help="écraser --out s'il existe ; avec --apply --replace, effacer aussi les codages "
                             "ajoutés au consensus depuis son enregistrement")
    parser.add_argument("--apply", metavar="FICHIER.csv",
                        help="enregistrer les décisions d'un CSV rempli comme un nouveau codeur")
    parser.add_argument("--as", dest="as_coder", default="consensus", metavar="CODEUR",
                        help="nom du codeur qui reçoit les décisions (défaut : consensus)")
    parser.add_argument("--replace", action="store_true",
                        help="avec --apply : réécrire les documents déjà présents chez ce codeur")


def run(args: argparse.Namespace) -> int:
    from analyse.model.codings import CodingStore
    from analyse.project import Project
    from analyse.reliability.reconcile import (coders_of, disagreements, export_disagreements, read_decisions,
                                               record_consensus, to_markdown)

    if args.apply:
        if args.out:
            raise UsageError("--apply et --out ne vont pas ensemble",
                             hint="exporter avec --out, remplir « décision », puis --apply ce fichier")
        frame, _ = read_decisions(args.apply)
        coders = args.coders or coders_of(frame)
        if len(coders) < 2:
            raise UsageError("le fichier de décisions ne nomme pas les codeurs comparés", args.apply,
                             hint="ajouter --coders A B")
        loaded = load_inputs(args, coders)
        if isinstance(loaded, int):
            return loaded
        corpus, book, codings = loaded
        store = CodingStore(Project.from_args(args).codings_dir)
        result = record_consensus(args.apply, codings, corpus, store, coders=coders, as_coder=args.as_coder,
                                  codebook=book, replace=args.replace, force=args.force)
        print_problems(result.problems)
        if not result.ok:
            print(f"analyse : erreur : {len(result.problems.errors)} ligne(s) en erreur : rien n'a été enregistré",
                  file=sys.stderr)
            return EXIT_PROBLEMS
        print(f"{result.decisions} décision(s) lue(s) ; {len(result.documents)} document(s) enregistré(s) pour "
              f"« {args.as_coder} » ({result.codings} codage(s)) dans {store.path(args.as_coder)}")
        for doc, why in result.skipped.items():
            print(f"  {doc} laissé de côté : {why}")
        return EXIT_OK

    if not args.coders:
        raise UsageError("nommer les codeurs à réconcilier",
                         hint="par exemple : analyse reconcile --coders A B --out desaccords.csv")
    loaded = load_inputs(args, args.coders)
    if isinstance(loaded, int):
        return loaded
    corpus, book, codings = loaded
    table = disagreements(codings, corpus, args.coders, codebook=book)
    if not args.out:
        print(to_markdown(table))
        return EXIT_OK
    path = export_disagreements(table, args.out, overwrite=args.force)
    print(f"{len(table)} désaccord(s) sur {table['segment'].nunique()} segment(s) "
          f"({table.attrs['segments']} segments dans {table.attrs['documents']} documents communs) "
          f"écrits dans {path}")
    return EXIT_OK
