"""Parts of the shared context: what a report computed for long, stored once, read back unchanged.

Each part must equal the direct computation the notebooks made before (same tables, same figure bytes,
same masked texts), and a warm read must not compute again (no drawing, no spaCy model).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from analyse.model.corpus import load_corpus
from analyse.project import Project
from analyse.reporting import accord as accord_mod
from analyse.reporting import territory as figures_mod
from analyse.reporting import themes as themes_mod
from analyse.reporting.context import load_context
from analyse.reporting.context_store import ensure_context, part_folder, read_part, write_part
from analyse.reporting.masks import MemoMasker
from analyse.reporting.report import figure_png
from tests.reporting.test_context_store import coded  # noqa: F401 - fixture

ROOT = Path(__file__).resolve().parents[2]


def _forbid(monkeypatch, module, name):
    def refuse(*args, **kwargs):
        raise AssertionError(f"{name} was called: the stored part was not read")
    monkeypatch.setattr(module, name, refuse)


# ---------------------------------------------------------------------------
# The mechanism, on the tiny project
# ---------------------------------------------------------------------------

def test_a_part_is_read_back_with_its_dtypes_and_files(coded: Project):  # noqa: F811
    store = ensure_context(coded, ["A"])
    folder = part_folder(store, "essai", {"k": 3})
    assert folder != part_folder(store, "essai", {"k": 4}) and read_part(folder) is None
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", None], "c": [0.5, float("nan")]})
    write_part(folder, {"n": 2}, {"t": frame}, {"f.png": b"\x89PNG"})
    meta, tables = read_part(folder)
    assert meta == {"n": 2} and (folder / "f.png").read_bytes() == b"\x89PNG"
    pd.testing.assert_frame_equal(tables["t"], frame)
    # a second writer of the same part keeps the first one
    write_part(folder, {"n": 3}, {"t": frame})
    assert read_part(folder)[0] == {"n": 2}


@pytest.mark.parametrize("territory", ["malaunay", None])
def test_report_figures_are_drawn_once_and_equal_the_live_drawing(coded: Project, monkeypatch,  # noqa: F811
                                                                   territory, tmp_path):
    root = coded.root
    kwargs = {"territory": territory} if territory else {"use_store": True}
    ctx = load_context(root / "corpus", root / "codebook" / "balises.yaml", project_dir=root, coders=["A"],
                       out_dir=tmp_path / "a", **kwargs)
    names = list(figures_mod.TERRITORY_FIGURES if territory else figures_mod.SYNTHESIS_FIGURES)
    live = {n: figures_mod.draw(ctx, n) for n in names}
    live = {n: figure_png(f)[0] for n, f in live.items() if f is not None}
    assert live, "no figure drawn"
    for name in live:
        assert ctx.figure(name).data == live[name]
        assert (tmp_path / "a" / "figures" / f"{name}.png").read_bytes() == live[name]   # saved as before
    # another report of the same context and audience reads them: nothing is drawn
    _forbid(monkeypatch, figures_mod, "draw")
    for name in list(figures_mod.TERRITORY_FIGURES) + list(figures_mod.SYNTHESIS_FIGURES):
        monkeypatch.setitem((figures_mod.TERRITORY_FIGURES if territory else figures_mod.SYNTHESIS_FIGURES),
                            name, lambda c: (_ for _ in ()).throw(AssertionError("drawn again")))
    again = load_context(root / "corpus", root / "codebook" / "balises.yaml", project_dir=root, coders=["A"],
                         **kwargs)
    assert {n: again.figure(n).data for n in live} == live


def test_the_memo_masker_answers_as_the_masker_and_masks_each_text_once(tmp_path):
    from analyse.privacy.lexicons import load_lexicons
    from analyse.privacy.masking import Masker

    real = Masker(load_lexicons(ROOT / "lexicons"), {"Jean Muller": "élu"}, None)
    made = []

    def make():
        made.append(1)
        return real

    texts = [("Jean Muller a vu Loos-en-Gohelle.", "le-mene"), ("Rien à masquer ici.", None),
             ("Jean Muller a vu Loos-en-Gohelle.", "malaunay")]
    memo = MemoMasker(tmp_path / "masks.jsonl", make, real.lexicon)
    assert [memo.mask(t, terr) for t, terr in texts] == [real.mask(t, terr) for t, terr in texts]
    assert made == [1] and memo.misses == 3
    # a new report (another kernel) reads the memo: the real masker is never built
    again = MemoMasker(tmp_path / "masks.jsonl", lambda: pytest.fail("masker built"), real.lexicon)
    assert [again.mask(t, terr) for t, terr in texts] == [real.mask(t, terr) for t, terr in texts]
    assert again.misses == 0
    # a line cut by an interrupted write is ignored (that text is masked again)
    with open(tmp_path / "masks.jsonl", "a", encoding="utf-8") as f:
        f.write('["le-mene", "coupé')
    assert MemoMasker(tmp_path / "masks.jsonl", make, real.lexicon).mask("Rien à masquer ici.")[0] \
        == "Rien à masquer ici."


def test_a_batch_worker_reads_notebooks_without_the_iri_grammar():
    """The worker's initializer keeps jsonschema's optional IRI checker (a 2 s grammar) out; nbformat still
    validates a notebook."""
    code = ("import sys; from analyse.reporting.batch import _worker_start; _worker_start(); "
            "import nbformat; nb = nbformat.v4.new_notebook(); nb.cells.append(nbformat.v4.new_code_cell('1')); "
            "nbformat.validate(nb); assert sys.modules.get('rfc3987_syntax') is None; "
            "assert 'papermill' in sys.modules; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "ok", out.stderr[-2000:]


# ---------------------------------------------------------------------------
# On the bundled corpus: the parts equal what the notebooks computed before
# ---------------------------------------------------------------------------

@pytest.fixture
def bundled(tmp_path, monkeypatch) -> Project:
    """A copy of the bundled project (its own context folder); the NLP cache is the repository's."""
    for name in ("corpus", "codebook", "lexicons", "fiches"):
        if (ROOT / name).exists():
            shutil.copytree(ROOT / name, tmp_path / name)
    shutil.copyfile(ROOT / "balises.toml", tmp_path / "balises.toml")
    monkeypatch.setenv("BALISES_NLP_CACHE", str(ROOT / ".cache" / "nlp"))
    return Project.load(tmp_path)


