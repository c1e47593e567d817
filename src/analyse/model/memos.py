"""Memos on any object of the project, dated and signed: ``corpus/memos.jsonl``.

A memo hangs on a segment, a coding, a document, a code, a territory, or on
the project itself (the team's research journal). Each line of the file is
one memo::

    {"id": "m-3f2a9c41d07e", "target_type": "segment", "target": "le-mene-valeur#4",
     "text": "…", "author": "Claire", "at": "2026-11-30T15:02:11+00:00"}

Targets are written ``TYPE:ID`` on the command line (``segment:le-mene-valeur#4``,
``document:le-mene-valeur``, ``code:VAL.6``, ``territory:le-mene``, ``project``);
a coding is ``coding:CODER:SEGMENT:CODE`` (``coding:A:le-mene-valeur#4:VAL.6``).

Memos are research data: the file only grows, each addition rewriting it
whole under a lock through :func:`analyse.fileio.atomic_write`, so a crash or
two researchers adding a memo at once never lose one. A memo is never edited
in place: a correction is a new memo on the same target.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from analyse.errors import CodingsError, Problems, UsageError
from analyse.fileio import atomic_write, clean_temps, dumps_line, split_lines
from analyse.messages import msg
from analyse.model.codings import json_lines, now_iso

MEMOS_NAME = "memos.jsonl"
TARGET_TYPES = ("segment", "coding", "document", "code", "territory", "project")
MEMO_FIELDS = ("id", "target_type", "target", "text", "author", "at")
LOCK_TIMEOUT_S = 60


def memos_path(corpus_dir: str | Path) -> Path:
    return Path(corpus_dir) / MEMOS_NAME


def parse_target(spec: str) -> tuple[str, str]:
    """``"segment:le-mene-valeur#4"`` → ``("segment", "le-mene-valeur#4")``; ``"project"`` → ``("project", "")``.

    Examples
    --------
    >>> parse_target("code:VAL.6")
    ('code', 'VAL.6')
    >>> parse_target("coding:A:le-mene-valeur#4:VAL.6")
    ('coding', 'A:le-mene-valeur#4:VAL.6')
    >>> parse_target("project")
    ('project', '')
    """
    kind, _, target = (spec or "").strip().partition(":")
    if kind not in TARGET_TYPES:
        raise UsageError(f"cible de mémo inconnue « {spec} »",
                         hint="segment:ID, coding:CODEUR:SEGMENT:CODE, document:ID, code:ID, "
                              "territory:SLUG ou project")
    if kind == "project":
        if target:
            raise UsageError("un mémo de projet n'a pas d'identifiant", hint="écrire --on project")
        return kind, ""
    if not target:
        raise UsageError(f"il manque l'identifiant après « {kind}: »", hint=f"par exemple {kind}:…")
    return kind, target


def check_target(target_type: str, target: str, corpus=None, codebook=None, codings=None) -> None:
    """Refuse a target that does not exist in the project (each check runs when its source is given)."""
    if target_type == "segment" and corpus is not None:
        if target not in {s.id for s in corpus.segments}:
            raise UsageError(f"segment inconnu « {target} »", hint="voir `analyse segments FICHIER`")
    elif target_type == "document" and corpus is not None:
        if target not in corpus.documents:
            raise UsageError(f"document inconnu « {target} »", hint="l'identifiant de l'en-tête du document")
    elif target_type == "territory" and corpus is not None:
        if target not in corpus.territories:
            raise UsageError(f"territoire inconnu « {target} »", hint=", ".join(corpus.territories))
    elif target_type == "code" and codebook is not None:
        if target not in codebook:
            raise UsageError(f"code inconnu « {target} »", hint="voir `analyse codebook`")
    elif target_type == "coding":
        parts = target.split(":")
        if len(parts) != 3 or not all(parts):
            raise UsageError(f"codage mal désigné « {target} »", hint="coding:CODEUR:SEGMENT:CODE")
        if codings is not None:
            coder, segment, code = parts
            frame = codings.frame
            if not ((frame["coder"] == coder) & (frame["segment"] == segment) & (frame["code"] == code)).any():
                raise UsageError(f"aucun codage {code} du codeur {coder} sur le segment {segment}",
                                 hint="voir `analyse retrieve CODE --coder CODEUR`")


class MemoStore:
    """The memos file of a project (``corpus/memos.jsonl``)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def _lock(self, timeout: float = LOCK_TIMEOUT_S):
        from filelock import FileLock   # here: reading and checking memos takes no lock

        return FileLock(str(self.path) + ".lock", timeout=timeout)

    def _clean_if_idle(self) -> None:
        """Remove the temporary files a killed writer left (when no writer holds the file now)."""
        if not any(self.path.parent.glob(f".{self.path.name}.*.tmp")):
            return
        from filelock import Timeout

        try:
            with self._lock(timeout=0):
                clean_temps(self.path)
        except (Timeout, OSError):
            pass   # a writer is at work, or the folder is read-only

    def _lines(self) -> list[str]:
        self._clean_if_idle()
        return read_memo_lines(self.path)

    def records(self) -> list[dict]:
        """Every readable memo, in the order they were written (see :func:`validate_memos` for the others)."""
        out = []
        for line in self._lines():
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(rec, dict) and rec.get("target_type") in TARGET_TYPES:
                out.append(rec)
        return out

    def add(self, target_type: str, target: str, text: str, author: str, at: str | None = None) -> dict:
        """Append a memo; return its record. The file is rewritten whole, under a lock, atomically."""
        if target_type not in TARGET_TYPES:
            raise UsageError(f"type de cible inconnu « {target_type} »", hint=", ".join(TARGET_TYPES))
        if not (text or "").strip():
            raise UsageError("mémo vide", hint="écrire le texte du mémo")
        if not (author or "").strip():
            raise UsageError("un mémo est signé : --author est obligatoire", hint="--author VOTRE_NOM")
        rec = {"id": f"m-{uuid.uuid4().hex[:12]}", "target_type": target_type,
               "target": "" if target_type == "project" else target, "text": text.strip(),
               "author": author.strip(), "at": at or now_iso()}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock():
            clean_temps(self.path)
            lines = [line for line in self._lines() if line.strip()]   # unreadable lines are kept as they are
            lines.append(dumps_line(rec))
            atomic_write(self.path, "".join(line + "\n" for line in lines))
        return rec

    def find(self, target_type: str | None = None, target: str | None = None,
             author: str | None = None) -> list[dict]:
        """Memos on a target (a code's memos include none of its children's), oldest first."""
        return [r for r in self.records()
                if (target_type is None or r["target_type"] == target_type)
                and (target is None or r.get("target") == target)
                and (author is None or r.get("author") == author)]


