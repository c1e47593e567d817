"""Fault injection: every write path killed after each of its steps leaves the old state or the new.

Each write runs in a subprocess with ``ANALYSE_CRASH_AFTER=k`` (see
:func:`analyse.fileio.step`), which ends the process abruptly (``os._exit``,
as ``kill -9`` would) at its k-th step. After each crash the store is opened
again (which finishes an interrupted multi-coder write and removes stale
temporary files) and the coder files must be exactly the old ones or exactly
the new ones (dates aside), every line whole, no temporary file left, and
``analyse validate`` passing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import pytest

from analyse.model.codings import CodingStore, coding_record, coverage_record
from analyse.model.corpus import load_corpus
from tests.helpers import run_cli

CRASHED = 137
RESULTS: dict[str, int] = {}


def _state(folder: Path) -> dict[str, list]:
    """Each coder file's lines without their dates; asserts every line is whole JSON."""
    out = {}
    for path in sorted(folder.glob("*.jsonl")):
        raw = path.read_bytes().decode("utf-8")
        assert raw == "" or raw.endswith("\n"), f"partial last line in {path.name}"
        recs = []
        for line in raw.split("\n")[:-1]:
            rec = json.loads(line)
            rec.pop("at", None)
            recs.append(rec)
        # a coder file is a set of records: their order in the file carries no meaning
        out[path.stem] = sorted(recs, key=lambda r: json.dumps(r, sort_keys=True, ensure_ascii=False))
    return out


def _replayed(folder: Path) -> dict[str, list]:
    """Each coder's current state: the replay of its log, without dates."""
    store = CodingStore(folder)
    return {coder: sorted((json.dumps({k: v for k, v in r.items() if k != "at"}, sort_keys=True, ensure_ascii=False)
                           for r in store.records(coder))) for coder in store.coders()}


def _old_or_new(got: dict, got_state: dict, old: dict, new: dict, new_state: dict) -> bool:
    """The old lines or the new ones, or else the new state with every old line kept (the log only grows).

    The new state is compared as replayed, not line by line: how many events a rewrite writes
    depends on the clock (a record re-added within the same second equals the old one and needs
    no event), the state they replay to does not.
    """
    if got in (old, new):
        return True
    key = lambda r: json.dumps(r, sort_keys=True, ensure_ascii=False)  # noqa: E731
    kept = all(not (Counter(map(key, old.get(c, []))) - Counter(map(key, got.get(c, [])))) for c in old)
    return kept and got_state == new_state


HEADER = textwrap.dedent("""\
    import os, sys
    os.chdir(sys.argv[1])
    from analyse.cli import main
    from analyse.model.codings import CodingStore, coding_record, coverage_record
    from analyse.model.corpus import load_corpus
    """)


class Done:
    def __init__(self, returncode: int, stdout: str = "", stderr: str = ""):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def _run(project: Path, code: str, env: dict, fresh: bool = False):
    """Run ``code`` in another process: a forked copy of this one (fast), or a fresh interpreter."""
    script = HEADER + textwrap.dedent(code)
    if fresh:
        return subprocess.run([sys.executable, "-c", script, str(project)], env={**os.environ, **env},
                              capture_output=True, text=True, timeout=300)
    out = project.parent / "child.out"
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        rc = 99
        try:
            sys.stdout = sys.stderr = open(out, "w", encoding="utf-8")
            os.environ.update(env)
            import analyse.fileio
            analyse.fileio._steps = 0
            sys.argv = ["-c", str(project)]
            exec(compile(script, "<write path>", "exec"), {"__name__": "__main__"})
            rc = 0
        except SystemExit as exc:
            rc = exc.code if isinstance(exc.code, int) else 0
        except BaseException:
            import traceback
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(rc)
    _, status = os.waitpid(pid, 0)
    text = out.read_text(encoding="utf-8", errors="replace")
    return Done(os.waitstatus_to_exitcode(status), text, text)


