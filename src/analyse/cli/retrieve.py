"""``analyse retrieve``: every segment coded with a code (its children included), with its context."""

from __future__ import annotations

import argparse

from analyse.cli.common import skipped_problems
from analyse.errors import EXIT_OK


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("code", help="identifiant du code (ses codes enfants sont inclus)")
    parser.add_argument("--coder", action="append", metavar="C",
                        help="seulement ce codeur (option répétable ; défaut : tous)")
    parser.add_argument("--territory", metavar="T", help="seulement ce territoire")
    parser.add_argument("--role", metavar="R", help="seulement les segments dits par ce rôle (elu, services…)")
    parser.add_argument("--valence", metavar="V",
                        help="seulement les codages de cette valence : « à l'œuvre », « mise en échec » "
                             "(ou échec), « contestée »")
    parser.add_argument("--no-children", action="store_true", help="sans les codes enfants")
    parser.add_argument("--csv", metavar="SORTIE", help="écrire le tableau complet en CSV")


def run(args: argparse.Namespace) -> int:
    from analyse.analysis.retrieval import retrieve
    from analyse.fileio import atomic_write
    from analyse.exchange.sheet import safe_csv_text
    from analyse.model.codings import VALENCES
    from analyse.project import Project

    project = Project.from_args(args)
    book = project.load_codebook()
    corpus = project.load_corpus()
    codings = project.load_codings(corpus, book, coders=args.coder)
    skipped_problems(len(corpus.problems.errors) + len(codings.problems.errors))
    rows = retrieve(corpus, book, codings, args.code, coders=args.coder, territory=args.territory,
                    role=args.role, children=not args.no_children, valence=args.valence)
    if args.csv:
        atomic_write(args.csv, safe_csv_text(rows))
    for r in rows.itertuples(index=False):
        print(f"── {r.segment} · {r.code} · codeur {r.coder} · {r.territory} · {r.speaker}"
              + (f" ({r.role})" if r.role else "") + (f" · {r.valence}" if r.valence != VALENCES[0] else ""))
        if r.before:
            print(f"   [avant — {r.before_speaker}] {_short(r.before)}")
        print(f"   » {r.quote.replace(chr(10), ' ')}")
        if r.after:
            print(f"   [après — {r.after_speaker}] {_short(r.after)}")
    print(f"{len(rows)} codage(s), {rows['segment'].nunique()} segment(s), "
          f"{rows['doc'].nunique()} document(s)" + (f" ; tableau écrit dans {args.csv}" if args.csv else ""))
    return EXIT_OK


def _short(text: str, width: int = 160) -> str:
    text = text.replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "…"
