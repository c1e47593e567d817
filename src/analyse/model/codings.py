"""The codings store: ``corpus/codings/<coder>.jsonl``, one file per coder.

Each line is a JSON object. A *coding* line::

    {"doc": "le-mene-valeur", "start": 120, "end": 342, "quote": "…", "code": "VAL.6",
     "coder": "A", "at": "2026-11-26T10:00:00+00:00", "origin": "human", "score": null, "memo": ""}

and a *coverage* line records that a coder has fully coded a document, so that
an uncoded segment inside it means "no code applies" rather than "not read"::

    {"type": "coverage", "doc": "le-mene-valeur", "coder": "A", "at": "…"}

A coder file is an append-only *event log*: a coding line is the event
"coding added" (so files written before the log existed load unchanged), and
event lines record what happened to a coding afterwards, naming it by its
document, span and code::

    {"type": "removed", "doc": "…", "start": 120, "end": 342, "code": "VAL.6", "coder": "A",
     "at": "…", "origin": "panel", "reason": "…", "by": "Claire"}
    {"type": "memo", …, "memo": "nouveau mémo"}       {"type": "valence", …, "valence": "contestée"}
    {"type": "decision", …, "decision": "non", "reason": "…"}   (a reconciliation decision, no change)

The current state is the replay of the log (:func:`replay`); every reader
goes through it (:meth:`CodingStore.records`, :func:`load_codings`). No line
is ever removed or changed by a write: un-ticking a code, a sheet import, a
reconciliation or a codebook migration append events. The files are research
data: they are only ever rewritten whole, under a lock, through a temporary
file renamed over the old one (existing lines, then the new ones), so a crash
or two concurrent writers never lose a line and a reader never sees half of
one. The quote is kept so that a coding whose
text moved (a correction above it) is found again and reported as moved.

Why this module is long: the store (locked, all-or-nothing writes, recovery
of interrupted writes, repair of records split by old versions) and the
validating reader share the record format and are read together when one of
them changes; splitting them would scatter that format over two modules.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import re
from bisect import bisect_right
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from analyse.model.codebook import Codebook
from analyse.model.corpus import Corpus, Segment
from analyse import fileio
from analyse.errors import CodingsError, Problems, UsageError
from analyse.messages import msg
from analyse.textutil import fr_json_error

if TYPE_CHECKING:     # pandas only where a table is built: the batch's parent lists coders without it (≈ 0.4 s)
    import pandas as pd

CODER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
# "llm": made by a language-model agent working as a coder from a written brief (illustrative corpus).
ORIGINS = ("human", "rule", "model", "llm", "model-assisted")   # model-assisted: accepted from a suggestion
# Suggestion sources: their lines belong in suggestion files, never in a coder's file.
MACHINE_CODERS = ("rule", "model")
CODING_FIELDS = ("doc", "start", "end", "quote", "code", "coder", "at", "origin", "score", "memo")
LOCK_TIMEOUT_S = 60

CODINGS_COLUMNS = ["coder", "doc", "segment", "territory", "start", "end", "code", "dimension",
                   "origin", "score", "memo", "at", "quote", "path", "line", "moved", "valence"]
# How a coding says the balise stands in that segment: at work (the default, field absent),
# told as failing, or disputed by a speaker (see codebook/README.md, « Valence »).
VALENCES = ("à l'œuvre", "mise en échec", "contestée")
# How a valence is typed after a code id in a sheet cell or a memo line: ENG.1!échec, ENG.1!contestée.
VALENCE_MARKS = {"échec": "mise en échec", "echec": "mise en échec", "mise en échec": "mise en échec",
                 "contestée": "contestée", "contestee": "contestée"}


VALENCE_MEMO = re.compile(r"^\[valence\s*:\s*(?P<v>[^\]]+)\]\s*")


def memo_with_valence(memo: str, valence: str | None) -> str:
    """A memo carrying the valence for tools that have no field for it (REFI-QDA): ``[valence : …] memo``."""
    if not valence or valence == VALENCES[0]:
        return memo or ""
    return f"[valence : {valence}] {memo or ''}".rstrip()


def split_valence_memo(text: str | None) -> tuple[str, str]:
    """``(memo, valence)`` from a memo written by :func:`memo_with_valence` (else the default valence).

    >>> split_valence_memo("[valence : contestée] pas d'accord"), split_valence_memo("note")
    (("pas d'accord", 'contestée'), ('note', "à l'œuvre"))
    """
    m = VALENCE_MEMO.match(text or "")
    if not m or m.group("v").strip() not in VALENCES:
        return text or "", VALENCES[0]
    return (text or "")[m.end():], m.group("v").strip()


def code_token(code: str, valence: str | None = None) -> str:
    """``ENG.1`` or ``ENG.1!échec`` / ``ENG.1!contestée``: a coding's code as typed in a sheet."""
    if not valence or valence == VALENCES[0]:
        return code
    return f"{code}!{'échec' if valence == 'mise en échec' else 'contestée'}"


def parse_code_token(token: str) -> tuple[str, str | None]:
    """``(code, valence)`` from ``ENG.1``, ``ENG.1!échec``, ``ENG.1 ! contestee``…; valence None if unknown.

    >>> parse_code_token("VAL.2 !echec"), parse_code_token("MGT")
    (('VAL.2', 'mise en échec'), ('MGT', "à l'œuvre"))
    """
    code, _, mark = token.partition("!")
    if not mark.strip():
        return code.strip(), VALENCES[0]
    return code.strip(), VALENCE_MARKS.get(mark.strip().lower())
