"""The audit trail: coder files are append-only event logs whose replay is the current state.

- replaying the bundled corpus gives exactly the codings the old reader gave (every line a coding);
- random sequences of writes give, replayed, the state the old rewrite-in-place semantics gave;
- un-ticking then re-ticking leaves two events; sheet imports, reconciliations write events;
- ``kill -9`` at random moments of a stream of writes: no partial line, nothing acknowledged lost;
- ``analyse history`` and ``analyse migrate``.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest

from analyse.model.codebook import load_codebook
from analyse.model.codings import (TRACE_FIELDS, CodingStore, coding_record, coverage_record, load_codings,
                                   replay)
from analyse.model.corpus import load_corpus
from analyse.ui.panel import CodingPanel
from tests.helpers import ROOT, run_cli

KEY = ("doc", "start", "end", "code", "memo", "valence", "origin")


def _as_rows(recs) -> Counter:
    return Counter(tuple(str(r.get(k) or "") for k in KEY) for r in recs)


def _plain(rec: dict) -> dict:
    return {k: v for k, v in rec.items() if k not in TRACE_FIELDS}


# ----------------------------------------------------------------------------- replay = old semantics
def test_replaying_the_bundled_corpus_gives_the_codings_of_the_old_reader():
    """The old reader took every line without "type" as a coding: the replay must give exactly those."""
    corpus = load_corpus(ROOT / "corpus")
    book = load_codebook(ROOT / "codebook" / "balises.yaml")
    codings = load_codings(corpus, book, ROOT / "corpus" / "codings")
    assert not codings.problems.errors
    old, cover = [], set()
    for path in sorted((ROOT / "corpus" / "codings").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").split("\n"):
            if not line.strip():
                continue
            rec = json.loads(line)
            if rec.get("type") == "coverage":
                cover.add((path.stem, rec["doc"]))
            else:
                old.append({**rec, "valence": rec.get("valence") or "à l'œuvre"})
    frame = codings.frame.to_dict(orient="records")
    assert len(frame) == len(old) == 2204
    assert _as_rows(frame) == _as_rows(old)
    assert set(zip(codings.coverage["coder"], codings.coverage["doc"])) == cover


def test_random_writes_replay_to_the_state_of_the_old_semantics(project: Path):
    """Old semantics: replace(old, new) deleted the lines equal to ``old`` and appended ``new``."""
    corpus = load_corpus(project / "corpus")
    store = CodingStore(project / "corpus" / "codings")
    rng = random.Random(18)
    segs = corpus.segments
    codes = ["ENG.1", "ENG.2", "SYS.1", "VAL.1", "COOP.3"]
    expected: list[dict] = []
    for step in range(120):
        current = [r for r in store.records("A") if r.get("type") is None]
        action = rng.choice(["add", "add", "remove", "memo", "valence", "rewrite"]) if current else "add"
        if action == "add":
            rec = coding_record(rng.choice(segs), rng.choice(codes), "A", memo=rng.choice(["", "vu"]),
                                at=f"2026-01-01T00:00:{step % 60:02d}+00:00")
            if any(r["doc"] == rec["doc"] and r["start"] == rec["start"] and r["code"] == rec["code"]
                   for r in expected):
                continue                   # a coder never ticks a ticked code (the panel refuses)
            store.append("A", [rec])
            expected.append(rec)
            continue
        target = rng.choice(current)
        if action == "remove":
            store.replace("A", [target], [], origin="panel")
            expected = [r for r in expected if _plain(r) != _plain(target)]
        elif action == "memo":
            new = dict(target, memo=f"mémo {step}\u2028suite")
            store.replace("A", [target], [new], origin="panel")
            expected = [new if _plain(r) == _plain(target) else r for r in expected]
        elif action == "valence":
            new = dict(target, valence=rng.choice(["mise en échec", "contestée"]))
            store.replace("A", [target], [new], origin="sheet", reason="feuille")
            expected = [new if _plain(r) == _plain(target) else r for r in expected]
        else:
            code = rng.choice(codes)
            store.rewrite("A", lambda r, code=code: r.get("code") != code)
            expected = [r for r in expected if r["code"] != code]
    got = [_plain(r) for r in store.records("A")]
    assert sorted(map(json.dumps, got)) == sorted(json.dumps(_plain(r)) for r in expected)
    lines = store.read_lines("A")
    assert len(lines) > len(got)                      # removals are events: the log only grows
    assert not load_codings(corpus, None, store.folder).problems.errors


def test_untick_and_retick_leave_two_events(project: Path):
    corpus = load_corpus(project / "corpus")
    book = load_codebook(project / "codebook" / "balises.yaml")
    store = CodingStore(project / "corpus" / "codings")
    panel = CodingPanel("le-mene-test", "B", corpus=corpus, codebook=book, store=store)
    panel.toggle("ENG.1")
    before = store.read_lines("B")
    panel.toggle("ENG.1")          # un-tick
    panel.toggle("ENG.1")          # re-tick
    lines = [json.loads(x) for x in store.read_lines("B")]
    assert store.read_lines("B")[:len(before)] == before            # nothing rewritten
    assert [(r.get("type"), r.get("code")) for r in lines[len(before):]] == [("removed", "ENG.1"), (None, "ENG.1")]
    assert lines[len(before)]["origin"] == "panel" and lines[len(before)]["coder"] == "B"
    assert [r["code"] for r in store.records("B")] == ["ENG.1"]
    panel.set_memo("ENG.1", "relu")
    panel.set_valence("ENG.1", "contestée")
    last = [json.loads(x) for x in store.read_lines("B")][-2:]
    assert [(r["type"], r.get("memo"), r.get("valence")) for r in last] == [("memo", "relu", None),
                                                                           ("valence", None, "contestée")]
    (rec,) = store.records("B")
    assert rec["memo"] == "relu" and rec["valence"] == "contestée"
    code, out = run_cli(project, "history", "le-mene-test#1")
    assert code == 0


def test_history_of_a_segment_a_code_and_a_coder(project: Path, capsys):
    corpus = load_corpus(project / "corpus")
    book = load_codebook(project / "codebook" / "balises.yaml")
    store = CodingStore(project / "corpus" / "codings")
    panel = CodingPanel("le-mene-test", "B", corpus=corpus, codebook=book, store=store)
    panel.toggle("ENG.1")
    panel.toggle("ENG.1")
    panel.toggle("SYS.1")
    panel.set_memo("SYS.1", "à revoir")
    panel.finish()
    code, out = run_cli(project, "history", "le-mene-test#1", capsys=capsys)
    assert code == 0
    header = out.out.splitlines()[0].split()
    assert header == ["quand", "qui", "quoi", "code", "segment", "origine", "raison"]
    assert "codage ajouté" in out.out and "codage retiré" in out.out and "mémo : « à revoir »" in out.out
    assert "panneau" in out.out and "4 événement(s) pour le segment « le-mene-test#1 »" in out.out
    code, out = run_cli(project, "history", "ENG.1", "--json", capsys=capsys)
    rows = json.loads(out.out)
    assert [r["what"] for r in rows] == ["codage ajouté", "codage retiré"]
    code, out = run_cli(project, "history", "B", capsys=capsys)
    assert "document terminé" in out.out and "5 événement(s) pour le codeur « B »" in out.out
    code, out = run_cli(project, "history", "XYZ#9", capsys=capsys)
    assert code == 2 and "ni un codeur, ni un segment" in out.err


def test_sheet_import_writes_events_not_deletions(project: Path, tmp_path: Path):
    import csv

    from analyse.exchange.sheet import COLUMNS, export_sheet, import_sheet

    corpus = load_corpus(project / "corpus")
    book = load_codebook(project / "codebook" / "balises.yaml")
    store = CodingStore(project / "corpus" / "codings")
    seg = corpus.segments_of("malaunay-test")[0]
    store.append("B", [coding_record(seg, "ENG.1", "B", memo="à garder")])
    before = store.read_lines("B")
    out = tmp_path / "b.csv"
    export_sheet(corpus, book, store, "B", out, docs=["malaunay-test"])
    with open(out, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    rows[1][COLUMNS.index("codes")] = "VAL.2"              # ENG.1 replaced by VAL.2
    with open(out, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    result, counts = import_sheet(out, "B", corpus, book, store)
    assert counts["removed"] == 1 and counts["added"] == 1
    lines = [json.loads(x) for x in store.read_lines("B")]
    assert store.read_lines("B")[:len(before)] == before
    removed = [r for r in lines if r.get("type") == "removed"]
    assert [(r["code"], r["origin"], r["reason"]) for r in removed] == [("ENG.1", "sheet", "import de la feuille b.csv")]
    assert sorted(r["code"] for r in store.records("B") if r.get("type") is None) == ["VAL.2"]


def test_reconciliation_keeps_every_decision_and_its_reason(project: Path, capsys):
    from tests.reliability.test_reconcile import _fill, two_coders

    two_coders(project)
    assert run_cli(project, "reconcile", "--coders", "A", "B", "--out", "d.csv")[0] == 0
    _fill(project / "d.csv", {("ENG.1", "le-mene-r1#2"): "non", ("ENG.1", "malaunay-r2#1"): "oui",
                              ("VAL.1", "le-mene-r1#1"): "oui", ("VAL.1", "malaunay-r2#4"): "non"})
    assert run_cli(project, "reconcile", "--apply", "d.csv")[0] == 0
    store = CodingStore(project / "corpus" / "codings")
    decisions = {(r["code"], r["doc"], r["decision"]): r for _, r in store.history("consensus")
                 if r.get("type") == "decision"}
    assert set(decisions) == {("ENG.1", "le-mene-r1", "non"), ("ENG.1", "malaunay-r2", "oui"),
                              ("VAL.1", "le-mene-r1", "oui"), ("VAL.1", "malaunay-r2", "non")}
    rejected = decisions[("ENG.1", "le-mene-r1", "non")]
    assert rejected["reason"] == "relu en réunion" and rejected["coders"] == {"A": True, "B": False}
    code, out = run_cli(project, "history", "le-mene-r1#2", capsys=capsys)
    assert code == 0 and "décision : écarté (codé par A)" in out.out and "relu en réunion" in out.out
    # a rejected code is not a coding: the state does not have it
    assert not [r for r in store.records("consensus") if r.get("code") == "ENG.1" and r["doc"] == "le-mene-r1"
                and r["start"] > 0 and r.get("type") is None and r.get("quote", "").startswith("Paragraphe 2")]


def test_history_follows_a_renamed_code(project: Path, capsys):
    from tests.helpers import make_codebook
    from tests.model.test_codebook_edit import _code

    make_codebook(project / "codebook" / "balises.yaml", extra=[_code("ENG.M1")])
    corpus = load_corpus(project / "corpus")
    store = CodingStore(project / "corpus" / "codings")
    store.append("A", [coding_record(corpus.segments[0], "ENG.M1", "A", memo="premier")])
    assert run_cli(project, "codebook", "rename", "ENG.M1", "ENG.M7", "--author", "Claire")[0] == 0
    code, out = run_cli(project, "history", "ENG.M1", capsys=capsys)
    assert code == 0 and "codage retiré" in out.out and "A (Claire)" in out.out and "grille" in out.out
    assert "renommage ENG.M1 → ENG.M7" in out.out
    (rec,) = store.records("A")
    assert rec["code"] == "ENG.M7" and rec["memo"] == "premier" and rec["codebook_version"] == "0.1.0"
    assert rec["coded_at"] <= rec["at"]


def test_validate_checks_the_event_lines(project: Path, capsys):
    from analyse.model.codings import event_record

    corpus = load_corpus(project / "corpus")
    store = CodingStore(project / "corpus" / "codings")
    rec = coding_record(corpus.segments[0], "ENG.1", "A")
    ghost = coding_record(corpus.segments[1], "SYS.1", "A")
    lines = [rec, event_record("removed", ghost, origin="panel"),             # 2: names no coding (warning)
             dict(event_record("memo", rec, origin="ailleurs"), memo="x"),     # 3: unknown origin
             dict(event_record("valence", rec, origin="panel"), valence="peut-être"),   # 4: unknown valence
             {"type": "renamed", "doc": rec["doc"]},                             # 5: unknown line type
             dict(event_record("removed", rec, origin="panel"), coder="B")]     # 6: another coder's event
    store.path("A").write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), encoding="utf-8")
    code, out = run_cli(project, "validate", capsys=capsys)
    assert code == 1
    assert "A.jsonl:2: attention: événement « removed » sur un codage SYS.1" in out.out
    assert "A.jsonl:3: erreur: origine d'événement « ailleurs » inconnue" in out.out
    assert "A.jsonl:4: erreur: valence inconnue" in out.out
    assert "A.jsonl:5: erreur: type de ligne inconnu « renamed »" in out.out
    assert "A.jsonl:6: erreur: codeur « B » dans le fichier de A" in out.out
    assert "1 codages par 1 codeur(s)" in out.out          # the invalid events changed nothing


# ----------------------------------------------------------------------------- kill -9, for real
WRITER = textwrap.dedent("""\
    import sys
    from analyse.model.codings import CodingStore, coding_record
    from analyse.model.corpus import load_corpus
    corpus = load_corpus(sys.argv[1] + "/corpus")
    store = CodingStore(sys.argv[1] + "/corpus/codings")
    segs = corpus.segments
    i = int(sys.argv[2])
    while True:
        seg = segs[i % len(segs)]
        rec = coding_record(seg, "ENG.1", "A", memo=f"n{i}\\u2028suite", at="2026-01-01T00:00:00+00:00")
        if i % 2 == 0:
            store.append("A", [rec])
        else:
            prev = coding_record(segs[(i - 1) % len(segs)], "ENG.1", "A", memo=f"n{i - 1}\\u2028suite",
                                 at="2026-01-01T00:00:00+00:00")
            store.replace("A", [prev], [], origin="panel")
        print(i, flush=True)          # acknowledged: the write returned
        i += 1
    """)


def test_kill_9_during_a_stream_of_writes_loses_nothing_acknowledged(project: Path):
    folder = project / "corpus" / "codings"
    rng = random.Random(20)
    done = 0
    kills = 12
    for _ in range(kills):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(project), str(done)], stdout=subprocess.PIPE,
                                text=True, env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
        first = proc.stdout.readline()                 # started: kill it at a random moment of its writes
        time.sleep(rng.uniform(0.0, 0.4))
        os.kill(proc.pid, signal.SIGKILL)
        acked = (first + proc.stdout.read()).split()
        proc.wait()
        raw = (folder / "A.jsonl").read_bytes().decode("utf-8") if (folder / "A.jsonl").exists() else ""
        assert raw == "" or raw.endswith("\n"), "partial last line"
        lines = raw.split("\n")[:-1] if raw else []
        recs = [json.loads(x) for x in lines]                     # every line whole
        # one line per write: every acknowledged write is there, at most one more (killed after its rename)
        done_now = done + len(acked)
        assert done_now <= len(recs) <= done_now + 1, (done, len(acked), len(recs))
        done = len(recs)
        state = replay(enumerate(recs, start=1)).records()
        assert len(state) == done % 2                              # added, removed, added, removed…
    assert done >= kills
    print(f"kill -9: {kills} kills during {done} writes: no partial line, nothing acknowledged lost")
    assert run_cli(project, "validate")[0] == 0


# ----------------------------------------------------------------------------- migrate
def test_migrate_upgrades_old_files_once_and_old_files_still_load(project: Path, capsys):
    corpus = load_corpus(project / "corpus")
    store = CodingStore(project / "corpus" / "codings")
    segs = corpus.segments
    old = [coding_record(segs[0], "ENG.1", "A", memo="avant\u2028après"), coding_record(segs[1], "SYS.1", "A"),
           coverage_record(segs[0].doc, "A")]
    # a file of format 1 as an old version left it: no codebook_version, a record split at U+2028
    text = "".join(json.dumps(r, ensure_ascii=False).replace("\u2028", "\n") + "\n" for r in old)
    store.path("A").write_text(text, encoding="utf-8")
    before = load_codings(corpus, None, store.folder)
    assert len(before.frame) == 2 and before.notes and "analyse migrate" in before.notes[0]
    code, out = run_cli(project, "validate", capsys=capsys)
    assert code == 0 and "ancien format" in out.out and "`analyse migrate`" in out.out
    code, out = run_cli(project, "migrate", "--codebook-version", "1.0.0", capsys=capsys)
    assert code == 0 and "2 codage(s) reçoivent la version de grille « 1.0.0 », 1 enregistrement(s) recollé(s)" in out.out
    lines = [json.loads(x) for x in store.path("A").read_text(encoding="utf-8").split("\n")[:-1]]
    assert len(lines) == 3 and lines[0]["memo"] == "avant\u2028après"
    assert [r.get("codebook_version") for r in lines] == ["1.0.0", "1.0.0", None]
    after = load_codings(corpus, None, store.folder)
    assert not after.notes
    cols = ["doc", "start", "end", "code", "memo"]
    assert after.frame[cols].equals(before.frame[cols])
    raw = store.path("A").read_bytes()
    code, out = run_cli(project, "migrate", capsys=capsys)
    assert code == 0 and "rien à migrer" in out.out and store.path("A").read_bytes() == raw
    code, out = run_cli(project, "validate", capsys=capsys)
    assert "ancien format" not in out.out


def test_exports_and_retrieval_see_the_replayed_state(project: Path, capsys):
    import zipfile

    corpus = load_corpus(project / "corpus")
    store = CodingStore(project / "corpus" / "codings")
    kept = coding_record(corpus.segments[0], "SYS.1", "A")
    gone = coding_record(corpus.segments[1], "ENG.1", "A")
    store.append("A", [kept, gone])
    store.replace("A", [gone], [], origin="panel")
    assert run_cli(project, "refi", "export", "--out", "p.qdpx")[0] == 0
    with zipfile.ZipFile(project / "p.qdpx") as z:
        xml = z.read("project.qde").decode("utf-8")
    assert xml.count("<PlainTextSelection ") == 1
    code, out = run_cli(project, "retrieve", "ENG.1", capsys=capsys)
    assert code == 0 and "0 codage(s)" in out.out
    code, out = run_cli(project, "retrieve", "SYS.1", capsys=capsys)
    assert "1 codage(s)" in out.out


def test_a_refi_import_records_the_codebook_version(project: Path):
    corpus = load_corpus(project / "corpus")
    store = CodingStore(project / "corpus" / "codings")
    store.append("A", [coding_record(corpus.segments[0], "SYS.1", "A")])
    assert run_cli(project, "refi", "export", "--out", "p.qdpx")[0] == 0
    assert run_cli(project, "refi", "import", "p.qdpx", "--coder-map", "A=A2")[0] == 0
    (rec,) = store.records("A2")
    assert rec["code"] == "SYS.1" and rec["codebook_version"] == load_codebook(
        project / "codebook" / "balises.yaml").version
