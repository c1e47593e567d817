"""``analyse import``: transcripts (docx, odt, txt, md, rtf, vtt, srt) into corpus documents."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from analyse.errors import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE  # noqa: F401

KINDS = ("transcript", "recit", "entretien", "note")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Importe des transcriptions (.docx, .odt, .txt, .md, .rtf, .vtt, .srt) dans corpus/<territoire>/ : "
        "locuteurs, tours de parole, horodatage. Le document est validé avant d'être écrit ; "
        "rien n'est écrit en cas d'erreur.")
    parser.add_argument("files", nargs="+", metavar="FICHIER", help="fichier(s) à importer")
    parser.add_argument("--territory", required=True, metavar="T",
                        help="territoire (ex. le-mene), ou inter-territoires")
    parser.add_argument("--kind", choices=KINDS, default="transcript", help="type de document (défaut : transcript)")
    parser.add_argument("--atelier", default="none", metavar="A",
                        help="atelier : engagement, transversalite, cooperation, valeur, synthese, none (défaut)")
    parser.add_argument("--date", metavar="D", help="date AAAA-MM-JJ (défaut : date du fichier, signalée)")
    parser.add_argument("--id", dest="doc_id", metavar="ID",
                        help="identifiant du document (défaut : <territoire>-<nom du fichier>) ; un seul fichier")
    parser.add_argument("--speakers", metavar="CSV",
                        help="correspondance des locuteurs : colonnes name,id,role,territory")
    parser.add_argument("--encoding", metavar="ENC", help="encodage d'un fichier texte qui n'est pas en UTF-8 (ex. cp1252)")
    parser.add_argument("--pseudonymise", action="store_true",
                        help="remplacer les noms par les identifiants ; la table de correspondance va dans le dossier privé")
    parser.add_argument("--replace", action="store_true", help="remplacer un document existant de même identifiant")
    parser.add_argument("--dry-run", action="store_true", help="tout vérifier et afficher, sans rien écrire")


def _paths(args: argparse.Namespace) -> tuple[Path, Path]:
    """``(corpus folder, private folder)`` of the project."""
    from analyse.project import Project

    project = Project.from_args(args)
    return Path(project.corpus_dir), Path(project.private_dir)


def _report(result, out) -> None:
    verb = "serait écrit" if not result.written else "écrit"
    print(f"{result.source} → {result.target} ({result.format}, {verb})", file=out)
    names = ", ".join(f"{p['id']} {p['name']} ({p['role']}"
                      + (f", {p['territory']}" if p.get("territory") else "") + ")"
                      for p in result.participants)
    print(f"  locuteurs : {len(result.participants)} — {names}", file=out)
    print(f"  tours : {result.turns}, segments : {len(result.segments)}, mots : {result.words}, "
          f"segments horodatés : {result.timed}", file=out)
    if result.date_note:
        print(f"  date : {result.document.date} ({result.date_note})", file=out)
    if result.layout.unplaced:
        print(f"  non placé : {len(result.layout.unplaced)} ligne(s) sans locuteur, laissée(s) de côté :", file=out)
        for line, text in result.layout.unplaced[:5]:
            where = f"{line} : " if line is not None else ""
            print(f"    {where}« {text[:80]} »", file=out)
        if len(result.layout.unplaced) > 5:
            print(f"    … et {len(result.layout.unplaced) - 5} autre(s)", file=out)
    if result.private_path is not None:
        print(f"  correspondance des pseudonymes : {result.private_path} (lisible par vous seul)", file=out)
    for note in result.notes:
        print(f"  note : {note}", file=out)


def run(args: argparse.Namespace) -> int:
    from analyse.errors import AnalyseError, UsageError
    from analyse.model.importer import import_file, read_speakers_csv

    if args.doc_id and len(args.files) > 1:
        raise UsageError("--id ne vaut que pour un seul fichier", hint="importer les fichiers un par un avec --id")
    corpus, private = _paths(args)
    speakers = read_speakers_csv(args.speakers) if args.speakers else None
    failed = 0
    for name in args.files:
        try:
            result = import_file(
                name, corpus, args.territory, kind=args.kind, atelier=args.atelier, date=args.date,
                doc_id=args.doc_id, speakers=speakers, encoding=args.encoding,
                pseudonymise=args.pseudonymise, private_dir=private, replace=args.replace,
                dry_run=args.dry_run)
        except UsageError:
            raise
        except AnalyseError as exc:
            print(f"analyse: erreur : {exc}", file=sys.stderr)
            failed += 1
            continue
        _report(result, sys.stdout)
    if args.dry_run:
        print("Simulation (--dry-run) : rien n'a été écrit.")
    return EXIT_PROBLEMS if failed else EXIT_OK
