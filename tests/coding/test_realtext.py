"""Issue 19, real-text training pool: the reader, town-grouped folds, design weights, LOTO, evaluate, train."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import spacy

from analyse.coding.autocode import (DESIGNS, SegmentCoder, add_realtext, compose_training, design_settings,
                                     pool_rows_of, realtext_pool, realtext_rows_of, train_model)
from analyse.coding.realtext import (TrainingPoolError, read_training_folder, read_training_pool, town_group,
                                     training_folders)
from analyse.model.codebook import load_codebook
from analyse.model.codings import load_codings
from analyse.model.corpus import load_corpus
from analyse.nlp import NLPLayer

from tests.coding.test_autocode import SIGNALS, SMALL_TALK, build_synthetic_project
from tests.coding.test_precision import _synthetic
from tests.helpers import make_codebook, run_cli

TOWNS = ("Brest", "Vannes", "Roubaix", "Moissac", "Embrun", "Poitiers")


def write_lot(folder: Path, n: int = 30, seed: int = 0, towns=TOWNS, codes_of=None) -> Path:
    """A lot of the pool in the project's format: texts built from the synthetic project's cues."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    texts, labels = [], []
    for k in range(n):
        chosen = sorted({c for c in SIGNALS if rng.random() < 0.4})
        words = [rng.choice(SIGNALS[c]) for c in chosen] + [rng.choice(SMALL_TALK)]
        rng.shuffle(words)
        texts.append({"id": f"t{k:03d}", "text": " ".join(words), "town": towns[k % len(towns)],
                      "region": "Ailleurs", "source": "https://exemple.org"})
        labels.append({"id": f"t{k:03d}", "codes": codes_of(chosen) if codes_of else chosen})
    (folder / "texts.jsonl").write_text("".join(json.dumps(t, ensure_ascii=False) + "\n" for t in texts),
                                        encoding="utf-8")
    (folder / "labels-1.jsonl").write_text("".join(json.dumps(x) + "\n" for x in labels), encoding="utf-8")
    return folder


@pytest.fixture
def book(tmp_path: Path):
    return load_codebook(make_codebook(tmp_path / "balises.yaml"))


# --------------------------------------------------------------------------- the reader

def _error(folder: Path, book) -> str:
    with pytest.raises(TrainingPoolError) as err:
        read_training_folder(folder, book)
    assert err.value.exit_code == 1
    return str(err.value)


def test_reader_reads_a_lot_and_finds_the_lots_of_training(tmp_path: Path, book):
    lot = write_lot(tmp_path / "training" / "lot-a", n=12)
    (tmp_path / "training" / "sans-etiquettes").mkdir()
    (tmp_path / "training" / "sans-etiquettes" / "texts.jsonl").write_text("", encoding="utf-8")
    assert training_folders(tmp_path) == [lot]
    rows = read_training_folder(lot, book)
    assert len(rows) == 12 and rows[0]["town"] == "Brest" and rows[0]["folder"] == "lot-a"
    assert all(set(r["codes"]) <= set(SIGNALS) for r in rows)


