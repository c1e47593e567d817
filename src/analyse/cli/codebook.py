"""``analyse codebook``: the codebook as a tree, CSV or Markdown."""

from __future__ import annotations

import argparse
import sys

from analyse.errors import EXIT_OK


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=["tree", "csv", "md"], default="tree",
                        help="arbre (défaut), csv ou md")


def run(args: argparse.Namespace) -> int:
    from analyse.model.codebook import render_codebook
    from analyse.project import Project

    book = Project.from_args(args).load_codebook()
    sys.stdout.write(render_codebook(book, args.format))
    return EXIT_OK
