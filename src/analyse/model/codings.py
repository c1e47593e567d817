"""The codings store: ``corpus/codings/<coder>.jsonl``, one file per coder.

Each line is a JSON object. A *coding* line::

    {"doc": "le-mene-valeur", "start": 120, "end": 342, "quote": "…", "code": "VAL.6",
     "coder": "A", "at": "2026-11-26T10:00:00+00:00", "origin": "human", "score": null, "memo": ""}

and a *coverage* line records that a coder has fully coded a document, so that
an uncoded segment inside it means "no code applies" rather than "not read"::

    {"type": "coverage", "doc": "le-mene-valeur", "coder": "A", "at": "…"}

These files are research data: they are only ever rewritten whole, under a
lock, through a temporary file renamed over the old one, so a crash or two
concurrent writers never lose a line. The quote is kept so that a coding whose
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
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from filelock import FileLock, Timeout

from analyse.model.codebook import Codebook
from analyse.model.corpus import Corpus, Segment
from analyse import fileio
from analyse.errors import CodingsError, Problems, UsageError
from analyse.messages import msg
from analyse.textutil import fr_json_error

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

    def _lock(self, coder: str) -> FileLock:
        return FileLock(str(self.path(coder)) + ".lock", timeout=LOCK_TIMEOUT_S)

    @contextmanager
    def _locked(self, coders):
        """Hold the locks of ``coders`` (sorted, so two writers cannot deadlock)."""
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

    def recover(self) -> list[str]:
        """Finish any interrupted multi-coder write (under the locks of its coders)."""
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
        path = self.path(coder)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise CodingsError(f"impossible de lire le fichier du codeur {coder} : {exc.strerror or exc}", path,
                               hint="vérifier les droits de lecture du fichier") from None
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = raw[:exc.start].count(b"\n") + 1
            raise CodingsError("le fichier des codages n'est pas en UTF-8", path, line,
                               hint="l'enregistrer en UTF-8 (ou le restaurer depuis une sauvegarde)") from None
        lines, repaired = fileio.rejoin_split_lines(fileio.split_lines(text))
        if repaired:
            if self.corpus is not None:
                lines = _choose_separators(fileio.split_lines(text), self.corpus)
            self.repaired[coder] = repaired
        else:
            self.repaired.pop(coder, None)
        # a raw U+2028 (written by an old version) can only sit inside a JSON string: escape it
        return [line.translate(fileio.LINE_ESCAPES) for line in lines]

    def read_lines(self, coder: str) -> list[str]:
        """The lines of a coder's file (``\\n`` only ends a line; records split by an old reader rejoined).

        Raises :class:`CodingsError` (in French) for a file that is not UTF-8.
        """
        if fileio.journals(self.folder):
            self.recover()
        self._clean_if_idle()
        return self._read(coder)

    def _clean_if_idle(self) -> None:
        """Remove the temporary files killed writers left, for each file no writer holds now."""
        if not self.folder.is_dir():
            return
        for target in sorted({tmp.name[1:].split(".jsonl.")[0] for tmp in self.folder.glob(".*.jsonl.*.tmp")}):
            if not CODER_ID.match(target):
                continue
            path = self.path(target)
            try:
                with FileLock(str(path) + ".lock", timeout=0):
                    fileio.clean_temps(path)
            except (Timeout, OSError):
                pass   # a writer is at work (its temporary file is not stale) or the folder is read-only

    def update_many(self, changes: dict, also: dict | None = None, root: str | Path | None = None) -> dict[str, int]:
        """Rewrite several coders' files together; ``changes`` maps a coder to ``f(lines) -> lines``.

        Under the coders' locks, each file is read, transformed and written to
        a temporary file; then all are switched together (journal). Returns
        how many lines each file gained (negative: lost). ``also`` adds files
        of other folders (``{path: text}``) to the same all-or-nothing write,
        journalled in ``root`` (see :func:`analyse.fileio.atomic_write_across`).
        """
        if not changes:
            return {}
        if fileio.journals(self.folder):
            self.recover()
        self.folder.mkdir(parents=True, exist_ok=True)
        delta = {}
        with self._locked(changes):
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

    def records(self, coder: str) -> list[dict]:
        """The JSON records of a coder's file (unreadable lines are skipped here, and never rewritten)."""
        out = []
        for line in self.read_lines(coder):
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(rec, dict):
                out.append(rec)
        return out

    @staticmethod
    def _edit(lines: list[str], keep, new: list[dict]) -> tuple[list[str], int]:
        kept, removed = [], 0
        for line in lines:
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                kept.append(line)       # never destroy what cannot be read
                continue
            if not isinstance(rec, dict) or keep(rec):
                kept.append(line)
            else:
                removed += 1
        return kept + [fileio.dumps_line(r) for r in new], removed

    def replace(self, coder: str, old: list[dict], new: list[dict]) -> None:
        """Replace the records ``old`` of a coder's file by the records ``new``, in one atomic write.

        Lines equal to a record of ``old`` and not of ``new`` are removed, the
        records of ``new`` not in ``old`` appended; lines written meanwhile by
        someone else are kept. Records present in both lists are left alone.

        Examples
        --------
        >>> store = CodingStore("corpus/codings")                 # doctest: +SKIP
        >>> store.replace("B", [old_line], [dict(old_line, memo="vu")])  # doctest: +SKIP
        """
        self.rewrite_and_append(coder, keep=None, records=new, old=old)

    def replace_many(self, plans: dict[str, tuple[list[dict], list[dict]]]) -> None:
        """:meth:`replace` for several coders in one all-or-nothing write: ``{coder: (old, new)}``."""
        changes = {}
        for coder, (old, new) in plans.items():
            self._check_owner(coder, list(new))
            old_keys = {_record_key(r) for r in old}
            gone = old_keys - {_record_key(r) for r in new}
            added = [r for r in new if _record_key(r) not in old_keys]
            if gone or added:
                changes[coder] = (lambda lines, gone=gone, added=added:
                                  self._edit(lines, lambda rec: _record_key(rec) not in gone, added)[0])
        self.update_many(changes)

    def rewrite_and_append(self, coder: str, keep=None, records: list[dict] = (), old: list[dict] = ()) -> int:
        """One atomic write that drops records and adds others; returns the number dropped.

        A record is dropped when ``keep(record)`` is false or when it equals a
        record of ``old`` that is not in ``records``; ``records`` not already in
        ``old`` are appended.
        """
        self._check_owner(coder, list(records))
        old_keys = {_record_key(r) for r in old}
        gone = old_keys - {_record_key(r) for r in records}
        added = [r for r in records if _record_key(r) not in old_keys]
        removed = [0]

        def keep_line(rec):
            return (keep is None or keep(rec)) and (not gone or _record_key(rec) not in gone)

        def change(lines):
            out, removed[0] = self._edit(lines, keep_line, added)
            return out

        if not added and not gone and keep is None:
            return 0
        self.update(coder, change)
        return removed[0]

    def rewrite(self, coder: str, keep) -> int:
        """Rewrite a coder's file keeping the records for which ``keep(record)`` is true.

        Returns the number of records removed. Lines that are not valid JSON are
        always kept: the store never destroys what it cannot read.
        """
        return self.rewrite_and_append(coder, keep=keep)

    def repair(self, coder: str, corpus: Corpus | None = None) -> list[int]:
        """Rewrite a coder's file in the one-line discipline; return the lines that were rejoined.

        Records an old reader split at a line separator are put back
        together; with a corpus, the separator chosen is the one that makes the
        quote match the document text (else U+2028).
        """
        path = self.path(coder)
        if fileio.journals(self.folder):
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
            out = [line.translate(fileio.LINE_ESCAPES) for line in out if line.strip()]
            new_text = "".join(line + "\n" for line in out)
            if new_text != text:
                fileio.atomic_write(path, new_text)
        return repaired


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

    @property
    def coders(self) -> list[str]:
        return sorted(set(self.frame["coder"]) | set(self.coverage["coder"]))

    def of(self, *coders: str) -> pd.DataFrame:
        return self.frame[self.frame["coder"].isin(coders)]

    def subset(self, docs) -> "Codings":
        """The codings and coverage of some documents only (problems are kept)."""
        keep = set(docs)
        return Codings(self.frame[self.frame["doc"].isin(keep)].reset_index(drop=True),
                       self.coverage[self.coverage["doc"].isin(keep)].reset_index(drop=True), self.problems)


