"""``analyse train``: the learned coder trained on one coder's codings, saved under outputs/models/."""

from __future__ import annotations

import argparse
from pathlib import Path

from analyse.cli.common import add_nlp_options, load_for_coding, nlp_layer
from analyse.errors import EXIT_OK, UsageError

# the names of analyse.coding.autocode.DESIGNS (a test checks they agree): not imported, `--help` stays instant
DESIGN_NAMES = ("apprentissage", "corpus", "robuste", "robuste-250", "texte-reel")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--coder", default="A", help="codeur dont les codages sont appris (défaut : A)")
    parser.add_argument("--model", default=None, help="fichier du modèle (défaut : outputs/models/model.joblib)")
    parser.add_argument("--precision", type=float, default=None,
                        help="précision visée par code (défaut : celle du modèle, choisie sur le référentiel) ; un code "
                             "qui ne l'atteint pas n'est jamais proposé")
    parser.add_argument("--abstain-precision", type=float, default=None,
                        help="précision visée par « rien à coder » (défaut : celle du modèle) : plus haute, le modèle "
                             "s'abstient moins souvent à tort")
    parser.add_argument("--dimension-precision", type=float, default=None,
                        help="précision visée par les têtes de dimension (défaut : celle du modèle, choisie sur le "
                             "corpus et le référentiel par bench/transfer_choice.py)")
    parser.add_argument("--referentiel", default="default",
                        help="texte du référentiel à lire à l'entraînement (défaut : ../shared/seed/ à côté du projet)")
    parser.add_argument("--validation", default="default", metavar="DOSSIER",
                        help="jeu de validation de textes réels (même format que tests/data/devset) dont les "
                             "étiquettes choisissent seulement les seuils de dimension sur texte réel, jamais "
                             "l'apprentissage (défaut : tests/data/devset s'il existe ; « aucun » : sans)")
    parser.add_argument("--conception", default=None, choices=DESIGN_NAMES,
                        help="réglages d'ensemble : « robuste » (défaut, choisie par bench/robust_choice.py : "
                             "apprend aussi les textes réels de training/, seuils de dimension relevés pour tenir la "
                             "précision sur eux et sur le jeu de validation comptés ensemble), « apprentissage » (la "
                             "précédente : mêmes poids, seuils des codes abaissés), « robuste-250 » (le choix de la "
                             "même règle sur 250 textes : corpus au poids 0,3, textes réels au poids 3), « corpus » "
                             "(sans textes réels) ou « texte-reel » (sans variables d'atelier, de rôle et de type, "
                             "référentiel de plein poids) ; voir le README")
    parser.add_argument("--apprentissage", action="append", default=None, metavar="DOSSIER",
                        help="dossier de textes réels étiquetés à apprendre (texts.jsonl et labels-1.jsonl ; "
                             "répétable ; défaut : tous les dossiers de training/ ; « aucun » : sans) ; ils sont "
                             "ajoutés avec le poids que dit la conception, groupés par ville dans la validation "
                             "croisée")
    parser.add_argument("--no-knowledge", action="store_true",
                        help="n'apprendre que des codages (ni la grille ni le référentiel)")
    add_nlp_options(parser)


