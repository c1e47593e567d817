"""``analyse refi …``: codebook and codings to and from NVivo, ATLAS.ti, MAXQDA, QualCoder, Taguette."""

from __future__ import annotations

import argparse


from analyse.cli.common import project_parent, skipped_problems
from analyse.errors import EXIT_OK

# Same values as analyse.exchange.refi.OFFSET_UNITS / taguette.TAGUETTE_USER (literal: --help stays light).
OFFSET_UNITS = ("auto", "codepoints", "utf16")
TAGUETTE_USER = "admin"
KINDS = ("transcript", "recit", "entretien", "note")  # analyse.model.corpus.KINDS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    rsub = parser.add_subparsers(dest="refi_command", metavar="ACTION", title="actions")
    rsub.required = True
    common = [project_parent()]
    p = rsub.add_parser("export-codebook", parents=common, help="écrire la grille (.qdc ou CSV pour Taguette)")
    p.add_argument("--out", required=True, metavar="FICHIER")
    p.add_argument("--format", choices=["qdc", "taguette-csv"], default="qdc")
    p.set_defaults(func=run_export_codebook)
    p = rsub.add_parser("export", parents=common,
                        help="écrire corpus, grille et codages en projet .qdpx")
    p.add_argument("--out", required=True, metavar="FICHIER.qdpx")
    p.set_defaults(func=run_export)
    p = rsub.add_parser("export-taguette", parents=common,
                        help="écrire les documents en HTML et la grille en CSV, prêts pour Taguette")
    p.add_argument("--out", required=True, metavar="DOSSIER")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--docs", nargs="+", metavar="ID", help="documents à exporter (défaut : tous)")
    which.add_argument("--territory", metavar="SLUG", help="exporter les documents d'un territoire")
    p.set_defaults(func=run_export_taguette)
    p = rsub.add_parser("import", parents=common,
                        help="lire les codages d'un .qdpx (ou la grille d'un .qdc) fait dans un autre logiciel")
    p.add_argument("file", help="le projet .qdpx, la grille .qdc ou l'export de projet Taguette (.sqlite3)")
    p.add_argument("--coder-map", nargs="+", metavar="AUTRE=CODEUR",
                   help="importer l'utilisateur AUTRE (nom, id ou GUID) comme codeur CODEUR ; "
                        "seuls les utilisateurs nommés sont importés")
    p.add_argument("--dry-run", action="store_true", help="dire ce qui serait écrit, ne rien écrire")
    p.add_argument("--offsets", choices=OFFSET_UNITS, default="auto",
                   help="unité des positions (défaut auto : UTF-16 pour NVivo, points de code sinon)")
    whole = p.add_argument_group(
        "projet entier", "avec --territory ou --territory-map, importer aussi les sources (documents), "
        "les codes absents de la grille (codes candidats « EMG.… », status: emergent) et les mémos")
    whole.add_argument("--territory", metavar="SLUG", help="territoire des documents importés")
    whole.add_argument("--territory-map", metavar="FICHIER.csv",
                       help="CSV « source,territoire » : le territoire de chaque source (par son nom)")
    whole.add_argument("--kind", choices=KINDS, default="entretien",
                       help="type des documents importés (défaut : entretien)")
    whole.add_argument("--language", default="fr", metavar="CODE",
                       help="langue des documents importés, code à deux lettres (défaut : fr)")
    p.set_defaults(func=run_import)


def run(args: argparse.Namespace) -> int:  # pragma: no cover - an action is required
    return args.func(args)


def _project(args):
    from analyse.project import Project
    return Project.from_args(args)


def run_export_codebook(args: argparse.Namespace) -> int:
    from analyse.exchange.refi import export_codebook

    book = _project(args).load_codebook()
    path = export_codebook(book, args.out, args.format)
    print(f"{len(book.codes)} codes écrits dans {path} ({args.format})")
    return EXIT_OK


def run_export(args: argparse.Namespace) -> int:
    from analyse.exchange.refi import export_project

    project = _project(args)
    result = export_project(project.load_corpus(), project.load_codebook(), args.out, project.codings_dir)
    print(f"{result['sources']} sources, {result['codings']} codages de {result['users']} utilisateur(s), "
          f"{result['memos']} mémo(s) "
          f"écrits dans {result['path']}")
    skipped_problems(len(result["problems"].errors))
    return EXIT_OK


def run_export_taguette(args: argparse.Namespace) -> int:
    from analyse.exchange.sheet import select_documents
    from analyse.exchange.taguette import export_documents

    project = _project(args)
    corpus, book = project.load_corpus(), project.load_codebook()
    docs = select_documents(corpus, args.docs, args.territory)
    written = export_documents(corpus, book, args.out, docs)
    print(f"{len(written) - 1} document(s) et codebook.csv écrits dans {args.out}")
    print("Dans Taguette : importer chaque .html comme document (garder son nom), puis codebook.csv "
          "(Importer un codebook). Retour : Exporter le projet (.sqlite3), puis "
          f"`analyse refi import FICHIER.sqlite3 --coder-map {TAGUETTE_USER}=CODEUR`.")
    return EXIT_OK


def run_import(args: argparse.Namespace) -> int:
    from analyse.exchange.refi import import_project, parse_coder_map

    if args.territory or args.territory_map:
        return run_import_whole(args)
    project = _project(args)
    report = import_project(args.file, project.load_corpus(), project.load_codebook(), project.codings_dir,
                            parse_coder_map(args.coder_map), dry_run=args.dry_run, offsets=args.offsets)
    for p in report.problems.warnings:
        print(p)
    print(report.summary())
    if report.unmatched_sources or report.unknown_codes:
        print("pour importer aussi ces sources (documents) et ces codes (codes candidats) : "
              "relancer avec --territory SLUG ou --territory-map FICHIER.csv")
    if args.dry_run:
        print("essai : rien n'a été écrit")
    else:
        print(f"{sum(report.written.values())} ligne(s) écrite(s) dans {project.codings_dir}")
    return EXIT_OK




def run_import_whole(args: argparse.Namespace) -> int:
    from analyse.exchange.refi import parse_coder_map
    from analyse.exchange.refi_project import import_whole_project, read_territory_map

    project = _project(args)
    territory_map = read_territory_map(args.territory_map) if args.territory_map else None
    report = import_whole_project(args.file, project.load_corpus(), project.load_codebook(), project.codings_dir,
                                  territory=args.territory, territory_map=territory_map,
                                  coder_map=parse_coder_map(args.coder_map), dry_run=args.dry_run,
                                  offsets=args.offsets, kind=args.kind, language=args.language)
    for p in report.problems.warnings:
        print(p)
    print(report.summary())
    if args.dry_run:
        print("essai : rien n'a été écrit")
    else:
        print(f"écrit : {len(report.documents)} document(s) dans {project.corpus_dir}, "
              f"{len(report.codes_new)} code(s) candidat(s) dans {project.codebook_path}, "
              f"{sum(report.written.values())} codage(s) dans {project.codings_dir}, "
              f"{len(report.memos)} mémo(s) dans {project.corpus_dir}/memos.jsonl")
    return EXIT_OK
