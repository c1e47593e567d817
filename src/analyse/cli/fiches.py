"""``analyse fiches``: pre-fill the fiches de décontextualisation (never overwriting one) and check them."""

from __future__ import annotations

import argparse

from analyse.cli.common import note, print_problems
from analyse.errors import EXIT_OK, EXIT_PROBLEMS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = ("Écrit dans fiches/ une fiche de décontextualisation par invariant qui n'en a pas encore "
                          "(code, territoires, diffusion, extraits masqués à faible risque de plusieurs territoires, "
                          "jamais une question de l'animateur, et les champs que l'équipe remplit), puis vérifie "
                          "toutes les fiches. Une fiche existante n'est jamais réécrite.")
    parser.add_argument("--check", action="store_true", help="seulement vérifier les fiches existantes")
    parser.add_argument("--coders", nargs="+", default=None,
                        help="codeurs analysés (défaut : consensus s'il existe, sinon le codeur principal)")
    parser.add_argument("--verbatims", type=int, default=4, metavar="N", help="extraits par fiche (défaut : 4)")
    parser.add_argument("--export", metavar="FICHES.md",
                        help="écrire aussi les fiches en Markdown (après vérification), pour un rapport ou un livret")
    parser.add_argument("--audience", choices=["chercheurs", "groupe-miroir"], default="groupe-miroir",
                        help="avec --export : groupe-miroir (défaut : ni territoire ni segment) ou chercheurs")


def run(args: argparse.Namespace) -> int:
    from analyse.privacy.fiches import fiche_markdown, load_fiches, prefill_fiches, validate_fiches
    from analyse.project import Project

    project = Project.from_args(args)
    corpus = project.load_corpus()
    book = project.load_codebook()
    folder = project.fiches_dir
    if not args.check:
        from analyse.privacy.decontext import decontextualised_verbatims
        from analyse.privacy.masking import load_masker
        from analyse.privacy.risk import corpus_risk_model
        from analyse.reporting.context import load_context

        # The synthesis's own context and invariance table (project thresholds, roll-up of sub-codes,
        # per-code reliability): `analyse fiches` writes a fiche for exactly the invariants it shows.
        ctx = load_context(project.corpus_dir, project.codebook_path, project.codings_dir, args.coders,
                           project_dir=project.root)
        table = ctx.invariance()
        codes = table.loc[table["class"].astype(str).str.startswith("invariant"), "code"].tolist()
        masker = load_masker(project, ctx.corpus)
        risk = corpus_risk_model(ctx.tokens, ctx.material.segments, masker.lexicon)
        verbatims = decontextualised_verbatims(ctx.material, codes, masker=masker, risk=risk, n=1)
        written, kept = prefill_fiches(folder, table, verbatims, per_fiche=args.verbatims)
        note(f"{len(written)} fiche(s) écrite(s), {len(kept)} déjà là laissée(s) telle(s) quelle(s) dans {folder}")
    if not folder.is_dir():
        note(f"aucune fiche : {folder} n'existe pas (lancer `analyse fiches` pour les pré-remplir)")
        return EXIT_OK
    problems = validate_fiches(folder, list(book.codes), corpus, project.root)
    print_problems(problems.items)
    if problems.errors:
        return EXIT_PROBLEMS
    if args.export:
        from pathlib import Path

        from analyse.fileio import atomic_write

        public = args.audience == "groupe-miroir"
        title = "# Fiches de décontextualisation\n\n"
        atomic_write(Path(args.export), title + "\n".join(fiche_markdown(f, public) for f in load_fiches(folder)))
        note(f"fiches écrites en Markdown ({args.audience}) → {args.export}")
    return EXIT_OK