def test_reader_errors_are_french_and_name_file_and_line(tmp_path: Path, book):
    lot = write_lot(tmp_path / "lot", n=5)
    texts, labels = lot / "texts.jsonl", lot / "labels-1.jsonl"
    good_texts, good_labels = texts.read_text(encoding="utf-8"), labels.read_text(encoding="utf-8")

    texts.write_text(good_texts.replace('{"id": "t002"', '{"id": "t002",,', 1), encoding="utf-8")
    assert f"{texts}:3: ligne JSON invalide" in _error(lot, book)
    texts.write_text(good_texts + "[1, 2]\n", encoding="utf-8")
    assert f"{texts}:6: la ligne n'est pas un objet JSON" in _error(lot, book)
    texts.write_text(good_texts.replace('"town": "Vannes"', '"town": ""', 1), encoding="utf-8")
    assert f"{texts}:2: champ « town » absent ou vide" in _error(lot, book)
    texts.write_text(good_texts + good_texts.splitlines(keepends=True)[0], encoding="utf-8")
    assert f"{texts}:6: id « t000 » déjà donné ligne 1" in _error(lot, book)
    texts.write_text(good_texts, encoding="utf-8")

    lines = good_labels.splitlines()
    lines[3] = json.dumps({"id": "t003", "codes": ["ENG.99"]})
    labels.write_text("\n".join(lines) + "\n", encoding="utf-8")
    message = _error(lot, book)
    assert f"{labels}:4: code inconnu de la grille : ENG.99 (texte « t003 »)" in message
    assert "codebook/balises.yaml" in message
    labels.write_text("\n".join(good_labels.splitlines()[:-1]) + "\n", encoding="utf-8")
    assert f"{texts}:5: le texte « t004 » n'a pas de ligne dans labels-1.jsonl" in _error(lot, book)
    labels.write_text(good_labels + '{"id": "t999", "codes": []}\n', encoding="utf-8")
    assert f"{labels}:6: étiquettes du texte « t999 », absent de texts.jsonl" in _error(lot, book)
    lines = good_labels.splitlines()
    lines[0] = json.dumps({"id": "t000", "codes": "ENG.1"})
    labels.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert f"{labels}:1: « codes » du texte « t000 » doit être une liste de codes" in _error(lot, book)