def json_lines(lines: list[str], rel: str, problems: Problems):
    """Yield ``(line number, object)`` for each JSON object line; report the others."""
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


def _check_record(rec: dict, rel: str, lineno: int, coder: str, corpus: Corpus,
                  codebook: Codebook | None, problems: Problems) -> bool:
    missing = [f for f in ("doc", "start", "end", "quote", "code", "coder", "at", "origin") if f not in rec]
    if missing:
        problems.add(rel, msg("missing_fields", fields=", ".join(missing)), lineno)
        return False
    ok = True
    if rec["coder"] != coder:
        problems.add(rel, msg("cod.coder_in_file", other=rec["coder"], coder=coder), lineno,
                     hint=msg("cod.coder_in_file_hint", other=rec["coder"]))
        ok = False
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
    try:
        _dt.datetime.fromisoformat(str(rec["at"]).replace("Z", "+00:00"))
    except ValueError:
        problems.add(rel, msg("cod.bad_at", at=repr(rec["at"])), lineno)
        ok = False
    return ok


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
    if not coders:
        for path in store.misnamed():
            problems.add(path, f"fichier ignoré : « {path.stem} » n'est pas un identifiant de codeur valide",
                         hint="renommer le fichier avec des lettres, chiffres, « - » ou « _ » seulement "
                              f"(par exemple {re.sub(r'[^A-Za-z0-9_-]+', '-', path.stem).strip('-') or 'C'}.jsonl)")
    rows, cover = [], []
    by_doc: dict[str, list[Segment]] = {}
    for s in corpus.segments:
        by_doc.setdefault(s.doc, []).append(s)
    for coder in wanted:
        path = store.path(coder)
        rel = str(path)
        try:
            lines = store.read_lines(coder)
        except CodingsError as exc:
            problems.add(rel, exc.message, exc.line, hint=exc.hint)
            continue
        for lineno in store.repaired.get(coder, []):
            problems.add(rel, "enregistrement coupé en deux lignes par une ancienne version (séparateur de ligne "
                              "Unicode dans un mémo ou une citation), recollé à la lecture", lineno,
                         hint="lancer `analyse repair` pour réécrire le fichier", severity="warning")
        for lineno, rec in json_lines(lines, rel, problems):
            if rec.get("type") == "coverage":
                if rec.get("doc") not in corpus.documents:
                    problems.add(rel, msg("cod.coverage_unknown_doc", doc=rec.get("doc")), lineno)
                    continue
                cover.append({"coder": coder, "doc": rec["doc"], "at": rec.get("at")})
                continue
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
            seg = segment_for(by_doc.get(rec["doc"], []), start, end)
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
    frame = pd.DataFrame(rows, columns=CODINGS_COLUMNS)
    coverage = pd.DataFrame(cover, columns=COVERAGE_COLUMNS).drop_duplicates(["coder", "doc"], keep="last")
    return Codings(frame=frame, coverage=coverage.reset_index(drop=True), problems=problems)


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
