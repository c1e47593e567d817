"""``analyse export iramuteq``: the corpus in other tools' formats."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from analyse.cli.common import project_parent


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="export_format", metavar="FORMAT")
    sub.required = True
    parents = [project_parent()]
    p = sub.add_parser("iramuteq", parents=parents,
                       help="fichier texte IRaMuTeQ : un texte par tour de parole, variables étoilées "
                            "*territoire_ *role_ *atelier_ *type_ *doc_")
    p.add_argument("--out", required=True, help="fichier à écrire (ex. corpus.txt)")
    p.add_argument("--without-facilitators", action="store_true",
                   help="laisser de côté les tours des animateurs et animatrices")


def run(args: argparse.Namespace) -> int:
    from analyse.exchange.iramuteq import write_iramuteq

    from analyse.project import Project
    corpus = Project.from_args(args).load_corpus()
    leave_out = ("animateur",) if args.without_facilitators else ()
    n = write_iramuteq(corpus, Path(args.out), leave_out_roles=leave_out)
    print(f"{n} textes écrits dans {args.out} (format IRaMuTeQ, UTF-8).", file=sys.stderr)
    return 1 if corpus.problems.errors else 0
