"""The shared analysis context: computed once, reused while its inputs are unchanged, read in slices."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analyse.analysis.invariants import code_territory_table
from analyse.analysis.profile import leading_territories, territory_profile
from analyse.model.codebook import CANONICAL_IDS
from analyse.model.codings import CodingStore, coding_record, coverage_record
from analyse.model.corpus import load_corpus
from analyse.project import Project
from analyse.reporting import context_store
from analyse.reporting.context import load_context
from analyse.reporting.context_store import StoredContext, code_spread, context_key, ensure_context
from analyse.reporting.plots import share_spread
from tests.helpers import write_doc

TERRITORIES = ("le-mene", "malaunay", "grande-synthe")


@pytest.fixture
def coded(project: Path, monkeypatch) -> Project:
    """The tiny project with a third territory, every segment coded by A (documents covered)."""
    monkeypatch.setenv("BALISES_SPACY_MODEL", "blank:fr")
    monkeypatch.setenv("BALISES_NLP_CACHE", str(project / "nlp-cache"))
    write_doc(project / "corpus", "grande-synthe", "grande-synthe-test")
    corpus = load_corpus(project / "corpus")
    records = [coverage_record(d, "A") for d in corpus.documents]
    records += [coding_record(s, CANONICAL_IDS[k % 3], "A") for k, s in enumerate(corpus.segments)]
    CodingStore(project / "corpus" / "codings").append("A", records)
    return Project.load(project)


def test_a_rerun_with_unchanged_inputs_reuses_the_stored_context(coded: Project, monkeypatch):
    first = ensure_context(coded, ["A"])
    assert first.built and (first.folder / "meta.json").is_file()

    def no_rebuild(*args, **kwargs):
        raise AssertionError("the context was computed again")

    monkeypatch.setattr(context_store, "build_context", no_rebuild)
    again = ensure_context(Project.load(coded.root), ["A"])
    assert not again.built and again.folder == first.folder and again.key == first.key


@pytest.mark.parametrize("change", ["document", "coder file", "codebook", "settings", "coders"])
def test_any_input_change_invalidates_it(coded: Project, change: str):
    before = ensure_context(coded, ["A"])
    coders = ["A"]
    if change == "document":
        doc = coded.corpus_dir / "malaunay" / "malaunay-test.md"
        doc.write_text(doc.read_text(encoding="utf-8") + "\nUn paragraphe de plus.\n", encoding="utf-8")
    elif change == "coder file":
        seg = load_corpus(coded.corpus_dir).segments[0]
        CodingStore(coded.codings_dir).append("A", [coding_record(seg, CANONICAL_IDS[5], "A")])
    elif change == "codebook":
        with coded.codebook_path.open("a", encoding="utf-8") as f:
            f.write("\n# une note\n")
    elif change == "settings":
        (coded.root / "balises.toml").write_text("[analysis]\nmin_coded_segments = 1\n", encoding="utf-8")
    else:
        coders = ["A", "B"]
    project = Project.load(coded.root)
    assert context_key(project, coders) != before.key
    after = ensure_context(project, coders)
    assert after.built and after.folder != before.folder


def test_the_stored_context_holds_no_pickle_and_no_local_path(coded: Project):
    store = ensure_context(coded, ["A"])
    files = [p for p in store.folder.rglob("*") if p.is_file()]
    assert files and all(p.suffix == ".json" for p in files)
    root = str(coded.root.resolve())
    assert not any(root in p.read_text(encoding="utf-8") for p in files)


def test_a_territory_report_holds_no_row_of_another_territory(coded: Project):
    root = coded.root
    ctx = load_context(root / "corpus", root / "codebook" / "balises.yaml", project_dir=root, territory="malaunay")
    assert ctx.corpus is None and ctx.codings is None    # no whole-corpus object either
    malaunay = {s for s in ctx.segments["segment"]}
    assert malaunay and all(s.startswith("malaunay-") for s in malaunay)
    frames = {"segments": ctx.segments, "material segments": ctx.material.segments,
              "material codes": ctx.material.codes, "tokens": ctx.tokens, "entities": ctx.entities,
              "documents": ctx.documents, "specificities": ctx.specificities, "flesh": ctx.flesh,
              "entity counts": ctx.entity_counts}
    for name, frame in frames.items():
        if "territory" in frame:
            assert set(frame["territory"]) <= {"malaunay"}, name
        if "segment" in frame:
            assert set(frame["segment"]) <= malaunay, name
        assert not frame.astype(str).apply(lambda col: col.str.contains("le-mene|grande-synthe")).any().any(), name
    assert len(ctx.tokens) and len(ctx.material.codes)
    # the summaries are one row per territory or per code, never another territory's segments
    assert set(ctx.coverage["territory"]) == set(TERRITORIES)
    assert list(ctx.code_spread.columns) == ["code", "territories", "min", "q1", "median", "q3", "max"]


def test_a_slice_gives_the_same_tables_as_the_whole_corpus(coded: Project):
    root = coded.root
    full = load_context(root / "corpus", root / "codebook" / "balises.yaml", project_dir=root, coders=["A"])
    ctx = load_context(root / "corpus", root / "codebook" / "balises.yaml", project_dir=root, coders=["A"],
                       territory="le-mene")
    table = code_territory_table(full.material, codes=list(full.codebook.codes))
    expected = territory_profile(table, "le-mene", full.labels, full.invariance())
    pd.testing.assert_frame_equal(ctx.profile.drop(columns="rank"), expected, check_dtype=False)
    pd.testing.assert_frame_equal(ctx.invariance().reset_index(drop=True), full.invariance().reset_index(drop=True),
                                  check_dtype=False)
    seg = full.segments[full.segments["territory"] == "le-mene"].reset_index(drop=True)
    pd.testing.assert_frame_equal(ctx.segments.reset_index(drop=True), seg, check_dtype=False)


def test_a_report_run_alone_builds_the_context_through_the_same_function(coded: Project, monkeypatch):
    calls = []
    real = context_store.ensure_context

    def spy(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr("analyse.reporting.context.ensure_context", spy)
    root = coded.root
    ctx = load_context(root / "corpus", root / "codebook" / "balises.yaml", project_dir=root, territory="malaunay")
    assert len(calls) == 1 and ctx.store.key == context_key(coded, ["A"])
    # and, given the batch's folder, it reads it without computing anything
    again = load_context(root / "corpus", root / "codebook" / "balises.yaml", project_dir=root,
                         territory="malaunay", context_dir=ctx.store.folder)
    assert len(calls) == 1 and isinstance(again.store, StoredContext)


def test_every_territory_figure_keeps_its_size_with_hundreds_of_territories():
    rng = np.random.default_rng(0)
    codes = [f"ENG.{k}" for k in range(1, 7)]

    def table(n):
        return pd.DataFrame([{"territory": f"t{i:03d}", "code": c, "segment_share": rng.random() / 5}
                             for i in range(n) for c in codes])

    small = share_spread(code_spread(table(4)), codes, here={"ENG.1": 0.1})
    large = share_spread(code_spread(table(300)), codes, here={"ENG.1": 0.1})
    assert tuple(small.get_size_inches()) == tuple(large.get_size_inches())
    leaders = leading_territories(table(300), codes, n=3)
    assert len(leaders) == len(codes) and leaders["leaders"].str.count(",").eq(2).all()


def test_tables_come_back_with_their_dtypes_even_empty(tmp_path: Path):
    frame = pd.DataFrame({"code": ["A", None], "n": [1, 2], "share": [0.5, np.nan], "flag": [True, False],
                          "ratio": [np.inf, 1.0]})
    for table in (frame, frame.iloc[:0], pd.DataFrame(columns=["class", "code"])):
        context_store._write(table, tmp_path / "t.json")
        back = context_store.read_table(tmp_path / "t.json")
        pd.testing.assert_frame_equal(back, table.reset_index(drop=True))
    assert context_store.read_table(tmp_path / "t.json")["class"].str.startswith("x").empty


def test_a_territory_report_for_the_groupe_miroir_always_has_its_pseudonyms(coded: Project):
    root = coded.root
    store = ensure_context(coded, ["A"])
    mapping = coded.private_dir / context_store.PSEUDONYMS_FILE
    assert mapping.is_file() and oct(mapping.stat().st_mode & 0o777) == "0o600"
    mapping.unlink()      # a context handed over by path, without the private table next to it
    ctx = load_context(root / "corpus", root / "codebook" / "balises.yaml", project_dir=root, territory="le-mene",
                       audience="groupe-miroir", context_dir=store.folder)
    assert ctx.shown_text("le-mene-test#2", "Merci Nadine.") == "Merci Élu·e 1."
    ensure_context(coded, ["A"])      # reused, and the table written again: it no longer matched
    assert mapping.is_file()
