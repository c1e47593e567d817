"""``analyse sheet export | import``: coding in a spreadsheet."""

from __future__ import annotations

import argparse
import sys

from analyse.cli.common import print_problems, project_parent
from analyse.errors import EXIT_OK, EXIT_PROBLEMS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    inner = parser.add_subparsers(dest="sheet_command", metavar="ACTION", title="actions")
    inner.required = True
    e = inner.add_parser("export", parents=[project_parent()], help="écrire une feuille de codage (.xlsx ou .csv)")
    e.add_argument("--coder", required=True, help="identifiant du codeur (ses codes sont pré-remplis)")
    which = e.add_mutually_exclusive_group()
    which.add_argument("--docs", nargs="+", metavar="ID", help="documents à exporter (défaut : tous)")
    which.add_argument("--territory", metavar="SLUG", help="exporter les documents d'un territoire")
    e.add_argument("--out", required=True, help="fichier de sortie, .xlsx ou .csv")
    e.set_defaults(func=run_export)
    i = inner.add_parser("import", parents=[project_parent()],
                         help="vérifier une feuille et remplacer les codages du codeur pour ses documents")
    i.add_argument("file", help="une feuille écrite par `analyse sheet export` (.xlsx ou .csv)")
    i.add_argument("--coder", required=True, help="codeur dont le fichier reçoit les codages")
    i.add_argument("--dry-run", action="store_true", help="vérifier et compter, ne rien écrire")
    i.add_argument("--force", action="store_true",
                   help="effacer aussi les codages ajoutés ou modifiés depuis l'export de la feuille")
    i.set_defaults(func=run_import)


def run(args: argparse.Namespace) -> int:  # pragma: no cover - an action is required
    return args.func(args)


def _load(args):
    from analyse.project import Project
    project = Project.from_args(args)
    return project, project.load_corpus(), project.load_codebook()


def run_export(args: argparse.Namespace) -> int:
    from analyse.exchange.sheet import export_sheet
    from analyse.model.codings import CodingStore

    project, corpus, book = _load(args)
    n = export_sheet(corpus, book, CodingStore(project.codings_dir), args.coder, args.out,
                     docs=args.docs, territory=args.territory)
    print(f"{n} segments écrits dans {args.out} pour le codeur {args.coder}")
    return EXIT_OK


def run_import(args: argparse.Namespace) -> int:
    from analyse.exchange.sheet import import_sheet
    from analyse.model.codings import CodingStore

    project, corpus, book = _load(args)
    store = CodingStore(project.codings_dir)
    result, counts = import_sheet(args.file, args.coder, corpus, book, store, dry_run=args.dry_run,
                                  force=args.force)
    print_problems(result.problems)
    if result.problems.errors:
        print(f"analyse : {len(result.problems.errors)} problème(s) dans {args.file} : rien n'a été importé",
              file=sys.stderr)
        return EXIT_PROBLEMS
    verb = "seraient écrits" if args.dry_run else "écrits"
    print(f"{args.file} : {counts['documents']} document(s) pour le codeur {args.coder} : {counts['added']} codage(s) "
          f"ajouté(s), {counts['removed']} retiré(s), {counts['kept']} inchangé(s), {verb} dans "
          f"{store.path(args.coder)}" + (" (essai : rien n'a été écrit)" if args.dry_run else ""))
    return EXIT_OK
