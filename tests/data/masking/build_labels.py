"""Rebuild labels.jsonl and split.yaml from annotations.yaml (the hand annotation): run from the repository root.

    .venv/bin/python tests/data/masking/build_labels.py                    # the ten corpus documents
    .venv/bin/python tests/data/masking/build_labels.py tests/data/masking/nouveaux

A labelled folder with a ``documents/`` sub-folder holds its own documents (outside the corpus);
otherwise the annotated documents are read from ``corpus/``.
"""
import json
import sys
from pathlib import Path

import yaml

from analyse.model.corpus import load_corpus
from analyse.privacy.masking_eval import labels_from_annotations

here = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else Path(__file__).resolve().parent
own = here / "documents"
corpus = load_corpus(own if own.is_dir() else Path(__file__).resolve().parents[3] / "corpus")
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
