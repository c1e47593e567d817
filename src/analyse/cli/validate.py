"""``analyse validate``: corpus, codebook and codings checked together; every problem listed."""

from __future__ import annotations

import argparse
import sys

from analyse.cli.common import print_problems
from analyse.errors import EXIT_OK, EXIT_PROBLEMS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    from analyse.project import Project

    project = Project.from_args(args)
    book, book_problems = project.validate_codebook()
    corpus = project.load_corpus()
    codings = project.load_codings(corpus, book)
    problems = list(book_problems) + list(corpus.problems) + list(codings.problems)
    problems += _registry_problems(project)
    from analyse.model.memos import dangling_memos, memos_path, validate_memos
    problems += list(validate_memos(memos_path(project.corpus_dir)))
    problems += list(dangling_memos(memos_path(project.corpus_dir), corpus, book, codings))
    if book is not None and project.fiches_dir.is_dir():
        # the fiches de décontextualisation are the team's writing too: checked like the rest
        from analyse.privacy.fiches import validate_fiches
        problems += list(validate_fiches(project.fiches_dir, list(book.codes), corpus, project.root))
    print_problems(problems, sys.stdout)
    for note in codings.notes:          # files in an older format: read as they are, `analyse migrate` upgrades
        print(note)
    errors = [p for p in problems if p.severity == "error"]
    warnings = len(problems) - len(errors)
    print(f"{len(corpus.documents)} documents, {len(corpus.segments)} segments, "
          f"{len(codings.frame)} codages par {len(codings.coders)} codeur(s), "
          f"{0 if book is None else len(book.codes)} codes : "
          f"{len(errors)} erreur(s), {warnings} avertissement(s)")
    return EXIT_PROBLEMS if errors else EXIT_OK


def _registry_problems(project) -> list:
    """Problems of ``coders.yaml`` and a warning per coder file it does not describe."""
    from analyse.model.coders import registry_path, unregistered, validate_registry
    from analyse.model.codings import CodingStore

    registry, problems = validate_registry(registry_path(project.codings_dir))
    coders = CodingStore(project.codings_dir).coders()
    return list(problems) + list(unregistered(project.codings_dir, coders, registry))
