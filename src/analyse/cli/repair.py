"""``analyse repair``: rewrite the coder files in the one-line discipline.

Old versions read coder files with ``str.splitlines()``: a memo or a quote
holding U+2028, U+2029 or U+0085 (text pasted from Word or a PDF) split its
record in two invalid lines at the next write. The store now rejoins such
records when it reads; this command rewrites the files for good (the
separator put back is the one that makes the quote match the document) and
finishes an interrupted multi-coder write.
"""

from __future__ import annotations

import argparse

from analyse.errors import EXIT_OK


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--coders", nargs="+", metavar="CODEUR",
                        help="codeurs dont le fichier est réparé (défaut : tous)")


def run(args: argparse.Namespace) -> int:
    from analyse.model.codings import CodingStore
    from analyse.project import Project

    project = Project.from_args(args)
    store = CodingStore(project.codings_dir)
    switched = store.recover()
    if switched:
        print(f"écriture interrompue terminée : {', '.join(switched)}")
    try:
        corpus = project.load_corpus()
    except Exception:  # noqa: BLE001 - the repair does not need the corpus, it only helps
        corpus = None
    total = 0
    for coder in args.coders or store.coders():
        lines = store.repair(coder, corpus)
        total += len(lines)
        if lines:
            print(f"{store.path(coder)} : {len(lines)} enregistrement(s) recollé(s) "
                  f"(lignes {', '.join(map(str, lines[:10]))}{'…' if len(lines) > 10 else ''})")
    print(f"{total} enregistrement(s) réparé(s) ; les séparateurs de ligne Unicode sont désormais échappés")
    return EXIT_OK
