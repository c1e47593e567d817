"""Reinert classification, topics and crossings on a generated corpus with planted lexical worlds."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from analyse.analysis.reinert import class_tree, double_classification, split_class
from analyse.analysis.theme_crossing import (INVARIANT, LOCAL, code_crossing, emergent_code, territory_crossing,
                                             unseen_classes)
from analyse.analysis.themes import classify_themes, topic_model
from analyse.analysis.units import build_units, context_units, unit_matrices
from analyse.model.codebook import append_code, load_codebook, validate_codebook

ROOT = Path(__file__).resolve().parents[2]
WORLDS = 4
# World 0 is spoken everywhere; worlds 1, 2, 3 each in one territory (t1, t2, t3); t4 speaks only world 0.
PLAN = {"t1": {0: 30, 1: 30}, "t2": {0: 30, 2: 30}, "t3": {0: 30, 3: 30}, "t4": {0: 30}}
POS = ("NOUN", "VERB", "ADJ")


def planted_corpus(seed: int = 0, docs_per_territory: int = 5):
    """Segments and a token frame (with sentences) built directly: no spaCy.

    Each segment belongs to one world: three sentences mixing 5 words of its
    world's vocabulary (40 words), 4 common words (60), stop words, sometimes
    « (rires) », « euh » or the speaker's name « Durand ».
    """
    rng = np.random.default_rng(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    suffix = [a + b for a in letters for b in letters]          # forms hold letters only, like words
    vocab = {w: [f"m{letters[w]}{suffix[j]}" for j in range(40)] for w in range(WORLDS)}
    common = [f"commun{suffix[j]}" for j in range(60)]
    segments, tokens, truth = [], [], {}
    for territory, worlds in PLAN.items():
        plan = [w for w, n in worlds.items() for _ in range(n)]
        rng.shuffle(plan)
        for d in range(docs_per_territory):
            doc = f"{territory}-doc{d}"
            for n, world in enumerate(plan[d::docs_per_territory], start=1):
                seg = f"{doc}#{n}"
                truth[seg] = world
                words, i, pos = [], 0, 0
                for sent in range(3):
                    picks = list(rng.choice(vocab[world], 5, replace=False)) + list(rng.choice(common, 4, replace=False))
                    rng.shuffle(picks)
                    sentence = []
                    for j, word in enumerate(picks):
                        sentence.append((word, word, POS[j % 3], False))
                        sentence.append(("le", "le", "DET", True))
                    if rng.random() < 0.3:
                        sentence += [("(", "(", "PUNCT", False), ("rires", "rire", "NOUN", False), (")", ")", "PUNCT", False)]
                    if rng.random() < 0.3:
                        sentence.append(("euh", "euh", "INTJ", False))
                    if rng.random() < 0.2:
                        sentence.append(("Durand", "durand", "NOUN", False))
                    sentence.append((".", ".", "PUNCT", False))
                    for text, lemma, p, stop in sentence:
                        tokens.append((seg, i, text, lemma, p, stop, "", sent, pos))
                        words.append(text)
                        pos += len(text) + 1
                        i += 1
                segments.append({"segment": seg, "doc": doc, "n": n, "territory": territory, "role": "citoyen",
                                 "atelier": "engagement", "kind": "transcript", "text": " ".join(words)})
    tokens = pd.DataFrame(tokens, columns=["segment", "i", "text", "lemma", "pos", "is_stop", "ent_type", "sent", "idx"])
    return tokens, pd.DataFrame(segments), truth


@pytest.fixture(scope="module")
def planted():
    tokens, segments, truth = planted_corpus()
    themes = classify_themes(tokens, segments, k=4, seed=0, unit_size=20, exclude=frozenset({"durand"}))
    return tokens, segments, truth, themes


def test_units_cut_at_sentences_and_merge_short_tails():
    tokens, segments, _ = planted_corpus()
    units, token_unit = build_units(tokens, segments, unit_size=20)
    # 3 sentences of ≥ 9 words: units of 2 sentences at most, a 1-sentence tail is kept (≥ half the size).
    assert (token_unit >= 0).all()
    assert units["words"].min() >= 10
    first = units[units["segment"] == segments["segment"].iloc[0]]
    text = segments["text"].iloc[0]
    assert text[first["start"].iloc[0]:first["end"].iloc[-1]] == text
    assert context_units(pd.DataFrame({"segment": ["a#1", "a#1", "b#1"], "doc": ["a", "a", "b"],
                                       "words": [10, 40, 5]}), 30).tolist() == [0, 0, 1]


def test_forms_leave_out_conventions_fillers_names_and_rare_words():
    tokens, segments, _ = planted_corpus()
    m = unit_matrices(tokens, segments, unit_size=20, min_freq=3, exclude=frozenset({"durand"}))
    terms = set(m.terms)
    assert not terms & {"rire", "euh", "durand", "le"}
    assert "le" in set(m.supplementary_terms)          # stop words are supplementary, not active
    assert m.active.shape == (len(m.units), len(m.terms)) and m.active.max() == 1


def test_split_finds_two_planted_halves():
    rng = np.random.default_rng(3)
    from scipy import sparse
    rows, cols = [], []
    for u in range(200):
        for c in rng.choice(30, 6, replace=False) + (30 if u >= 100 else 0):
            rows.append(u)
            cols.append(c)
    x = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(200, 60))
    mask, chi = split_class(x)
    assert mask[:100].all() and not mask[100:].any() and chi > 0


def test_classification_recovers_planted_worlds(planted):
    _, _, truth, themes = planted
    units = themes.units
    classified = units["class"].notna()
    assert themes.classified_share >= 0.8
    ari = adjusted_rand_score(units.loc[classified, "segment"].map(truth), units.loc[classified, "class"].astype(int))
    assert ari >= 0.9
    # Each class's top words come from one world.
    for cls in range(1, themes.k + 1):
        top = themes.top_words(cls, 5)
        assert len({w[:2] for w in top}) == 1 and top[0].startswith("m")


def test_profiles_variables_and_typical_units(planted):
    _, _, truth, themes = planted
    w = themes.words
    assert {"active", "supplementary"} <= set(w["type"])
    assert ((w["p"] >= 0) & (w["p"] <= 1)).all()
    v = themes.variables
    assert set(v["variable"]) >= {"territory", "doc"}
    typical = themes.typical
    assert set(typical["class"]) == set(range(1, themes.k + 1))
    for cls, group in typical.groupby("class"):
        worlds = {truth[s] for s in group["segment"]}
        assert len(worlds) == 1


def test_crossing_finds_invariant_and_local_worlds(planted):
    _, _, truth, themes = planted
    table, summary = territory_crossing(themes, n_boot=100, seed=0)
    world_of = (themes.units.dropna(subset=["class"]).assign(world=lambda f: f["segment"].map(truth))
                .groupby("class")["world"].agg(lambda s: s.mode().iloc[0]))
    by_world = summary.assign(world=summary["class"].map(world_of)).set_index("world")
    assert by_world.loc[0, "label"] == INVARIANT
    for world, territory in ((1, "t1"), (2, "t2"), (3, "t3")):
        assert by_world.loc[world, "label"] == LOCAL
        assert by_world.loc[world, "territory"] == territory
    assert (summary["stability"] >= 0.9).all()
    assert ((table["ratio_low"] <= table["ratio"] + 1e-9) & (table["ratio"] <= table["ratio_high"] + 1e-9)).all()


def test_codes_crossing_and_what_the_grid_does_not_see(planted):
    _, segments, truth, themes = planted
    # Worlds 0–2 are coded, world 3 never: its class is what the grid does not see.
    code_of = {0: {"ENG.1"}, 1: {"VAL.6"}, 2: {"COOP.1"}, 3: set()}
    seg_codes = {s: set(code_of[truth[s]]) for s in segments["segment"]}
    codes = code_crossing(themes, seg_codes)
    unseen = unseen_classes(themes, codes, seg_codes)
    world_of = themes.units.dropna(subset=["class"]).groupby("class")["segment"].agg(lambda s: truth[s.iloc[0]])
    assert [world_of[c] for c in unseen["class"]] == [3]
    top = codes[codes["chi2"] > 0].sort_values("chi2", ascending=False).drop_duplicates("class")
    assert {world_of[c]: code for c, code in zip(top["class"], top["code"])} == {0: "ENG.1", 1: "VAL.6", 2: "COOP.1"}


def test_deterministic_over_row_order_and_seed(planted):
    tokens, segments, _, themes = planted
    shuffled = classify_themes(tokens.sample(frac=1, random_state=1), segments.sample(frac=1, random_state=2),
                               k=4, seed=0, unit_size=20, exclude=frozenset({"durand"}))
    pd.testing.assert_frame_equal(themes.units[["unit", "class"]], shuffled.units[["unit", "class"]])
    pd.testing.assert_frame_equal(themes.words, shuffled.words)
    again = classify_themes(tokens, segments, k=4, seed=0, unit_size=20, exclude=frozenset({"durand"}))
    pd.testing.assert_frame_equal(themes.units, again.units)


def test_topics_are_stable_on_planted_worlds(planted):
    _, _, truth, themes = planted
    # Planted vocabularies are small and dense (a world's word is in a fifth of its units): none is
    # generic, so the max_df cut meant for verbs such as « faire » is turned off here.
    topics = topic_model(themes, seed=0, n_seeds=3, max_df=1.0)
    assert topics.mean_stability > 0.9
    assert topics.by_class.shape == (themes.k, themes.k)
    # Each class has one dominant topic, and they differ.
    assert topics.by_class.idxmax(axis=1).nunique() == themes.k


def test_double_classification_leaves_unassociated_units_out():
    from scipy import sparse
    rng = np.random.default_rng(0)
    rows, cols = [], []
    for u in range(300):
        world = (u // 2) % 3      # pairs of units share a world, as consecutive units of a context do
        for c in rng.choice(20, 5, replace=False) + 20 * world:
            rows.append(u)
            cols.append(c)
    x = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(300, 60))
    result = double_classification(x, np.arange(300), np.arange(300) // 2, k=3, min_members=5)
    truth = (np.arange(300) // 2) % 3
    ok = result.labels >= 0
    assert adjusted_rand_score(truth[ok], result.labels[ok]) == 1.0
    assert not ok.all() or result.k == 3

    def leaves(tree):
        return [leaf for sub in tree for leaf in leaves(sub)] if isinstance(tree, list) else [tree]

    assert sorted(leaves(class_tree(result.trees[0], [n[0] for n in result.class_nodes]))) == list(range(result.k))


def test_promote_class_writes_a_valid_codebook(planted, tmp_path):
    _, _, _, themes = planted
    path = tmp_path / "balises.yaml"
    shutil.copy(ROOT / "codebook" / "balises.yaml", path)
    before = path.read_text(encoding="utf-8")
    book = load_codebook(path)
    code = emergent_code(themes, 2, "CON.90", book)
    new = append_code(path, code)
    assert new.codes["CON.90"].status == "emergent"
    assert new.version != book.version
    checked, problems = validate_codebook(path)
    assert checked is not None and not problems.errors
    assert set(checked.codes) == set(book.codes) | {"CON.90"}
    text = path.read_text(encoding="utf-8")
    assert text.startswith(before.split("version:")[0])          # comments kept
    with pytest.raises(Exception):
        emergent_code(themes, 2, "CON.90", new)                  # id taken
    with pytest.raises(Exception):
        emergent_code(themes, 2, "ZZZ.1", new)                   # unknown dimension


def test_unknown_status_is_a_codebook_problem(tmp_path):
    path = tmp_path / "balises.yaml"
    shutil.copy(ROOT / "codebook" / "balises.yaml", path)
    text = path.read_text(encoding="utf-8").replace("    kind: concept\n", "    kind: concept\n    status: brouillon\n", 1)
    path.write_text(text, encoding="utf-8")
    book, problems = validate_codebook(path)
    assert book is None and any("status" in p.message for p in problems.errors)


@pytest.mark.slow
def test_report_on_bundled_corpus():
    """The bundled corpus was written with Le Mené's money and energy as a singularity (corpus/README.md)."""
    from analyse import nlp
    from analyse.model.codings import load_codings
    from analyse.model.corpus import load_corpus
    from analyse.reporting.themes import themes_report

    corpus = load_corpus(ROOT / "corpus")
    book = load_codebook(ROOT / "codebook" / "balises.yaml")
    codings = load_codings(corpus, book, coders=["A"])
    layer = nlp.NLPLayer(cache_dir=nlp.default_cache_dir(corpus.root), progress=False)
    rep = themes_report(corpus, book, codings, nlp.token_frame(corpus, layer, sentences=True), coder="A")
    assert rep.themes.k >= 4 and rep.themes.classified_share >= 0.6
    # The class of money and energy weighs most in Le Mené, well above its weight (Malaunay's cost of
    # inaction shares its words, so its label is borderline: the bootstrap stability says so).
    carrying = rep.classes[rep.classes["balises"].str.contains(r"\bVAL\.(?:6|D3)\b")]
    money = carrying.sort_values("units", ascending=False).iloc[0]
    assert money["territory"] == "le-mene"
    ratio = rep.territories.set_index(["class", "territory"]).loc[(money["class"], "le-mene"), "ratio"]
    assert ratio >= 1.5
    # Facilitation and logistics (séance, synthèse, pause…) is what the grid does not see.
    assert len(rep.unseen) >= 1 and "séance" in rep.unseen["words"].iloc[0]
    assert set(rep.figures) == {"dendrogramme", "territoires"}
    assert rep.typical["shown"].str.contains(r"\[[^\]]+\]").any()        # masked by category


