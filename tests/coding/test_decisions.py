"""Issue 19, decisions for real text: threshold shifts per level, a balise inside a suggested dimension,
and `analyse evaluate` with validation and test sets of real text."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analyse.coding.autocode import SegmentCoder, shift_threshold

from tests.coding.test_precision import REFERENTIEL, _synthetic
from tests.coding.test_transfer import DIMS


@pytest.fixture(scope="module")
def fitted():
    X, y = _synthetic(n_docs=24)
    model = SegmentCoder(char_ngrams=None, metadata=(), min_df=1, cv=3, dimensions=DIMS).fit(X, y, groups=X["doc"])
    return model, X, model._all_proba(X)


def test_shift_threshold_moves_on_the_logit_scale_and_keeps_infinite_thresholds():
    assert shift_threshold(0.5, 0.0) == 0.5
    assert shift_threshold(0.5, np.log(3.0)) == pytest.approx(0.25)
    assert shift_threshold(0.25, -np.log(3.0)) == pytest.approx(0.5)
    out = shift_threshold(np.array([0.9, np.inf]), 1.0)
    assert out[0] < 0.9 and np.isinf(out[1])


def test_shifts_only_add_suggestions_and_zero_shifts_are_the_fitted_decisions(fitted):
    model, X, scores = fitted
    base, base_dims = model.decide(scores), model.decide_dimensions(scores)
    same = model.with_decisions(dimension_shift=0.0, code_shift=0.0, abstain_shift=0.0, balise_level=None)
    assert (same.decide(scores) == base).all() and (same.decide_dimensions(scores) == base_dims).all()
    lower = model.with_decisions(code_shift=2.0, dimension_shift=2.0)
    assert (lower.decide(scores) >= base).all() and lower.decide(scores).sum() > base.sum()
    assert (lower.decide_dimensions(scores) >= base_dims).all()
    assert (lower.decision_thresholds()[0] < model.thresholds_).all()
    assert np.array_equal(model.decision_thresholds()[0], model.thresholds_)        # the copy left it alone
    # « rien à coder » raised to infinity never abstains
    never = model.with_decisions(abstain_shift=float("inf"))
    assert model.abstains(scores).any() and not never.abstains(scores).any()
    with pytest.raises(ValueError):
        model.with_decisions(target_precision=0.5)


def test_a_balise_is_added_only_inside_a_suggested_dimension_and_never_changes_the_dimensions(fitted):
    model, X, scores = fitted
    low = model.with_decisions(dimension_shift=3.0)          # dimensions fire where codes do not
    dims = low.decide_dimensions(scores)
    plain = low.decide(scores)
    with_balise = low.with_decisions(balise_level=0.0).decide(scores)
    added = (with_balise == 1) & (plain == 0)
    assert added.any()
    codes = list(model.classes_)
    dim_of = [list(model.dimension_classes_).index(DIMS[c]) for c in codes]
    for i, j in zip(*np.nonzero(added)):
        assert dims[i, dim_of[j]] == 1                        # its dimension head fires
        others = [k for k in range(len(codes)) if dim_of[k] == dim_of[j] and k != j]
        assert not plain[i, others].any()                     # no code of that dimension was suggested
    assert (with_balise.sum(axis=1) - plain.sum(axis=1) <= dims.sum(axis=1)).all()   # one per dimension at most
    # dimensions as evaluate counts them (codes' dimensions ∪ heads): unchanged by the balise rule
    to_dims = np.zeros((len(codes), dims.shape[1]), dtype=int)
    to_dims[np.arange(len(codes)), dim_of] = 1
    assert ((plain @ to_dims > 0) | dims).tolist() == ((with_balise @ to_dims > 0) | dims).tolist()
    # a level nothing reaches adds nothing; the rule may be restricted to some codes
    assert (low.with_decisions(balise_level=1.01).decide(scores) == plain).all()
    only_a = low.with_decisions(balise_level=0.0)
    only_a.balises = ["A.1"]
    diff = only_a.decide(scores) - plain
    assert diff[:, codes.index("B.1")].sum() == 0


def test_fast_scorer_and_pipeline_take_the_same_decisions_with_shifts_and_balises(fitted):
    from tests.coding.test_scoring import _pipeline_proba

    model, X, scores = fitted
    moved = model.with_decisions(dimension_shift=1.5, code_shift=1.0, abstain_shift=1.0, balise_level=0.2)
    slow = _pipeline_proba(model, X)
    assert np.allclose(scores, slow, rtol=0, atol=1e-12)
    assert (moved.decide(scores) == moved.decide(slow)).all()
    assert (moved.decide_dimensions(scores) == moved.decide_dimensions(slow)).all()


def test_decision_settings_are_parameters_a_refit_keeps(fitted):
    model, X, scores = fitted
    X2, y2 = _synthetic(n_docs=24)
    settings = dict(dimension_shift=1.0, code_shift=0.5, abstain_shift=1.0, balise_level=0.3)
    refit = SegmentCoder(char_ngrams=None, metadata=(), min_df=1, cv=3, dimensions=DIMS, **settings)
    refit.fit(X2, y2, groups=X2["doc"])
    assert (refit.decide(scores) == model.with_decisions(**settings).decide(scores)).all()


def _write_set(folder: Path, texts, labels1, labels2=None):
    folder.mkdir(parents=True)
    (folder / "texts.jsonl").write_text("".join(
        json.dumps({"id": i, "text": t, "town": "Ailleurs", "source": "exemple"}, ensure_ascii=False) + "\n"
        for i, t in texts), encoding="utf-8")
    for name, labels in (("labels-1.jsonl", labels1), ("labels-2.jsonl", labels2)):
        if labels is not None:
            (folder / name).write_text("".join(json.dumps({"id": i, "codes": c}) + "\n"
                                               for (i, _), c in zip(texts, labels)), encoding="utf-8")


def test_evaluate_reports_validation_and_test_sets_side_by_side(tmp_path: Path, monkeypatch, capsys):
    from analyse.cli import main
    from tests.coding.test_autocode import build_synthetic_project

    root = build_synthetic_project(tmp_path / "p", docs_per_territory=2)
    ref = tmp_path / "ref.txt"
    ref.write_text(REFERENTIEL, encoding="utf-8")
    _write_set(tmp_path / "valid", [("v1", "Les voisins du quartier sont descendus."), ("v2", "Pause déjeuner.")],
               [["ENG.1"], []], [["ENG.1"], []])
    _write_set(tmp_path / "devset-x", [("t1", "Les euros circulent grâce à la monnaie locale."),
                                       ("t2", "On reprend à quinze heures."), ("t3", "Le quartier et ses voisins.")],
               [["VAL.6"], [], ["ENG.1"]])
    _write_set(tmp_path / "valid2", [("w1", "Le budget et la monnaie locale.")], [["VAL.6"]])
    monkeypatch.setenv("BALISES_SPACY_MODEL", "blank:fr")
    monkeypatch.setenv("BALISES_NLP_CACHE", str(tmp_path / "cache"))
    cwd = os.getcwd()
    os.chdir(root)
    common = ["--no-kfold", "--jobs", "1", "--no-progress", "--referentiel", str(ref),
              "--devset", str(tmp_path / "valid"), "--devset", str(tmp_path / "valid2"),
              "--testset", str(tmp_path / "devset-x"),
              "--testset", str(tmp_path / "absent")]
    try:
        code = main(["evaluate", "--json", *common])
        out = capsys.readouterr()
        text_code = main(["evaluate", *common])
        text = capsys.readouterr().out
    finally:
        os.chdir(cwd)
    assert code == 0 and text_code == 0, out.err
    transfer = json.loads(out.out)["transfer"]
    assert transfer["devset"]["role"] == "validation" and transfer["devset"]["texts"] == 2
    assert transfer["validation:valid2"]["role"] == "validation" and transfer["validation:valid2"]["texts"] == 1
    test = transfer["test:devset-x"]
    assert test["role"] == "test" and test["texts"] == 3 and test["uncoded_texts"] == 1
    assert test["agreement_labels_1_2"] is None and "rien n'est réglé" in test["note"]
    assert "skipped" in transfer["test:absent"] and transfer["test:absent"]["role"] == "test"
    assert list(transfer["sections"]) == ["corpus_leave_one_territory_out", "referentiel", "devset",
                                          "validation:valid2", "test:devset-x", "test:absent"]
    assert "[validation] textes réels" in text and "[test] textes réels d'autres villes (test : devset-x) (3 textes)" in text


def test_realtext_thresholds_are_chosen_on_the_real_text_alone():
    from analyse.coding.autocode import precision_threshold

    X, y = _synthetic(n_docs=24)
    Xv, yv = _synthetic(n_docs=6, seed=7)          # « real text »: labels choose thresholds only
    Xv = Xv.assign(text=Xv["text"].str.upper())     # another register: no lower-case char n-gram in common
    common = dict(char_ngrams=None, metadata=(), min_df=1, cv=3, dimensions=DIMS)
    plain = SegmentCoder(**common).fit(X, y, groups=X["doc"])
    model = SegmentCoder(realtext_precision=0.8, **common).fit(X, y, groups=X["doc"], validation=(Xv, yv))
    # the heads are the same: real text never trains them
    assert np.allclose(model.coef_, plain.coef_)
    n, d = len(model.classes_), len(model.dimension_classes_)
    S, D = model.realtext_scores_, model.realtext_labels_
    assert S.shape == (len(Xv), n + d + 1) and (model.realtext_source_ == "validation").all()
    assert D.tolist() == model.dimension_labels(yv).tolist()
    for k in range(d):
        t = precision_threshold(D[:, k], S[:, n + k], 0.8)[0]
        assert model.realtext_dimension_thresholds_[k] == (np.inf if t is None else t)
    assert np.array_equal(model.decision_thresholds()[1], model.realtext_dimension_thresholds_)
    # off: the thresholds chosen on the training data (and the dimension shift) come back
    off = model.with_decisions(realtext_precision=None)
    assert np.array_equal(off.decision_thresholds()[1], shift_threshold(plain.dimension_thresholds_,
                                                                        plain.dimension_shift))
    stricter = model.with_decisions(realtext_precision=0.95)
    assert (np.nan_to_num(stricter.realtext_dimension_thresholds_, posinf=2)
            >= model.realtext_dimension_thresholds_).all()
    # rows of the training data flagged as real text count with their out-of-fold scores
    rows = np.zeros(len(X), dtype=bool)
    rows[:40] = True
    both = SegmentCoder(realtext_precision=0.8, **common).fit(X, y, groups=X["doc"], realtext_rows=rows,
                                                              validation=(Xv, yv))
    assert list(both.realtext_source_).count("rows") == 40
    assert np.allclose(both.realtext_scores_[:40], both.oof_scores_[:40])
    # thresholds chosen on other real texts, without refit
    other = both.with_realtext(both.realtext_scores_[:40], both.realtext_labels_[:40])
    assert other.realtext_dimension_thresholds_ is not None and both.realtext_scores_.shape[0] == 40 + len(Xv)


def test_validation_figures_are_cross_fitted_by_town_when_its_labels_chose_the_thresholds(tmp_path: Path):
    import spacy
    from sklearn.model_selection import GroupKFold

    from analyse.coding.autocode import validation_texts
    from analyse.coding.evaluate import decide_scores, read_devset, realtext_section, transfer_metrics, union_dimensions
    from analyse.model.codebook import load_codebook
    from analyse.nlp import NLPLayer

    real = {"A.1": "ENG.1", "B.1": "VAL.6"}          # the synthetic cues, as codes of the real codebook
    book = load_codebook(Path(__file__).resolve().parents[2] / "codebook" / "balises.yaml")
    X, y = _synthetic(n_docs=24)
    y = [{real[c] for c in s} for s in y]
    Xs, ys = _synthetic(n_docs=4, seed=3)
    folder = tmp_path / "valid"
    _write_set(folder, [(f"v{i}", t) for i, t in enumerate(Xs["text"])], [sorted(real[c] for c in s) for s in ys])
    rows = [json.loads(x) for x in (folder / "texts.jsonl").read_text(encoding="utf-8").splitlines()]
    for i, r in enumerate(rows):          # four towns
        r["town"] = f"ville {i % 4}"
    (folder / "texts.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                                        encoding="utf-8")
    layer = NLPLayer(spacy.blank("fr"), cache_dir=tmp_path / "cache", progress=False)
    Xv, yv, towns = validation_texts(folder, layer)
    assert len(Xv) == len(rows) and towns[:4] == ["ville 0", "ville 1", "ville 2", "ville 3"]
    model = SegmentCoder(char_ngrams=None, metadata=(), min_df=1, cv=3, dimensions={"ENG.1": "ENG", "VAL.6": "VAL"},
                         realtext_precision=0.7)
    model.fit(X.assign(lemmas=X["text"]), y, groups=X["doc"], validation=(Xv, yv))
    codes = list(book.codes)
    crossed = realtext_section(model, read_devset(folder), codes, book, layer, "validation", folder, towns)
    plain = realtext_section(model, read_devset(folder), codes, book, layer, "validation", folder, None)
    assert "plis par ville" in crossed["note"] and "plis par ville" not in plain["note"]
    # by hand: each town's texts decided by dimension thresholds chosen on the other towns only
    S = model._all_proba(Xv)
    Yp = np.zeros((len(Xv), len(codes)), dtype=int)
    Dp = np.zeros((len(Xv), 6), dtype=int)
    for rest, test in GroupKFold(n_splits=4).split(Xv, groups=towns):
        assert not set(np.asarray(towns)[rest]) & set(np.asarray(towns)[test])
        fold = model.with_realtext(model.realtext_scores_[rest], model.realtext_labels_[rest])
        Yp[test], Dp[test] = decide_scores(fold, S[test], codes)
    from analyse.coding.evaluate import indicator
    expected = transfer_metrics(indicator(yv, codes), Yp, codes, book, D_pred=union_dimensions(Yp, codes, book, Dp))
    assert crossed["dimension"] == expected["dimension"]


def test_evaluate_measures_the_project_test_set_by_default(tmp_path: Path, monkeypatch, capsys):
    from analyse.cli import main
    from tests.coding.test_autocode import build_synthetic_project

    root = build_synthetic_project(tmp_path / "p", docs_per_territory=2)
    _write_set(root / "tests" / "data" / "devset-3", [("t1", "La monnaie locale circule."), ("t2", "Pause.")],
               [["VAL.6"], []], [["VAL.6"], []])
    # a second test set, and a tenth (sorted by number, not as text), are measured too, each on its own
    _write_set(root / "tests" / "data" / "devset-4", [("u1", "La monnaie locale circule ici."), ("u2", "Il pleut."),
                                                      ("u3", "On ferme à midi.")], [["VAL.6"], [], []])
    _write_set(root / "tests" / "data" / "devset-10", [("w1", "La monnaie locale circule."), ("w2", "Bonjour.")],
               [["VAL.6"], []])
    monkeypatch.setenv("BALISES_SPACY_MODEL", "blank:fr")
    monkeypatch.setenv("BALISES_NLP_CACHE", str(tmp_path / "cache"))
    cwd = os.getcwd()
    os.chdir(root)
    common = ["evaluate", "--json", "--no-kfold", "--jobs", "1", "--no-progress", "--referentiel", "aucun"]
    try:
        assert main(common) == 0
        default = json.loads(capsys.readouterr().out)["transfer"]
        assert main([*common, "--testset", "aucun"]) == 0
        without = json.loads(capsys.readouterr().out)["transfer"]
    finally:
        os.chdir(cwd)
    assert default["test:devset-3"]["role"] == "test" and default["test:devset-3"]["texts"] == 2
    assert default["test:devset-3"]["agreement_labels_1_2"]["texts"] == 2
    assert default["test:devset-4"]["texts"] == 3 and default["test:devset-10"]["texts"] == 2
    assert [k for k in default if k.startswith("test:")] == ["test:devset-3", "test:devset-4", "test:devset-10"]
    assert not any(k.startswith("test:") for k in without)
