"""``analyse migrate``: bring the coder files to the current format (event log, codebook version, one line each).

Idempotent: a second run changes nothing. See :mod:`analyse.model.migrate`.
"""

from __future__ import annotations

import argparse

from analyse.errors import EXIT_OK


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--codebook-version", metavar="VERSION", default=None,
                        help="la version de la grille avec laquelle les codages sans version ont été faits "
                             "(défaut : « inconnue »)")
    parser.add_argument("--coders", nargs="+", metavar="CODEUR",
                        help="codeurs dont le fichier est migré (défaut : tous)")
    parser.add_argument("--dry-run", action="store_true", help="dire ce qui serait fait, ne rien écrire")


def run(args: argparse.Namespace) -> int:
    from analyse.messages import msg
    from analyse.model.codings import CodingStore
    from analyse.model.migrate import UNKNOWN_VERSION, migrate
    from analyse.project import Project

    project = Project.from_args(args)
    try:
        corpus = project.load_corpus()
    except Exception:  # noqa: BLE001 - the migration does not need the corpus, it helps rejoin split records
        corpus = None
    store = CodingStore(project.codings_dir, corpus=corpus)
    version = args.codebook_version or UNKNOWN_VERSION
    report = migrate(store, version, coders=args.coders, dry_run=args.dry_run)
    for coder in report.changed:
        print(msg("mig.coder", path=store.path(coder), versioned=report.versioned.get(coder, 0), version=version,
                  rejoined=report.rejoined.get(coder, 0)))
    if not report.changed:
        print(msg("mig.nothing"))
    elif args.dry_run:
        print(msg("mig.dry_run"))
    else:
        print(msg("mig.done", n=len(report.changed)))
    return EXIT_OK
