"""``analyse train``: the learned coder trained on one coder's codings, saved under outputs/models/."""

from __future__ import annotations

import argparse
from pathlib import Path

from analyse.cli.common import add_nlp_options, load_for_coding, nlp_layer
from analyse.errors import EXIT_OK, UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--coder", default="A", help="codeur dont les codages sont appris (défaut : A)")
    parser.add_argument("--model", default=None, help="fichier du modèle (défaut : outputs/models/model.joblib)")
    add_nlp_options(parser)


def run(args: argparse.Namespace) -> int:
    from analyse.coding.autocode import save_model, train_model

    project, corpus, book, codings = load_for_coding(args)
    if args.coder not in codings.coders:
        raise UsageError(f"codeur inconnu « {args.coder} »",
                         hint=f"codeurs disponibles : {', '.join(codings.coders) or 'aucun'}")
    layer = nlp_layer(args, project)
    model, meta = train_model(corpus, book, codings, args.coder, layer)
    path = Path(args.model) if args.model else project.model_path
    save_model(model, meta, path)
    print(f"modèle entraîné sur {meta['segments']} segments du codeur {args.coder} "
          f"(grille {meta['codebook_version']}) : {len(model.classes_)} codes appris → {path}")
    if model.skipped_:
        rare = ", ".join(f"{c} ({n})" for c, n in model.skipped_.items())
        print(f"non appris (moins de {model.min_positives} segments codés) : {rare}")
    if model.unreliable_:
        weak = ", ".join(f"{c} ({f:.2f})" for c, f in model.unreliable_.items())
        print(f"écartés (F1 interne en validation croisée inférieur à {model.min_cv_f1}) : {weak}")
    print("code\tseuil\tF1 interne (validation croisée)")
    for c, t, f in zip(model.classes_, model.thresholds_, model.cv_f1_):
        print(f"{c}\t{t:.3f}\t{f:.3f}")
    return EXIT_OK