COVERAGE_COLUMNS = ["coder", "doc", "at"]

# Event lines of the log (a coding line without "type" is the event "coding added").
EVENT_TYPES = ("removed", "memo", "valence", "decision")
# Where an event (or a coding added by a replacement) comes from, with its French name for `analyse history`.
EVENT_ORIGINS = {"panel": "panneau", "sheet": "feuille", "reconcile": "réconciliation", "codebook": "grille",
                 "import": "import", "migrate": "migration", "api": "programme"}
EVENT_FIELDS = ("type", "doc", "start", "end", "code", "coder", "at", "origin")
KNOWN_TYPES = (None, "coverage", *EVENT_TYPES)


def coding_key(rec: dict) -> tuple:
    """What names a coding in its coder's log: document, span and code."""
    return tuple(v if isinstance(v, (str, int, float, type(None))) else json.dumps(v, sort_keys=True, default=str)
                 for v in (rec.get("doc"), rec.get("start"), rec.get("end"), rec.get("code")))


def event_record(kind: str, coding: dict, *, origin: str, reason: str = "", by: str = "",
                 at: str | None = None, **values) -> dict:
    """An event line about ``coding`` (a coding record): ``removed``, ``memo``, ``valence`` or ``decision``."""
    if kind not in EVENT_TYPES:
        raise ValueError(kind)
    rec = {"type": kind, "doc": coding.get("doc"), "start": coding.get("start"), "end": coding.get("end"),
           "code": coding.get("code"), "coder": coding.get("coder"), "at": at or now_iso(), "origin": origin}
    rec.update(values)
    if reason:
        rec["reason"] = reason
    if by:
        rec["by"] = by
    return rec


@dataclass
class Replay:
    """The state a coder's log gives: live codings and coverage, each with the line that added it.

    ``orphans`` are events naming a coding that was not there (written by hand,
    or by two tools racing); they change nothing and are reported by ``validate``.
    """

    codings: list[tuple[int, dict]] = field(default_factory=list)
    coverage: list[tuple[int, dict]] = field(default_factory=list)
    events: list[tuple[int, dict]] = field(default_factory=list)
    orphans: list[tuple[int, dict]] = field(default_factory=list)

    def records(self) -> list[dict]:
        """Live codings and the last coverage line of each document, in the order of the log."""
        return [rec for _, rec in sorted(self.codings + self.coverage, key=lambda item: item[0])]


def replay(entries) -> Replay:
    """Replay a log: ``entries`` are ``(line number, record)`` in file order (other lines are ignored).

    Examples
    --------
    >>> add = {"doc": "d", "start": 0, "end": 5, "quote": "abcde", "code": "ENG.1", "coder": "A",
    ...        "at": "2026-01-01T00:00:00+00:00", "origin": "human", "score": None, "memo": ""}
    >>> log = [add, event_record("removed", add, origin="panel"), add, event_record("memo", add, origin="panel",
    ...        memo="vu")]
    >>> [r["memo"] for r in replay(enumerate(log, start=1)).records()]
    ['vu']
    """
    live: dict[tuple, list[tuple[int, dict]]] = {}
    coverage: dict[str, tuple[int, dict]] = {}
    out = Replay()
    for lineno, rec in entries:
        if not isinstance(rec, dict):
            continue
        kind = rec.get("type")
        if kind == "coverage":
            coverage.pop(rec.get("doc"), None)
            coverage[rec.get("doc")] = (lineno, rec)
            continue
        if kind in EVENT_TYPES:
            out.events.append((lineno, rec))
            key = coding_key(rec)
            if kind == "decision":
                continue
            if key not in live:
                out.orphans.append((lineno, rec))
            elif kind == "removed":
                del live[key]
            elif kind == "memo":
                live[key] = [(n, dict(r, memo=rec.get("memo") or "")) for n, r in live[key]]
            else:
                valence = rec.get("valence")
                live[key] = [(n, {**{k: v for k, v in r.items() if k != "valence"},
                                  **({"valence": valence} if valence and valence != VALENCES[0] else {})})
                             for n, r in live[key]]
            continue
        if kind is not None:
            continue                   # an unknown line type: reported by load_codings, never replayed
        live.setdefault(coding_key(rec), []).append((lineno, rec))
    out.codings = sorted((item for items in live.values() for item in items), key=lambda item: item[0])
    out.coverage = sorted(coverage.values(), key=lambda item: item[0])
    return out


TRACE_FIELDS = ("via", "reason")      # how a line came in: not part of the coding itself


def _core_key(rec: dict, also=()) -> str:
    return _record_key({k: v for k, v in rec.items() if k not in TRACE_FIELDS and k not in also})


def _differs_only_in(a: dict, b: dict, fields=("memo", "valence")) -> bool:
    return _core_key(a, fields) == _core_key(b, fields)