def crash_every_step(project: Path, code: str, name: str, fresh: bool = False) -> int:
    """Run ``code`` once to count its steps, then crash it after each; return the number of crash points."""
    folder = project / "corpus" / "codings"
    saved = project.parent / f"{project.name}-saved-codings"
    shutil.copytree(folder, saved)
    old = _state(folder)
    log = project.parent / f"{name}.steps"
    done = _run(project, code, {"ANALYSE_STEP_LOG": str(log)}, fresh)
    assert done.returncode == 0, done.stderr
    steps = log.read_text(encoding="utf-8").splitlines()
    new, new_state = _state(folder), _replayed(folder)
    assert new != old, "the write path changed nothing"
    assert len(steps) >= 2
    for k in range(1, len(steps) + 1):
        shutil.rmtree(folder)
        shutil.copytree(saved, folder)
        crashed = _run(project, code, {"ANALYSE_CRASH_AFTER": str(k)}, fresh)
        assert crashed.returncode == CRASHED, (k, crashed.stderr)
        store = CodingStore(folder)
        for coder in store.coders():
            store.read_lines(coder)                      # the next open recovers and cleans
        got = _state(folder)
        assert _old_or_new(got, _replayed(folder), old, new, new_state), \
            f"{name}: crash after step {k} ({steps[k - 1]}) left a mix"
        left = [p.name for p in folder.iterdir() if p.name.endswith((".tmp", ".journal.json"))]
        assert not left, f"{name}: crash after step {k} left {left}"
        code_rc, _ = run_cli(project, "validate")
        assert code_rc == 0, f"{name}: validate fails after a crash at step {k}"
    RESULTS[name] = len(steps)
    print(f"crash points {name}: {len(steps)} ({', '.join(steps)}) : old-or-new every time")
    return len(steps)


@pytest.fixture
def coded(project: Path) -> Path:
    corpus = load_corpus(project / "corpus")
    store = CodingStore(project / "corpus" / "codings")
    segs = corpus.segments_of("le-mene-test")
    store.append("A", [coding_record(segs[0], "ENG.1", "A", memo="premier"),
                       coding_record(segs[1], "SYS.1", "A"), coverage_record("le-mene-test", "A")])
    store.append("B", [coding_record(segs[0], "COOP.1", "B")])
    return project


PANEL = """
from analyse.ui.panel import CodingPanel
panel = CodingPanel("le-mene-test", "A", corpus="corpus", codebook="codebook/balises.yaml")
"""


@pytest.mark.parametrize("name, code", [
    ("append", """
        corpus = load_corpus("corpus")
        CodingStore("corpus/codings").append("A", [coding_record(corpus.segments[2], "VAL.1", "A")])
        """),
    ("panel-toggle-on", PANEL + 'panel.toggle("VAL.2")\n'),
    ("panel-toggle-off", PANEL + 'panel.toggle("ENG.1", False)\n'),
    ("panel-memo", PANEL + 'panel.set_memo("ENG.1", "relu\\u2028en réunion")\n'),
    ("panel-finish", PANEL + 'panel.go(2)\npanel.finish()\n'),
    ("append-two-coders", """
        corpus = load_corpus("corpus")
        s = corpus.segments[2]
        CodingStore("corpus/codings").append_many({"A": [coding_record(s, "VAL.1", "A")],
                                                   "B": [coding_record(s, "VAL.1", "B")],
                                                   "C": [coding_record(s, "VAL.1", "C")]})
        """),
])
def test_store_and_panel_writes(coded: Path, name: str, code: str):
    assert crash_every_step(coded, code, name) >= 2


def test_append_in_a_fresh_interpreter(coded: Path):
    code = """
        corpus = load_corpus("corpus")
        CodingStore("corpus/codings").append("A", [coding_record(corpus.segments[2], "VAL.1", "A")])
        """
    assert crash_every_step(coded, code, "append-fresh", fresh=True) == 2


def test_sheet_import(coded: Path):
    from openpyxl import load_workbook

    assert run_cli(coded, "sheet", "export", "--coder", "A", "--territory", "le-mene", "--out", "f.xlsx")[0] == 0
    wb = load_workbook(coded / "f.xlsx")
    ws = wb["segments"]
    header = [c.value for c in ws[1]]
    col = header.index("codes") + 1
    ws.cell(row=2, column=col, value="ENG.2; VAL.1")      # ENG.1 removed, two added
    ws.cell(row=4, column=col, value="COOP.3")
    wb.save(coded / "f.xlsx")
    n = crash_every_step(coded, 'sys.exit(main(["sheet", "import", "f.xlsx", "--coder", "A"]))', "sheet-import")
    assert n >= 2


