"""``analyse segments``: the numbered segments of one document file."""

from __future__ import annotations

import argparse

from analyse.cli.common import print_problems
from analyse.errors import EXIT_OK, EXIT_PROBLEMS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="chemin d'un document corpus/<territoire>/<doc>.md")
    parser.add_argument("--full", action="store_true", help="textes entiers des segments")


def run(args: argparse.Namespace) -> int:
    from analyse.model.corpus import load_document

    _, segments, problems = load_document(args.file)
    print_problems(problems)
    for s in segments:
        text = s.text.replace("\n", " ")
        print(f"{s.id}\t{s.speaker or '-'}\t{s.role or '-'}\t{text if args.full else text[:100]}")
    return EXIT_PROBLEMS if problems.errors else EXIT_OK