def test_pool_info_counts_and_hashes_each_lot(tmp_path: Path, book):
    a = write_lot(tmp_path / "a", n=12)
    b = write_lot(tmp_path / "b", n=6, seed=1, towns=("brest ", "Crest"))
    rows, info = read_training_pool([a, b], book)
    assert info["texts"] == 18 and [f["texts"] for f in info["folders"]] == [12, 6]
    # « Brest » in lot a and « brest  » in lot b are one town
    assert info["towns"] == len(TOWNS) + 1 and town_group("brest ") == town_group("Brest")
    again = read_training_pool([a, b], book)[1]
    assert again["hash"] == info["hash"]
    lines = (b / "labels-1.jsonl").read_text(encoding="utf-8").splitlines()
    first = json.loads(lines[0])
    lines[0] = json.dumps({"id": first["id"], "codes": sorted(set(first["codes"]) ^ {"ENG.1"})})
    (b / "labels-1.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    changed = read_training_pool([a, b], book)[1]
    assert changed["hash"] != info["hash"] and changed["folders"][0]["hash"] == info["folders"][0]["hash"]


# --------------------------------------------------------------------------- joining the fit

def _pool_frame(n: int = 36, towns=TOWNS, seed: int = 5):
    """Pool rows for the synthetic features of test_precision (codes A.1 and B.1), as realtext_pool gives them."""
    X, y = _synthetic(n_docs=3, per_doc=n // 3, seed=seed)
    towns_of = [towns[k % len(towns)] for k in range(len(X))]
    Xp = pd.DataFrame({"segment": [f"lot/{k}" for k in range(len(X))], "doc": "apprentissage:lot", "territory": "",
                       "text": X["text"], "lemmas": X["lemmas"], "atelier": "", "role": "", "kind": ""})
    return Xp, y, [town_group(t) for t in towns_of]


def test_a_fold_never_splits_a_town_and_pool_rows_are_real_text():
    X, y = _synthetic(n_docs=18)
    X = X.assign(segment=[f"s{k}" for k in range(len(X))], territory="t")
    pool = _pool_frame()
    Xt, yt, groups, weights, _ = compose_training(X, y, None, None, pool, {"referentiel_mode": "extra",
                                                  "referentiel_weight": 0.5, "realtext_weight": 1.0})
    mask = pool_rows_of(Xt)
    assert mask.sum() == len(pool[0]) and (realtext_rows_of(Xt) == mask).all()
    model = SegmentCoder(char_ngrams=None, metadata=(), min_df=1, cv=4, dimensions={"A.1": "ENG", "B.1": "VAL"},
                         realtext_precision=0.7)
    model.fit(Xt, yt, groups=groups, sample_weight=weights, realtext_rows=realtext_rows_of(Xt))
    folds = model.oof_fold_
    assert (folds >= 0).all()
    towns = np.asarray(groups)[mask]
    for town in set(towns):
        assert len(set(folds[mask][towns == town])) == 1, town
    # the pool's rows chose the real-text dimension thresholds
    assert int(np.sum(model.realtext_source_ == "rows")) == len(pool[0])
    # and they are spread over several folds (grouped, not all in one)
    assert len(set(folds[mask])) > 1


def test_the_design_weight_is_what_the_pool_rows_weigh():
    X, y = _synthetic(n_docs=12)
    pool = _pool_frame()
    base = {"referentiel_mode": "extra", "referentiel_weight": 0.5}
    _, _, _, w3, _ = compose_training(X, y, None, None, pool, {**base, "realtext_weight": 3.0})
    assert (w3[:len(X)] == 1).all() and (w3[len(X):] == 3).all()
    # weight 0: exactly the data (hence the model) without any pool
    none = compose_training(X, y, None, None, None, {**base, "realtext_weight": 0.0})
    zero = compose_training(X, y, None, None, pool, {**base, "realtext_weight": 0.0})
    assert zero[0].equals(none[0]) and zero[1] == none[1] and zero[2] == none[2] and zero[3] is None is none[3]
    common = dict(char_ngrams=None, metadata=(), min_df=1, cv=3)

    def fitted(weight):
        Xt, yt, g, w, _ = compose_training(X, y, None, None, pool, {**base, "realtext_weight": weight})
        return SegmentCoder(**common).fit(Xt, yt, groups=g, sample_weight=w)

    m0, m1, m3 = fitted(0.0), fitted(1.0), fitted(3.0)
    ref = SegmentCoder(**common).fit(X, y, groups=X["doc"])
    assert np.array_equal(m0.coef_, ref.coef_) and np.array_equal(m0.thresholds_, ref.thresholds_)
    # the weight reaches the classifiers: 3 is not 1, and 1 is not 0
    assert not np.allclose(m1.coef_, m3.coef_) and m1.coef_.shape == m3.coef_.shape
    assert len(m1.oof_scores_) == len(X) + len(pool[0]) == len(m3.oof_scores_)
    # the same pool rows duplicated three times at weight 1 would change the folds; a weight does not
    assert np.array_equal(m1.oof_fold_, m3.oof_fold_)


def test_the_corpus_weight_weighs_the_corpus_rows_only():
    X, y = _synthetic(n_docs=12)
    X = X.assign(doc=[f"d{k // 4}" for k in range(len(X))])
    pool = _pool_frame()
    Xr = pool[0].iloc[:10].assign(doc="referentiel", segment=[f"r{k}" for k in range(10)])
    ref = (Xr.reset_index(drop=True), list(pool[1][:10]), [f"referentiel:{k // 5}" for k in range(10)])
    comp = {"referentiel_mode": "cv", "referentiel_weight": 1.0, "realtext_weight": 2.0}
    Xt, yt, g, w, _ = compose_training(X, y, None, ref, pool, {**comp, "corpus_weight": 0.3})
    n = len(X)
    assert (w[:n] == 0.3).all() and (w[n:n + 10] == 1.0).all() and (w[n + 10:] == 2.0).all()
    assert len(Xt) == n + 10 + len(pool[0]) and g[:n] == list(X["doc"])
    # default 1: the weights of before (a design that does not say is unchanged)
    _, _, _, w1, _ = compose_training(X, y, None, ref, pool, comp)
    assert (w1[:n] == 1.0).all() and (w1[n:] == w[n:]).all()
    assert design_settings("apprentissage")[0]["corpus_weight"] == 1.0
    # without référentiel nor pool, a corpus weight alone is still applied
    _, _, _, w_only, _ = compose_training(X, y, None, None, None, {**comp, "corpus_weight": 0.5})
    assert (w_only == 0.5).all() and len(w_only) == n


def test_add_realtext_keeps_existing_weights():
    X, y = _synthetic(n_docs=6)
    pool = _pool_frame(n=12)
    Xt, yt, groups, w = add_realtext(X, y, list(X["doc"]), np.full(len(X), 0.5), pool, 2.0)
    assert len(Xt) == len(X) + 12 and (w[:len(X)] == 0.5).all() and (w[len(X):] == 2).all()
    assert groups[len(X):] == pool[2]


def test_without_rows_chooses_thresholds_without_those_rows():
    X, y = _synthetic(n_docs=18)
    pool = _pool_frame()
    Xt, yt, groups, w, _ = compose_training(X, y, None, None, pool, {"referentiel_mode": "extra",
                                            "referentiel_weight": 0.5, "realtext_weight": 1.0})
    model = SegmentCoder(char_ngrams=None, metadata=(), min_df=1, cv=4, dimensions={"A.1": "ENG", "B.1": "VAL"},
                         realtext_precision=0.7).fit(Xt, yt, groups=groups, sample_weight=w,
                                                     realtext_rows=realtext_rows_of(Xt))
    same = model.without_rows(np.zeros(len(Xt), dtype=bool))
    assert np.array_equal(same.thresholds_, model.thresholds_)
    assert np.array_equal(same.dimension_thresholds_, model.dimension_thresholds_)
    assert np.array_equal(same.realtext_dimension_thresholds_, model.realtext_dimension_thresholds_)
    from analyse.coding.autocode import precision_threshold
    fold = model.oof_fold_ == 0
    other = model.without_rows(fold)
    n = len(model.classes_)
    for j in range(n):
        expected = precision_threshold(model.oof_labels_[~fold, j], model.oof_scores_[~fold, j], 0.8)[0]
        assert other.thresholds_[j] == (np.inf if expected is None else expected)
    pool_rows = np.flatnonzero(pool_rows_of(Xt))
    kept = ~fold[pool_rows]
    for k in range(len(model.dimension_classes_)):
        expected = precision_threshold(model.oof_labels_[pool_rows[kept], n + k],
                                       model.oof_scores_[pool_rows[kept], n + k], 0.7)[0]
        assert other.realtext_dimension_thresholds_[k] == (np.inf if expected is None else expected)


# --------------------------------------------------------------------------- evaluate and train

@pytest.fixture
def project(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("BALISES_SPACY_MODEL", "blank:fr")
    monkeypatch.setenv("BALISES_NLP_CACHE", str(tmp_path / "nlp-cache"))
    root = build_synthetic_project(tmp_path / "p", docs_per_territory=2)
    write_lot(root / "training" / "autres-villes-1", n=30)
    return root


def test_loto_never_tests_a_real_text_row(project: Path, monkeypatch):
    from analyse.coding import evaluate as ev

    corpus = load_corpus(project / "corpus")
    book = load_codebook(project / "codebook" / "balises.yaml")
    codings = load_codings(corpus, book)
    layer = NLPLayer(spacy.blank("fr"), cache_dir=project / "cache", progress=False)
    X, y, _ = ev.evaluation_data(corpus, codings, "A", layer)
    pool = realtext_pool(book, layer, [project / "training" / "autres-villes-1"])
    composition = {**design_settings("corpus")[0], "realtext_weight": 1.0}
    seen = {"fit": [], "tested": []}
    fit, predict = SegmentCoder.fit, SegmentCoder.predict

    def spy_fit(self, X, *a, **k):
        seen["fit"].append(pool_rows_of(X).sum())
        return fit(self, X, *a, **k)

    def spy_predict(self, X):
        seen["tested"].append(set(X["doc"]))
        return predict(self, X)

    monkeypatch.setattr(SegmentCoder, "fit", spy_fit)
    monkeypatch.setattr(SegmentCoder, "predict", spy_predict)
    splits = ev.territory_splits(X["territory"])
    Y_pred, _, folds = ev.out_of_fold(X, y, splits, book, {"char_ngrams": None, "min_df": 1}, 1, None, None, None,
                                      pool, composition)
    assert Y_pred.shape[0] == len(X) and len(folds) == 4
    assert seen["fit"] == [30] * 4                         # the pool joins every training side
    assert seen["tested"] and all(not any(d.startswith("apprentissage:") for d in docs) for docs in seen["tested"])
    tested = set().union(*seen["tested"])
    assert tested == set(X["doc"])                         # and only corpus documents are tested


def test_evaluate_json_has_the_training_section(project: Path, capsys):
    common = ["evaluate", "--json", "--no-kfold", "--jobs", "1", "--no-progress", "--referentiel", "aucun"]
    code, out = run_cli(project, *common, "--conception", "corpus", capsys=capsys)
    assert code == 0
    transfer = json.loads(out.out)["transfer"]
    section = transfer["training"]
    assert "apprentissage, hors pli" in transfer["sections"]["training"]
    assert section["role"] == "training" and section["texts"] == 30 and section["joined"] is False
    assert section["folders"][0]["name"] == "autres-villes-1"
    assert "test:autres-villes-1" not in transfer and "devset" not in transfer.get("training", {}).get("path", "")
    joined_design = next((name for name, d in DESIGNS.items() if d.get("realtext_weight")), None)
    if joined_design is not None:
        code, out = run_cli(project, *common, "--conception", joined_design, capsys=capsys)
        section = json.loads(out.out)["transfer"]["training"]
        assert code == 0 and section["joined"] is True and "hors pli" in section["note"]
    code, out = run_cli(project, *common, "--apprentissage", "aucun", capsys=capsys)
    assert code == 0 and "training" not in json.loads(out.out)["transfer"]


def test_train_without_pool_is_the_former_behaviour_and_prints_the_pool(project: Path, capsys):
    from analyse.coding.autocode import load_model

    model_path = project / "outputs" / "models" / "model.joblib"
    code, out = run_cli(project, "train", "--no-progress", "--referentiel", "aucun", "--conception", "corpus",
                        capsys=capsys)
    assert code == 0
    assert "apprentissage sur texte réel : 30 textes lus, non utilisés par la conception « corpus » (poids 0)" in out.out
    assert "autres-villes-1 : 30 textes, 6 villes" in out.out and "empreinte" in out.out
    with_pool_unused = load_model(model_path)[0]
    code, out = run_cli(project, "train", "--no-progress", "--referentiel", "aucun", "--conception", "corpus",
                        "--apprentissage", "aucun", capsys=capsys)
    assert code == 0 and "apprentissage sur texte réel : aucun dossier" in out.out
    model, meta = load_model(model_path)
    assert meta["realtext_pool"]["folders"] == [] and meta["realtext_pool"]["used"] is False
    # the former behaviour: train_model as it was called before the pool existed (no folder at all)
    corpus = load_corpus(project / "corpus")
    book = load_codebook(project / "codebook" / "balises.yaml")
    former, _ = train_model(corpus, book, load_codings(corpus, book), "A", referentiel=None, design="corpus",
                            training=None)
    for m in (model, with_pool_unused):
        assert np.array_equal(m.coef_, former.coef_) and np.array_equal(m.thresholds_, former.thresholds_)
    # every design, « aucun »: the pool's weight does not matter
    for design in DESIGNS:
        none, meta = train_model(corpus, book, load_codings(corpus, book), "A", referentiel=None, design=design,
                                 training=[])
        assert meta["realtext_pool"]["rows"] == 0
    code, out = run_cli(project, "train", "--no-progress", "--apprentissage", "aucun", "--apprentissage",
                        str(project / "training" / "autres-villes-1"), capsys=capsys)
    assert code == 2 and "« aucun »" in out.err


def test_train_records_a_joined_pool_in_the_metadata(project: Path, capsys):
    joined = next((name for name, d in DESIGNS.items() if d.get("realtext_weight")), None)
    corpus = load_corpus(project / "corpus")
    book = load_codebook(project / "codebook" / "balises.yaml")
    DESIGNS["_test_joined"] = {"realtext_weight": 2.0}
    try:
        model, meta = train_model(corpus, book, load_codings(corpus, book), "A", referentiel=None,
                                  design=joined or "_test_joined")
    finally:
        del DESIGNS["_test_joined"]
    pool = meta["realtext_pool"]
    assert pool["used"] and pool["rows"] == 30 and pool["texts"] == 30 and pool["hash"]
    assert pool["folders"][0]["path"].endswith("autres-villes-1") and pool["folders"][0]["towns"] == 6
    assert meta["realtext"]["pool_rows"] == 30


def test_train_prints_the_corpus_weight_of_the_design(project: Path, capsys):
    code, out = run_cli(project, "train", "--no-progress", "--referentiel", "aucun", "--conception", "robuste-250",
                        capsys=capsys)
    assert code == 0
    assert "segments du corpus au poids 0,3 (conception « robuste-250 »)" in out.out
    assert "apprentissage sur texte réel : 30 textes de 6 villes (poids 3," in out.out
    for design in ("apprentissage", "robuste"):
        code, out = run_cli(project, "train", "--no-progress", "--referentiel", "aucun", "--conception", design,
                            capsys=capsys)
        assert code == 0 and "segments du corpus au poids" not in out.out


def test_bad_pool_stops_train_with_a_french_error(project: Path, capsys):
    labels = project / "training" / "autres-villes-1" / "labels-1.jsonl"
    lines = labels.read_text(encoding="utf-8").splitlines()
    lines[0] = json.dumps({"id": "t000", "codes": ["XYZ"]})
    labels.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, out = run_cli(project, "train", "--no-progress", "--referentiel", "aucun", capsys=capsys)
    assert code == 1 and "labels-1.jsonl:1: code inconnu de la grille : XYZ" in out.err and "Traceback" not in out.err


def test_cli_design_names_are_the_library_designs():
    from analyse.cli.train import DESIGN_NAMES

    assert set(DESIGN_NAMES) == set(DESIGNS)


def test_suggest_says_when_the_pool_changed_since_training(project: Path, capsys):
    from analyse.coding.autocode import save_model

    corpus = load_corpus(project / "corpus")
    book = load_codebook(project / "codebook" / "balises.yaml")
    DESIGNS["_test_joined"] = {"realtext_weight": 1.0}
    try:
        model, meta = train_model(corpus, book, load_codings(corpus, book), "A", referentiel=None,
                                  design="_test_joined")
    finally:
        del DESIGNS["_test_joined"]
    save_model(model, meta, project / "outputs" / "models" / "model.joblib")
    texts = project / "textes.jsonl"
    texts.write_text(json.dumps({"id": "x", "text": "Les voisins du quartier sont descendus."}) + "\n",
                     encoding="utf-8")
    args = ("suggest", "--texts", str(texts), "--out", str(project / "outputs" / "s.jsonl"), "--no-progress")
    code, out = run_cli(project, *args, capsys=capsys)
    assert code == 0 and "d'autres textes réels" not in out.err
    write_lot(project / "training" / "autres-villes-2", n=6, seed=9, towns=("Crest",))
    code, out = run_cli(project, *args, capsys=capsys)
    assert code == 0 and "a appris d'autres textes réels que ceux de training/" in out.err


def test_evaluate_prints_the_training_section_in_french(capsys):
    from analyse.cli.evaluate import print_transfer

    dim = {"micro_f1": 0.354, "macro_f1": 0.2, "micro_precision": 0.75, "mean_kappa": 0.1}
    print_transfer({"sections": {"training": "apprentissage, hors pli (autres-villes-1)"},
                    "training": {"role": "training", "texts": 250, "dimension": dim, "balise": None,
                                 "false_alarm_rate": 0.0, "false_alarm_rate_with_dimensions": 0.08,
                                 "abstention_rate": 0.9,
                                 "folders": [{"name": "autres-villes-1", "texts": 70, "dimension": dim,
                                              "false_alarm_rate_with_dimensions": 0.04}]}})
    out = capsys.readouterr().out
    assert out.startswith("[apprentissage] apprentissage, hors pli (autres-villes-1) (250 textes) : dimensions F1 "
                          "micro 0,354")
    assert "  autres-villes-1 (70 textes) : dimensions F1 micro 0,354, précision 0,750" in out and "training" not in out
