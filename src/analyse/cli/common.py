"""What every sub-command shares: the project options, problem printing, table display."""

from __future__ import annotations

import argparse
import sys

_PARENT: argparse.ArgumentParser | None = None


def project_parent() -> argparse.ArgumentParser:
    """Parent parser holding ``--project``, ``--corpus``, ``--codebook``, ``--codings``.

    Defaults are ``None``: :meth:`analyse.project.Project.from_args` fills them from
    ``balises.toml`` (or the built-in defaults) relative to the project root.
    """
    global _PARENT
    if _PARENT is None:
        p = argparse.ArgumentParser(add_help=False)
        g = p.add_argument_group("projet")
        g.add_argument("--project", default=None, metavar="DOSSIER",
                       help="racine du projet (défaut : dossier courant ; lit balises.toml s'il existe)")
        g.add_argument("--corpus", default=None, help="dossier du corpus (défaut : corpus)")
        g.add_argument("--codebook", default=None, help="fichier de la grille (défaut : codebook/balises.yaml)")
        g.add_argument("--codings", default=None, help="dossier des codages (défaut : <corpus>/codings)")
        _PARENT = p
    return _PARENT


def print_problems(problems, stream=None) -> None:
    stream = sys.stderr if stream is None else stream
    for p in problems:
        print(p, file=stream)


def warn(message: str) -> None:
    """A French warning on stderr, in the command's voice."""
    print(f"analyse : attention : {message}", file=sys.stderr)


def note(message: str) -> None:
    print(f"analyse : note : {message}", file=sys.stderr)


def skipped_problems(count: int) -> None:
    """The reminder printed when some input was skipped because it had problems."""
    if count:
        warn(f"{count} problème(s) dans les données ont été ignorés : lancer `analyse validate`")


def add_nlp_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--n-process", type=int, default=1, metavar="N",
                        help="processus spaCy (défaut : 1)")
    parser.add_argument("--no-progress", action="store_true", help="pas de barre de progression")


def nlp_layer(args, project):
    """The project's NLP layer with the command's ``--n-process`` / ``--no-progress``."""
    from analyse.nlp import NLPLayer
    return NLPLayer(cache_dir=project.cache_dir, n_process=args.n_process,
                    progress=False if args.no_progress else None)


def load_for_coding(args, coders=None):
    """``(project, corpus, codebook, codings)`` for the machine-coding commands.

    Problems in the input are skipped with a reminder (the codebook must be valid).
    """
    from analyse.project import Project

    project = Project.from_args(args)
    book = project.load_codebook()
    corpus = project.load_corpus()
    codings = project.load_codings(corpus, book, coders=coders)
    skipped_problems(len(corpus.problems.errors) + len(codings.problems.errors))
    return project, corpus, book, codings