def test_no_coverage_means_nothing_to_compare(planted):
    _, _, _, themes = planted
    codes = code_crossing(themes, {})
    assert codes.empty and unseen_classes(themes, codes, {}).empty


def _old_forms(tokens, segments, unit_size, min_freq, exclude):
    """The forms as unit_matrices computed them before issue #21: string work on every token."""
    units, token_unit = build_units(tokens, segments, unit_size)
    from analyse.analysis.units import ACTIVE_POS, FILLERS, _note_mask
    t = tokens.assign(_unit=token_unit)
    order = np.lexsort((t["i"].to_numpy(), t["segment"].astype(str).to_numpy()))
    note = np.zeros(len(t), dtype=bool)
    note[order] = _note_mask(t.iloc[order])
    lemma = t["lemma"].astype(str).str.strip()
    lower = lemma.str.lower()
    text_lower = t["text"].astype(str).str.lower()
    wordlike = lemma.str.contains(r"[^\W\d_]", regex=True) & ~lemma.str.contains(r"\d", regex=True)
    out = (t["_unit"].to_numpy() < 0) | note | ~wordlike.to_numpy() | lower.isin(FILLERS).to_numpy() \
        | text_lower.isin(FILLERS).to_numpy() | lower.isin(exclude).to_numpy() | text_lower.isin(exclude).to_numpy() \
        | (t["pos"] == "NUM").to_numpy()
    active = t["pos"].isin(ACTIVE_POS).to_numpy() & ~t["is_stop"].astype(bool).to_numpy() & ~out
    key = lemma.where(t["pos"] == "PROPN", lower).to_numpy()
    a_terms = np.unique(key[active])
    return a_terms, np.unique(key[~out & ~active])


