"""``analyse agreement``: inter-coder agreement; also the coder options ``reconcile`` shares."""

from __future__ import annotations

import argparse
import json
import sys

from analyse.cli.common import print_problems, warn
from analyse.errors import EXIT_OK, EXIT_PROBLEMS

# Same values as analyse.reliability.agreement.{LEVELS, BY, OVERLAPS, MACHINE_COVERAGE}
# (kept literal so that --help imports no statistics library; a test checks they agree).
LEVELS = ("segment", "document")
BY = ("code", "dimension", "territory")
OVERLAPS = ("all", "pairable")
MACHINE_COVERAGE = ("all", "suggested")


def add_coder_options(parser: argparse.ArgumentParser, required: bool = True) -> None:
    """Options shared by ``agreement`` and ``reconcile``: coders and machine suggestions."""
    parser.add_argument("--coders", nargs="+", required=required, metavar="CODEUR",
                        help="codeurs à comparer (deux ou plus) ; « model » et « rule » lisent --suggestions")
    parser.add_argument("--suggestions", metavar="FICHIER",
                        help="fichier JSONL de propositions : ses lignes sont les codages des pseudo-codeurs "
                             "« model » et « rule » (selon leur champ origin)")
    parser.add_argument("--machine-coverage", choices=MACHINE_COVERAGE, default="all",
                        help="documents que la machine est censée avoir couverts : tous (all, défaut) ou "
                             "seulement ceux où elle propose quelque chose (suggested)")
    parser.add_argument("--min-score", type=float, default=None,
                        help="écarter les propositions dont le score est inférieur (les lignes sans score restent)")


def load_inputs(args, coders: list[str]):
    """Corpus, codebook and codings (suggestions merged) for a command, or an exit code.

    Problems in the compared coders' files or in the suggestions file are
    printed (file:line) and stop the command with exit code 1: a statistic
    computed without the lines in error would be silently wrong.
    """
    from analyse.project import Project
    from analyse.reliability.agreement import load_reliability_codings

    project = Project.from_args(args)
    corpus = project.load_corpus()
    book, book_problems = project.validate_codebook()
    if book is None:
        print_problems(book_problems)
        print("analyse : erreur : la grille contient des erreurs : les corriger d'abord (analyse validate)",
              file=sys.stderr)
        return EXIT_PROBLEMS
    codings = load_reliability_codings(corpus, book, project.codings_dir, coders, args.suggestions,
                                       min_score=args.min_score, machine_coverage=args.machine_coverage)
    errors = codings.problems.errors
    print_problems(codings.problems)
    if errors:
        files = sorted({p.path for p in errors})
        print(f"analyse : erreur : {len(errors)} erreur(s) dans {', '.join(files)} : les corriger puis relancer "
              "(un accord calculé sur des fichiers lus en partie serait faux)", file=sys.stderr)
        return EXIT_PROBLEMS
    if corpus.problems.errors:
        warn(f"{len(corpus.problems.errors)} problème(s) dans le corpus (lancer `analyse validate`)")
    return corpus, book, codings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_coder_options(parser)
    parser.add_argument("--by", choices=BY, default="code",
                        help="une ligne par code (défaut), dimension ou territoire, puis l'ensemble")
    parser.add_argument("--level", choices=LEVELS, default="segment",
                        help="unité : segment (défaut) ou document (code présent dans le document ou non)")
    parser.add_argument("--overlap", choices=OVERLAPS, default="all",
                        help="unités couvertes par tous les codeurs (all, défaut) ou par au moins deux (pairable)")
    parser.add_argument("--json", action="store_true", help="écrire du JSON (valeurs indéfinies : null)")


def run(args: argparse.Namespace) -> int:
    from analyse.reliability.agreement import (agreement_json, agreement_summary, agreement_table,
                                               format_table, machine_gaps, reliability_data)

    loaded = load_inputs(args, args.coders)
    if isinstance(loaded, int):
        return loaded
    corpus, book, codings = loaded
    rel = reliability_data(codings, corpus, args.coders, codebook=book, level=args.level,
                           overlap=args.overlap)
    table = agreement_table(rel, by=args.by)
    notes = [f"{coder} ne propose rien dans {n} des {len(rel.documents)} documents comparés "
             "(compté comme « aucun code ne s'applique » ; voir --machine-coverage)"
             for coder, n in machine_gaps(codings, rel).items() if n]
    if args.json:
        print(json.dumps(agreement_json(rel, table, notes), ensure_ascii=False, indent=2))
    else:
        print(agreement_summary(rel))
        print(format_table(table))
    for n in notes:
        warn(n)
    return EXIT_OK

