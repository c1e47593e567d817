"""Fiches de décontextualisation rendered: rows and their rules, escaped HTML, the handout, the synthesis."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pandas as pd
import pytest
import yaml

from analyse.privacy.fiches import public_text
from analyse.privacy.masking import load_masker
from analyse.privacy.risk import RiskModel
from analyse.reporting import fiche_pages
from analyse.reporting.fiche_pages import (HANDOUT_DATA, HANDOUT_PAGE, ShownFiche, build_view, collect_fiches,
                                           fiche_entries, render_section, verbatim_rows, write_handout)
from tests.helpers import ROOT

SEGMENTS = pd.DataFrame([
    {"segment": "a-doc#1", "territory": "a", "role": "citoyen", "text": "On a commencé par le marché."},
    {"segment": "a-doc#2", "territory": "a", "role": "animateur", "text": "Et comment avez-vous fait ?"},
    {"segment": "b-doc#1", "territory": "b", "role": "elu", "text": "Les agents sont venus le samedi."},
    {"segment": "b-doc#2", "territory": "b", "role": "elu", "text": "On a vu le méthaniseur, en 1986, avec les Zorvath."},
    {"segment": "c-doc#1", "territory": "c", "role": "citoyen", "text": "Le comité se réunit chaque mois."},
])


@pytest.fixture(scope="module")
def masker():
    return load_masker(ROOT, nlp=None)


@pytest.fixture(scope="module")
def risk(masker):
    return RiskModel(lexicon=masker.lexicon, specific={"b": {"methaniseur": "méthaniseur"}})


def _fiche(code="ENG.1", segments=("a-doc#1", "b-doc#1"), **fields):
    fiche = {"code": code, "libelle": "Proximité", "classe": "invariant robuste", "territoires": ["a", "b"],
             "diffusion": {"territoires": 2}, "concept_operationnel": "", "methode": "", "conditions": "",
             "contre_exemples": [], "questions": [],
             "verbatims": [{"segment": s, "territoire": s.split("-")[0], "texte": ""} for s in segments]}
    fiche.update(fields)
    return fiche


def _pool():
    return pd.DataFrame([
        {"code": "ENG.1", "territory": "c", "rank": 1, "segment": "c-doc#1", "original": "Le comité se réunit.",
         "masked": "Le comité se réunit chaque mois.", "risk": 0.0, "risk_terms": "", "proposed": True},
        {"code": "ENG.1", "territory": "b", "rank": 1, "segment": "b-doc#1", "original": "x", "masked": "x",
         "risk": 0.0, "risk_terms": "", "proposed": True},
    ])


def test_verbatims_held_back_say_why_and_public_ones_come_from_two_territories(masker, risk):
    fiche = _fiche(segments=("a-doc#1", "a-doc#2", "b-doc#2", "z-doc#9"))
    rows = verbatim_rows([ShownFiche(fiche, True)], SEGMENTS, masker, risk)
    by = rows.set_index("segment")
    assert by.loc["a-doc#2", "reason"] == "tour de l'animateur" and not by.loc["a-doc#2", "public"]
    assert by.loc["z-doc#9", "reason"] == "segment absent du corpus"
    # Zorvath (a capitalised name, 0.5) + méthaniseur (specific, 0.3) + 1986 (0.25) = 1.05 > 1.0
    assert by.loc["b-doc#2", "risk"] == pytest.approx(1.05)
    assert by.loc["b-doc#2", "risk_terms"] == "Zorvath; méthaniseur; 1986"
    assert by.loc["b-doc#2", "reason"].startswith("risque au-dessus du seuil")
    # what remains showable comes from one territory only: nothing is shown to the groupe miroir
    assert by.loc["a-doc#1", "reason"] == "extraits montrables d'un seul territoire"
    assert not rows["public"].any()


def test_a_fiche_from_one_territory_is_completed_from_the_analysis(masker, risk):
    rows = verbatim_rows([ShownFiche(_fiche(segments=("a-doc#1",)), True)], SEGMENTS, masker, risk, pool=_pool())
    public = rows[rows["public"]]
    assert public["segment"].tolist() == ["a-doc#1", "b-doc#1"]       # rank 1, then territory order: b before c
    assert public["source"].tolist() == ["fiche", "analyse"]
    assert public["territory"].nunique() == 2 and (public["risk"] <= risk.threshold).all()


def test_a_verbatim_text_is_masked_again(masker, risk):
    fiche = _fiche(verbatims=[{"segment": "a-doc#1", "territoire": "a", "texte": "On a vu Loos et Malaunay."},
                              {"segment": "b-doc#1", "territoire": "b", "texte": ""}])
    rows = verbatim_rows([ShownFiche(fiche, True)], SEGMENTS, masker, risk)
    assert "Loos" not in rows.loc[0, "text"] and "Malaunay" not in rows.loc[0, "text"]
    assert rows.loc[1, "text"] == SEGMENTS.loc[2, "text"]              # empty text: the segment's own


def test_researchers_text_renders_escaped_and_the_public_version_hides_where(masker, risk):
    fiche = _fiche(concept_operationnel="Partir du quotidien <script>alert(1)</script>",
                   questions=["<img src=x onerror=alert(1)>"], conditions="Un marché à Malaunay.")
    view = fiche_pages.FicheView([ShownFiche(fiche, True, "invariant robuste")],
                                 verbatim_rows([ShownFiche(fiche, True)], SEGMENTS, masker, risk), risk.threshold)
    page = render_section(fiche_entries(view, False, territory_label=str.upper), False, "intro")
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img" not in page and "&lt;img src=x" in page
    assert "a-doc#1" in page and "risque 0,00" in page and "montré au groupe miroir" in page
    names = ["a", "b", "Malaunay"]
    public = render_section(fiche_entries(view, True, lambda s: public_text(s, masker, names, str.swapcase)), True)
    assert "a-doc#1" not in public and "risque" not in public and "Malaunay" not in public
    assert "pARTIR DU QUOTIDIEN" in public                       # the pseudonymiser was applied
    assert public.count("<blockquote") == 2


def test_drafts_for_invariants_without_fiche_are_never_written(tmp_path, masker, risk):
    folder = tmp_path / "fiches"
    folder.mkdir()
    text = yaml.safe_dump(_fiche(concept_operationnel="Ce que l'équipe a écrit."), allow_unicode=True)
    (folder / "ENG.1.yaml").write_text(text, encoding="utf-8")
    invariants = pd.DataFrame([
        {"code": "ENG.1", "label": "Proximité", "class": "partagé", "segments": 9, "territories": 2},
        {"code": "COOP.3", "label": "Coopérer", "class": "invariant probable", "segments": 9, "territories": 2},
    ])
    pool = _pool().assign(code="COOP.3")
    fiches = collect_fiches(folder, invariants, pool)
    assert [(s.code, s.written, s.still_invariant) for s in fiches] == [("ENG.1", True, False), ("COOP.3", False, True)]
    assert fiches[0].fiche["concept_operationnel"] == "Ce que l'équipe a écrit."
    view = build_view(folder, SEGMENTS, invariants, masker, risk, pool)
    entries = fiche_entries(view, False)
    assert "plus classé invariant (classe actuelle : partagé)" in entries[0]["notes"][0]
    assert entries[1]["notes"][0].startswith("brouillon")
    assert sorted(p.name for p in folder.iterdir()) == ["ENG.1.yaml"]
    assert (folder / "ENG.1.yaml").read_text(encoding="utf-8") == text


def test_the_handout_page_follows_the_synthesis(tmp_path):
    work, out = tmp_path / "work", tmp_path / "out"
    work.mkdir(), out.mkdir()
    data = {"illustrative": True, "fiches": [{"code": "ENG.1", "libelle": "P", "notes": [],
                                              "fields": [{"title": "Concept opérationnel", "text": "<b>x</b>"}],
                                              "lists": [], "verbatims": [{"text": "« [la commune] »"}]}]}
    (work / HANDOUT_DATA).write_text(json.dumps(data), encoding="utf-8")
    page = write_handout(work, out)
    html = page.read_text(encoding="utf-8")
    assert page.name == HANDOUT_PAGE and "&lt;b&gt;x&lt;/b&gt;" in html and "Corpus illustratif" in html
    assert "<script" not in html
    assert write_handout(work, out, ok=False) is None and not page.exists()


def _notebook(path: Path, body: str) -> None:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("territory = ''\ncorpus_dir = ''\ncodebook_path = ''\ncodings_dir = ''\n"
                                       "coders = []\nout_dir = ''\naudience = ''\npseudonyms_path = ''\n"
                                       "territories = []\nproject_dir = ''")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(body)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(path))


def test_the_batch_publishes_the_handout_lists_it_and_leaves_fiches_alone(project: Path):
    import concurrent.futures as cf

    from analyse.reporting.batch import run_batch

    fiche = project / "fiches" / "ENG.1.yaml"
    fiche.parent.mkdir()
    fiche.write_text("code: ENG.1\nconcept_operationnel: écrit à la main\n", encoding="utf-8")
    before = fiche.read_bytes()
    nbs = project / "notebooks"
    nbs.mkdir()
    _notebook(nbs / "territoire.ipynb", "print(territory)")
    data = {"illustrative": False, "fiches": [{"code": "ENG.1", "libelle": "P", "notes": [], "fields": [],
                                               "lists": [], "verbatims": []}]}
    _notebook(nbs / "synthese.ipynb", "import json, pathlib\npathlib.Path(out_dir).mkdir(parents=True)\n"
              f"pathlib.Path(out_dir, {HANDOUT_DATA!r}).write_text(json.dumps({data!r}))")
    out = project / "outputs" / "miroir"
    with cf.ThreadPoolExecutor(max_workers=1) as pool:
        result = run_batch(project, None, out, audience="groupe-miroir", notebooks_dir=nbs, progress=False,
                           executor=pool)
    assert result.ok, [j.error for j in result.jobs]
    assert (out / HANDOUT_PAGE).is_file()
    index = result.index.read_text(encoding="utf-8")
    assert f'href="{HANDOUT_PAGE}"' in index and "livret du groupe miroir" in index
    assert fiche.read_bytes() == before
    # a synthesis that no longer writes the data: no stale handout
    _notebook(nbs / "synthese.ipynb", "print('sans fiches')")
    with cf.ThreadPoolExecutor(max_workers=1) as pool:
        run_batch(project, None, out, audience="groupe-miroir", notebooks_dir=nbs, progress=False, executor=pool)
    assert not (out / HANDOUT_PAGE).exists()
    assert HANDOUT_PAGE not in (out / "index.html").read_text(encoding="utf-8")


@pytest.mark.slow
def test_synthesis_fiches_on_the_bundled_corpus(tmp_path):
    """The figures of the issue's « done when », on the bundled corpus, with one fiche edited by the team."""
    from analyse.reporting.context import load_context

    for name in ("corpus", "codebook", "lexicons", "balises.toml"):
        (tmp_path / name).symlink_to(ROOT / name)
    (tmp_path / "fiches").mkdir()
    edited = yaml.safe_dump({**_fiche("ENG.1", segments=("le-mene-engagement#16", "malaunay-engagement#8")),
                             "concept_operationnel": "Partir du quotidien <em>vécu</em>."}, allow_unicode=True)
    (tmp_path / "fiches" / "ENG.1.yaml").write_text(edited, encoding="utf-8")
    out = tmp_path / "out"
    ctx = load_context(tmp_path / "corpus", tmp_path / "codebook" / "balises.yaml", project_dir=tmp_path,
                       out_dir=out)
    html = fiche_pages.synthesis_fiches(ctx).data
    assert "Partir du quotidien &lt;em&gt;vécu&lt;/em&gt;." in html and "<em>vécu</em>" not in html
    assert "risque" in html
    data = json.loads((out / HANDOUT_DATA).read_text(encoding="utf-8"))
    inv = ctx.invariance()
    invariants = set(inv.loc[inv["class"].str.startswith("invariant"), "code"])
    assert {f["code"] for f in data["fiches"]} == invariants | {"ENG.1"}
    # every fiche shows verbatims to the groupe miroir, from two territories at least, below the threshold,
    # never a facilitator's: checked on the rows behind the handout
    from analyse.privacy.masking import load_masker as masker_of
    from analyse.privacy.risk import corpus_risk_model
    from analyse.privacy.decontext import decontextualised_verbatims

    m = masker_of(ctx.project, ctx.corpus)
    r = corpus_risk_model(ctx.tokens, ctx.material.segments, m.lexicon)
    pool = decontextualised_verbatims(ctx.material, sorted(invariants | {"ENG.1"}), masker=m, risk=r, n=1)
    view = build_view(tmp_path / "fiches", ctx.segments, inv, masker_of(ctx.project, ctx.corpus, nlp=None), r, pool)
    shown = view.rows[view.rows["public"]].merge(ctx.segments[["segment", "role"]], on="segment")
    assert (shown.groupby("code")["territory"].nunique() >= 2).all()
    assert set(shown["code"]) == {f["code"] for f in data["fiches"]}
    assert (shown["risk"] <= r.threshold).all() and (shown["role"] != "animateur").all()
    assert all(len(f["verbatims"]) >= 2 for f in data["fiches"])
    # public text: no participant's name, no territory's name
    names = {p.name for d in ctx.corpus.documents.values() for p in d.participants if p.name}
    text = json.dumps(data, ensure_ascii=False)
    assert not [n for n in names if n in text]
    assert not [t for t in ("Loos-en-Gohelle", "Le Mené", "Malaunay", "Grande-Synthe") if t in text]
    assert (tmp_path / "fiches" / "ENG.1.yaml").read_text(encoding="utf-8") == edited


def test_no_fiche_and_no_invariant_says_so():
    assert "Aucune fiche et aucun invariant pour l&#39;instant." in render_section([], True)
