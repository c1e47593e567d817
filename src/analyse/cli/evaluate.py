"""``analyse evaluate``: the machine coders cross-validated against a human coder."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from analyse.cli.common import add_nlp_options, load_for_coding, nlp_layer
from analyse.errors import EXIT_OK


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from analyse.cli.train import DESIGN_NAMES      # a sibling command module: stdlib only, still instant

    parser.add_argument("--json", action="store_true", help="écrire les résultats en JSON")
    parser.add_argument("--coder", default="A", help="codeur humain de référence (défaut : A)")
    parser.add_argument("--folds", type=int, default=5,
                        help="plis de la validation croisée groupée par document (défaut : 5)")
    parser.add_argument("--compare", action="store_true",
                        help="comparer aussi des réglages candidats du modèle (plus long)")
    parser.add_argument("--jobs", type=int, default=-1,
                        help="plis ajustés en parallèle (défaut -1 : un par cœur ; sans effet sur les résultats)")
    parser.add_argument("--out-dir", default=None, help="dossier de sortie (défaut : outputs/evaluation)")
    parser.add_argument("--no-kfold", action="store_true",
                        help="sans la validation croisée par document (plus rapide : un territoire de côté, "
                             "référentiel et jeu de développement seulement)")
    parser.add_argument("--referentiel", default="default",
                        help="texte du référentiel (défaut : ../shared/seed/ à côté du projet)")
    parser.add_argument("--devset", action="append", default=None, metavar="DOSSIER",
                        help="dossier d'un jeu de validation de textes réels (répétable ; défaut : tests/data/devset) : "
                             "les réglages de décision des propositions sont choisis sur lui")
    parser.add_argument("--testset", action="append", default=None, metavar="DOSSIER",
                        help="dossier d'un jeu de test de textes réels (répétable ; même format que --devset ; "
                             "défaut : chaque dossier tests/data/devset-N présent ; « aucun » : sans) : mesuré seulement, "
                             "rien n'est réglé dessus")
    parser.add_argument("--conception", default=None, choices=DESIGN_NAMES,
                        help="conception mesurée (défaut : celle d'`analyse train`)")
    parser.add_argument("--apprentissage", action="append", default=None, metavar="DOSSIER",
                        help="dossiers de textes réels appris (comme `analyse train` ; défaut : tous ceux de "
                             "training/ ; « aucun » : sans) : ajoutés à chaque entraînement, jamais testés ; leurs "
                             "chiffres hors pli forment la section « apprentissage, hors pli »")
    add_nlp_options(parser)


ROLE_WORDS = {"training": "apprentissage"}


def print_transfer(transfer: dict) -> None:
    """The three transfer evaluations, side by side, in French."""
    def fmt(v):
        return "—" if v is None else f"{v:.3f}".replace(".", ",")

    for key, title in (transfer.get("sections") or {}).items():
        sec = transfer.get(key) or {}
        if "skipped" in sec:
            print(f"{title} : {sec['skipped']}")
            continue
        d, b = sec["dimension"], sec.get("balise") or {}
        role = f"[{ROLE_WORDS.get(sec['role'], sec['role'])}] " if sec.get("role") else ""
        print(f"{role}{title} ({sec['texts']} textes) : dimensions F1 micro {fmt(d['micro_f1'])}, macro {fmt(d['macro_f1'])}, "
              f"précision {fmt(d['micro_precision'])}, kappa {fmt(d['mean_kappa'])} ; balises F1 micro "
              f"{fmt(b.get('micro_f1'))}, macro {fmt(b.get('macro_f1'))} ; fausses alertes sur les textes sans code "
              f"{fmt(sec.get('false_alarm_rate'))} (dimensions comprises {fmt(sec.get('false_alarm_rate_with_dimensions'))}) ; "
              f"abstention {fmt(sec.get('abstention_rate'))}")
        for lot in sec.get("folders") or []:
            print(f"  {lot['name']} ({lot['texts']} textes) : dimensions F1 micro {fmt(lot['dimension']['micro_f1'])}, "
                  f"précision {fmt(lot['dimension']['micro_precision'])} ; fausses alertes (dimensions comprises) "
                  f"{fmt(lot['false_alarm_rate_with_dimensions'])}")
        agree = sec.get("agreement_labels_1_2")
        if agree:
            print(f"  accord labels-1 / labels-2 ({agree['texts']} textes) : dimensions F1 micro "
                  f"{fmt(agree['dimension']['micro_f1'])}, kappa {fmt(agree['dimension']['mean_kappa'])}")


def run(args: argparse.Namespace) -> int:
    import pandas as pd

    from analyse.cli.train import training_option
    from analyse.coding.autocode import DEFAULT_DESIGN
    from analyse.coding.evaluate import evaluate, write_outputs

    project, corpus, book, codings = load_for_coding(args)
    layer = nlp_layer(args, project)
    ev = evaluate(corpus, book, codings, args.coder, layer, n_splits=args.folds, compare=args.compare,
                  n_jobs=args.jobs, referentiel=args.referentiel, devset_dir=args.devset or ["default"],
                  kfold=not args.no_kfold, testset_dirs=("default" if args.testset is None
                                              else [d for d in args.testset if d not in ("aucun", "none")]),
                  design=args.conception or DEFAULT_DESIGN, training=training_option(args.apprentissage))
    out_dir = Path(args.out_dir) if args.out_dir else project.outputs_dir / "evaluation"
    paths = write_outputs(ev, out_dir, book)
    if args.json:
        data = ev.as_dict()
        data["outputs"] = [str(p) for p in paths]
        print(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    else:
        with pd.option_context("display.width", 160, "display.max_columns", 20):
            print(ev.summary.round(3).to_string(index=False))
        for t in ev.targets():
            state = "atteinte" if t["met"] else f"MANQUÉE de {t['gap']:.3f}"
            print(f"cible {t['scheme']} {t['level']} micro-F1 ≥ {t['target']} : {t['value']:.3f} ({state})")
        if ev.comparison is not None:
            print(ev.comparison.drop(columns=["params"]).round(3).to_string(index=False))
        print_transfer(ev.transfer)
        print("écrit : " + ", ".join(str(p) for p in paths), file=sys.stderr)
    return EXIT_OK
