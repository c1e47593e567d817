"""The codebook: codes derived from the balises of the référentiel, and its checks.

``codebook/balises.yaml`` holds a ``version``, the ``dimensions`` and a list of
``codes``. The canonical balise ids (ENG.1–6, SYS.1–5, COOP.1–6, VAL.1–6, MGT,
ECH) are fixed: reports, imports and trained models depend on them, so
validation refuses a codebook that lacks one.

Codes brought in from another QDA tool (``analyse refi import --territory``) are
*candidate* codes: ``status: emergent``, ids ``EMG.<slug>``. They only need an
id and a label, are kept in :attr:`Codebook.emergent` (never in
:attr:`Codebook.codes`, so analyses of the balises do not see them), and codings
may use them.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from analyse.model.corpus import yaml_line
from analyse.errors import CodebookError, Problems, UsageError

CANONICAL_IDS: tuple[str, ...] = (
    *(f"ENG.{i}" for i in range(1, 7)),
    *(f"SYS.{i}" for i in range(1, 6)),
    *(f"COOP.{i}" for i in range(1, 7)),
    *(f"VAL.{i}" for i in range(1, 7)),
    "MGT",
    "ECH",
)
KINDS = ("balise", "mode", "dispositif", "concept", "contexte")
REQUIRED_TEXT = ("label", "definition")
REQUIRED_LISTS = ("include", "exclude")
MIN_EXAMPLES = 2
PATTERN_KEYS = {"LEMMA", "LOWER", "ORTH", "POS", "OP", "TEXT", "IS_PUNCT", "IS_DIGIT"}
EMERGENT = "emergent"
EMERGENT_PREFIX = "EMG."


@dataclass(frozen=True)
class Code:
    id: str
    label: str
    dimension: str
    kind: str
    parent: str | None
    definition: str
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    patterns: tuple = ()
    status: str = ""  # "emergent" for a candidate code imported from another tool
    source_guid: str = ""  # GUID of the code in the tool it came from

    @property
    def is_balise(self) -> bool:
        return self.kind == "balise"


@dataclass
class Codebook:
    """A validated codebook. Codes keep the order of the file."""

    version: str
    name: str
    dimensions: dict[str, str]
    codes: dict[str, Code]
    path: str = ""
    problems: Problems = field(default_factory=Problems)
    emergent: dict[str, Code] = field(default_factory=dict)  # candidate codes, kept apart

    def __contains__(self, code_id: str) -> bool:
        return code_id in self.codes or code_id in self.emergent

    def __getitem__(self, code_id: str) -> Code:
        return self.codes[code_id] if code_id in self.codes else self.emergent[code_id]

    def children(self, code_id: str | None) -> list[Code]:
        return [c for c in self.codes.values() if c.parent == code_id]

    def dimension_of(self, code_id: str) -> str:
        return self[code_id].dimension

    @property
    def balises(self) -> list[Code]:
        return [c for c in self.codes.values() if c.kind == "balise"]

    def frame(self) -> pd.DataFrame:
        """One row per code, in file order (the notebooks' view of the codebook)."""
        rows = [{
            "id": c.id, "label": c.label, "dimension": c.dimension, "kind": c.kind,
            "parent": c.parent, "definition": c.definition,
            "include": " | ".join(c.include), "exclude": " | ".join(c.exclude),
            "examples": " | ".join(c.examples), "keywords": ", ".join(c.keywords),
        } for c in self.codes.values()]
        return pd.DataFrame(rows)


def _as_list(value) -> list:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return list(value)


def _check_patterns(patterns, rel, line, cid, problems: Problems) -> None:
    if not isinstance(patterns, list):
        problems.add(rel, f"{cid}: patterns must be a list of token patterns", line)
        return
    for pattern in patterns:
        if not isinstance(pattern, list) or not pattern or not all(isinstance(t, dict) for t in pattern):
            problems.add(rel, f"{cid}: each pattern must be a non-empty list of token dicts", line,
                         hint='e.g. [{LEMMA: "faire"}, {LEMMA: "confiance"}]')
            continue
        for token in pattern:
            unknown = set(token) - PATTERN_KEYS
            if unknown:
                problems.add(rel, f"{cid}: unsupported pattern key(s) {sorted(unknown)}", line,
                             hint=f"use {sorted(PATTERN_KEYS)}")


def validate_codebook(path: str | Path) -> tuple[Codebook | None, Problems]:
    """Read and check a codebook file; return it (None if unusable) and every problem."""
    path = Path(path)
    rel = str(path)
    problems = Problems()
    if not path.is_file():
        problems.add(rel, "codebook file not found", hint="pass --codebook PATH")
        return None, problems
    try:
        text = path.read_text(encoding="utf-8-sig")
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except UnicodeDecodeError:
        problems.add(rel, "not valid UTF-8", hint="re-save the file as UTF-8")
        return None, problems
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problems.add(rel, f"not valid YAML: {getattr(exc, 'problem', exc)}",
                     None if mark is None else mark.line + 1, hint="check indentation and quotes")
        return None, problems
    if not isinstance(data, dict) or not isinstance(data.get("codes"), list):
        problems.add(rel, "expected a mapping with a 'codes' list", 1)
        return None, problems
    version = data.get("version")
    if not version:
        problems.add(rel, "missing 'version'", 1, hint='add e.g. version: "1.0.0"; bump it on every change')
    dims = {}
    for d in data.get("dimensions") or []:
        if isinstance(d, dict) and d.get("id"):
            dims[str(d["id"])] = str(d.get("label", d["id"]))
    if not dims:
        problems.add(rel, "missing 'dimensions'", 1, hint="list the dimensions with id and label")

    codes: dict[str, Code] = {}
    emergent: dict[str, Code] = {}
    lines: dict[str, int | None] = {}
    for i, raw in enumerate(data["codes"]):
        line = yaml_line(node, ["codes", i])
        if not isinstance(raw, dict) or not raw.get("id"):
            problems.add(rel, f"code #{i + 1} has no id", line)
            continue
        cid = str(raw["id"])
        if cid in codes or cid in emergent:
            problems.add(rel, f"duplicate code id '{cid}' (first at line {lines[cid]})", line,
                         hint="ids are unique and never reused")
            continue
        if raw.get("status") is not None and raw.get("status") != EMERGENT:
            problems.add(rel, f"{cid}: statut '{raw.get('status')}' inconnu", line,
                         hint=f"seul « status: {EMERGENT} » est admis (code candidat importé)")
            continue
        if raw.get("status") == EMERGENT:
            _emergent_code(raw, cid, rel, line, emergent, problems)
            lines[cid] = line
            continue
        for key in REQUIRED_TEXT:
            if not str(raw.get(key) or "").strip():
                problems.add(rel, f"{cid}: '{key}' is empty", line)
        for key in REQUIRED_LISTS:
            if not [x for x in _as_list(raw.get(key)) if str(x).strip()]:
                problems.add(rel, f"{cid}: '{key}' criteria are empty", line)
        if len(_as_list(raw.get("examples"))) < MIN_EXAMPLES:
            problems.add(rel, f"{cid}: fewer than {MIN_EXAMPLES} examples", line)
        if not _as_list(raw.get("keywords")) and not _as_list(raw.get("patterns")):
            problems.add(rel, f"{cid}: no keywords nor patterns for rule-based suggestions", line)
        kind = raw.get("kind")
        if kind not in KINDS:
            problems.add(rel, f"{cid}: kind '{kind}' is not one of {', '.join(KINDS)}", line)
        dim = raw.get("dimension")
        if dims and dim not in dims:
            problems.add(rel, f"{cid}: unknown dimension '{dim}'", line,
                         hint=f"declared: {', '.join(dims)}")
        _check_patterns(raw.get("patterns") or [], rel, line, cid, problems)
        codes[cid] = Code(
            id=cid, label=str(raw.get("label") or ""), dimension=str(dim), kind=str(kind),
            parent=raw.get("parent") or None, definition=str(raw.get("definition") or "").strip(),
            include=tuple(map(str, _as_list(raw.get("include")))),
            exclude=tuple(map(str, _as_list(raw.get("exclude")))),
            examples=tuple(map(str, _as_list(raw.get("examples")))),
            keywords=tuple(map(str, _as_list(raw.get("keywords")))),
            patterns=tuple(raw.get("patterns") or ()),
        )
        lines[cid] = line

    every = {**codes, **emergent}
    for cid, code in every.items():
        if code.parent is not None and code.parent not in every:
            problems.add(rel, f"{cid}: parent '{code.parent}' does not exist", lines[cid])
    for cid in every:
        seen = [cid]
        parent = every[cid].parent
        while parent in every:
            if parent in seen:
                problems.add(rel, f"{cid}: parent cycle {' -> '.join(seen + [parent])}", lines[cid])
                break
            seen.append(parent)
            parent = every[parent].parent
    for cid in CANONICAL_IDS:
        if cid not in codes:
            problems.add(rel, f"canonical code '{cid}' is missing",
                         hint="reports and imports depend on the canonical ids")
    book = Codebook(version=str(version or ""), name=str(data.get("name") or ""),
                    dimensions=dims, codes=codes, path=rel, problems=problems, emergent=emergent)
    return (None if problems.errors else book), problems


def _emergent_code(raw: dict, cid: str, rel: str, line: int | None, out: dict[str, Code],
                   problems: Problems) -> None:
    """A candidate code: only an ``EMG.`` id and a label are required (criteria come later, if kept)."""
    if not cid.startswith(EMERGENT_PREFIX) or cid in CANONICAL_IDS:
        problems.add(rel, f"{cid}: un code candidat (status: {EMERGENT}) doit avoir un id « {EMERGENT_PREFIX}… »",
                     line, hint="les codes candidats restent à part des balises")
        return
    if not str(raw.get("label") or "").strip():
        problems.add(rel, f"{cid}: 'label' is empty", line)
    out[cid] = Code(
        id=cid, label=str(raw.get("label") or ""), dimension=EMERGENT_PREFIX.rstrip("."),
        kind=EMERGENT, parent=raw.get("parent") or None,
        definition=str(raw.get("definition") or "").strip(),
        include=tuple(map(str, _as_list(raw.get("include")))),
        exclude=tuple(map(str, _as_list(raw.get("exclude")))),
        examples=tuple(map(str, _as_list(raw.get("examples")))),
        keywords=tuple(map(str, _as_list(raw.get("keywords")))),
        status=EMERGENT, source_guid=str(raw.get("source_guid") or ""),
    )


def load_codebook(path: str | Path = "codebook/balises.yaml") -> Codebook:
    """Load a codebook, raising :class:`CodebookError` on the first problem found.

    A path that does not exist is a wrong usage (:class:`UsageError`), not bad data.
    """
    if not Path(path).is_file():
        raise UsageError("fichier de grille introuvable", str(path), hint="indiquer --codebook CHEMIN")
    book, problems = validate_codebook(path)
    if book is None:
        first = problems.errors[0]
        more = f" (and {len(problems.errors) - 1} more: run `analyse validate`)" if len(problems.errors) > 1 else ""
        raise CodebookError(first.message + more, first.path, first.line, first.hint)
    return book


def render_codebook(book: Codebook, fmt: str = "tree") -> str:
    """The codebook as an indented tree, CSV or Markdown table."""
    if fmt == "csv":
        buf = io.StringIO()
        frame = book.frame()
        frame.to_csv(buf, index=False, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
        return buf.getvalue()
    if fmt == "md":
        lines = [f"# {book.name} (version {book.version})", ""]
        for dim, label in book.dimensions.items():
            lines += [f"## {dim} — {label}", "", "| id | libellé | type | parent | définition |",
                      "| --- | --- | --- | --- | --- |"]
            for c in book.codes.values():
                if c.dimension == dim:
                    definition = c.definition.replace("|", "\\|").replace("\n", " ")
                    lines.append(f"| {c.id} | {c.label} | {c.kind} | {c.parent or ''} | {definition} |")
            lines.append("")
        return "\n".join(lines)
    if fmt != "tree":
        raise CodebookError(f"unknown format '{fmt}'", hint="use tree, csv or md")
    out = [f"{book.name} — version {book.version}"]

    def walk(code: Code, depth: int) -> None:
        out.append(f"{'  ' * depth}{code.id:<9} {code.label} [{code.kind}]")
        for child in book.children(code.id):
            walk(child, depth + 1)

    for dim, label in book.dimensions.items():
        out.append(f"{dim} — {label}")
        for code in book.codes.values():
            if code.dimension == dim and (code.parent is None or code.parent not in book.codes):
                walk(code, 1)
    if book.emergent:
        out.append(f"Codes candidats importés ({len(book.emergent)}, status: emergent) — à examiner, hors balises")
        for code in book.emergent.values():
            depth, parent = 1, code.parent
            while parent in book.emergent and depth < 10:
                depth, parent = depth + 1, book.emergent[parent].parent
            out.append(f"{'  ' * depth}{code.id} {code.label}")
    return "\n".join(out) + "\n"
