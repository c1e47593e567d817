"""Fault injection on the write paths the first harness did not reach: Taguette import, accepting and
rejecting a suggestion (from the API and from the panel), memos, an emergent code appended to the
codebook, fiches, a whole REFI-QDA project import, a transcript import with its pseudonym table, the
panel's valence, a first reconciliation, a decisions file rewritten with --force.

Same method as :mod:`tests.model.test_crash_safety`: the write runs in a child process with
``ANALYSE_CRASH_AFTER=k`` and dies (``os._exit``, as ``kill -9``) at its k-th step; then the files are
opened again as a user would (which finishes or drops an interrupted write and removes stale temporary
files) and every watched file must be exactly its old state or its new one (dates and random ids
aside), every line whole, no temporary or write-ahead file left, and ``analyse validate`` passing.
Unlike the first harness, the state watched here spans several folders (coder files, suggestion
decisions, memos, codebook, fiches), since these paths write outside the codings folder.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from analyse.model.codings import CodingStore, coding_record, coverage_record
from analyse.model.corpus import load_corpus
from tests.helpers import run_cli
from tests.model.test_crash_safety import CRASHED, _run

RESULTS: dict[str, int] = {}
LEFTOVERS = (".tmp", ".journal.json", ".accepting.json")


def _file_state(path: Path):
    raw = path.read_bytes().decode("utf-8")
    if path.suffix == ".jsonl":
        assert raw == "" or raw.endswith("\n"), f"partial last line in {path}"
        recs = []
        for line in raw.split("\n")[:-1]:
            rec = json.loads(line)
            for volatile in ("at", "id"):       # dates, and the random id of a memo
                rec.pop(volatile, None)
            recs.append(json.dumps(rec, sort_keys=True, ensure_ascii=False))
        return sorted(recs)
    if path.suffix in (".yaml", ".yml"):
        return yaml.safe_load(raw)              # must parse whole
    return raw


def _state(project: Path, watched: list[str]) -> dict:
    out = {}
    for rel in watched:
        root = project / rel
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else []
        for path in files:
            if path.name.endswith(".lock") or path.name.endswith(LEFTOVERS):
                continue
            out[str(path.relative_to(project))] = _file_state(path)
    return out


def _leftovers(project: Path, watched: list[str]) -> list[str]:
    left = []
    for rel in watched:
        root = project / rel
        folder = root if root.is_dir() else root.parent
        left += [str(p.relative_to(project)) for p in folder.rglob("*") if p.name.endswith(LEFTOVERS)]
    # a write across folders keeps its journal in the project's root
    left += [p.name for p in project.glob(".*") if p.is_file() and p.name.endswith(LEFTOVERS)]
    return sorted(set(left))


def crash_every_step(project: Path, code: str, name: str, watched: list[str], reopen, valid: bool = True) -> int:
    """Count the steps of ``code``, then crash it after each one; ``reopen(project)`` is the next user.

    ``valid``: the project passes ``validate`` before and after the write (else the crash must
    leave validate's verdict on the old or the new state unchanged).
    """
    saved = project.parent / f"{project.name}-saved"
    shutil.copytree(project, saved, symlinks=True)
    old = _state(project, watched)
    rc_old, _ = run_cli(project, "validate")
    log = project.parent / f"{name}.steps"
    done = _run(project, code, {"ANALYSE_STEP_LOG": str(log)})
    assert done.returncode == 0, done.stderr
    steps = log.read_text(encoding="utf-8").splitlines()
    reopen(project)
    new = _state(project, watched)
    rc_new, _ = run_cli(project, "validate")
    assert new != old, "the write path changed nothing"
    if valid:
        assert rc_old == rc_new == 0, (rc_old, rc_new)
    assert len(steps) >= 2, steps
    for k in range(1, len(steps) + 1):
        shutil.rmtree(project)
        shutil.copytree(saved, project, symlinks=True)
        crashed = _run(project, code, {"ANALYSE_CRASH_AFTER": str(k)})
        assert crashed.returncode == CRASHED, (k, crashed.stderr)
        reopen(project)
        got = _state(project, watched)
        assert got in (old, new), f"{name}: crash after step {k} ({steps[k - 1]}) left a mix"
        assert not _leftovers(project, watched), f"{name}: crash after step {k} left {_leftovers(project, watched)}"
        # validate says what it says of the state the crash left (0 on most paths; a test's
        # placeholder fiche, for one, is reported before and after alike)
        rc, _ = run_cli(project, "validate")
        assert rc == (rc_old if got == old else rc_new), f"{name}: validate changed after a crash at step {k}"
    RESULTS[name] = len(steps)
    print(f"crash points {name}: {len(steps)} ({', '.join(steps)}) : old-or-new every time")
    return len(steps)


def _reopen_store(project: Path) -> None:
    store = CodingStore(project / "corpus" / "codings")
    for coder in store.coders():
        store.read_lines(coder)


@pytest.fixture
def coded(project: Path) -> Path:
    corpus = load_corpus(project / "corpus")
    store = CodingStore(project / "corpus" / "codings")
    segs = corpus.segments_of("le-mene-test")
    store.append("A", [coding_record(segs[0], "ENG.1", "A", memo="premier"),
                       coding_record(segs[1], "SYS.1", "A"), coverage_record("le-mene-test", "A")])
    store.append("B", [coding_record(segs[0], "COOP.1", "B")])
    return project


# --------------------------------------------------------------------------- Taguette import

@pytest.mark.parametrize("coder", ["A", "T"])       # into an existing coder file, and into a new one
def test_taguette_import(coded: Path, coder: str):
    from tests.exchange.test_taguette import fake_export

    text = load_corpus(coded / "corpus").documents["le-mene-test"].body
    s1, s2 = text.index("accents"), text.index("café")
    fake_export(coded / "t.sqlite3", text, [(s1, s1 + 7, ["ENG.2", "VAL.1"]), (s2, s2 + 4, ["COOP.3"])],
                name="le-mene-test")
    code = f'sys.exit(main(["refi", "import", "t.sqlite3", "--coder-map", "admin={coder}"]))'
    assert crash_every_step(coded, code, f"taguette-import-{coder}", ["corpus/codings"], _reopen_store) >= 2


# --------------------------------------------------------------------------- accepting suggestions

def _suggestions(project: Path) -> Path:
    from analyse.coding.suggestions import SuggestionFile

    corpus = load_corpus(project / "corpus")
    recs = []
    for seg, code in [(corpus.segments_of("le-mene-test")[2], "VAL.2"), (corpus.segments_of("le-mene-test")[1], "ECH"),
                      (corpus.segments_of("malaunay-test")[0], "MGT")]:
        recs.append({"doc": seg.doc, "start": seg.start, "end": seg.end, "quote": seg.text, "code": code,
                     "coder": "rule", "at": "2026-11-30T10:00:00+00:00", "origin": "rule", "score": 0.7,
                     "memo": "règles : « test »", "segment": seg.id})
    path = project / "outputs" / "suggestions" / "le-mene.jsonl"
    SuggestionFile(path).write(recs)
    SuggestionFile(path).reject([(corpus.segments_of("malaunay-test")[0].id, "MGT")], coder="A", reason="non")
    return path


def _reopen_suggestions(project: Path) -> None:
    from analyse.coding.suggestions import SuggestionFile

    SuggestionFile(project / "outputs" / "suggestions" / "le-mene.jsonl").pending()
    _reopen_store(project)


WATCH_SUGGESTIONS = ["corpus/codings", "outputs/suggestions"]


def test_accept_suggestions(coded: Path):
    _suggestions(coded)
    code = """
        from analyse.coding.suggestions import SuggestionFile
        sf = SuggestionFile("outputs/suggestions/le-mene.jsonl")
        sf.accept([("le-mene-test#3", "VAL.2"), ("le-mene-test#2", "ECH")], coder="A",
                  corpus=load_corpus("corpus"), codings_folder="corpus/codings")
        """
    assert crash_every_step(coded, code, "suggestion-accept", WATCH_SUGGESTIONS, _reopen_suggestions) >= 4


def test_accept_from_the_panel(coded: Path):
    _suggestions(coded)
    code = """
        from analyse.ui.panel import CodingPanel
        panel = CodingPanel("le-mene-test", "A", corpus="corpus", codebook="codebook/balises.yaml",
                            suggestions="outputs/suggestions/le-mene.jsonl")
        panel.go(2)
        assert [s["code"] for s in panel.pending_suggestions()] == ["VAL.2"]
        panel.accept("VAL.2")
        """
    assert crash_every_step(coded, code, "panel-accept", WATCH_SUGGESTIONS, _reopen_suggestions) >= 4


def test_reject_suggestion(coded: Path):
    _suggestions(coded)
    code = """
        from analyse.coding.suggestions import SuggestionFile
        SuggestionFile("outputs/suggestions/le-mene.jsonl").reject([("le-mene-test#3", "VAL.2")], coder="A")
        """
    assert crash_every_step(coded, code, "suggestion-reject", WATCH_SUGGESTIONS, _reopen_suggestions) >= 2


def test_an_accepted_suggestion_is_never_coded_twice_after_a_crash(coded: Path):
    """The crash the write-ahead file is for: coding written, decision not yet logged."""
    from analyse.coding.suggestions import SuggestionFile

    path = _suggestions(coded)
    code = """
        from analyse.coding.suggestions import SuggestionFile
        SuggestionFile("outputs/suggestions/le-mene.jsonl").accept([("le-mene-test#3", "VAL.2")], coder="A",
                   corpus=load_corpus("corpus"), codings_folder="corpus/codings")
        """
    log = coded.parent / "accept.steps"
    _run(coded, code, {"ANALYSE_STEP_LOG": str(log)})
    steps = log.read_text(encoding="utf-8").splitlines()
    after_coder_file = next(i for i, s in enumerate(steps, 1) if s.endswith("rename A.jsonl"))
    shutil.rmtree(coded / "outputs")
    (coded / "corpus" / "codings" / "A.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n"
                for r in CodingStore(coded / "corpus" / "codings").records("A") if r.get("code") != "VAL.2"),
        encoding="utf-8")
    _suggestions(coded)
    assert _run(coded, code, {"ANALYSE_CRASH_AFTER": str(after_coder_file)}).returncode == CRASHED
    sf = SuggestionFile(path)
    assert sf.intent_path.exists()
    assert "VAL.2" not in set(sf.pending()["code"])          # finished at the next open
    assert not sf.intent_path.exists()
    n = sf.accept([("le-mene-test#3", "VAL.2")], coder="A", corpus=load_corpus(coded / "corpus"),
                  codings_folder=coded / "corpus" / "codings")
    vals = [r for r in CodingStore(coded / "corpus" / "codings").records("A") if r.get("code") == "VAL.2"]
    assert n == 0 and len(vals) == 1


# --------------------------------------------------------------------------- memos, codebook, fiches

def _reopen_memos(project: Path) -> None:
    from analyse.model.memos import MemoStore

    MemoStore(project / "corpus" / "memos.jsonl").records()


def test_memo_add(coded: Path):
    from analyse.model.memos import MemoStore

    MemoStore(coded / "corpus" / "memos.jsonl").add("project", "", "journal : début", "Claire")
    code = 'sys.exit(main(["memo", "add", "--on", "segment:le-mene-test#2", "--author", "Claire", ' \
           '"relu\\u2028en réunion"]))'
    assert crash_every_step(coded, code, "memo-add", ["corpus/memos.jsonl"], _reopen_memos) >= 2


def test_emergent_code_appended_to_the_codebook(coded: Path):
    code = """
        from analyse.model.codebook import append_code
        append_code("codebook/balises.yaml", {"id": "EMG.test", "label": "Émergent", "dimension": "ENG",
                    "kind": "concept", "status": "emergent", "definition": "Un code candidat.",
                    "include": ["a"], "exclude": ["b"], "examples": ["c", "d"], "keywords": ["mot"]})
        """

    def reopen(project: Path) -> None:
        # the next writer of the codebook removes what a killed one left (readers never touch it:
        # codebook writers that do not take its lock yet could be mid-write)
        from analyse.model.codebook import clean_codebook_temps, load_codebook
        clean_codebook_temps(project / "codebook" / "balises.yaml")
        load_codebook(project / "codebook" / "balises.yaml")

    assert crash_every_step(coded, code, "codebook-append-emergent", ["codebook"], reopen) >= 2


def test_fiches_prefilled_together(coded: Path):
    code = """
        import pandas as pd
        from analyse.privacy.fiches import prefill_fiches
        from tests.privacy.test_fiches import _table, _verbatims
        table = pd.concat([_table(), _table().assign(code=["VAL.1", "VAL.2"], **{"class": "invariant"})])
        prefill_fiches("fiches", table, pd.concat([_verbatims(), _verbatims().assign(code="VAL.1")]))
        """
    (coded / "fiches").mkdir()
    (coded / "fiches" / "ENG.2.yaml").write_text("code: ENG.2\n", encoding="utf-8")   # never rewritten

    def reopen(project: Path) -> None:
        from analyse.privacy.fiches import load_fiches
        load_fiches(project / "fiches")

    # the placeholder fiche and the test's made-up verbatims are reported by validate, before and after
    assert crash_every_step(coded, code, "fiches-prefill", ["fiches"], reopen, valid=False) >= 5


# --------------------------------------------------------------------------- a whole REFI-QDA project

def _reopen_project(project: Path) -> None:
    from analyse.project import Project
    Project.load(project)           # every command opens the project this way
    _reopen_store(project)


def test_whole_refi_project_import(coded: Path, tmp_path: Path):
    """Documents, candidate codes, memos and two coders' codings come in together, or nothing does."""
    from analyse.exchange.refi import export_project
    from analyse.model.codebook import load_codebook
    from analyse.model.memos import MemoStore
    from tests.helpers import FRONT_MATTER, make_codebook, write_doc

    # another team's project: a document we lack, a code we lack, memos, codings by two users
    other = tmp_path / "autre"
    (other / "corpus" / "codings").mkdir(parents=True)
    (other / "codebook").mkdir()
    make_codebook(other / "codebook" / "balises.yaml", extra=[{
        "id": "ENG.M5", "label": "Porte-à-porte", "dimension": "ENG", "kind": "mode", "parent": "ENG.1",
        "definition": "Aller chez les gens.", "include": ["a"], "exclude": ["b"], "examples": ["c", "d"],
        "keywords": ["porte"]}])
    write_doc(other / "corpus", "le-mene", "le-mene-autre", FRONT_MATTER.format(id="le-mene-autre", territory="le-mene")
              + "**P1 (élue)** : On a frappé à chaque porte du bourg.\n\nEt les gens sont venus.\n\n"
                "**P2 (DGS)** : Il a fallu payer les heures.\n")
    corpus = load_corpus(other / "corpus")
    seg = corpus.segments_of("le-mene-autre")
    store = CodingStore(other / "corpus" / "codings")
    store.append("X", [coding_record(seg[0], "ENG.M5", "X", memo="à revoir"), coding_record(seg[1], "SYS.1", "X")])
    store.append("Y", [coding_record(seg[2], "VAL.2", "Y")])
    MemoStore(other / "corpus" / "memos.jsonl").add("document", "le-mene-autre", "Atelier du soir.", "Marie")
    export_project(corpus, load_codebook(other / "codebook" / "balises.yaml"), coded / "autre.qdpx",
                   other / "corpus" / "codings")
    MemoStore(coded / "corpus" / "memos.jsonl").add("project", "", "journal : début", "Claire")
    code = 'sys.exit(main(["refi", "import", "autre.qdpx", "--territory", "le-mene"]))'
    watched = ["corpus", "codebook"]
    n = crash_every_step(coded, code, "refi-whole-project", watched, _reopen_project)
    assert n >= 10
    assert (coded / "corpus" / "le-mene" / "le-mene-autre.md").is_file()     # the new state is complete
    assert load_codebook(coded / "codebook" / "balises.yaml").emergent
    assert {"X", "Y"} <= set(CodingStore(coded / "corpus" / "codings").coders())


def test_transcript_import_with_its_pseudonym_table(coded: Path):
    """The pseudonymised document and the table of real names land together, or neither does."""
    from tests.helpers import ROOT

    shutil.copy(ROOT / "tests" / "data" / "import" / "noms.txt", coded / "noms.txt")
    code = ('sys.exit(main(["import", "noms.txt", "--territory", "le-mene", "--date", "2024-03-01", '
            '"--pseudonymise"]))')
    n = crash_every_step(coded, code, "import-pseudonymise", ["corpus/le-mene", ".balises-prive"], _reopen_project)
    assert n >= 5
    assert len(list((coded / ".balises-prive").glob("pseudonymes-*.json"))) == 1


# --------------------------------------------------------------------------- panel valence, first reconciliation

def test_panel_valence(coded: Path):
    code = """
        from analyse.ui.panel import CodingPanel
        panel = CodingPanel("le-mene-test", "A", corpus="corpus", codebook="codebook/balises.yaml")
        panel.set_valence("ENG.1", "contestée")
        """
    assert crash_every_step(coded, code, "panel-valence", ["corpus/codings"], _reopen_store) >= 2


def test_reconcile_apply_as_consensus(project: Path):
    from tests.reliability.test_reconcile import _fill, two_coders

    two_coders(project)
    assert run_cli(project, "reconcile", "--coders", "A", "B", "--out", "d.csv")[0] == 0
    _fill(project / "d.csv", {("ENG.1", "le-mene-r1#2"): "oui", ("ENG.1", "malaunay-r2#1"): "non",
                              ("VAL.1", "le-mene-r1#1"): "oui", ("VAL.1", "malaunay-r2#4"): "A"})
    code = 'sys.exit(main(["reconcile", "--apply", "d.csv", "--as", "consensus"]))'
    assert crash_every_step(project, code, "reconcile-apply", ["corpus/codings"], _reopen_store) >= 2


def test_decisions_file_rewritten_with_force(project: Path):
    """`reconcile --out d.csv --force` replaces a decisions file the team may have filled: whole or not at all."""
    from tests.reliability.test_reconcile import _fill, two_coders

    two_coders(project)
    assert run_cli(project, "reconcile", "--coders", "A", "B", "--out", "d.csv")[0] == 0
    _fill(project / "d.csv", {("ENG.1", "le-mene-r1#2"): "oui"})
    code = 'sys.exit(main(["reconcile", "--coders", "A", "B", "--out", "d.csv", "--force"]))'

    def next_write(project: Path) -> None:
        # nothing opens a file written where the user chose: its next export removes what a killed one left
        from analyse.fileio import clean_temps
        clean_temps(project / "d.csv")
        _reopen_store(project)

    assert crash_every_step(project, code, "reconcile-out-force", ["d.csv"], next_write) >= 2
    stale = project / ".d.csv.abc123.tmp"
    stale.write_text("copie partielle", encoding="utf-8")
    assert run_cli(project, "reconcile", "--coders", "A", "B", "--out", "d.csv", "--force")[0] == 0
    assert not stale.exists()
