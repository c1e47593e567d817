"""Documents that gather several territories, and inline timecodes in corpus documents."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from analyse.analysis.invariants import coded_material
from analyse.analysis.spread import build_design, observed_spread
from analyse.analysis.stats import corpus_summary
from analyse.model.codebook import load_codebook
from analyse.model.codings import load_codings
from analyse.model.corpus import load_corpus, segments_frame
from tests.helpers import make_codebook, write_doc

INTER = textwrap.dedent("""\
    ---
    id: inter-pairs
    title: "Atelier entre pairs"
    territory: {territory}
    kind: transcript
    atelier: cooperation
    date: 2019-03-01
    language: fr
    synthetic: true
    participants:
      - {{id: ANIM, name: "Bruno Essai", role: animateur}}
      - {{id: P1, name: "Nadine Testu", role: elu, territory: le-mene}}
      - {{id: P2, name: "Hervé Essai", role: services, territory: {p2}}}
    ---
    **ANIM** : Chacun présente son territoire.

    **P1** : [00:01:05] Au Mené, on a commencé par l'énergie.

    **P2** : [00:02:10-00:02:40] À Malaunay, par l'éclairage public.
    """)


def inter_corpus(tmp_path: Path, territory: str = "inter-territoires", p2: str = "malaunay") -> Path:
    corpus = tmp_path / "corpus"
    write_doc(corpus, "le-mene", "le-mene-test")
    (corpus / "malaunay").mkdir()
    write_doc(corpus, "inter-territoires", "inter-pairs", INTER.format(territory=territory, p2=p2))
    return corpus


def test_segments_take_their_speakers_territory_downstream(tmp_path: Path):
    corpus_dir = inter_corpus(tmp_path)
    corpus = load_corpus(corpus_dir)
    assert not corpus.problems, [str(p) for p in corpus.problems]
    assert corpus.territories == ["le-mene", "malaunay"]
    frame = segments_frame(corpus)
    inter = frame[frame["doc"] == "inter-pairs"]
    assert inter["territory"].tolist() == [None, "le-mene", "malaunay"]
    assert inter["start_time"].tolist() == [None, "00:01:05", "00:02:10"]
    assert inter["end_time"].tolist() == [None, None, "00:02:40"]

    codings_dir = corpus_dir / "codings"
    codings_dir.mkdir()
    segs = {s.id: s for s in corpus.segments}
    lines = []
    for sid, code in (("inter-pairs#1", "COOP.1"), ("inter-pairs#2", "ENG.1"), ("inter-pairs#3", "ENG.1"),
                      ("le-mene-test#1", "ENG.1")):
        s = segs[sid]
        lines.append({"doc": s.doc, "start": s.start, "end": s.end, "quote": s.text, "code": code, "coder": "A",
                      "at": "2024-01-01T00:00:00", "origin": "human", "score": None, "memo": ""})
    lines += [{"type": "coverage", "doc": d, "coder": "A", "at": "2024-01-01T00:00:00"}
              for d in ("inter-pairs", "le-mene-test")]
    (codings_dir / "A.jsonl").write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines),
                                         encoding="utf-8")
    book = load_codebook(make_codebook(tmp_path / "balises.yaml"))
    codings = load_codings(corpus, book, codings_dir)
    assert not codings.problems.errors
    by_segment = dict(zip(codings.frame["segment"], codings.frame["territory"]))
    assert by_segment["inter-pairs#2"] == "le-mene" and by_segment["inter-pairs#3"] == "malaunay"

    material = coded_material(corpus, codings, "A")
    where = dict(zip(material.segments["segment"], material.segments["territory"]))
    assert where["inter-pairs#2"] == "le-mene" and where["inter-pairs#3"] == "malaunay"
    # The facilitator speaks for no territory: left out of the comparison, and said so.
    assert "inter-pairs#1" not in where and "inter-pairs#1" not in set(material.codes["segment"])
    assert any("sans territoire" in n for n in material.notes)
    assert material.territories == ["le-mene", "malaunay"]
    design = build_design(material.segments, material.codes)
    assert design.n_parts == 3                      # inter-pairs@le-mene, inter-pairs@malaunay, le-mene-test
    assert sorted(design.territories[t] for t in design.part_territory) == ["le-mene", "le-mene", "malaunay"]
    freq = observed_spread(design).set_index("code")
    assert freq.loc["ENG.1", "segments"] == 3 and freq.loc["ENG.1", "territories"] == 2

    summary = corpus_summary(corpus)
    assert set(summary["territory"]) == {"le-mene", "malaunay", "inter-territoires"}
    assert int(summary["segments"].sum()) == len(corpus.segments)

    only = corpus.subset(["malaunay"])
    assert [s.id for s in only.segments] == ["inter-pairs#3"]


def test_listed_territories(tmp_path: Path):
    corpus = load_corpus(inter_corpus(tmp_path, territory="[le-mene, malaunay]"))
    assert not corpus.problems
    assert corpus.documents["inter-pairs"].territories == ["le-mene", "malaunay"]


def test_french_errors_for_inter_territory_documents(tmp_path: Path):
    corpus = load_corpus(inter_corpus(tmp_path, territory="[le-mene, grande-synthe]"))
    [problem] = corpus.problems.errors
    assert "territoire inconnu 'malaunay'" in problem.message and problem.line == 13

    text = INTER.format(territory="inter-territoires", p2="malaunay").replace(", territory: le-mene", "")
    corpus = load_corpus(write_doc(tmp_path / "c2", "inter-territoires", "inter-pairs", text).parent.parent)
    [problem] = corpus.problems.errors
    assert "participant P1 (Nadine Testu) sans territoire dans un document inter-territoires" in problem.message

    corpus = load_corpus(write_doc(tmp_path / "c3", "le-mene", "inter-pairs",
                                   INTER.format(territory="[le-mene, malaunay]", p2="malaunay")).parent.parent)
    assert "rangé dans le dossier 'le-mene'" in corpus.problems.errors[0].message

    text = INTER.format(territory="le-mene", p2="malaunay").replace("role: animateur", "role: animateur, territory: le-mene")
    corpus = load_corpus(write_doc(tmp_path / "c4", "le-mene", "inter-pairs", text).parent.parent)
    [problem] = corpus.problems.errors
    assert "territoire 'malaunay' différent de celui du document 'le-mene'" in problem.message
    assert "inter-territoires" in problem.hint


def test_bundled_documents_keep_their_segments(tmp_path: Path):
    """Timecode parsing adds fields only: ids, offsets and texts of the bundled corpus are unchanged."""
    root = Path(__file__).resolve().parents[2] / "corpus"
    corpus = load_corpus(root)
    assert not corpus.problems.errors
    own = [s for s in corpus.segments if corpus.documents[s.doc].territory != "inter-territoires"]
    assert all(s.start_time is None and s.territory == corpus.documents[s.doc].territory for s in own)
    assert all(corpus.documents[s.doc].body[s.start:s.end] == s.text for s in corpus.segments)


def test_a_territory_without_folder_is_flagged(tmp_path: Path):
    corpus = load_corpus(inter_corpus(tmp_path, p2="malaunai"))
    [warning] = corpus.problems.warnings
    assert "territoire inconnu 'malaunai'" in warning.message and not corpus.problems.errors
