"""Honest evaluation: grouped splits, metrics with known answers, reports."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import spacy

import analyse.coding.evaluate as evaluate_mod
from analyse.coding.autocode import SegmentCoder
from analyse.cli import main
from analyse.model.codebook import load_codebook
from analyse.model.codings import load_codings
from analyse.model.corpus import load_corpus
from analyse.coding.evaluate import (DIMENSIONS, _kappa, dimension_indicator, document_splits, evaluate, indicator,
                              level_metrics, summarise, territory_splits, write_outputs)
from analyse.nlp import NLPLayer

from tests.coding.test_autocode import build_synthetic_project


def test_document_splits_never_share_a_document():
    docs = [f"d{i % 7}" for i in range(60)]
    splits = document_splits(docs, n_splits=5)
    assert len(splits) == 5
    seen_test = []
    for train, test in splits:
        train_docs = {docs[i] for i in train}
        test_docs = {docs[i] for i in test}
        assert not train_docs & test_docs
        assert len(train) + len(test) == len(docs)
        seen_test += list(test)
    assert sorted(seen_test) == list(range(60))          # each segment tested exactly once


def test_territory_splits_hold_out_exactly_one_territory():
    territories = ["a", "b", "c", "d"] * 5 + ["a"]
    splits = territory_splits(territories)
    assert len(splits) == 4
    for train, test in splits:
        held = {territories[i] for i in test}
        assert len(held) == 1 and not held & {territories[i] for i in train}


def test_metrics_known_answers(project: Path):
    book = load_codebook(project / "codebook" / "balises.yaml")
    codes = ["ENG.1", "ENG.2", "VAL.6", "MGT"]
    truth = [{"ENG.1"}, {"ENG.2", "VAL.6"}, set(), {"MGT"}]
    pred = [{"ENG.2"}, {"ENG.2"}, {"VAL.6"}, {"MGT"}]
    Y, P = indicator(truth, codes), indicator(pred, codes)
    dims = dimension_indicator(Y, codes, book)
    assert dims[:, DIMENSIONS.index("ENG")].tolist() == [1, 1, 0, 0]
    assert dims[:, DIMENSIONS.index("VAL")].tolist() == [0, 1, 0, 0]
    s = summarise(Y, P, codes, book)
    # balise level: TP = ENG.2@1, MGT@3 → 2; FP = ENG.2@0, VAL.6@2 → 2; FN = ENG.1@0, VAL.6@1 → 2
    assert s["balise"]["micro_f1"] == pytest.approx(0.5)
    # per code F1: ENG.1 0, ENG.2 2/3, VAL.6 0, MGT 1 → macro 5/12
    assert s["balise"]["macro_f1"] == pytest.approx(5 / 12)
    # dimension level: ENG predicted on 0 and 1 (both true), VAL on 2 (false) and missed on 1, MGT right
    assert s["dimension"]["micro_f1"] == pytest.approx(2 * 3 / (2 * 3 + 1 + 1))
    assert _kappa(np.array([1, 1, 0, 0]), np.array([1, 0, 0, 0])) == pytest.approx(0.5)
    assert np.isnan(_kappa(np.array([0, 0]), np.array([0, 0])))
    m = level_metrics(np.array([[1], [0]]), np.array([[1], [0]]))
    assert (m["micro_f1"], m["mean_kappa"]) == (1.0, 1.0)


def test_evaluate_is_grouped_and_never_fits_on_a_test_document(tmp_path: Path, monkeypatch):
    root = build_synthetic_project(tmp_path / "p", docs_per_territory=2)
    corpus = load_corpus(root / "corpus")
    book = load_codebook(root / "codebook" / "balises.yaml")
    codings = load_codings(corpus, book)
    layer = NLPLayer(spacy.blank("fr"), cache_dir=tmp_path / "cache", progress=False)

    calls = []

    class Spy(SegmentCoder):
        def fit(self, X, y, groups=None, extra=None, sample_weight=None, **realtext):
            calls.append(("fit", set(X["doc"])))
            return super().fit(X, y, groups, extra=extra, sample_weight=sample_weight, **realtext)

        def predict(self, X):
            calls.append(("predict", set(X["doc"])))
            return super().predict(X)

    monkeypatch.setattr(evaluate_mod, "SegmentCoder", Spy)
    ev = evaluate(corpus, book, codings, "A", layer, n_splits=4, params={"cv": 3}, transfer=False)
    fits = [docs for kind, docs in calls if kind == "fit"]
    predicts = [docs for kind, docs in calls if kind == "predict"]
    assert len(fits) == len(predicts) == 4 + 4              # 4 document folds + 4 territories
    for fitted, tested in zip(fits, predicts):
        assert not fitted & tested                          # thresholds included: fit sees training docs only
    for train_docs, test_docs in ev.splits["group_kfold"]:
        assert not set(train_docs) & set(test_docs)
    for train_docs, test_docs in ev.splits["leave_one_territory_out"]:
        held = {d.rsplit("-doc", 1)[0] for d in test_docs}
        assert len(held) == 1 and not held & {d.rsplit("-doc", 1)[0] for d in train_docs}

    s = ev.summary.set_index(["scheme", "method", "level"])
    assert s.loc[("group_kfold", "model", "balise"), "micro_f1"] > 0.9     # clear synthetic vocabulary
    # rules learn nothing: same figures under both schemes
    assert s.loc[("group_kfold", "rules", "balise")].equals(s.loc[("leave_one_territory_out", "rules", "balise")])
    rules_eng1 = ev.per_code.query("scheme == 'group_kfold' and method == 'rules' and code == 'ENG.1'").iloc[0]
    assert rules_eng1.precision == 1.0 and rules_eng1.recall < 1.0   # "quartier" only in ENG.1 phrases
    assert {t["level"] for t in ev.targets()} == {"balise", "dimension"}
    assert ev.skipped["ECH"] == 0 and "ENG.1" not in ev.skipped

    paths = write_outputs(ev, tmp_path / "out", book)
    names = {p.name for p in paths}
    assert names == {"per_code.csv", "summary.csv", "evaluation.md", "evaluation.json", "f1_par_code.png"}
    assert (tmp_path / "out" / "f1_par_code.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = (tmp_path / "out" / "evaluation.md").read_text(encoding="utf-8")
    assert "## Objectifs" in md and "un territoire laissé de côté" in md


def test_evaluate_command_json(tmp_path: Path, monkeypatch, capsys):
    root = build_synthetic_project(tmp_path / "p", docs_per_territory=2)
    monkeypatch.setenv("BALISES_SPACY_MODEL", "blank:fr")
    monkeypatch.setenv("BALISES_NLP_CACHE", str(tmp_path / "cache"))
    cwd = os.getcwd()
    os.chdir(root)
    try:
        code = main(["evaluate", "--json", "--folds", "3", "--no-progress"])
        bad = main(["evaluate", "--coder", "Z", "--no-progress"])
    finally:
        os.chdir(cwd)
    out = capsys.readouterr()
    assert code == 0
    data = json.loads(out.out)
    assert data["coder"] == "A" and data["segments"] == 80 and data["n_splits"] == 3
    assert set(data["schemes"]) == {"group_kfold", "leave_one_territory_out"}
    assert set(data["schemes"]["leave_one_territory_out"]) == {"model", "rules"}
    assert [t["target"] for t in data["targets"]] == [0.75, 0.5]
    assert (root / "outputs" / "evaluation" / "summary.csv").is_file()
    assert bad == 2 and "le codeur « Z » n'a couvert aucun document" in out.err
