"""``analyse evaluate``: the machine coders cross-validated against a human coder."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from analyse.cli.common import add_nlp_options, load_for_coding, nlp_layer
from analyse.errors import EXIT_OK


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="écrire les résultats en JSON")
    parser.add_argument("--coder", default="A", help="codeur humain de référence (défaut : A)")
    parser.add_argument("--folds", type=int, default=5,
                        help="plis de la validation croisée groupée par document (défaut : 5)")
    parser.add_argument("--compare", action="store_true",
                        help="comparer aussi des réglages candidats du modèle (plus long)")
    parser.add_argument("--jobs", type=int, default=-1,
                        help="plis ajustés en parallèle (défaut -1 : un par cœur ; sans effet sur les résultats)")
    parser.add_argument("--out-dir", default=None, help="dossier de sortie (défaut : outputs/evaluation)")
    add_nlp_options(parser)


def run(args: argparse.Namespace) -> int:
    import pandas as pd

    from analyse.coding.evaluate import evaluate, write_outputs

    project, corpus, book, codings = load_for_coding(args)
    layer = nlp_layer(args, project)
    ev = evaluate(corpus, book, codings, args.coder, layer, n_splits=args.folds, compare=args.compare,
                  n_jobs=args.jobs)
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
        print("écrit : " + ", ".join(str(p) for p in paths), file=sys.stderr)
    return EXIT_OK
