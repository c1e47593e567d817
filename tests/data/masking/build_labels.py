"""Rebuild labels.jsonl from annotations.yaml (the hand annotation): run from the repository root.

    .venv/bin/python tests/data/masking/build_labels.py
"""
import json
from pathlib import Path

import yaml

from analyse.model.corpus import load_corpus
from analyse.privacy.masking_eval import labels_from_annotations

here = Path(__file__).resolve().parent
corpus = load_corpus(here.parents[2] / "corpus")
annotations = yaml.safe_load((here / "annotations.yaml").read_text(encoding="utf-8"))
labels = labels_from_annotations(annotations, corpus)
with open(here / "labels.jsonl", "w", encoding="utf-8") as out:
    for row in labels.to_dict("records"):
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
split = {"dev": [], "heldout": []}
for doc, spec in annotations["documents"].items():
    split[spec["split"]].append(doc)
(here / "split.yaml").write_text(yaml.safe_dump(split, allow_unicode=True, sort_keys=False), encoding="utf-8")
print(f"{len(labels)} spans in {labels['doc'].nunique()} documents")
