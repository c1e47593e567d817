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
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from filelock import FileLock

from analyse.model.codebook import Codebook
from analyse.model.corpus import Corpus, Segment
from analyse.fileio import atomic_write, atomic_write_many
from analyse.errors import CodingsError, Problems, UsageError

CODER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
# "llm": made by a language-model agent working as a coder from a written brief (illustrative corpus).
ORIGINS = ("human", "rule", "model", "llm", "model-assisted")   # model-assisted: accepted from a suggestion
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
        raise UsageError(f"invalid coder id '{coder}'",
                         hint="use letters, digits, '-' or '_' (it becomes a file name)")
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


class CodingStore:
    """The folder of coder files, with locked, atomic writes.

    Parameters
    ----------
    folder : path
        Usually ``corpus/codings``.
    """

    def __init__(self, folder: str | Path = "corpus/codings"):
        self.folder = Path(folder)

    def path(self, coder: str) -> Path:
        return self.folder / f"{check_coder_id(coder)}.jsonl"

    def coders(self) -> list[str]:
        if not self.folder.is_dir():
            return []
        return sorted(p.stem for p in self.folder.glob("*.jsonl") if CODER_ID.match(p.stem))

    def _lock(self, coder: str) -> FileLock:
        return FileLock(str(self.path(coder)) + ".lock", timeout=LOCK_TIMEOUT_S)

    def read_lines(self, coder: str) -> list[str]:
        path = self.path(coder)
        if not path.exists():
            return []
        return path.read_text(encoding="utf-8-sig").splitlines()

    def append(self, coder: str, records: list[dict]) -> int:
        """Add records to a coder's file; return how many were written.

        The file is rewritten whole under a lock (temp file + rename), so a
        reader never sees a half-written line and a concurrent writer's lines
        are kept.
        """
        return self.append_many({coder: records}).get(coder, 0)

    def append_many(self, records: dict[str, list[dict]]) -> dict[str, int]:
        """Add records to several coders' files together; return how many each got.

        Every file is locked (in a fixed order, so two importers cannot
        deadlock) and its new content written to a temporary file before any is
        renamed into place: a failure while preparing (disk full, a bad record)
        leaves every coder's file as it was.
        """
        todo = {c: recs for c, recs in sorted(records.items()) if recs}
        for coder, recs in todo.items():
            for rec in recs:
                if rec.get("coder") != coder:
                    raise CodingsError(f"record for coder '{rec.get('coder')}' cannot go to {coder}'s file",
                                       self.path(coder))
        if not todo:
            return {}
        self.folder.mkdir(parents=True, exist_ok=True)
        with ExitStack() as locks:
            for coder in todo:
                locks.enter_context(self._lock(coder))
            contents = {}
            for coder, recs in todo.items():
                lines = self.read_lines(coder) + [json.dumps(r, ensure_ascii=False) for r in recs]
                contents[self.path(coder)] = "".join(line + "\n" for line in lines if line.strip())
            atomic_write_many(contents)
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

    def replace(self, coder: str, old: list[dict], new: list[dict]) -> None:
        """Replace the records ``old`` of a coder's file by the records ``new``.

        ``new`` is appended first, then the lines equal to a record of ``old``
        are removed: a crash between the two atomic steps leaves duplicates,
        never a loss, and lines written meanwhile by someone else are kept.
        Records present in both lists are left alone.

        Examples
        --------
        >>> store = CodingStore("corpus/codings")                 # doctest: +SKIP
        >>> store.replace("B", [old_line], [dict(old_line, memo="vu")])  # doctest: +SKIP
        """
        key = lambda r: json.dumps(r, sort_keys=True, ensure_ascii=False)  # noqa: E731
        old_keys = {key(r) for r in old}
        gone = old_keys - {key(r) for r in new}
        self.append(coder, [r for r in new if key(r) not in old_keys])
        if gone:
            self.rewrite(coder, lambda rec: key(rec) not in gone)

    def rewrite(self, coder: str, keep) -> int:
        """Rewrite a coder's file keeping the records for which ``keep(record)`` is true.

        Returns the number of records removed. Lines that are not valid JSON are
        always kept: the store never destroys what it cannot read.
        """
        with self._lock(coder):
            kept, removed = [], 0
            for line in self.read_lines(coder):
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    kept.append(line)
                    continue
                if keep(rec):
                    kept.append(line)
                else:
                    removed += 1
            if removed:
                self._write(coder, kept)
        return removed

    def _write(self, coder: str, lines: list[str]) -> None:
        atomic_write(self.path(coder), "".join(line + "\n" for line in lines if line.strip()))


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


