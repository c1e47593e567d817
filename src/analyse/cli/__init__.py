"""The ``analyse`` command: a thin layer over the library.

Sub-commands live one per module in this package and are registered in
:data:`COMMANDS` with their one-line help. Building the parser imports only the
module of the command being run, and those modules import the library inside
``run()``: ``analyse --help`` and ``analyse <commande> --help`` load no heavy
library (spaCy, scikit-learn, pandas, matplotlib, jsonschema).

Every user mistake surfaces as an :class:`~analyse.errors.AnalyseError` and is
printed here as one French line; exit codes: 0 ok, 1 problems found in the
data, 2 wrong usage (see README). Tracebacks are kept for real bugs.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from analyse import __version__
from analyse.cli.common import project_parent
from analyse.errors import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, AnalyseError

__all__ = ["COMMANDS", "EXIT_OK", "EXIT_PROBLEMS", "EXIT_USAGE", "build_parser", "main"]

# name: (module, one-line help, takes the common project options)
COMMANDS: dict[str, tuple[str, str, bool]] = {
    "validate": ("analyse.cli.validate",
                 "vérifier corpus, grille et codages ; lister chaque problème (code 1 s'il y en a)", True),
    "stats": ("analyse.cli.stats",
              "documents, mots, segments et codages par territoire, type, atelier, codeur", True),
    "codebook": ("analyse.cli.codebook", "afficher la grille de codage", True),
    "segments": ("analyse.cli.segments", "les segments numérotés d'un document", False),
    "import": ("analyse.cli.import_",
               "importer des transcriptions (docx, odt, txt, md, rtf, vtt, srt) dans le corpus", True),
    "retrieve": ("analyse.cli.retrieve",
                 "tous les segments codés avec un code (et ses enfants), avec leur contexte", True),
    "search": ("analyse.cli.search",
               "chercher des mots ou une expression : concordance et comptes par territoire, rôle, document", True),
    "memo": ("analyse.cli.memo",
             "mémos sur un segment, un codage, un document, un code, un territoire ou le projet", False),
    "agreement": ("analyse.cli.agreement",
                  "accord entre codeurs (pourcentage, kappa de Cohen, alpha de Krippendorff)", True),
    "reconcile": ("analyse.cli.reconcile",
                  "lister les désaccords entre codeurs et enregistrer les décisions de l'équipe", True),
    "invariants": ("analyse.cli.invariants",
                   "classer les codes : invariant, partagé, singulier, rare d'un territoire à l'autre", True),
    "specificities": ("analyse.cli.specificities",
                      "vocabulaire propre à chaque territoire et vocabulaire partagé", True),
    "train": ("analyse.cli.train", "entraîner le codeur automatique sur les codages d'un codeur", True),
    "evaluate": ("analyse.cli.evaluate",
                 "évaluer le codage automatique (validation croisée, un territoire de côté)", True),
    "suggest": ("analyse.cli.suggest",
                "propositions de codage (règles et modèle), écrites à part des codages humains", True),
    "mask": ("analyse.cli.mask",
             "masquer le contexte local de textes libres, comme dans les rapports pour le groupe miroir", True),
    "evaluate-masking": ("analyse.cli.evaluate_masking",
                         "rappel et précision du masquage sur le jeu étiqueté à la main, par type", True),
    "fiches": ("analyse.cli.fiches",
               "fiches de décontextualisation : pré-remplir celles qui manquent (jamais réécrites), les vérifier",
               True),
    "recontextualiser": ("analyse.cli.recontextualiser",
                         "les fiches en questions pour un groupe miroir dans un territoire hors du corpus (HTML)",
                         True),
    "sheet": ("analyse.cli.sheet", "coder dans un tableur : exporter une feuille, la réimporter", False),
    "refi": ("analyse.cli.refi",
             "échanger grille et codages avec NVivo, ATLAS.ti, MAXQDA, QualCoder, Taguette (REFI-QDA)", False),
    "themes": ("analyse.cli.themes",
               "classes lexicales (méthode Reinert) croisées avec territoires et balises", True),
    "export": ("analyse.cli.export", "exporter le corpus pour d'autres logiciels (IRaMuTeQ)", False),
    "history": ("analyse.cli.history",
                "ce qui est arrivé aux codages d'un segment, d'un code, d'un document ou d'un codeur", True),
    "migrate": ("analyse.cli.migrate",
                "mettre les fichiers de codages au format actuel (journal, version de grille, lignes recollées)",
                True),
    "repair": ("analyse.cli.repair",
               "réparer les fichiers de codages coupés par une ancienne version (séparateurs de ligne Unicode)",
               True),
    "batch": ("analyse.cli.batch",
              "rapports par territoire et synthèse en HTML, avec un index", True),
}


def _translate_argparse() -> None:
    # argparse builds its messages with gettext: map the few that users see.
    french = {
        "usage: ": "usage : ", "positional arguments": "arguments",
        "options": "options", "show this help message and exit": "afficher cette aide et quitter",
        "the following arguments are required: %s": "arguments obligatoires manquants : %s",
        "unrecognized arguments: %s": "arguments non reconnus : %s",
        "invalid choice: %(value)r (choose from %(choices)s)":
            "choix invalide : %(value)r (possibles : %(choices)s)",
        "argument %(argument_name)s: %(message)s": "argument %(argument_name)s : %(message)s",
        "expected one argument": "une valeur attendue",
        "expected at least one argument": "au moins une valeur attendue",
        "invalid %(type)s value: %(value)r": "valeur invalide (%(type)s) : %(value)r",
        "not allowed with argument %s": "incompatible avec l'argument %s",
        "one of the arguments %s is required": "l'un des arguments %s est obligatoire",
        "%(prog)s: error: %(message)s\n": "%(prog)s : erreur : %(message)s\n",
        "show program's version number and exit": "afficher la version et quitter",
    }
    argparse._ = lambda s: french.get(s, s)  # type: ignore[attr-defined]
    argparse.ngettext = lambda s, p, n: french.get(s if n == 1 else p, s if n == 1 else p)  # type: ignore


def _requested_command(argv: list[str]) -> str | None:
    """The sub-command named on the command line (first word that is one), if any."""
    for word in argv:
        if word in COMMANDS:
            return word
        if not word.startswith("-"):
            return None
    return None


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser; only the command named in ``argv`` gets its options (and its module imported).

    With ``argv=None`` every command's options are added (for documentation and tests).
    """
    _translate_argparse()
    parser = argparse.ArgumentParser(
        prog="analyse",
        description="Balises : coder, vérifier et analyser des transcriptions d'ateliers de la transition.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}",
                        help="afficher la version et quitter")
    sub = parser.add_subparsers(dest="command", metavar="COMMANDE", title="commandes")
    sub.required = True
    wanted = None if argv is None else _requested_command(argv)
    for name, (module, help_text, with_project) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text[:1].upper() + help_text[1:] + ".",
                           parents=[project_parent()] if with_project else [])
        if argv is None or name == wanted:
            mod = importlib.import_module(module)
            mod.add_arguments(p)
            p.set_defaults(func=mod.run)
    return parser


def single_threaded_blas() -> None:
    """One OpenBLAS thread in a new ``analyse`` process (and the batch's kernels, which inherit it), unless
    the user set ``OPENBLAS_NUM_THREADS``: numpy's start no longer spawns a thread pool (≈ 50 ms of every
    command), and the themes classification ran in 7.1 s instead of 12.2 s on the 2-core machine (the
    second thread spun against the other processes; same result, byte for byte), training within noise.
    Only before numpy is imported (the variable is read once, when OpenBLAS loads): a process that
    imported it already (tests, a notebook) keeps its setting."""
    if "numpy" not in sys.modules:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def main(argv: list[str] | None = None) -> int:
    single_threaded_blas()
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except AnalyseError as exc:
        print(f"analyse : erreur : {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("analyse : interrompu", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
