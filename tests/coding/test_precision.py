"""Issue 19: precision-first suggestions, abstention, knowledge documents, blind coders, transfer report."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from analyse.coding.autocode import (SegmentCoder, confidence_word, precision_threshold)
from analyse.coding.knowledge import codebook_documents, referentiel_paragraphs
from analyse.model.codebook import load_codebook

from tests.helpers import run_cli
from tests.coding.test_autocode import build_synthetic_project

# Words that give a code away, words shared by every code (noise) and small talk with no code.
CUES = {"A.1": ["quartier", "voisins", "immeuble", "rue"], "B.1": ["argent", "euros", "monnaie", "budget"]}
SHARED = ["projet", "ville", "habitants", "territoire", "transition", "élus"]
SMALL_TALK = ["bonjour à tous", "le café est au fond", "on reprend à quinze heures", "qui prend les notes",
              "le micro ne marche pas", "pause déjeuner", "merci à tous bonne soirée"]


def _synthetic(n_docs: int = 30, per_doc: int = 12, seed: int = 0):
    """Segments with noisy cues (a cue sometimes appears in a segment without the code) and small talk."""
    rng = random.Random(seed)
    rows, y = [], []
    for d in range(n_docs):
        for _ in range(per_doc):
            codes, words = set(), []
            if rng.random() < 0.25:
                words += rng.sample(SMALL_TALK, 2)
            else:
                for code, cues in CUES.items():
                    if rng.random() < 0.35:
                        codes.add(code)
                        words += rng.sample(cues, 2)
                    elif rng.random() < 0.1:               # a misleading cue
                        words.append(rng.choice(cues))
                words += rng.sample(SHARED, 3)
            rng.shuffle(words)
            text = " ".join(words)
            rows.append({"doc": f"d{d}", "text": text, "lemmas": text})
            y.append(codes)
    return pd.DataFrame(rows), y


def _precision(Y_true: np.ndarray, Y_pred: np.ndarray) -> float:
    tp = int(((Y_true == 1) & (Y_pred == 1)).sum())
    return tp / max(int(Y_pred.sum()), 1)


def test_precision_threshold_known_answers_and_unreachable_target():
    assert precision_threshold([0, 0, 1, 1, 1, 1, 1], [0.1, 0.5, 0.4, 0.6, 0.7, 0.8, 0.9]) == (0.6, 0.8, 0.8)
    t, best, recall = precision_threshold([0, 1, 0, 1], [0.9, 0.8, 0.7, 0.6])
    assert t is None and recall == 0.0 and best < 0.8
    # three lucky hits are not enough for 0.8 once shrunk (3 / 4 = 0.75)
    assert precision_threshold([1, 1, 1, 0], [0.9, 0.8, 0.7, 0.1])[0] is None
    assert [confidence_word(p) for p in (0.95, 0.8, 0.3)] == ["très probable", "probable", "possible"]


def test_thresholds_reach_the_target_precision_on_held_out_documents():
    X, y = _synthetic()
    train = X["doc"].str[1:].astype(int) < 20
    model = SegmentCoder(char_ngrams=None, metadata=(), min_df=1, cv=4, target_precision=0.8)
    model.fit(X[train], [s for s, k in zip(y, train) if k], groups=X.loc[train, "doc"])
    assert set(model.classes_) == {"A.1", "B.1"}
    assert (model.cv_precision_ >= 0.8).all()
    held = X[~train].reset_index(drop=True)
    y_held = [s for s, k in zip(y, train) if not k]
    Y_true = np.array([[c in s for c in model.classes_] for s in y_held], dtype=int)
    Y_pred = model.predict(held)
    assert Y_pred.sum() > 0.3 * Y_true.sum()          # it still suggests something
    assert _precision(Y_true, Y_pred) >= 0.8
    # a stricter target never lowers the held-out precision below it
    strict = SegmentCoder(char_ngrams=None, metadata=(), min_df=1, cv=4, target_precision=0.95)
    strict.fit(X[train], [s for s, k in zip(y, train) if k], groups=X.loc[train, "doc"])
    assert _precision(Y_true, np.array([[c in row for c in model.classes_] for row in strict.predict_codes(held)],
                                       dtype=int)) >= 0.9


def test_an_unreachable_code_is_never_suggested():
    X, y = _synthetic()
    rng = random.Random(3)
    y = [s | {"NOISE"} if rng.random() < 0.3 else s for s in y]     # a code that no word signals
    model = SegmentCoder(char_ngrams=None, metadata=(), min_df=1, cv=4).fit(X, y, groups=X["doc"])
    assert "NOISE" not in model.classes_ and "NOISE" in model.unreliable_
    assert all("NOISE" not in codes for codes in model.predict_codes(X))


def test_small_talk_gets_nothing():
    X, y = _synthetic()
    model = SegmentCoder(char_ngrams=None, metadata=(), min_df=1, cv=4).fit(X, y, groups=X["doc"])
    assert model.nothing_threshold_ is not None          # « rien à coder » learned
    talk = pd.DataFrame({"text": SMALL_TALK, "lemmas": SMALL_TALK})
    assert model.predict(talk).sum() == 0
    assert model.abstains(model._all_proba(talk)).mean() >= 0.8
    conf = model.predict_confidence(X)
    assert conf.shape == (len(X), len(model.classes_)) and ((0 <= conf) & (conf <= 1)).all()


def test_extra_documents_are_used_but_never_to_choose_thresholds():
    X, y = _synthetic(n_docs=12)
    extra_text = ["quartier voisins immeuble", "argent euros budget"] * 5
    extra = (pd.DataFrame({"text": extra_text, "lemmas": extra_text}), [{"A.1"}, {"B.1"}] * 5, np.full(10, 0.3))
    with_extra = SegmentCoder(char_ngrams=None, metadata=(), min_df=1, cv=3).fit(X, y, groups=X["doc"],
                                                                                  extra=extra)
    assert set(with_extra.classes_) == {"A.1", "B.1"}
    # a dimension-only label is learned by the dimension head only
    dims = {"A.1": "ENG", "B.1": "VAL"}
    extra2 = (extra[0], [{"dim:ENG"}, {"dim:VAL"}] * 5, extra[2])
    m = SegmentCoder(char_ngrams=None, metadata=(), min_df=1, cv=3, dimensions=dims).fit(X, y, groups=X["doc"],
                                                                                          extra=extra2)
    assert set(m.dimension_classes_) == {"ENG", "VAL"}


REFERENTIEL = """Table des matières
L'ENGAGEMENT DES ACTEURS DU TERRITOIRE COMME RESSOURCE\t17