@pytest.mark.slow
def test_stored_themes_equal_the_direct_computation(bundled: Project, monkeypatch):
    from analyse import nlp
    from analyse.privacy.decontext import build_gazetteer, mask_text
    from analyse.privacy import masking
    from analyse.privacy.pseudonymise import Pseudonymiser

    store = ensure_context(bundled)
    coder = store.meta["coders"][0]
    got = themes_mod.stored_themes(bundled, store, coder)
    ctx = load_context(bundled.corpus_dir, bundled.codebook_path, project_dir=bundled.root)
    tokens = nlp.token_frame(ctx.corpus, nlp.NLPLayer(cache_dir=bundled.cache_dir), sentences=True)
    direct = themes_mod.themes_report(ctx.corpus, ctx.codebook, ctx.codings, tokens, coder=coder,
                                      mask=ctx.shown_text)
    assert got.summary == json.loads(json.dumps(direct.summary()))
    for name in ("classes", "unseen"):
        pd.testing.assert_frame_equal(getattr(got, name), getattr(direct, name).reset_index(drop=True))
    pd.testing.assert_frame_equal(got.typical_for(False), direct.typical.reset_index(drop=True))
    # the groupe miroir's typical units go through the project's masker and the batch's pseudonyms
    mapping = bundled.private_dir / "pseudonymes.json"
    pseudonymiser = Pseudonymiser.read_mapping(mapping) if mapping.exists() else ctx.pseudonymiser
    public = themes_mod.public_masker(masking.load_masker(bundled, ctx.corpus), ctx.corpus, pseudonymiser)
    shown = got.typical_for(True)["shown"].tolist()
    assert shown == [public(s, t) for s, t in zip(direct.typical["segment"], direct.typical["text"])]
    gazetteer = build_gazetteer(ctx.corpus)        # more than the gazetteer alone would hide
    assert sum(a != mask_text(t, gazetteer) for a, t in zip(shown, direct.typical["text"])) > 0
    assert {k: v[0] for k, v in got.figures.items()} == \
        {"dendrogramme": figure_png(direct.figures["dendrogramme"])[0],
         "territoires": figure_png(direct.figures["territoires"])[0]}
    # the next report reads it: no classification, no spaCy
    _forbid(monkeypatch, themes_mod, "_compute_themes")
    again = themes_mod.stored_themes(bundled, ensure_context(bundled), coder)
    pd.testing.assert_frame_equal(again.classes, got.classes)