def test_refi_import_into_two_coders(coded: Path):
    assert run_cli(coded, "refi", "export", "--out", "p.qdpx")[0] == 0
    n = crash_every_step(coded, 'sys.exit(main(["refi", "import", "p.qdpx", "--coder-map", "A=A2", "B=B2"]))',
                         "refi-import")
    assert n >= 5        # two temporary files, the journal, two renames


def test_reconcile_apply_replace(project: Path, tmp_path: Path):
    from tests.reliability.test_reconcile import _fill, two_coders

    two_coders(project)
    assert run_cli(project, "reconcile", "--coders", "A", "B", "--out", "d.csv")[0] == 0
    _fill(project / "d.csv", {("ENG.1", "le-mene-r1#2"): "oui", ("ENG.1", "malaunay-r2#1"): "oui",
                              ("VAL.1", "le-mene-r1#1"): "oui", ("VAL.1", "malaunay-r2#4"): "oui"})
    assert run_cli(project, "reconcile", "--apply", "d.csv")[0] == 0
    _fill(project / "d.csv", {("ENG.1", "le-mene-r1#2"): "non", ("ENG.1", "malaunay-r2#1"): "non",
                              ("VAL.1", "le-mene-r1#1"): "non", ("VAL.1", "malaunay-r2#4"): "non"})
    n = crash_every_step(project, 'sys.exit(main(["reconcile", "--apply", "d.csv", "--replace"]))',
                         "reconcile-replace")
    assert n >= 2


def test_repair_migration(coded: Path):
    folder = coded / "corpus" / "codings"
    recs = [json.loads(line) for line in (folder / "A.jsonl").read_text(encoding="utf-8").splitlines()]
    recs[0]["memo"] = "avant\u2028après"
    text = "".join(json.dumps(r, ensure_ascii=False).replace("\u2028", "\n") + "\n" for r in recs)
    (folder / "A.jsonl").write_text(text, encoding="utf-8")
    # the old state is the split file: rejoined in memory it reads as the repaired one, so compare bytes
    before = (folder / "A.jsonl").read_bytes()
    done = _run(coded, 'sys.exit(main(["repair"]))', {"ANALYSE_CRASH_AFTER": "1"})
    assert done.returncode == CRASHED
    assert (folder / "A.jsonl").read_bytes() == before
    done = _run(coded, 'sys.exit(main(["repair"]))', {})
    assert done.returncode == 0 and "1 enregistrement(s) recollé(s)" in done.stdout
    assert len((folder / "A.jsonl").read_text(encoding="utf-8").split("\n")) == len(recs) + 1


def test_mode_and_group_are_kept(coded: Path):
    store = CodingStore(coded / "corpus" / "codings")
    path = store.path("A")
    os.chmod(path, 0o664)
    gid = path.stat().st_gid
    corpus = load_corpus(coded / "corpus")
    store.append("A", [coding_record(corpus.segments[2], "VAL.1", "A")])
    assert path.stat().st_mode & 0o777 == 0o664 and path.stat().st_gid == gid
    os.chmod(path, 0o640)
    store.rewrite("A", lambda r: r.get("code") != "VAL.1")
    assert path.stat().st_mode & 0o777 == 0o640


def test_stale_temporary_files_are_cleaned_at_open(coded: Path):
    folder = coded / "corpus" / "codings"
    stale = folder / ".A.jsonl.abc123.tmp"
    stale.write_text("copie entière d'un ancien fichier\n", encoding="utf-8")
    CodingStore(folder).records("A")
    assert not stale.exists()


def test_a_new_coder_file_follows_the_umask_not_0600(coded: Path):
    from analyse.fileio import _UMASK

    store = CodingStore(coded / "corpus" / "codings")
    corpus = load_corpus(coded / "corpus")
    store.append("N", [coding_record(corpus.segments[0], "ENG.1", "N")])
    assert store.path("N").stat().st_mode & 0o777 == 0o666 & ~_UMASK
