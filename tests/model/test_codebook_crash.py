"""Codebook changes and the format migration are all or nothing under ``kill -9``: codebook, changelog, every coder file.

Each change (rename, merge, split, retire --into) runs in a child process
killed (``os._exit``, as ``kill -9`` would) after each of its steps (see
:func:`analyse.fileio.step`). After each crash the project is opened again
(``analyse validate``, which finishes an interrupted switch or drops its
leftovers) and the codebook YAML, the changelog and the coder files must be
the old ones everywhere or the new ones everywhere — never the new codebook
with old codings or the reverse — with no temporary file or journal left.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from analyse.model.codings import CodingStore, coding_record
from analyse.model.corpus import load_corpus
from tests.helpers import make_codebook, run_cli
from tests.model.test_codebook_edit import _code
from tests.model.test_crash_safety import CRASHED, _run, _state

RESULTS: dict[str, int] = {}


@pytest.fixture
def proj(project: Path) -> Path:
    make_codebook(project / "codebook" / "balises.yaml",
                  extra=[_code("ENG.M1"), _code("ENG.D1", parent="ENG.M1", kind="dispositif"), _code("ENG.M2")])
    corpus = load_corpus(project / "corpus")
    store = CodingStore(project / "corpus" / "codings")
    s = {x.id: x for x in corpus.segments}
    store.append("A", [coding_record(s["le-mene-test#1"], "ENG.M1", "A", memo="premier"),
                       coding_record(s["le-mene-test#2"], "ENG.M1", "A"),
                       coding_record(s["le-mene-test#1"], "ENG.M2", "A", memo="second"),
                       coding_record(s["malaunay-test#2"], "ENG.D1", "A")])
    store.append("B", [coding_record(s["le-mene-test#2"], "ENG.M1", "B"),
                       coding_record(s["le-mene-test#3"], "ENG.M2", "B")])
    store.append("C", [coding_record(s["malaunay-test#1"], "ENG.M2", "C", memo="troisième")])
    return project


def _project_state(project: Path) -> dict:
    cb = project / "codebook"
    changelog = cb / "CHANGELOG.md"
    return {"codebook": (cb / "balises.yaml").read_text(encoding="utf-8"),
            "changelog": changelog.read_text(encoding="utf-8") if changelog.exists() else None,
            "codings": _state(project / "corpus" / "codings")}


def _leftovers(project: Path) -> list[str]:
    return sorted(str(p.relative_to(project)) for p in project.rglob(".*")
                  if p.name.endswith((".tmp", ".journal.json")))


def crash_codebook_change(project: Path, args: list[str], name: str) -> int:
    saved = project.parent / f"{project.name}-saved"
    shutil.copytree(project, saved)
    old = _project_state(project)
    log = project.parent / f"{name}.steps"
    code = f"sys.exit(main({args!r}))"
    done = _run(project, code, {"ANALYSE_STEP_LOG": str(log)})
    assert done.returncode == 0, done.stderr
    steps = log.read_text(encoding="utf-8").splitlines()
    new = _project_state(project)
    assert new["codebook"] != old["codebook"] and new["codings"] != old["codings"]
    assert len(steps) >= 5, steps
    for k in range(1, len(steps) + 1):
        shutil.rmtree(project)
        shutil.copytree(saved, project)
        crashed = _run(project, code, {"ANALYSE_CRASH_AFTER": str(k)})
        assert crashed.returncode == CRASHED, (k, crashed.stderr)
        rc, _ = run_cli(project, "validate")          # the next open finishes or drops the change
        got = _project_state(project)
        assert got == old or got == new, f"{name}: crash after step {k} ({steps[k - 1]}) left a mix"
        assert rc == 0, f"{name}: validate fails after a crash at step {k}"
        assert not _leftovers(project), f"{name}: crash after step {k} left {_leftovers(project)}"
    RESULTS[name] = len(steps)
    print(f"crash points {name}: {len(steps)} ({', '.join(steps)}) : old-or-new everywhere every time")
    return len(steps)


@pytest.mark.parametrize("name, args", [
    ("rename", ["codebook", "rename", "ENG.M1", "ENG.M7", "--author", "Claire"]),
    ("merge", ["codebook", "merge", "ENG.M2", "--into", "ENG.M1"]),
    ("split", ["codebook", "split", "ENG.M1", "--rule", "ENG.M1.1=bonjour", "--rule", "ENG.M1.2=.",
               "--kind", "dispositif"]),
    ("retire", ["codebook", "retire", "ENG.M2", "--into", "ENG.1"]),
])
def test_codebook_change_is_all_or_nothing(proj: Path, name: str, args: list[str]):
    # up to three coder files, the codebook and the changelog: the journal (prepare, commit), a temporary
    # file and a rename each, the journal removed
    assert crash_codebook_change(proj, args, name) >= 11


def test_format_migration_is_all_or_nothing(project: Path):
    from tests.model.test_crash_safety import crash_every_step

    corpus = load_corpus(project / "corpus")
    store = CodingStore(project / "corpus" / "codings")
    for coder in ("A", "B", "C"):        # format 1: no codebook_version
        store.append(coder, [coding_record(corpus.segments[0], "ENG.1", coder),
                             coding_record(corpus.segments[1], "SYS.1", coder)])
    n = crash_every_step(project, 'sys.exit(main(["migrate", "--codebook-version", "1.0.0"]))', "migrate")
    assert n >= 7          # three temporary files, the journal, three renames