def change_events(current: list[dict], old: list[dict], new: list[dict], *, origin: str, reason: str = "",
                  by: str = "", at: str | None = None) -> list[dict]:
    """The lines that turn ``old`` into ``new`` in a log whose replayed state is ``current``.

    A record of ``old`` missing from ``new`` is removed (an event), unless a
    record of ``new`` is the same coding with another memo or valence (a memo
    or valence event); it is left alone when it is no longer in ``current``
    (someone changed it meanwhile). Records of ``new`` not in ``old`` are
    added (coding lines, marked with where they come from); the coverage lines
    of ``new`` are always written (when the document was done again). A
    coverage line is never withdrawn.
    """
    at = at or now_iso()
    old_keys = {_core_key(r) for r in old}
    new_keys = {_core_key(r) for r in new}
    live = {_core_key(r) for r in current}
    # a coverage line given again is written again: it says when the document was (re)done
    added = [r for r in new if _core_key(r) not in old_keys or r.get("type") == "coverage"]
    out, consumed, removed_keys = [], set(), set()
    for rec in old:
        k = _core_key(rec)
        if k in new_keys or rec.get("type") == "coverage" or k not in live:
            continue
        twin = next((i for i, a in enumerate(added) if i not in consumed and a.get("type") is None
                     and coding_key(a) == coding_key(rec) and _differs_only_in(a, rec)), None)
        if twin is not None:
            consumed.add(twin)
            a = added[twin]
            if (a.get("memo") or "") != (rec.get("memo") or ""):
                out.append(event_record("memo", rec, origin=origin, reason=reason, by=by, at=at,
                                        memo=a.get("memo") or ""))
            if (a.get("valence") or VALENCES[0]) != (rec.get("valence") or VALENCES[0]):
                out.append(event_record("valence", rec, origin=origin, reason=reason, by=by, at=at,
                                        valence=a.get("valence") or VALENCES[0]))
        elif coding_key(rec) not in removed_keys:
            removed_keys.add(coding_key(rec))
            out.append(event_record("removed", rec, origin=origin, reason=reason, by=by, at=at))
    for i, rec in enumerate(added):
        if i in consumed:
            continue
        if rec.get("type") is None and origin != "api":
            rec = {**rec, "via": origin, **({"reason": reason} if reason and "reason" not in rec else {})}
        out.append(rec)
    return out