def read_memo_lines(path: str | Path) -> list[str]:
    """The lines of a memos file (none when it does not exist).

    Raises :class:`~analyse.errors.CodingsError` in French, naming the file (and
    the line), for a file that cannot be read or is not UTF-8: memos are never
    rewritten from a file that could not be read whole.
    """
    path = Path(path)
    if not path.exists():
        return []
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CodingsError(msg("memo.unreadable", error=exc.strerror or exc), path,
                           hint=msg("memo.unreadable_hint")) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CodingsError(msg("not_utf8"), path, raw[:exc.start].count(b"\n") + 1,
                           hint=msg("memo.not_utf8_hint")) from None
    return split_lines(text)


def _problem_lines(path: Path, problems: Problems) -> list[str]:
    try:
        return read_memo_lines(path)
    except CodingsError as exc:
        problems.add(path, exc.message, exc.line, hint=exc.hint)
        return []


def validate_memos(path: str | Path) -> Problems:
    """Problems of a memos file (bad JSON, missing fields, unknown target type), with file and line."""
    path = Path(path)
    problems = Problems()
    for lineno, rec in json_lines(_problem_lines(path, problems), path, problems):
        missing = [f for f in MEMO_FIELDS if f not in rec]
        if missing:
            problems.add(path, msg("missing_fields", fields=", ".join(missing)), lineno)
        if rec.get("target_type") not in TARGET_TYPES:
            problems.add(path, msg("memo.unknown_target_type", target_type=rec.get("target_type")), lineno,
                         hint=", ".join(TARGET_TYPES))
    return problems


def dangling_memos(path: str | Path, corpus=None, codebook=None, codings=None) -> Problems:
    """A warning for each memo whose target no longer exists (a code renamed, a document removed…).

    The memo is kept as it is (memos are never rewritten); the warning says where it hangs.
    """
    path = Path(path)
    problems = Problems()
    for lineno, line in enumerate(_problem_lines(path, Problems()), start=1):   # validate_memos reports them
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        if not isinstance(rec, dict) or rec.get("target_type") not in TARGET_TYPES or rec["target_type"] == "project":
            continue
        try:
            check_target(rec["target_type"], str(rec.get("target") or ""), corpus, codebook, codings)
        except UsageError as exc:
            problems.add(path, f"mémo {rec.get('id')} : {exc.message}", lineno, severity="warning",
                         hint="la cible a peut-être été renommée (voir codebook/CHANGELOG.md)")
    return problems
