"""``analyse batch``: every territory report and the synthesis, as HTML, with an index."""

from __future__ import annotations

import argparse
import os

from analyse.errors import EXIT_OK, EXIT_PROBLEMS, UsageError

AUDIENCES = ("chercheurs", "groupe-miroir")  # = analyse.reporting.report.AUDIENCES (tested)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--territories", nargs="+", default=["all"], metavar="SLUG",
                        help="territoires (slugs), ou « all » (défaut)")
    parser.add_argument("--out", default=None, help="dossier de sortie (défaut : outputs/rapport)")
    parser.add_argument("--jobs", type=int, default=None, help="exécutions en parallèle (défaut : une par cœur)")
    parser.add_argument("--audience", choices=AUDIENCES, default="chercheurs",
                        help="chercheurs (tout) ou groupe-miroir (pseudonymisé, extraits masqués)")
    parser.add_argument("--coders", nargs="+", default=None,
                        help="codeurs dont les codages sont analysés (défaut : celui du projet, balises.toml)")
    parser.add_argument("--agreement-coders", nargs="+", default=None, metavar="CODEUR",
                        help="codeurs comparés dans le rapport d'accord (chercheurs seulement ; "
                             "défaut : ceux du projet)")
    parser.add_argument("--notebooks", default=None, help="dossier des notebooks de rapport (défaut : notebooks)")
    parser.add_argument("--quiet", action="store_true", help="pas de barre de progression")


def run(args: argparse.Namespace) -> int:
    from analyse.messages import msg
    from analyse.project import Project
    from analyse.reporting.batch import run_batch

    project = Project.from_args(args)
    if args.jobs is not None and args.jobs < 1:
        raise UsageError("--jobs doit valoir au moins 1")
    # coders=None: the project's rule (consensus where it exists, else the primary coder).
    result = run_batch(project, args.territories, args.out or project.outputs_dir / "rapport", args.jobs,
                       args.audience, args.coders, notebooks_dir=args.notebooks, progress=not args.quiet,
                       agreement_coders=args.agreement_coders or project.agreement_coders)
    if result.context is not None:
        folder = os.path.relpath(result.context.folder, project.root)
        print(msg("batch.context_built", seconds=f"{result.context_s:.1f}", folder=folder) if result.context.built
              else msg("batch.context_reused", folder=folder))
    for job in result.jobs:
        state = "ok" if job.ok else f"ÉCHEC : {job.error}"
        print(f"{job.name:<18} {state}  (noyau {job.kernel_start_s:.1f} s, exécution {job.execution_s:.1f} s, "
              f"rendu {job.rendering_s:.1f} s)")
    print(f"index : {result.index}")
    print(f"dossier de travail (notebooks exécutés, journaux ; à ne pas diffuser) : {result.work_dir}")
    return EXIT_OK if result.ok else EXIT_PROBLEMS