def now_iso() -> str:
    """Current UTC time as ISO 8601 with seconds."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def check_coder_id(coder: str) -> str:
    if not CODER_ID.match(coder or ""):
        raise UsageError(msg("cod.bad_coder_id", coder=coder), hint=msg("cod.bad_coder_id_hint"))
    return coder


def coding_record(segment: Segment, code: str, coder: str, *, memo: str = "", origin: str = "human",
                  score: float | None = None, at: str | None = None,
                  start: int | None = None, end: int | None = None, body: str | None = None,
                  valence: str | None = None, codebook_version: str | None = None) -> dict:
    """A coding line for a whole segment (or a span of it when ``start``/``end`` and ``body`` are given).

    ``valence`` is written only when it is not the default (*à l'œuvre*); ``codebook_version`` (the
    version of the codebook the coder worked with) when given — lines without either stay valid.
    """
    s = segment.start if start is None else start
    e = segment.end if end is None else end
    quote = segment.text if (start is None and end is None) else body[s:e]
    rec = {"doc": segment.doc, "start": s, "end": e, "quote": quote, "code": code,
           "coder": coder, "at": at or now_iso(), "origin": origin,
           "score": None if origin == "human" else score, "memo": memo}
    if valence and valence != VALENCES[0]:
        rec["valence"] = valence
    if codebook_version:
        rec["codebook_version"] = str(codebook_version)
    return rec


def coverage_record(doc: str, coder: str, at: str | None = None) -> dict:
    return {"type": "coverage", "doc": doc, "coder": coder, "at": at or now_iso()}


def _record_key(rec: dict) -> str:
    return json.dumps(rec, sort_keys=True, ensure_ascii=False)


class CodingStore:
    """The folder of coder files, with locked, atomic writes.

    Every write reads the coder's file, computes its new content and replaces
    it in one rename under the coder's lock (several coders: one journal, see
    :func:`analyse.fileio.atomic_write_many`), so a crash at any point leaves
    the old content or the new, never a mix. Opening a file for reading or
    writing first finishes an interrupted multi-file write and removes the
    temporary files a killed writer left.

    Parameters
    ----------
    folder : path
        Usually ``corpus/codings``.
    """

    def __init__(self, folder: str | Path = "corpus/codings", corpus: Corpus | None = None):
        self.folder = Path(folder)
        self.corpus = corpus      # helps rejoin records an old reader split (see repair)
        self.repaired: dict[str, list[int]] = {}

    def path(self, coder: str) -> Path:
        return self.folder / f"{check_coder_id(coder)}.jsonl"

    def coders(self) -> list[str]:
        if not self.folder.is_dir():
            return []
        return sorted(p.stem for p in self.folder.glob("*.jsonl") if CODER_ID.match(p.stem))

    def misnamed(self) -> list[Path]:
        """``.jsonl`` files of the folder whose name is not a coder id (e.g. ``C D.jsonl``)."""
        if not self.folder.is_dir():
            return []
        return sorted(p for p in self.folder.glob("*.jsonl") if not CODER_ID.match(p.stem))

    def _lock(self, coder: str):
        from filelock import FileLock   # here: reading and validating codings takes no lock

        return FileLock(str(self.path(coder)) + ".lock", timeout=LOCK_TIMEOUT_S)

    @contextmanager
    def _locked(self, coders):
        """Hold the locks of ``coders`` (sorted, so two writers cannot deadlock)."""
        from filelock import Timeout

        with ExitStack() as stack:
            for coder in sorted(set(coders)):
                lock = self._lock(coder)
                try:
                    stack.enter_context(lock)
                except Timeout:
                    raise CodingsError(
                        f"le fichier du codeur {coder} est verrouillé depuis plus de {LOCK_TIMEOUT_S} s",
                        self.path(coder),
                        hint="un autre programme l'écrit : réessayer dans un moment ; si rien ne tourne, "
                             f"supprimer {self.path(coder).name}.lock") from None
                except OSError as exc:
                    raise CodingsError(f"impossible de verrouiller le fichier du codeur {coder} : "
                                       f"{exc.strerror or exc}", self.path(coder),
                                       hint="vérifier les droits d'écriture sur le dossier des codages") from None
            yield

    def pending(self) -> list[Path]:
        """Journals of interrupted multi-coder writes in the folder (normally none)."""
        return fileio.journals(self.folder)

    def recover(self) -> list[str]:
        """Finish any interrupted multi-coder write (under the locks of its coders).

        A write across folders (a codebook change, a project import) is
        finished by :meth:`analyse.project.Project.recover` (its journal is in
        the project's folder).
        """
        done = []
        for journal in fileio.journals(self.folder):
            coders = [Path(target).stem for _, target in fileio.journal_plan(journal)]
            coders = [c for c in coders if CODER_ID.match(c)]
            with self._locked(coders):
                done += fileio.replay(journal)
        return done

    def _clean(self, coder: str) -> None:
        fileio.clean_temps(self.path(coder))

    def _read(self, coder: str) -> list[str]:
        """The lines of a coder's file (caller holds the lock or accepts a snapshot)."""
        return self._read_parsed(coder)[0]

    def _read_parsed(self, coder: str) -> tuple[list[str], list | None]:
        """:meth:`_read`, with each line's JSON object (``None`` for a blank line) when every line is
        one: the check for records split by an old reader parses every line, so its parse is kept."""
        path = self.path(coder)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return [], []
        except OSError as exc:
            raise CodingsError(f"impossible de lire le fichier du codeur {coder} : {exc.strerror or exc}", path,
                               hint="vérifier les droits de lecture du fichier") from None
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = raw[:exc.start].count(b"\n") + 1
            raise CodingsError("le fichier des codages n'est pas en UTF-8", path, line,
                               hint="l'enregistrer en UTF-8 (ou le restaurer depuis une sauvegarde)") from None
        lines = fileio.split_lines(text)
        objects = _objects(lines)
        # every line an object (nearly always): nothing an old reader split, rejoin_split_lines would
        # return the lines as they are
        lines, repaired = (lines, []) if objects is not None else fileio.rejoin_split_lines(lines)
        if repaired:
            if self.corpus is not None:
                lines = _choose_separators(fileio.split_lines(text), self.corpus)
            self.repaired[coder] = repaired
        else:
            self.repaired.pop(coder, None)
        if not _SEPARATOR.search(text):
            return lines, objects
        # a raw U+2028 (written by an old version) can only sit inside a JSON string: escape it
        # (the objects are the same: escaped or not, the string decodes to the same text)
        return [_escaped(line) for line in lines], objects

    def read_lines(self, coder: str) -> list[str]:
        """The lines of a coder's file (``\\n`` only ends a line; records split by an old reader rejoined).

        Raises :class:`CodingsError` (in French) for a file that is not UTF-8.
        """
        return self.read_parsed(coder)[0]

    def read_parsed(self, coder: str) -> tuple[list[str], list | None]:
        """:meth:`read_lines` and, when every line is a JSON object, those objects (``None`` for a
        blank line), so that a reader does not parse the file twice (see :func:`json_lines`)."""
        if self.pending():
            self.recover()
        self._clean_if_idle()
        return self._read_parsed(coder)

    def _clean_if_idle(self) -> None:
        """Remove the temporary files killed writers left, for each file no writer holds now."""
        if not self.folder.is_dir():
            return
        for target in sorted({tmp.name[1:].split(".jsonl.")[0] for tmp in self.folder.glob(".*.jsonl.*.tmp")}):
            if not CODER_ID.match(target):
                continue
            from filelock import FileLock, Timeout   # only when a temporary file was left

            path = self.path(target)
            try:
                with FileLock(str(path) + ".lock", timeout=0):
                    fileio.clean_temps(path)
            except (Timeout, OSError):
                pass   # a writer is at work (its temporary file is not stale) or the folder is read-only

    def update_many(self, changes: dict, also: dict | None = None, root: str | Path | None = None,
                    prepare=None) -> dict[str, int]:
        """Rewrite several coders' files together; ``changes`` maps a coder to ``f(lines) -> lines``.

        Under the coders' locks, each file is read, transformed and written to
        a temporary file; then all are switched together (journal). Returns
        how many lines each file gained (only a format migration or a repair
        writes fewer). ``also`` adds files of other folders (``{path: text}``:
        the codebook and its changelog, a project's documents) to the same
        all-or-nothing write, journalled in ``root`` (see
        :func:`analyse.fileio.atomic_write_across`); ``prepare()`` runs first,
        under the locks (the caller's last checks).
        """
        if not changes and not also:
            return {}
        if self.pending():
            self.recover()
        self.folder.mkdir(parents=True, exist_ok=True)
        delta = {}
        with self._locked(changes):
            if prepare is not None:
                prepare()
            contents = {}
            for coder, change in sorted(changes.items()):
                self._clean(coder)
                before = [line for line in self._read(coder) if line.strip()]
                after = [line for line in change(list(before)) if line.strip()]
                delta[coder] = len(after) - len(before)
                if after != before or self.repaired.get(coder):
                    contents[self.path(coder)] = "".join(line + "\n" for line in after)
            try:
                if also:
                    fileio.atomic_write_across({**also, **contents}, root)
                else:
                    fileio.atomic_write_many(contents)
            except OSError as exc:
                raise CodingsError(f"écriture impossible : {exc.strerror or exc} ; rien n'a été modifié",
                                   self.folder, hint="vérifier la place libre sur le disque et les droits "
                                                     "d'écriture du dossier des codages") from None
        return delta

    def update(self, coder: str, change) -> int:
        return self.update_many({coder: change}).get(coder, 0)

    def append(self, coder: str, records: list[dict]) -> int:
        """Add records to a coder's file; return how many were written.

        The file is rewritten whole under a lock (temp file + rename), so a
        reader never sees a half-written line and a concurrent writer's lines
        are kept.
        """
        return self.append_many({coder: records}).get(coder, 0)

    def _check_owner(self, coder: str, records: list[dict]) -> None:
        for rec in records:
            if rec.get("coder") != coder:
                raise CodingsError(msg("cod.wrong_file", other=rec.get("coder"), coder=coder), self.path(coder))

    def append_many(self, records: dict[str, list[dict]], also: dict | None = None,
                    root: str | Path | None = None) -> dict[str, int]:
        """Add records to several coders' files together; return how many each got.

        Every file is locked (in a fixed order, so two importers cannot
        deadlock) and its new content written to a temporary file before any is
        renamed into place: a failure while preparing (disk full, a bad record)
        leaves every coder's file as it was, and a crash during the renames is
        finished at the next open.
        """
        todo = {c: recs for c, recs in sorted(records.items()) if recs}
        for coder, recs in todo.items():
            self._check_owner(coder, recs)
        if not todo:
            if also:
                fileio.atomic_write_across(also, root)
            return {}
        lines = {coder: [fileio.dumps_line(r) for r in recs] for coder, recs in todo.items()}
        self.update_many({coder: (lambda old, new=new: old + new) for coder, new in lines.items()}, also, root)
        return {coder: len(recs) for coder, recs in todo.items()}

    def entries(self, coder: str) -> list[tuple[int, dict]]:
        """Every JSON object line of a coder's log with its line number (unreadable lines skipped)."""
        return list(_parsed(self.read_lines(coder)))

    def records(self, coder: str) -> list[dict]:
        """The current state of a coder's file: the replay of its log (codings and coverage).

        Events are not returned (see :meth:`entries`); unreadable lines are skipped here, and never rewritten.
        """
        return replay(self.entries(coder)).records()

    def history(self, coder: str) -> list[tuple[int, dict]]:
        """The log of a coder as ``(line, record)``: additions, events and coverage, in file order."""
        return self.entries(coder)

    def replace(self, coder: str, old: list[dict], new: list[dict], *, origin: str = "api", reason: str = "",
                by: str = "") -> None:
        """Turn the records ``old`` of a coder's file into the records ``new``, in one atomic write.

        Nothing is deleted: events are appended (see :func:`change_events`) —
        a removal, a memo or valence change — and the records of ``new`` not
        in ``old`` are added. Changes written meanwhile by someone else are
        kept. ``origin`` (a key of :data:`EVENT_ORIGINS`) and ``reason`` are
        recorded on every line written.

        Examples
        --------
        >>> store = CodingStore("corpus/codings")                 # doctest: +SKIP
        >>> store.replace("B", [old_line], [dict(old_line, memo="vu")], origin="panel")  # doctest: +SKIP
        """
        self.replace_many({coder: (old, new)}, origin=origin, reason=reason, by=by)

    def _plan(self, old: list[dict], new: list[dict], origin: str, reason: str, by: str, at: str):
        def change(lines):
            current = replay(_parsed(lines)).records()
            return lines + [fileio.dumps_line(r) for r in change_events(current, old, new, origin=origin,
                                                                        reason=reason, by=by, at=at)]
        return change

    def replace_many(self, plans: dict[str, tuple[list[dict], list[dict]]], *, origin: str = "api",
                     reason: str = "", by: str = "", also: dict | None = None,
                     root: str | Path | None = None, prepare=None) -> None:
        """:meth:`replace` for several coders in one all-or-nothing write: ``{coder: (old, new)}``.

        ``also``, ``root`` and ``prepare``: see :meth:`update_many`
        (a codebook change switches the codebook with the coder files).
        """
        at = now_iso()
        changes = {}
        for coder, (old, new) in plans.items():
            self._check_owner(coder, [r for r in new if r.get("type") in (None, "coverage")])
            changes[coder] = self._plan(list(old), list(new), origin, reason, by, at)
        self.update_many(changes, also, root, prepare=prepare)

    def rewrite_and_append(self, coder: str, keep=None, records: list[dict] = (), old: list[dict] = (), *,
                           origin: str = "api", reason: str = "", by: str = "") -> int:
        """One atomic write that withdraws records and adds others; returns the number withdrawn.

        A record is withdrawn (a removal event) when ``keep(record)`` is false
        or when it equals a record of ``old`` that is not in ``records``;
        ``records`` not already in ``old`` are added.
        """
        self._check_owner(coder, [r for r in records if r.get("type") in (None, "coverage")])
        at = now_iso()
        removed = [0]

        def change(lines):
            current = replay(_parsed(lines)).records()
            gone = [r for r in current if r.get("type") is None and keep is not None and not keep(r)]
            events = change_events(current, list(old) + gone, list(records), origin=origin, reason=reason,
                                   by=by, at=at)
            removed[0] = sum(1 for e in events if e.get("type") == "removed")
            return lines + [fileio.dumps_line(r) for r in events]

        if not records and not old and keep is None:
            return 0
        self.update(coder, change)
        return removed[0]

    def rewrite(self, coder: str, keep, *, origin: str = "api", reason: str = "") -> int:
        """Withdraw the codings for which ``keep(record)`` is false (removal events); return how many.

        Lines that are not valid JSON are always kept: the store never destroys what it cannot read.
        """
        return self.rewrite_and_append(coder, keep=keep, origin=origin, reason=reason)

    def repair(self, coder: str, corpus: Corpus | None = None) -> list[int]:
        """Rewrite a coder's file in the one-line discipline; return the lines that were rejoined.

        Records an old reader split at a line separator are put back
        together; with a corpus, the separator chosen is the one that makes the
        quote match the document text (else U+2028).
        """
        path = self.path(coder)
        if self.pending():
            self.recover()
        with self._locked([coder]):
            self._clean(coder)
            try:
                raw = path.read_bytes()
            except FileNotFoundError:
                return []
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                raise CodingsError("le fichier des codages n'est pas en UTF-8", path,
                                   raw[:exc.start].count(b"\n") + 1,
                                   hint="l'enregistrer en UTF-8 (ou le restaurer depuis une sauvegarde)") from None
            lines = fileio.split_lines(text)
            out, repaired = fileio.rejoin_split_lines(lines)
            corpus = corpus if corpus is not None else self.corpus
            if repaired and corpus is not None:
                out = _choose_separators(lines, corpus)
            out = [_escaped(line) for line in out if line.strip()]
            new_text = "".join(line + "\n" for line in out)
            if new_text != text:
                fileio.atomic_write(path, new_text)
        return repaired


_SEPARATOR = re.compile("[" + "".join(fileio.LINE_SEPARATORS) + "]")


def _escaped(line: str) -> str:
    # str.translate with a dict walks every character (slow on large files): only when needed
    return line.translate(fileio.LINE_ESCAPES) if _SEPARATOR.search(line) else line


def _choose_separators(lines: list[str], corpus: Corpus) -> list[str]:
    """Rejoin split records trying each separator; keep the one whose quote is in the document."""
    best = None
    for sep in fileio.LINE_SEPARATORS:
        out, _ = fileio.rejoin_split_lines(lines, separator=sep)
        score = 0
        for line in out:
            if sep not in line:
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            doc = corpus.documents.get(rec.get("doc")) if isinstance(rec, dict) else None
            if doc is not None and isinstance(rec.get("quote"), str) and rec["quote"] in doc.body:
                score += 1
        if best is None or score > best[0]:
            best = (score, out)
    return best[1]


@dataclass
class Codings:
    """Validated codings (tidy) and coverage, with every problem found."""

    frame: pd.DataFrame
    coverage: pd.DataFrame
    problems: Problems = field(default_factory=Problems)
    notes: list[str] = field(default_factory=list)     # files in an older format (see `analyse migrate`)

    @property
    def coders(self) -> list[str]:
        return sorted(set(self.frame["coder"]) | set(self.coverage["coder"]))

    def of(self, *coders: str) -> pd.DataFrame:
        return self.frame[self.frame["coder"].isin(coders)]

    def subset(self, docs) -> "Codings":
        """The codings and coverage of some documents only (problems are kept)."""
        keep = set(docs)
        return Codings(self.frame[self.frame["doc"].isin(keep)].reset_index(drop=True),
                       self.coverage[self.coverage["doc"].isin(keep)].reset_index(drop=True), self.problems,
                       self.notes)


def _parsed(lines: list[str]):
    """``(line number, object)`` for each line that is a JSON object."""
    for lineno, line in enumerate(lines, start=1):
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(rec, dict):
            yield lineno, rec


def _objects(lines: list[str]) -> list | None:
    """Each line's JSON object (``None`` for a blank line), or ``None`` if a line is not an object."""
    out = []
    for line in lines:
        if not line.strip():
            out.append(None)
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            return None
        if not isinstance(rec, dict):
            return None
        out.append(rec)
    return out


def json_lines(lines: list[str], rel: str, problems: Problems, objects: list | None = None):
    """Yield ``(line number, object)`` for each JSON object line; report the others.

    ``objects``: the lines already parsed (see :meth:`CodingStore.read_parsed`), not parsed again.
    """
    if objects is not None:
        yield from ((lineno, rec) for lineno, rec in enumerate(objects, start=1) if rec is not None)
        return
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.add(rel, msg("not_json", error=fr_json_error(exc.msg)), lineno)
            continue
        if not isinstance(rec, dict):
            problems.add(rel, msg("line_not_object"), lineno)
            continue
        yield lineno, rec


def _reanchor(body: str, quote: str, start: int) -> int | None:
    """New start of ``quote`` in ``body``: the occurrence nearest the old start."""
    if not quote:
        return None
    hits = [m.start() for m in re.finditer(re.escape(quote), body)]
    if not hits:
        return None
    return min(hits, key=lambda h: abs(h - start))


def segment_for(segments: list[Segment], start: int, end: int) -> Segment | None:
    """The segment sharing the most characters with ``[start, end)``."""
    best, best_overlap = None, 0
    for s in segments:
        overlap = min(end, s.end) - max(start, s.start)
        if overlap > best_overlap:
            best, best_overlap = s, overlap
    return best


class SegmentSpans:
    """Each document's segments in body order, to find the segment a span falls in by bisection.

    Gives what :func:`segment_for` gives on the document's segments, looking only at those the
    span can overlap (segments are disjoint paragraphs, so their starts and ends are both sorted):
    loading the codings scanned every segment of the document for every coding.
    """

    def __init__(self, segments):
        groups: dict[str, list[Segment]] = {}
        for s in segments:
            groups.setdefault(s.doc, []).append(s)
        self._docs = {}
        for doc, segs in groups.items():
            segs.sort(key=lambda s: s.start)      # stable: already in body order in a loaded corpus
            self._docs[doc] = (segs, [s.end for s in segs])

    def find(self, doc: str, start: int, end: int) -> Segment | None:
        """The segment of ``doc`` sharing the most characters with ``[start, end)`` (the first on a tie)."""
        segs, ends = self._docs.get(doc, ((), ()))
        best, best_overlap = None, 0
        for k in range(bisect_right(ends, start), len(segs)):   # the first segment ending after start
            s = segs[k]
            if s.start >= end:
                break
            overlap = min(end, s.end) - max(start, s.start)
            if overlap > best_overlap:
                best, best_overlap = s, overlap
        return best


def _check_line_head(rec: dict, fields, rel: str, lineno: int, coder: str, problems: Problems) -> bool | None:
    """What coding and event lines share: their fields (None: stop here) and the coder of the file."""
    missing = [f for f in fields if f not in rec]
    if missing:
        problems.add(rel, msg("missing_fields", fields=", ".join(missing)), lineno)
        return None
    if rec["coder"] != coder:
        problems.add(rel, msg("cod.coder_in_file", other=rec["coder"], coder=coder), lineno,
                     hint=msg("cod.coder_in_file_hint", other=rec["coder"]))
        return False
    return True


def _check_at(rec: dict, rel: str, lineno: int, problems: Problems) -> bool:
    try:
        _dt.datetime.fromisoformat(str(rec["at"]).replace("Z", "+00:00"))
    except ValueError:
        problems.add(rel, msg("cod.bad_at", at=repr(rec["at"])), lineno)
        return False
    return True


def _check_record(rec: dict, rel: str, lineno: int, coder: str, corpus: Corpus,
                  codebook: Codebook | None, problems: Problems) -> bool:
    ok = _check_line_head(rec, ("doc", "start", "end", "quote", "code", "coder", "at", "origin"), rel, lineno,
                          coder, problems)
    if ok is None:
        return False
    if rec["doc"] not in corpus.documents:
        problems.add(rel, msg("unknown_document", doc=rec["doc"]), lineno, hint=msg("cod.doc_id_hint"))
        ok = False
    if codebook is not None and rec["code"] not in codebook:
        problems.add(rel, msg("unknown_code", code=rec["code"]), lineno, hint=msg("cod.code_id_hint"))
        ok = False
    if not (isinstance(rec["start"], int) and isinstance(rec["end"], int)) \
            or isinstance(rec["start"], bool) or isinstance(rec["end"], bool):
        problems.add(rel, msg("cod.offsets_int"), lineno)
        return False
    if rec["end"] <= rec["start"]:
        problems.add(rel, msg("cod.end_before_start", end=rec["end"], start=rec["start"]), lineno)
        ok = False
    if rec.get("valence") not in (None, *VALENCES):
        problems.add(rel, f"valence inconnue : {rec['valence']!r}", lineno,
                     hint="« à l'œuvre » (ou rien), « mise en échec » ou « contestée »")
        ok = False
    if rec["origin"] not in ORIGINS:
        problems.add(rel, msg("cod.bad_origin", origin=rec["origin"], origins=", ".join(ORIGINS)), lineno)
        ok = False
    elif rec["origin"] in MACHINE_CODERS and coder not in MACHINE_CODERS:
        problems.add(rel, f"codage d'origine « {rec['origin']} » dans le fichier du codeur humain {coder}", lineno,
                     hint="une proposition automatique n'entre dans un fichier de codeur qu'acceptée (elle devient "
                          "« human ») : l'accepter dans le panneau, ou retirer la ligne")
        ok = False
    score = rec.get("score")
    if score is not None and (isinstance(score, bool) or not isinstance(score, (int, float))
                              or not math.isfinite(score) or not 0 <= score <= 1):
        problems.add(rel, f"score {score!r} invalide : un score est vide (null) ou un nombre entre 0 et 1", lineno,
                     hint="mettre \"score\": null pour un codage humain")
        ok = False
    return _check_at(rec, rel, lineno, problems) and ok


def _check_event(rec: dict, rel: str, lineno: int, coder: str, problems: Problems) -> bool:
    ok = _check_line_head(rec, EVENT_FIELDS, rel, lineno, coder, problems)
    if ok is None:
        return False
    if rec["origin"] not in EVENT_ORIGINS:
        problems.add(rel, msg("log.bad_origin", origin=rec["origin"], origins=", ".join(EVENT_ORIGINS)), lineno)
        ok = False
    if rec["type"] == "valence" and rec.get("valence") not in VALENCES:
        problems.add(rel, msg("log.bad_valence", valence=rec.get("valence")), lineno,
                     hint=", ".join(VALENCES))
        ok = False
    if rec["type"] == "decision" and rec.get("decision") not in ("oui", "non"):
        problems.add(rel, msg("log.bad_decision", decision=rec.get("decision")), lineno)
        ok = False
    return _check_at(rec, rel, lineno, problems) and ok


def load_codings(corpus: Corpus, codebook: Codebook | None = None,
                 folder: str | Path | None = None, coders: list[str] | None = None) -> Codings:
    """Read and validate coder files against the corpus and codebook.

    Every line is checked; problems name the file and line. A coding whose
    offsets no longer match its quote is re-anchored by the quote (warning
    "moved") rather than dropped.

    Parameters
    ----------
    corpus : Corpus
    codebook : Codebook, optional
        When given, unknown code ids are errors.
    folder : path, optional
        Defaults to ``<corpus root>/codings``.
    coders : list of str, optional
        Restrict to these coders; an unknown coder raises :class:`UsageError`.
    """
    store = CodingStore(folder if folder is not None else Path(corpus.root) / "codings", corpus=corpus)
    available = store.coders()
    if coders:
        unknown = [c for c in coders if c not in available]
        if unknown:
            raise UsageError(msg("unknown_coders", coders=", ".join(unknown)),
                             hint=msg("cod.available_in", coders=", ".join(available) or msg("none"),
                                      folder=store.folder))
    wanted = coders or available
    problems = Problems()
    notes: list[str] = []
    if not coders:
        for path in store.misnamed():
            problems.add(path, f"fichier ignoré : « {path.stem} » n'est pas un identifiant de codeur valide",
                         hint="renommer le fichier avec des lettres, chiffres, « - » ou « _ » seulement "
                              f"(par exemple {re.sub(r'[^A-Za-z0-9_-]+', '-', path.stem).strip('-') or 'C'}.jsonl)")
    rows, cover = [], []
    spans = SegmentSpans(corpus.segments)
    for coder in wanted:
        path = store.path(coder)
        rel = str(path)
        try:
            lines, objects = store.read_parsed(coder)
        except CodingsError as exc:
            problems.add(rel, exc.message, exc.line, hint=exc.hint)
            continue
        for lineno in store.repaired.get(coder, []):
            problems.add(rel, "enregistrement coupé en deux lignes par une ancienne version (séparateur de ligne "
                              "Unicode dans un mémo ou une citation), recollé à la lecture", lineno,
                         hint="lancer `analyse repair` pour réécrire le fichier", severity="warning")
        entries = []
        for lineno, rec in json_lines(lines, rel, problems, objects):
            kind = rec.get("type")
            if kind == "coverage" and rec.get("doc") not in corpus.documents:
                problems.add(rel, msg("cod.coverage_unknown_doc", doc=rec.get("doc")), lineno)
            elif kind in EVENT_TYPES and not _check_event(rec, rel, lineno, coder, problems):
                continue                    # an invalid event changes nothing
            elif kind not in KNOWN_TYPES:
                problems.add(rel, msg("log.unknown_type", type=kind), lineno,
                             hint=msg("log.unknown_type_hint", types=", ".join(EVENT_TYPES)))
            entries.append((lineno, rec))
        state = replay(entries)
        for lineno, rec in state.orphans:
            problems.add(rel, msg("log.orphan_event", type=rec.get("type"), code=rec.get("code"),
                                  doc=rec.get("doc")), lineno, hint=msg("log.orphan_event_hint"), severity="warning")
        cover += [{"coder": coder, "doc": rec["doc"], "at": rec.get("at")} for _, rec in state.coverage
                  if rec.get("doc") in corpus.documents]
        unversioned = sum(1 for _, rec in state.codings if not rec.get("codebook_version"))
        if unversioned or store.repaired.get(coder):
            notes.append(msg("log.old_format", path=rel, n=unversioned, split=len(store.repaired.get(coder, []))))
        for lineno, rec in state.codings:
            if not _check_record(rec, rel, lineno, coder, corpus, codebook, problems):
                continue
            body = corpus.documents[rec["doc"]].body
            start, end, moved = rec["start"], rec["end"], False
            if end > len(body) or body[start:end] != rec["quote"]:
                new = _reanchor(body, rec["quote"], start)
                if new is None:
                    why = msg("cod.beyond_text") if end > len(body) else msg("cod.quote_mismatch")
                    problems.add(rel, msg("cod.quote_lost", why=why, doc=rec["doc"]), lineno,
                                 hint=msg("cod.quote_lost_hint"))
                    continue
                start, end, moved = new, new + len(rec["quote"]), True
                problems.add(rel, msg("cod.moved", doc=rec["doc"], old=rec["start"], new=start), lineno,
                             severity="warning")
            seg = spans.find(rec["doc"], start, end)
            rows.append({
                "coder": coder, "doc": rec["doc"], "segment": seg.id if seg else None,
                "territory": seg.territory if seg else corpus.documents[rec["doc"]].territory,
                "start": start, "end": end,
                "code": rec["code"],
                "dimension": codebook.dimension_of(rec["code"]) if codebook is not None else rec["code"].split(".")[0],
                "origin": rec["origin"], "score": rec.get("score"), "memo": rec.get("memo") or "",
                "at": rec["at"], "quote": rec["quote"], "path": rel, "line": lineno, "moved": moved,
                "valence": rec.get("valence") or VALENCES[0],
            })
    import pandas as pd

    frame = pd.DataFrame(rows, columns=CODINGS_COLUMNS)
    coverage = pd.DataFrame(cover, columns=COVERAGE_COLUMNS).drop_duplicates(["coder", "doc"], keep="last")
    return Codings(frame=frame, coverage=coverage.reset_index(drop=True), problems=problems, notes=notes)


def segment_codes(codings: Codings, corpus: Corpus, coder: str, covered_only: bool = True) -> dict[str, set[str]]:
    """Codes a coder gave each segment, as ``{segment id: {codes}}``.

    With ``covered_only``, the segments of documents the coder covered are all
    present (an empty set means "no code applies"); segments outside coverage
    are absent (not looked at).
    """
    frame = codings.frame[codings.frame["coder"] == coder]
    result: dict[str, set[str]] = {}
    if covered_only:
        docs = set(codings.coverage.loc[codings.coverage["coder"] == coder, "doc"])
        for s in corpus.segments:
            if s.doc in docs:
                result[s.id] = set()
        frame = frame[frame["doc"].isin(docs)]
    for seg, code in zip(frame["segment"], frame["code"]):
        if seg is not None:
            result.setdefault(seg, set()).add(code)
    return result