def run(args: argparse.Namespace) -> int:
    from analyse.coding.autocode import DEFAULT_DESIGN, save_model, train_model
    from analyse.messages import msg

    project, corpus, book, codings = load_for_coding(args)
    if args.coder not in codings.coders:
        raise UsageError(f"codeur inconnu « {args.coder} »",
                         hint=f"codeurs disponibles : {', '.join(codings.coders) or 'aucun'}")
    layer = nlp_layer(args, project)
    training = training_option(args.apprentissage)
    model, meta = train_model(corpus, book, codings, args.coder, layer, knowledge=not args.no_knowledge,
                              referentiel=args.referentiel,
                              validation=None if args.validation in ("aucun", "none") else args.validation,
                              design=args.conception or DEFAULT_DESIGN, training=training,
                              **{k: v for k, v in (("target_precision", args.precision),
                                                   ("abstain_precision", args.abstain_precision),
                                                   ("dimension_precision", args.dimension_precision))
                                 if v is not None})
    path = Path(args.model) if args.model else project.model_path
    save_model(model, meta, path)
    extra = meta.get("extra_documents") or {}
    print(f"modèle {meta['model_version']} entraîné sur {meta['segments']} segments du codeur {args.coder} "
          f"(grille {meta['codebook_version']}) : {len(model.classes_)} codes proposables → {path}")
    if extra:
        from analyse.coding.autocode import EXTRA_WEIGHTS

        ref_weight = extra.get("referentiel_weight", EXTRA_WEIGHTS["referentiel"])
        ref_how = (", dans la validation croisée par blocs" if extra.get("referentiel_mode") == "cv" else "")
        print(f"documents ajoutés : {extra.get('codebook', 0)} textes de la grille (poids "
              f"{EXTRA_WEIGHTS['codebook']:g}), {extra.get('referentiel', 0)} paragraphes du référentiel (poids "
              f"{ref_weight:g}{ref_how})".replace(".", ","))
    if meta.get("corpus_weight", 1.0) != 1.0:
        print(msg("train.corpus_weight", weight=f"{meta['corpus_weight']:g}".replace(".", ","), design=meta["design"]))
    print_pool(meta, msg)
    if extra.get("referentiel_missing"):
        print(f"référentiel absent ({extra['referentiel_missing']}) : modèle entraîné sans lui")
    dim_target = model.target_precision if model.dimension_precision is None else model.dimension_precision
    print(f"seuils choisis pour une précision de {model.target_precision:.2f} par code et de {dim_target:.2f} par "
          "dimension en validation croisée par document ; "
          + ("« rien à coder » appris (abstention)" if model.nothing_threshold_ is not None
             else "« rien à coder » non appris (pas assez de segments sans code)"))
    if model.dimension_shift or model.code_shift or model.abstain_shift:
        moves = [f"{name} {'relevés' if v < 0 else 'abaissés'} de {abs(v):g} sur l'échelle logit".replace(".", ",")
                 for name, v in (("seuils de dimension", model.dimension_shift), ("seuils des codes", model.code_shift))
                 if v]
        if model.abstain_shift:
            moves.append("seuil de « rien à coder » " + ("jamais atteint" if model.abstain_shift == float("inf") else
                         f"relevé de {model.abstain_shift:g} sur l'échelle logit".replace(".", ",")))
        print(msg("train.moved", moves=" ; ".join(moves)))
    realtext = meta.get("realtext") or {}
    if realtext.get("dimension_thresholds"):
        levels = ", ".join(f"{d} {'jamais' if t is None else f'{t:.3f}'.replace('.', ',')}"
                           for d, t in realtext["dimension_thresholds"].items())
        print(msg("train.realtext", precision=f"{model.realtext_precision:.2f}".replace(".", ","),
                  rows=realtext["referentiel_rows"],
                  pool=realtext.get("pool_rows", 0), texts=realtext["validation_texts"], levels=levels))
    if model.skipped_:
        rare = ", ".join(f"{c} ({n})" for c, n in model.skipped_.items())
        print(f"non appris (moins de {model.min_positives} segments codés) : {rare}")
    if model.unreliable_:
        weak = ", ".join(f"{c} ({f:.2f})" for c, f in model.unreliable_.items())
        print(f"jamais proposés (précision {model.target_precision:.2f} inatteignable ; meilleure précision "
              f"interne entre parenthèses) : {weak}")
    print("code\tseuil\tprécision interne\tF1 interne (validation croisée)")
    for c, t, p, f in zip(model.classes_, model.thresholds_, model.cv_precision_, model.cv_f1_):
        print(f"{c}\t{t:.3f}\t{p:.3f}\t{f:.3f}")
    return EXIT_OK


def training_option(values: list[str] | None):
    """``--apprentissage`` as ``train_model`` takes it: "default", [] (« aucun ») or the folders, checked."""
    if values is None:
        return "default"
    if any(v in ("aucun", "none") for v in values):
        if len(values) > 1:
            raise UsageError("« aucun » ne se combine pas avec des dossiers d'apprentissage",
                             hint="donner soit « --apprentissage aucun », soit un ou plusieurs dossiers")
        return []
    from analyse.messages import msg

    for v in values:
        if not Path(v).is_dir():
            raise UsageError(msg("pool.not_a_folder"), v, hint=msg("pool.missing_file_hint"))
    return [Path(v) for v in values]


def print_pool(meta: dict, msg) -> None:
    """What the model learned of the real-text training pool (folders, counts, hashes), in French."""
    pool = meta.get("realtext_pool") or {}
    if not pool.get("folders"):
        print(msg("train.pool_none"))
        return
    if pool.get("used"):
        print(msg("train.pool", texts=pool["texts"], towns=pool["towns"], weight=f"{pool['weight']:g}".replace(".", ","),
                  hash=pool["hash"]))
    else:
        print(msg("train.pool_unused", texts=pool["texts"], design=meta.get("design")))
    for lot in pool["folders"]:
        print(msg("train.pool_folder", name=lot["name"], texts=lot["texts"], towns=lot["towns"], uncoded=lot["uncoded"],
                  path=lot["path"], hash=lot["hash"]))