L'ENGAGEMENT DES ACTEURS DU TERRITOIRE COMME RESSOURCE
Un paragraphe d'introduction assez long pour compter comme un paragraphe du référentiel.
Balise 1 - Un titre de balise
Un paragraphe sous la première balise, lui aussi assez long pour être gardé ici.
Modes de faire et méthodologies d'action
Un paragraphe de méthode, rangé sous la dimension seulement, assez long pour compter.
TRAVAILLER EN COOPERATION
Balise 2 - Autre titre
Un paragraphe sous la deuxième balise de la coopération, assez long pour être gardé.
EN FORME DE CONCLUSION
Une conclusion qui ne doit pas être étiquetée du tout par une dimension ou une balise.
"""


def test_referentiel_sections_map_to_dimensions_and_balises(tmp_path: Path, project: Path):
    path = tmp_path / "ref.txt"
    path.write_text(REFERENTIEL, encoding="utf-8")
    book = load_codebook(project / "codebook" / "balises.yaml")
    paras = referentiel_paragraphs(path, book)
    got = [(p["dimension"], sorted(p["labels"])) for p in paras]
    eng1 = "ENG.1" if "ENG.1" in book.codes else "dim:ENG"
    coop2 = "COOP.2" if "COOP.2" in book.codes else "dim:COOP"
    assert got == [("ENG", ["dim:ENG"]), ("ENG", [eng1]), ("ENG", ["dim:ENG"]), ("COOP", [coop2])]
    docs = codebook_documents(book)
    assert docs and all(len(d["labels"]) == 1 and d["text"] for d in docs)


# --------------------------------------------------------------------------- CLI

@pytest.fixture
def blank_env(monkeypatch, tmp_path: Path):
    monkeypatch.setenv("BALISES_SPACY_MODEL", "blank:fr")
    monkeypatch.setenv("BALISES_NLP_CACHE", str(tmp_path / "nlp-cache"))


def test_blind_coder_gets_no_suggestions(tmp_path: Path, blank_env, capsys):
    root = build_synthetic_project(tmp_path / "p")
    (root / "corpus" / "codings" / "coders.yaml").write_text(yaml.safe_dump({"coders": [
        {"id": "A", "who": "x", "kind": "human", "since": "2026-11-20", "blind": False, "method": "m"},
        {"id": "B", "who": "y", "kind": "human", "since": "2026-11-20", "blind": True, "method": "m"},
    ]}), encoding="utf-8")
    code, out = run_cli(root, "suggest", "--territory", "malaunay", "--coder", "B", "--no-progress", capsys=capsys)
    assert code == 2
    assert "code à l'aveugle" in out.err and "Traceback" not in out.err
    assert not (root / "outputs" / "suggestions" / "malaunay.jsonl").exists()


def test_suggest_texts_abstains_on_small_talk_and_keeps_the_contract(tmp_path: Path, blank_env, capsys):
    root = build_synthetic_project(tmp_path / "p")
    texts = tmp_path / "in.jsonl"
    texts.write_text("\n".join(json.dumps({"id": i, "text": t}, ensure_ascii=False) for i, t in enumerate(
        ["Le café est au fond de la salle.", "On reprend à quinze heures.",
         "Les voisins du quartier sont descendus, au pied de l'immeuble les habitants discutent."])) + "\n",
        encoding="utf-8")
    out_path = tmp_path / "out.jsonl"
    code, out = run_cli(root, "suggest", "--texts", str(texts), "--out", str(out_path), "--no-progress",
                        capsys=capsys)
    assert code == 0, out.err
    lines = [json.loads(x) for x in out_path.read_text(encoding="utf-8").splitlines()]
    assert all({"id", "codes", "scores"} <= set(r) for r in lines)
    assert lines[0]["codes"] == [] and lines[1]["codes"] == []
    assert "ENG.1" in lines[2]["codes"] and lines[2]["confidence"]["ENG.1"] in ("très probable", "probable",
                                                                                "possible")


def test_evaluate_json_has_the_three_transfer_sections(tmp_path: Path, monkeypatch, capsys):
    from analyse.cli import main

    root = build_synthetic_project(tmp_path / "p", docs_per_territory=2)
    ref = tmp_path / "ref.txt"
    ref.write_text(REFERENTIEL, encoding="utf-8")
    dev = root / "tests" / "data" / "devset"
    dev.mkdir(parents=True)
    texts = [("t1", "Les voisins du quartier sont descendus.", "exemple"), ("t2", "On reprend à quinze heures.",
                                                                             "exemple"),
             ("t3", "Les euros circulent localement grâce à la monnaie locale.", "exemple")]
    (dev / "texts.jsonl").write_text("".join(json.dumps({"id": i, "text": t, "source": s}, ensure_ascii=False)
                                             + "\n" for i, t, s in texts), encoding="utf-8")
    for name, codes in (("labels-1.jsonl", [["ENG.1"], [], ["VAL.6"]]), ("labels-2.jsonl", [["ENG.1"], [], []])):
        (dev / name).write_text("".join(json.dumps({"id": i, "codes": c}) + "\n"
                                        for (i, _, _), c in zip(texts, codes)), encoding="utf-8")
    monkeypatch.setenv("BALISES_SPACY_MODEL", "blank:fr")
    monkeypatch.setenv("BALISES_NLP_CACHE", str(tmp_path / "cache"))
    cwd = os.getcwd()
    os.chdir(root)
    try:
        code = main(["evaluate", "--json", "--no-kfold", "--jobs", "1", "--no-progress", "--referentiel", str(ref)])
    finally:
        os.chdir(cwd)
    out = capsys.readouterr()
    assert code == 0, out.err
    data = json.loads(out.out)
    transfer = data["transfer"]
    for key in ("corpus_leave_one_territory_out", "referentiel", "devset"):
        assert key in transfer and "skipped" not in transfer[key], (key, transfer[key])
    loto = transfer["corpus_leave_one_territory_out"]
    assert {"dimension", "balise", "false_alarm_rate"} <= set(loto)
    assert {"micro_f1", "macro_f1", "micro_precision", "mean_kappa"} <= set(loto["dimension"])
    assert transfer["devset"]["texts"] == 3 and transfer["devset"]["agreement_labels_1_2"]["texts"] == 3
    assert transfer["devset"]["false_alarm_rate"] is not None
    # a dimension head alone firing on an uncoded text is a false alarm too: never fewer
    assert transfer["devset"]["false_alarm_rate_with_dimensions"] >= transfer["devset"]["false_alarm_rate"]


def test_most_useful_segment_is_an_uncertain_one(tmp_path: Path):
    import spacy

    from analyse.coding.autocode import train_model
    from analyse.coding.active import most_useful_segments
    from analyse.model.codings import load_codings
    from analyse.model.corpus import load_corpus
    from analyse.nlp import NLPLayer

    root = build_synthetic_project(tmp_path / "p", docs_per_territory=2)
    corpus = load_corpus(root / "corpus")
    book = load_codebook(root / "codebook" / "balises.yaml")
    layer = NLPLayer(spacy.blank("fr"), cache_dir=tmp_path / "cache", progress=False)
    model, _ = train_model(corpus, book, load_codings(corpus, book), "A", layer, cv=3, char_ngrams=None)
    segs = corpus.segments_of("malaunay-doc0")
    ranked = most_useful_segments(segs, model, layer, k=len(segs))
    assert len(ranked) == len(segs) and {s for s, _ in ranked} == {s.id for s in segs}
    values = [u for _, u in ranked]
    assert values == sorted(values, reverse=True) and all(0 <= u <= 1 for u in values)
    assert most_useful_segments([], model, layer) == []


def test_with_targets_equals_a_refit_at_the_stricter_targets():
    """Thresholds derived from the stored out-of-fold scores are those a refit would choose."""
    X, y = _synthetic()
    groups = X["doc"]
    low = SegmentCoder(char_ngrams=None, cv=3, target_precision=0.6, abstain_precision=0.7).fit(X, y, groups=groups)
    for target, abstain in ((0.8, None), (0.7, 0.9), (0.6, 0.7)):
        refit = SegmentCoder(char_ngrams=None, cv=3, target_precision=target,
                             abstain_precision=abstain).fit(X, y, groups=groups)
        derived = low.with_targets(target, abstain)
        assert derived.target_precision == target and low.target_precision == 0.6
        assert (derived.predict(X)[:, np.isin(derived.classes_, refit.classes_)]
                == refit.predict(X)).all()
        assert derived.nothing_threshold_ == refit.nothing_threshold_
        assert not derived.predict(X)[:, ~np.isin(derived.classes_, refit.classes_)].any()
