"""The ``analyse`` command.

Every user mistake surfaces as an :class:`~analyse.errors.AnalyseError` and is
printed here as one line (``analyse: error: FILE:LINE: message (hint)``);
tracebacks are kept for real bugs.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

from analyse import __version__
from analyse.model.codebook import render_codebook, validate_codebook
from analyse.model.codings import load_codings
from analyse.model.corpus import load_corpus, load_document
from analyse.errors import AnalyseError

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2

# Feature modules that add their own sub-commands: each defines
# ``add_commands(sub, common)`` (``common`` is the parent parser holding
# --corpus/--codebook/--codings). Imported only when the parser is built.
COMMAND_MODULES: tuple[str, ...] = (
    "analyse.coding.suggestions", "analyse.coding.evaluate",
    "analyse.reporting.batch",
    "analyse.reliability.agreement", "analyse.reliability.reconcile",
    "analyse.analysis.invariants",
    "analyse.exchange.sheet",
    "analyse.exchange.refi",
)


def project_paths(args) -> tuple[Path, Path, Path]:
    """``(corpus, codebook, codings)`` paths from the common options."""
    corpus = Path(args.corpus)
    codings = Path(args.codings) if args.codings else corpus / "codings"
    return corpus, Path(args.codebook), codings


def _print_problems(problems, stream=sys.stderr) -> None:
    for p in problems:
        print(p, file=stream)


def load_project(args):
    """``(corpus, codebook, codings folder)`` from the common options, for sub-commands
    that need a valid codebook (a bad one stops them with a one-line error)."""
    from analyse.model.codebook import load_codebook

    corpus_dir, codebook_path, codings_dir = project_paths(args)
    return load_corpus(corpus_dir), load_codebook(codebook_path), codings_dir


def cmd_validate(args) -> int:
    corpus_dir, codebook_path, codings_dir = project_paths(args)
    book, book_problems = validate_codebook(codebook_path)
    corpus = load_corpus(corpus_dir)
    codings = load_codings(corpus, book, codings_dir)
    problems = list(book_problems) + list(corpus.problems) + list(codings.problems)
    _print_problems(problems, sys.stdout)
    errors = [p for p in problems if p.severity == "error"]
    warnings = len(problems) - len(errors)
    print(f"{len(corpus.documents)} documents, {len(corpus.segments)} segments, "
          f"{len(codings.frame)} codings by {len(codings.coders)} coder(s), "
          f"{0 if book is None else len(book.codes)} codes: "
          f"{len(errors)} error(s), {warnings} warning(s)")
    return EXIT_PROBLEMS if errors else EXIT_OK


def cmd_stats(args) -> int:
    from analyse.analysis.stats import (by_atelier, codings_by_coder_and_code, coder_overview, corpus_summary,
                        overlap, stats_dict)
    corpus_dir, codebook_path, codings_dir = project_paths(args)
    corpus = load_corpus(corpus_dir)
    book, _ = validate_codebook(codebook_path)
    codings = load_codings(corpus, book, codings_dir)
    bad = len(corpus.problems.errors) + len(codings.problems.errors)
    if args.json:
        data = stats_dict(corpus, codings)
        data["problems"] = bad
        print(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    else:
        import pandas as pd
        with pd.option_context("display.max_rows", 500, "display.width", 160):
            total = corpus_summary(corpus)
            print("Corpus par territoire et type de document")
            print(total.to_string(index=False))
            print(f"\nTotal : {len(corpus.documents)} documents, {int(total['words'].sum()) if len(total) else 0} mots, "
                  f"{len(corpus.segments)} segments\n")
            print("Par atelier")
            print(by_atelier(corpus).to_string(index=False))
            print("\nCodeurs")
            print(coder_overview(corpus, codings).to_string(index=False))
            ov = overlap(corpus, codings)
            if len(ov):
                print("\nRecouvrement entre codeurs (segments couverts par les deux)")
                print(ov.to_string(index=False))
            if args.by_code:
                print("\nSegments codés par codeur et code")
                print(codings_by_coder_and_code(codings).to_string(index=False))
    if bad:
        print(f"analyse: {bad} problem(s) in the input were skipped: run `analyse validate`", file=sys.stderr)
    return EXIT_OK


def cmd_codebook(args) -> int:
    from analyse.model.codebook import load_codebook
    book = load_codebook(args.codebook)
    sys.stdout.write(render_codebook(book, args.format))
    return EXIT_OK


def cmd_segments(args) -> int:
    doc, segments, problems = load_document(args.file)
    _print_problems(problems)
    for s in segments:
        text = s.text.replace("\n", " ")
        print(f"{s.id}\t{s.speaker or '-'}\t{s.role or '-'}\t{text if args.full else text[:100]}")
    return EXIT_PROBLEMS if problems.errors else EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="analyse",
        description="Balises: code, check and analyse transition workshop transcripts.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--corpus", default="corpus", help="corpus folder (default: corpus)")
    common.add_argument("--codebook", default="codebook/balises.yaml",
                        help="codebook file (default: codebook/balises.yaml)")
    common.add_argument("--codings", default=None,
                        help="codings folder (default: <corpus>/codings)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("validate", parents=[common],
                       help="check corpus, codebook and codings; list every problem (exit 1 if any)")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("stats", parents=[common],
                       help="documents, words, segments and codings by territory, kind, atelier, coder")
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")
    p.add_argument("--by-code", action="store_true", help="also list coded segments per coder and code")
    p.set_defaults(func=cmd_stats)

    p = sub.add_parser("codebook", parents=[common], help="print the codebook")
    p.add_argument("--format", choices=["tree", "csv", "md"], default="tree")
    p.set_defaults(func=cmd_codebook)

    p = sub.add_parser("segments", help="print the numbered segments of one document file")
    p.add_argument("file", help="path to a corpus/<territory>/<doc>.md file")
    p.add_argument("--full", action="store_true", help="print whole segment texts")
    p.set_defaults(func=cmd_segments)

    for name in COMMAND_MODULES:
        importlib.import_module(name).add_commands(sub, common)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except AnalyseError as exc:
        print(f"analyse: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("analyse: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
