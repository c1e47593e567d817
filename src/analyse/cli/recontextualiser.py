"""``analyse recontextualiser``: the fiches as questions for a groupe miroir in a territory outside the corpus."""

from __future__ import annotations

import argparse

from analyse.cli import common
from analyse.errors import EXIT_OK, EXIT_PROBLEMS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = ("Confronte les fiches de décontextualisation (fiches/) aux faits d'un territoire qui n'est "
                          "pas dans le corpus, et écrit une page HTML de questions à discuter en groupe miroir avec "
                          "ses acteurs : par fiche, le concept, la méthode, chaque condition qui l'a fait marcher "
                          "ailleurs avec les faits du territoire qui la touchent, les contre-exemples et les questions "
                          "de la fiche.")
    parser.add_argument("--territoire", required=True, metavar="NOM", help="nom du territoire (hors du corpus)")
    parser.add_argument("--faits", metavar="FICHIER.yaml",
                        help="faits connus du territoire : une liste de phrases (ou « faits: » et une liste)")
    parser.add_argument("--fait", action="append", default=[], metavar="« … »",
                        help="un fait connu du territoire (répétable ; s'ajoute à --faits)")
    parser.add_argument("--codes", nargs="+", metavar="CODE", help="seulement ces fiches (défaut : toutes)")
    parser.add_argument("--out", required=True, metavar="DOSSIER", help="dossier où écrire la page HTML")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from analyse import nlp
    from analyse.errors import UsageError
    from analyse.fileio import atomic_write
    from analyse.messages import msg
    from analyse.privacy.fiches import load_fiches, public_text, validate_fiches
    from analyse.privacy.masking import load_masker
    from analyse.privacy.recontext import (build_checklist, check_territory, checklist_html, clean_facts,
                                           read_facts, slug)
    from analyse.project import Project

    project = Project.from_args(args)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UsageError(msg("rc.out_is_file"), str(out))
    corpus = project.load_corpus()
    territory = check_territory(args.territoire, corpus.territories, project.territory_label)
    facts = clean_facts([*(read_facts(args.faits) if args.faits else []), *args.fait])
    folder = project.fiches_dir
    fiches = load_fiches(folder) if folder.is_dir() else []
    if not fiches:
        raise UsageError(msg("rc.no_fiches", folder=folder), hint=msg("rc.no_fiches_hint"))
    problems = validate_fiches(folder, list(project.load_codebook().codes), corpus, project.root)
    common.print_problems(problems.items)
    if problems.errors:
        common.warn(msg("rc.fiches_invalid"))
        return EXIT_PROBLEMS
    if args.codes:
        missing = sorted(set(args.codes) - {f.get("code") for f in fiches})
        if missing:
            raise UsageError(msg("rc.unknown_codes", codes=", ".join(missing)))
        fiches = [f for f in fiches if f.get("code") in set(args.codes)]
    # the page goes to people of another territory: the fiches' text is masked as for the groupe miroir
    masker = load_masker(project, corpus, nlp=None)
    names = [*corpus.territories, *(project.territory_label(t) for t in corpus.territories)]
    checklist = build_checklist(fiches, territory, facts, nlp.load_pipeline(exclude=("parser", "ner")),
                                text=lambda s: public_text(s, masker, names))
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"recontextualisation-{slug(territory)}.html"
    atomic_write(path, checklist_html(checklist, project.illustrative))
    common.note(msg("rc.written", n=len(checklist.items), questions=checklist.n_questions, path=path))
    return EXIT_OK