def _awkward(tokens):
    """The planted tokens with proper nouns, a capitalised lemma, padding, a digit and missing lemmas."""
    tokens = tokens.copy()
    rows = np.arange(0, len(tokens), 7)
    tokens.loc[rows, "pos"] = "PROPN"
    tokens.loc[rows[::2], "lemma"] = " " + tokens.loc[rows[::2], "lemma"].str.capitalize()
    tokens.loc[rows[1::3], "lemma"] = "a1"
    tokens.loc[rows[2::5], "lemma"] = None
    tokens.loc[rows[3::5], "lemma"] = np.nan
    return tokens


@pytest.mark.parametrize("compact", [False, True])
def test_forms_equal_the_per_token_computation(compact):
    """Issue #21: string tests per distinct value give the forms of the per-token computation, on
    object columns as on the categorical / int32 frame the themes part builds."""
    tokens, segments, _ = planted_corpus(docs_per_territory=2)
    tokens = _awkward(tokens)
    old_active, old_other = _old_forms(tokens, segments, 20, 1, frozenset({"durand"}))
    if compact:
        tokens = tokens.astype({c: "category" for c in ("segment", "text", "lemma", "pos", "ent_type")}
                               | {c: np.int32 for c in ("i", "sent", "idx")})
        # a categorical column has no None apart from NaN: both read "nan"
        old_other = np.unique([("nan" if v == "None" else v) for v in old_other]).astype(object)
    m = unit_matrices(tokens, segments, unit_size=20, min_freq=1, exclude=frozenset({"durand"}))
    assert m.terms.tolist() == old_active.tolist()
    assert set(m.supplementary_terms) == set(old_other)


def test_compact_tokens_classify_as_object_tokens(planted):
    tokens, segments, _, themes = planted
    compact = tokens.astype({c: "category" for c in ("segment", "text", "lemma", "pos", "ent_type")}
                            | {c: np.int32 for c in ("i", "sent", "idx")})
    again = classify_themes(compact, segments, k=4, seed=0, unit_size=20, exclude=frozenset({"durand"}))
    pd.testing.assert_frame_equal(again.units, themes.units)
    pd.testing.assert_frame_equal(again.words, themes.words)
    pd.testing.assert_frame_equal(again.variables, themes.variables)
    pd.testing.assert_frame_equal(again.typical, themes.typical)
    assert (again.matrices.active != themes.matrices.active).nnz == 0
