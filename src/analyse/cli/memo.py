"""``analyse memo add | list``: memos on a segment, a coding, a document, a code, a territory, the project."""

from __future__ import annotations

import argparse
import json

from analyse.cli.common import project_parent
from analyse.errors import EXIT_OK

ON_HELP = ("cible : segment:ID, coding:CODEUR:SEGMENT:CODE, document:ID, code:ID, territory:SLUG "
           "ou project (journal de recherche)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    msub = parser.add_subparsers(dest="memo_command", metavar="ACTION", title="actions")
    msub.required = True
    common = [project_parent()]
    p = msub.add_parser("add", parents=common, help="ajouter un mémo daté et signé")
    p.add_argument("--on", required=True, metavar="CIBLE", help=ON_HELP)
    p.add_argument("--author", required=True, metavar="NOM", help="qui écrit le mémo (obligatoire)")
    p.add_argument("text", help="le texte du mémo")
    p.set_defaults(func=run_add)
    p = msub.add_parser("list", parents=common, help="lister les mémos (tous, ou ceux d'une cible)")
    p.add_argument("--on", metavar="CIBLE", help=ON_HELP + " ; « segment » seul : tous les mémos de segments")
    p.add_argument("--author", metavar="NOM", help="seulement les mémos de cette personne")
    p.add_argument("--json", action="store_true", help="une ligne JSON par mémo")
    p.set_defaults(func=run_list)


def run(args: argparse.Namespace) -> int:  # pragma: no cover - an action is required
    return args.func(args)


def _store(project):
    from analyse.model.memos import MemoStore, memos_path
    return MemoStore(memos_path(project.corpus_dir))


def run_add(args: argparse.Namespace) -> int:
    from analyse.model.memos import check_target, parse_target
    from analyse.project import Project

    project = Project.from_args(args)
    kind, target = parse_target(args.on)
    corpus = book = codings = None
    if kind in ("segment", "document", "territory", "coding"):
        corpus = project.load_corpus()
    if kind in ("code", "coding"):
        book = project.load_codebook()
    if kind == "coding":
        codings = project.load_codings(corpus, book, coders=[target.split(":")[0]])
    check_target(kind, target, corpus, book, codings)
    rec = _store(project).add(kind, target, args.text, args.author)
    print(f"mémo {rec['id']} ajouté sur {kind}{':' + target if target else ''} ({rec['author']}, {rec['at']})")
    return EXIT_OK


def run_list(args: argparse.Namespace) -> int:
    from analyse.model.memos import TARGET_TYPES, parse_target
    from analyse.project import Project

    project = Project.from_args(args)
    kind = target = None
    if args.on:
        if args.on in TARGET_TYPES and args.on != "project":
            kind = args.on                                   # every memo of that type
        else:
            kind, target = parse_target(args.on)
    memos = _store(project).find(kind, target, args.author)
    for m in memos:
        if args.json:
            print(json.dumps(m, ensure_ascii=False))
            continue
        where = m["target_type"] + (f":{m['target']}" if m.get("target") else "")
        print(f"[{m['at']}] {m['author']} — {where}\n  {m['text']}")
    if not args.json:
        print(f"{len(memos)} mémo(s)")
    return EXIT_OK
