"""``analyse specificities``: vocabulary proper to each territory (the flesh) and spread everywhere."""

from __future__ import annotations

import argparse
import json

from analyse.errors import EXIT_OK


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--top", type=int, default=15, help="lemmes par territoire (défaut : 15)")
    parser.add_argument("--json", action="store_true", help="écrire du JSON plutôt que des tableaux")


def run(args: argparse.Namespace) -> int:
    import pandas as pd

    from analyse import nlp
    from analyse.analysis.specificities import (entities_by_territory, skeleton_candidates, specificities,
                                                territory_flesh)
    from analyse.model.corpus import segments_frame
    from analyse.project import Project

    project = Project.from_args(args)
    corpus = project.load_corpus()
    layer = nlp.NLPLayer(cache_dir=project.cache_dir)
    tokens, entities = nlp.token_entity_frames(corpus, layer)   # one pass; no spaCy when warm
    segs = segments_frame(corpus)
    spec = specificities(tokens, segs)
    flesh = territory_flesh(spec, n=args.top)
    skeleton = skeleton_candidates(spec).head(args.top)
    ents = entities_by_territory(entities, segs)
    if args.json:
        print(json.dumps({
            "flesh": json.loads(flesh.to_json(orient="records", force_ascii=False)),
            "skeleton": json.loads(skeleton.to_json(orient="records", force_ascii=False)),
            "entities": json.loads(ents.to_json(orient="records", force_ascii=False)),
        }, ensure_ascii=False, indent=2))
        return EXIT_OK
    with pd.option_context("display.max_rows", 500, "display.width", 200):
        print("Vocabulaire spécifique de chaque territoire (la chair)")
        print(flesh[["territory", "lemma", "f", "expected", "specificity", "g2"]].round(2).to_string(index=False))
        print("\nVocabulaire réparti partout (squelette candidat)")
        print(skeleton.round(2).to_string(index=False))
        print("\nEntités nommées par territoire")
        print(ents.to_string(index=False))
    return EXIT_OK
