"""``analyse codebook``: the codebook as a tree, CSV or Markdown; ``add | rename | merge | split | retire``
edit it and migrate every coder's codings."""

from __future__ import annotations

import argparse
import sys

from analyse.errors import EXIT_OK, UsageError

# Same values as analyse.model.codebook_edit.ACTIONS (literal: --help stays light).
ACTIONS = ("add", "rename", "merge", "split", "retire")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", nargs="?", choices=ACTIONS, metavar="ACTION",
                        help="sans action : afficher la grille ; add ID, rename ANCIEN NOUVEAU, "
                             "merge CODE --into AUTRE, split CODE NOUVEAU… --rule NOUVEAU=EXPR, "
                             "retire CODE [--into AUTRE]")
    parser.add_argument("ids", nargs="*", metavar="CODE", help="les identifiants de codes de l'action")
    parser.add_argument("--format", choices=["tree", "csv", "md"], default="tree",
                        help="arbre (défaut), csv ou md")
    edit = parser.add_argument_group("modifier la grille")
    edit.add_argument("--into", metavar="CODE", help="merge, retire : le code qui reçoit les codages")
    edit.add_argument("--rule", action="append", default=[], metavar="NOUVEAU=EXPR",
                      help="split : expression (mots ou expression régulière, casse ignorée) qui envoie un "
                           "codage vers ce sous-code ; une par sous-code ; les codages sans règle restent sur le parent")
    edit.add_argument("--label", action="append", default=[], metavar="LIBELLÉ",
                      help="add : le libellé ; split : NOUVEAU=LIBELLÉ")
    edit.add_argument("--dimension", help="add : la dimension (ENG, SYS, COOP, VAL, MGT, ECH, CON…)")
    edit.add_argument("--kind", help="add, split : le type (balise, mode, dispositif, concept, contexte)")
    edit.add_argument("--parent", metavar="CODE", help="add : le code parent")
    edit.add_argument("--definition", help="add : la définition")
    edit.add_argument("--include", action="append", default=[], metavar="CRITÈRE", help="add : critère d'inclusion")
    edit.add_argument("--exclude", action="append", default=[], metavar="CRITÈRE", help="add : critère d'exclusion")
    edit.add_argument("--example", action="append", default=[], metavar="PHRASE", help="add : exemple (au moins 2)")
    edit.add_argument("--keyword", action="append", default=[], metavar="MOT", help="add : mot-clé des suggestions")
    edit.add_argument("--after", metavar="CODE", help="add : placer le code après celui-ci")
    edit.add_argument("--author", default="", metavar="NOM", help="qui décide la modification (noté au journal)")
    edit.add_argument("--dry-run", action="store_true", help="dire ce qui serait fait, ne rien écrire")


def _ids(args, n: int, usage: str) -> list[str]:
    if len(args.ids) != n if n >= 0 else len(args.ids) < -n:
        raise UsageError(f"usage : analyse codebook {usage}")
    return args.ids


def _pairs(values: list[str], option: str) -> dict[str, str]:
    out = {}
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"{option} attend NOUVEAU=VALEUR, pas « {value} »")
        out[key.strip()] = rest
    return out


def run(args: argparse.Namespace) -> int:
    from analyse.project import Project

    project = Project.from_args(args)
    if args.action is None:
        from analyse.model.codebook import render_codebook
        if args.ids:
            raise UsageError(f"action manquante avant « {args.ids[0]} »", hint="add, rename, merge, split ou retire")
        sys.stdout.write(render_codebook(project.load_codebook(), args.format))
        return EXIT_OK

    from analyse.model.codebook_edit import CodebookEditor

    editor = CodebookEditor(project.codebook_path, project.codings_dir)
    common = {"author": args.author, "dry_run": args.dry_run}
    if args.action == "add":
        (cid,) = _ids(args, 1, "add ID --label … --dimension … --kind … --definition … --include … "
                               "--exclude … --example … --example … --keyword …")
        code = {"id": cid, "label": " ".join(args.label), "dimension": args.dimension, "kind": args.kind,
                "parent": args.parent, "definition": args.definition, "include": args.include,
                "exclude": args.exclude, "examples": args.example, "keywords": args.keyword}
        report = editor.add(code, after=args.after, **common)
    elif args.action == "rename":
        old, new = _ids(args, 2, "rename ANCIEN NOUVEAU")
        report = editor.rename(old, new, **common)
    elif args.action == "merge":
        (source,) = _ids(args, 1, "merge CODE --into AUTRE")
        if not args.into:
            raise UsageError("merge demande --into AUTRE_CODE")
        report = editor.merge(source, args.into, **common)
    elif args.action == "retire":
        (code,) = _ids(args, 1, "retire CODE [--into AUTRE]")
        report = editor.retire(code, into=args.into, **common)
    else:
        source, *children = _ids(args, -1, "split CODE NOUVEAU… --rule NOUVEAU=EXPR")
        rules = _pairs(args.rule, "--rule")
        report = editor.split(source, rules, children=children or None,
                              labels=_pairs(args.label, "--label"), kind=args.kind, **common)
    for line in report.lines():
        print(line)
    if report.written:
        print(f"grille écrite : {editor.path} ; journal : {editor.changelog}")
    return EXIT_OK
