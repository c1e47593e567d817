"""The codebook: codes derived from the balises of the référentiel, and its checks.

``codebook/balises.yaml`` holds a ``version``, the ``dimensions`` and a list of
``codes``. The canonical balise ids (ENG.1–6, SYS.1–5, COOP.1–6, VAL.1–6, MGT,
ECH) are fixed: reports, imports and trained models depend on them, so
validation refuses a codebook that lacks one.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from analyse.model.corpus import yaml_line
from analyse.errors import CodebookError, Problems, UsageError
from analyse.messages import msg
from analyse.textutil import fr_yaml_error

if TYPE_CHECKING:     # pandas only for Codebook.frame: reading a codebook does not import it
    import pandas as pd

CANONICAL_IDS: tuple[str, ...] = (
    *(f"ENG.{i}" for i in range(1, 7)),
    *(f"SYS.{i}" for i in range(1, 6)),
    *(f"COOP.{i}" for i in range(1, 7)),
    *(f"VAL.{i}" for i in range(1, 7)),
    "MGT",
    "ECH",
)
KINDS = ("balise", "mode", "dispositif", "concept", "contexte")
# Optional `status` of a code: absent for the grid's own codes; "emergent" for a candidate
# drawn from the data (analyse themes --promote) or brought from another QDA tool (analyse refi
# import --territory, ids EMG.<slug>), to be discussed before it is used. A candidate needs only an
# id and a label: criteria, examples and keywords come when the team adopts it, and its dimension
# may be one the grid does not declare (EMG), which keeps it out of every dimension of the balises.
STATUSES = ("emergent",)
EMERGENT = "emergent"
EMERGENT_PREFIX = "EMG."
REQUIRED_TEXT = ("label", "definition")
REQUIRED_LISTS = ("include", "exclude")
MIN_EXAMPLES = 2
PATTERN_KEYS = {"LEMMA", "LOWER", "ORTH", "POS", "OP", "TEXT", "IS_PUNCT", "IS_DIGIT"}


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
    status: str | None = None
    source_guid: str = ""  # GUID of the code in the QDA tool it was imported from

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

    def __contains__(self, code_id: str) -> bool:
        return code_id in self.codes

    def __getitem__(self, code_id: str) -> Code:
        return self.codes[code_id]

    def children(self, code_id: str | None) -> list[Code]:
        return [c for c in self.codes.values() if c.parent == code_id]

    def dimension_of(self, code_id: str) -> str:
        return self.codes[code_id].dimension

    @property
    def balises(self) -> list[Code]:
        return [c for c in self.codes.values() if c.kind == "balise"]

    @property
    def emergent(self) -> dict[str, Code]:
        """The candidate codes (``status: emergent``), in file order."""
        return {k: c for k, c in self.codes.items() if c.status == EMERGENT}

    def frame(self) -> pd.DataFrame:
        """One row per code, in file order (the notebooks' view of the codebook)."""
        rows = [{
            "id": c.id, "label": c.label, "dimension": c.dimension, "kind": c.kind,
            "parent": c.parent, "definition": c.definition,
            "include": " | ".join(c.include), "exclude": " | ".join(c.exclude),
            "examples": " | ".join(c.examples), "keywords": ", ".join(c.keywords),
        } for c in self.codes.values()]
        import pandas as pd

        return pd.DataFrame(rows)


def _as_list(value) -> list:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return list(value)


def _check_patterns(patterns, rel, line, cid, problems: Problems) -> None:
    if not isinstance(patterns, list):
        problems.add(rel, msg("cb.patterns_not_list", code=cid), line)
        return
    for pattern in patterns:
        if not isinstance(pattern, list) or not pattern or not all(isinstance(t, dict) for t in pattern):
            problems.add(rel, msg("cb.pattern_not_tokens", code=cid), line, hint=msg("cb.pattern_example"))
            continue
        for token in pattern:
            unknown = set(token) - PATTERN_KEYS
            if unknown:
                problems.add(rel, msg("cb.pattern_keys", code=cid, keys=sorted(unknown)), line,
                             hint=msg("cb.pattern_keys_hint", keys=sorted(PATTERN_KEYS)))


def _compose_and_load(text: str):
    """The node tree (for line numbers) and the value of a YAML text, from one parse with the C
    loader where installed (the pure-Python one parsed the codebook twice: a second per report)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    try:
        node = loader.get_single_node()
        return node, (None if node is None else loader.construct_document(node))
    finally:
        loader.dispose()


def validate_codebook(path: str | Path) -> tuple[Codebook | None, Problems]:
    """Read and check a codebook file; return it (None if unusable) and every problem."""
    path = Path(path)
    rel = str(path)
    problems = Problems()
    if not path.is_file():
        problems.add(rel, msg("cb.not_found"), hint=msg("cb.not_found_hint"))
        return None, problems
    try:
        text = path.read_text(encoding="utf-8-sig")
        node, data = _compose_and_load(text)
    except UnicodeDecodeError:
        problems.add(rel, msg("not_utf8"), hint=msg("resave_utf8"))
        return None, problems
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problems.add(rel, msg("cb.not_yaml", error=fr_yaml_error(exc)),
                     None if mark is None else mark.line + 1, hint=msg("cb.not_yaml_hint"))
        return None, problems
    if not isinstance(data, dict) or not isinstance(data.get("codes"), list):
        problems.add(rel, msg("cb.no_codes"), 1)
        return None, problems
    version = data.get("version")
    if not version:
        problems.add(rel, msg("cb.no_version"), 1, hint=msg("cb.no_version_hint"))
    dims = {}
    for d in data.get("dimensions") or []:
        if isinstance(d, dict) and d.get("id"):
            dims[str(d["id"])] = str(d.get("label", d["id"]))
    if not dims:
        problems.add(rel, msg("cb.no_dimensions"), 1, hint=msg("cb.no_dimensions_hint"))

    codes: dict[str, Code] = {}
    lines: dict[str, int | None] = {}
    for i, raw in enumerate(data["codes"]):
        line = yaml_line(node, ["codes", i])
        if not isinstance(raw, dict) or not raw.get("id"):
            problems.add(rel, msg("cb.code_without_id", n=i + 1), line)
            continue
        cid = str(raw["id"])
        if cid in codes:
            problems.add(rel, msg("cb.duplicate_id", code=cid, line=lines[cid]), line,
                         hint=msg("cb.duplicate_id_hint"))
            continue
        candidate = raw.get("status") == EMERGENT
        for key in REQUIRED_TEXT[:1] if candidate else REQUIRED_TEXT:
            if not str(raw.get(key) or "").strip():
                problems.add(rel, msg("cb.empty_field", code=cid, key=key), line)
        for key in () if candidate else REQUIRED_LISTS:
            if not [x for x in _as_list(raw.get(key)) if str(x).strip()]:
                problems.add(rel, msg("cb.empty_criteria", code=cid, key=key), line)
        if not candidate and len(_as_list(raw.get("examples"))) < MIN_EXAMPLES:
            problems.add(rel, msg("cb.few_examples", code=cid, n=MIN_EXAMPLES), line)
        if not candidate and not _as_list(raw.get("keywords")) and not _as_list(raw.get("patterns")):
            problems.add(rel, msg("cb.no_keywords", code=cid), line)
        kind = raw.get("kind", "concept" if candidate else None)
        if kind not in KINDS:
            problems.add(rel, msg("cb.bad_kind", code=cid, kind=kind, kinds=", ".join(KINDS)), line)
        dim = raw.get("dimension") or (cid.split(".")[0] if candidate else None)
        if dims and dim not in dims and not candidate:
            problems.add(rel, msg("cb.unknown_dimension", code=cid, dimension=dim), line,
                         hint=msg("cb.declared_dimensions", dimensions=", ".join(dims)))
        _check_patterns(raw.get("patterns") or [], rel, line, cid, problems)
        status = raw.get("status") or None
        if status is not None and status not in STATUSES:
            problems.add(rel, f"{cid}: status '{status}' is not one of {', '.join(STATUSES)}", line,
                         hint="leave status out for a code of the grid")
        if status is not None and cid in CANONICAL_IDS:
            problems.add(rel, f"{cid}: a canonical code cannot have a status", line)
        codes[cid] = Code(
            id=cid, label=str(raw.get("label") or ""), dimension=str(dim), kind=str(kind),
            parent=raw.get("parent") or None, definition=str(raw.get("definition") or "").strip(),
            include=tuple(map(str, _as_list(raw.get("include")))),
            exclude=tuple(map(str, _as_list(raw.get("exclude")))),
            examples=tuple(map(str, _as_list(raw.get("examples")))),
            keywords=tuple(map(str, _as_list(raw.get("keywords")))),
            patterns=tuple(raw.get("patterns") or ()),
            status=str(status) if status is not None else None,
            source_guid=str(raw.get("source_guid") or ""),
        )
        lines[cid] = line

    for cid, code in codes.items():
        if code.parent is not None and code.parent not in codes:
            problems.add(rel, msg("cb.missing_parent", code=cid, parent=code.parent), lines[cid])
    for cid in codes:
        seen = [cid]
        parent = codes[cid].parent
        while parent in codes:
            if parent in seen:
                problems.add(rel, msg("cb.parent_cycle", code=cid, cycle=" -> ".join(seen + [parent])), lines[cid])
                break
            seen.append(parent)
            parent = codes[parent].parent
    for cid in CANONICAL_IDS:
        if cid not in codes:
            problems.add(rel, msg("cb.missing_canonical", code=cid), hint=msg("cb.missing_canonical_hint"))
    book = Codebook(version=str(version or ""), name=str(data.get("name") or ""),
                    dimensions=dims, codes=codes, path=rel, problems=problems)
    return (None if problems.errors else book), problems


def load_codebook(path: str | Path = "codebook/balises.yaml") -> Codebook:
    """Load a codebook, raising :class:`CodebookError` on the first problem found.

    A path that does not exist is a wrong usage (:class:`UsageError`), not bad data.
    """
    if not Path(path).is_file():
        raise UsageError(msg("cb.not_found"), str(path), hint=msg("cb.not_found_hint"))
    book, problems = validate_codebook(path)
    if book is None:
        first = problems.errors[0]
        more = msg("and_more", n=len(problems.errors) - 1) if len(problems.errors) > 1 else ""
        raise CodebookError(first.message + more, first.path, first.line, first.hint)
    return book


def _bump_patch(version: str) -> str:
    parts = version.split(".")
    if parts and parts[-1].isdigit():
        parts[-1] = str(int(parts[-1]) + 1)
        return ".".join(parts)
    return version + ".1"


def codebook_lock(path: str | Path, timeout: float = 60):
    """The lock writers of a codebook file take (``<codebook>.lock``)."""
    from filelock import FileLock

    return FileLock(str(path) + ".lock", timeout=timeout)


def clean_codebook_temps(path: str | Path) -> list[str]:
    """Remove the temporary files a killed writer left beside the codebook (under its lock)."""
    from analyse.fileio import clean_temps

    with codebook_lock(path):
        return clean_temps(path)


def append_code(path: str | Path, code: dict) -> Codebook:
    """Append one code at the end of the codebook file and bump its patch version.

    The file is edited as text (its comments and layout stay as they are),
    the result is validated before anything is written, then written
    atomically, under the codebook's lock (two codes appended at once are both
    kept; the temporary file of a writer killed earlier is removed). Used to
    add emergent codes (``status: emergent``).

    Raises
    ------
    CodebookError
        If the codebook with the new code would not be valid.
    """
    from analyse.fileio import clean_temps

    path = Path(path)
    with codebook_lock(path):
        clean_temps(path)
        return _append_code_locked(path, code)


def _append_code_locked(path: Path, code: dict) -> Codebook:
    import re
    import tempfile

    from analyse.fileio import atomic_write

    text = path.read_text(encoding="utf-8-sig")
    data = yaml.safe_load(text)
    if not isinstance(data, dict) or not isinstance(data.get("codes"), list) or list(data)[-1] != "codes":
        raise CodebookError(msg("cb.cannot_append"), str(path), hint=msg("cb.cannot_append_hint"))
    block = yaml.safe_dump([code], allow_unicode=True, sort_keys=False, width=110)
    block = "\n".join(("  " + line) if line else line for line in block.rstrip("\n").split("\n"))
    new = text.rstrip("\n") + "\n\n" + block + "\n"
    old_version = str(data.get("version") or "")
    if old_version:
        new = re.sub(r'^(version:\s*)(["\']?)' + re.escape(old_version) + r'\2\s*$',
                     lambda m: f"{m.group(1)}{m.group(2)}{_bump_patch(old_version)}{m.group(2)}",
                     new, count=1, flags=re.M)
    with tempfile.TemporaryDirectory() as tmp:
        check = Path(tmp) / path.name
        check.write_text(new, encoding="utf-8")
        book, problems = validate_codebook(check)
    if book is None:
        first = problems.errors[0]
        raise CodebookError(msg("cb.append_invalid", error=first.message), str(path), hint=first.hint)
    atomic_write(path, new)
    book.path = str(path)
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
        raise CodebookError(msg("cb.unknown_format", fmt=fmt), hint=msg("cb.formats_hint"))
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
    apart = [c for c in book.emergent.values() if c.dimension not in book.dimensions]
    if apart:
        out.append(f"Codes candidats hors dimensions ({len(apart)}, status: emergent) — à examiner")
        for code in apart:
            if code.parent is None or code.parent not in book.codes:
                walk(code, 1)
    return "\n".join(out) + "\n"
