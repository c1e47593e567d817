"""The hand-labelled masking set and how it is scored (analyse.privacy.masking_eval)."""

from __future__ import annotations

from collections import Counter

import pandas as pd
import yaml

from analyse.model.corpus import load_corpus
from analyse.privacy.masking_eval import (KINDS, check_labels, evaluate_masking, labels_from_annotations, load_labels,
                                          load_split)
from tests.helpers import ROOT

DATA = ROOT / "tests" / "data" / "masking"


def test_labels_sit_on_the_document_bodies_and_match_the_annotations():
    corpus = load_corpus(ROOT / "corpus")
    labels = load_labels(DATA / "labels.jsonl")
    assert check_labels(labels, corpus) == []
    assert set(labels["kind"]) <= set(KINDS)
    rebuilt = labels_from_annotations(yaml.safe_load((DATA / "annotations.yaml").read_text(encoding="utf-8")), corpus)
    pd.testing.assert_frame_equal(rebuilt, labels.sort_values(["doc", "start", "end"], ignore_index=True))


def test_split_has_two_documents_per_territory_and_a_held_out_part():
    corpus = load_corpus(ROOT / "corpus")
    split = load_split(DATA / "split.yaml")
    docs = split["dev"] + split["heldout"]
    assert len(docs) == len(set(docs)) >= 8
    assert 0.5 <= len(split["dev"]) / len(docs) <= 0.7
    per_territory = Counter(corpus.documents[d].territory for d in docs)
    assert set(per_territory) == {"grande-synthe", "inter-territoires", "le-mene", "loos-en-gohelle", "malaunay"}
    assert min(per_territory.values()) >= 2


class _Fixed:
    """A masker stub: fixed predicted spans are given to evaluate_masking directly."""


def test_recall_needs_full_cover_and_precision_counts_spans_on_no_label():
    corpus = load_corpus(ROOT / "corpus")
    doc = "malaunay-engagement"
    body = corpus.documents[doc].body
    start = body.index("Malaunay, se sont")
    labels = pd.DataFrame([{"doc": doc, "start": start, "end": start + 8, "text": "Malaunay", "kind": "lieu"}])
    half = pd.DataFrame([{"doc": doc, "start": start, "end": start + 4, "text": "Mala", "kind": "lieu",
                          "replacement": "x"},
                         {"doc": doc, "start": 0, "end": 4, "text": body[:4], "kind": "personne", "replacement": "x"}])
    scores, errors = evaluate_masking(corpus, _Fixed(), labels, [doc], predicted=half)
    row = scores.set_index("kind").loc["lieu"]
    assert row["recall"] == 0 and row["precision"] == 1
    assert scores.set_index("kind").loc["personne", "precision"] == 0
    assert sorted(errors["error"]) == ["en trop", "oubli"]
    full = half.assign(end=[start + 8, 4])
    scores, _ = evaluate_masking(corpus, _Fixed(), labels, [doc], predicted=full)
    assert scores.set_index("kind").loc["lieu", "recall"] == 1


def test_new_documents_labels_sit_on_their_own_bodies():
    folder = DATA / "nouveaux"
    corpus = load_corpus(folder / "documents")
    labels = load_labels(folder / "labels.jsonl")
    assert check_labels(labels, corpus) == []
    assert set(load_split(folder / "split.yaml")["heldout"]) == set(corpus.documents)
    rebuilt = labels_from_annotations(yaml.safe_load((folder / "annotations.yaml").read_text(encoding="utf-8")),
                                      corpus)
    pd.testing.assert_frame_equal(rebuilt, labels.sort_values(["doc", "start", "end"], ignore_index=True))


def test_second_new_documents_labels_sit_on_their_own_bodies():
    folder = DATA / "nouveaux-2"
    corpus = load_corpus(folder / "documents")
    labels = load_labels(folder / "labels.jsonl")
    assert len(corpus.documents) == 5
    assert check_labels(labels, corpus) == []
    assert set(load_split(folder / "split.yaml")["heldout"]) == set(corpus.documents)
    rebuilt = labels_from_annotations(yaml.safe_load((folder / "annotations.yaml").read_text(encoding="utf-8")),
                                      corpus)
    pd.testing.assert_frame_equal(rebuilt, labels.sort_values(["doc", "start", "end"], ignore_index=True))