def json_lines(lines: list[str], rel: str, problems: Problems):
    """Yield ``(line number, object)`` for each JSON object line; report the others."""
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.add(rel, f"not valid JSON: {exc.msg}", lineno)
            continue
        if not isinstance(rec, dict):
            problems.add(rel, "a line must be a JSON object", lineno)
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
        problems.add(rel, f"missing field(s): {', '.join(missing)}", lineno)
        return False
    ok = True
    if rec["coder"] != coder:
        problems.add(rel, f"coder '{rec['coder']}' in {coder}'s file", lineno,
                     hint=f"move the line to {rec['coder']}.jsonl or fix the coder field")
        ok = False
    if rec["doc"] not in corpus.documents:
        problems.add(rel, f"unknown document '{rec['doc']}'", lineno,
                     hint="the id must match a document's front matter id")
        ok = False
    if codebook is not None and rec["code"] not in codebook:
        problems.add(rel, f"unknown code '{rec['code']}'", lineno,
                     hint="use an id from codebook/balises.yaml (analyse codebook)")
        ok = False
    if not (isinstance(rec["start"], int) and isinstance(rec["end"], int)) \
            or isinstance(rec["start"], bool) or isinstance(rec["end"], bool):
        problems.add(rel, "start and end must be integers", lineno)
        return False
    if rec["end"] <= rec["start"]:
        problems.add(rel, f"end ({rec['end']}) must be greater than start ({rec['start']})", lineno)
        ok = False
    if rec.get("valence") not in (None, *VALENCES):
        problems.add(rel, f"valence inconnue : {rec['valence']!r}", lineno,
                     hint="« à l'œuvre » (ou rien), « mise en échec » ou « contestée »")
        ok = False
    if rec["origin"] not in ORIGINS:
        problems.add(rel, f"origin '{rec['origin']}' is not one of {', '.join(ORIGINS)}", lineno)
        ok = False
    try:
        _dt.datetime.fromisoformat(str(rec["at"]).replace("Z", "+00:00"))
    except ValueError:
        problems.add(rel, f"'at' is not an ISO 8601 date-time: {rec['at']!r}", lineno)
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
    store = CodingStore(folder if folder is not None else Path(corpus.root) / "codings")
    available = store.coders()
    if coders:
        unknown = [c for c in coders if c not in available]
        if unknown:
            raise UsageError(f"unknown coder(s): {', '.join(unknown)}",
                             hint=f"available: {', '.join(available) or 'none'} in {store.folder}")
    wanted = coders or available
    problems = Problems()
    rows, cover = [], []
    by_doc: dict[str, list[Segment]] = {}
    for s in corpus.segments:
        by_doc.setdefault(s.doc, []).append(s)
    for coder in wanted:
        path = store.path(coder)
        rel = str(path)
        try:
            lines = store.read_lines(coder)
        except UnicodeDecodeError:
            problems.add(rel, "not valid UTF-8", hint="re-save the file as UTF-8")
            continue
        for lineno, rec in json_lines(lines, rel, problems):
            if rec.get("type") == "coverage":
                if rec.get("doc") not in corpus.documents:
                    problems.add(rel, f"coverage of unknown document '{rec.get('doc')}'", lineno)
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
                    why = ("offsets beyond the end of the text" if end > len(body)
                           else "quote does not match the text at its offsets")
                    problems.add(rel, f"{why}, and the quote is not found elsewhere in '{rec['doc']}'",
                                 lineno, hint="fix start/end or the quote")
                    continue
                start, end, moved = new, new + len(rec["quote"]), True
                problems.add(rel, f"coding moved in '{rec['doc']}': {rec['start']}→{start} (re-anchored by its quote)",
                             lineno, severity="warning")
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