@pytest.mark.slow
def test_stored_agreement_equals_the_direct_computation(bundled: Project, monkeypatch):
    store = ensure_context(bundled)
    got = accord_mod.stored_agreement(bundled, store, ["A", "B"])
    ctx = load_context(bundled.corpus_dir, bundled.codebook_path, coders=["A", "B"], project_dir=bundled.root)
    meta, tables, files = accord_mod.agreement_tables(ctx.corpus, ctx.codebook, ctx.codings, ["A", "B"])
    assert got.headline == meta["headline"] and got.figure_png == files["alpha-par-code.png"]
    for name, frame in tables.items():
        pd.testing.assert_frame_equal(got.tables[name], frame.reset_index(drop=True))
    _forbid(monkeypatch, accord_mod, "_compute")
    assert accord_mod.stored_agreement(bundled, store, ["A", "B"]).headline == got.headline


@pytest.mark.slow
def test_the_synthesis_masks_and_scores_as_before_and_its_next_run_loads_no_model(bundled: Project, monkeypatch):
    from analyse.privacy import masking
    from analyse.privacy.decontext import decontextualised_verbatims
    from analyse.privacy.risk import corpus_risk_model

    ctx = load_context(bundled.corpus_dir, bundled.codebook_path, project_dir=bundled.root, use_store=True)
    inv = ctx.invariance()
    codes = inv.loc[inv["class"].str.startswith("invariant"), "code"].tolist()
    real = masking.load_masker(bundled, ctx.corpus)
    direct_risk = corpus_risk_model(ctx.tokens, ctx.material.segments, real.lexicon)
    direct = decontextualised_verbatims(ctx.material, codes, masker=real, risk=direct_risk, n=1)
    risk = ctx.risk_model(ctx.masker().lexicon)
    assert risk.specific == direct_risk.specific and risk.threshold == direct_risk.threshold
    stored = decontextualised_verbatims(ctx.material, codes, masker=ctx.masker(), risk=risk, n=1)
    pd.testing.assert_frame_equal(stored, direct)
    assert ctx.masker().misses == len(set(zip(direct["territory"], direct["original"])))   # each text once
    # the next report (a new kernel): every text from the memo, no spaCy pipeline built
    monkeypatch.setattr(masking, "masking_pipeline", lambda *a, **k: pytest.fail("spaCy's model loaded"))
    again = load_context(bundled.corpus_dir, bundled.codebook_path, project_dir=bundled.root, use_store=True)
    monkeypatch.setattr(type(again), "tokens", property(lambda self: pytest.fail("token table read")))
    masker = again.masker()
    pd.testing.assert_frame_equal(
        decontextualised_verbatims(again.material, codes, masker=masker, risk=again.risk_model(masker.lexicon), n=1),
        direct)
    assert masker.misses == 0
    assert load_corpus(bundled.corpus_dir).territories == ctx.territories


@pytest.mark.slow
def test_fiche_texts_are_masked_again_from_a_memo_the_next_run(bundled: Project, monkeypatch):
    # The synthesis re-masks fiche texts without spaCy's entities; the head-noun rules still tokenise with
    # a blank French pipeline (seconds to set up). Memoised with the context, a warm kernel never builds it.
    from analyse.privacy import local_names, masking

    ctx = load_context(bundled.corpus_dir, bundled.codebook_path, project_dir=bundled.root, use_store=True)
    light = masking.load_masker(bundled, ctx.corpus, nlp=None)
    texts = [(str(t), str(x)) for t, x in zip(ctx.segments["territory"], ctx.segments["text"])][:40]
    texts.append((None, "L'association Les Amis du Marais et monsieur Pellegrin, à la régie."))
    first = ctx.light_masker()
    assert [first.mask(x, t) for t, x in texts] == [light.mask(x, t) for t, x in texts]
    assert first.misses == len(set(texts))
    monkeypatch.setattr(local_names, "blank_nlp", lambda: pytest.fail("blank pipeline built"))
    again = load_context(bundled.corpus_dir, bundled.codebook_path, project_dir=bundled.root,
                         use_store=True).light_masker()
    assert [again.mask(x, t) for t, x in texts] == [light.mask(x, t) for t, x in texts]
    assert again.misses == 0
