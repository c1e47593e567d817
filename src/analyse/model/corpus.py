"""Load and validate the corpus: documents, speaker turns and segments.

A document is ``corpus/<territory>/<doc-id>.md``: a YAML front matter between
``---`` lines, then a body of speaker turns such as ``**P1 (élue)** : …``.
A turn may span several paragraphs; each paragraph is a *segment*, the coding
unit, with the stable id ``<doc-id>#<n>`` (n counted from 1 over the body).

Offsets are Python ``str`` indices (Unicode code points) into the *body*, after
the BOM is dropped and CRLF/CR line ends are normalised to LF: the body text
that :func:`load_corpus` exposes is the reference every coding points into.

Loading never stops at the first bad file: problems are collected with the
file and line, and every valid document is still returned.
"""

from __future__ import annotations

import datetime as _dt
import functools
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from analyse.errors import CorpusError, Problems

TERRITORY_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
KINDS = ("transcript", "recit", "entretien", "note")
ATELIERS = ("engagement", "transversalite", "cooperation", "valeur", "synthese", "none")
ROLES = ("elu", "services", "acteur-economique", "citoyen", "animateur", "autre")
# Kinds whose body may hold narration outside any speaker turn.
NARRATIVE_KINDS = ("recit", "note")
# Folders under corpus/ that are not territories.
NON_TERRITORY_DIRS = ("codings",)

FRONT_MATTER_SCHEMA = {
    "type": "object",
    "required": ["id", "title", "territory", "kind", "atelier", "date", "language",
                 "participants", "synthetic"],
    "properties": {
        "id": {"type": "string", "pattern": r"^[a-z0-9][a-z0-9-]*$"},
        "title": {"type": "string", "minLength": 1},
        "territory": {"type": "string", "pattern": TERRITORY_SLUG.pattern},
        "kind": {"enum": list(KINDS)},
        "atelier": {"enum": list(ATELIERS)},
        "date": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"},
        "language": {"type": "string", "pattern": r"^[a-z]{2}$"},
        "synthetic": {"type": "boolean"},
        "participants": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["id", "name", "role"],
                "properties": {
                    "id": {"type": "string", "pattern": r"^[A-Z][A-Za-z0-9_-]*$"},
                    "name": {"type": "string", "minLength": 1},
                    "role": {"enum": list(ROLES)},
                },
            },
        },
    },
}

# `**P1 (élue)** : ` ; the colon may also sit inside the bold (`**P1 (élue) :**`).
SPEAKER_MARKER = re.compile(
    r"\*\*(?P<id>[A-Za-z][A-Za-z0-9_-]*)\s*(?:\((?P<label>[^)]*)\))?\s*(?::\s*\*\*|\*\*\s*:)[ \t]*"
)


# libyaml's parser when PyYAML was built with it (about ten times faster), else the pure-Python one.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _DatesAsStrings(_SafeLoader):
    """SafeLoader that leaves ``2018-02-30`` as text, so the schema can report it."""


_DatesAsStrings.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _compose_and_construct(front: str) -> tuple[yaml.Node | None, object]:
    """The front matter's node tree (for line numbers) and its value, from one parse."""
    loader = _DatesAsStrings(front)
    try:
        node = loader.get_single_node()
        return node, (None if node is None else loader.construct_document(node))
    finally:
        loader.dispose()


@functools.lru_cache(maxsize=1)
def _front_matter_check():
    """The schema compiled to plain Python by fastjsonschema: a valid front matter (nearly all of them)
    is accepted without importing jsonschema, whose import alone costs about a second of CPU."""
    import fastjsonschema

    return fastjsonschema.compile(FRONT_MATTER_SCHEMA)


@functools.lru_cache(maxsize=1)
def _front_matter_validator():
    import jsonschema

    return jsonschema.Draft202012Validator(FRONT_MATTER_SCHEMA)


def _schema_errors(meta: dict) -> list:
    """Every schema error of a front matter (jsonschema's, with paths), none when it is valid."""
    import fastjsonschema

    try:
        _front_matter_check()(meta)
        return []
    except fastjsonschema.JsonSchemaException:
        pass
    # invalid: jsonschema lists every error, each with its path (for the line number)
    return sorted(_front_matter_validator().iter_errors(meta), key=lambda e: list(map(str, e.path)))

WORD = re.compile(r"\w+(?:['’-]\w+)*")


def count_words(text: str) -> int:
    """Number of words in ``text`` (apostrophes and hyphens join a word)."""
    return len(WORD.findall(text))


@dataclass(frozen=True)
class Participant:
    id: str
    name: str
    role: str


@dataclass
class Document:
    """A validated document. ``body`` is the text every offset points into."""

    id: str
    title: str
    territory: str
    kind: str
    atelier: str
    date: str
    language: str
    synthetic: bool
    participants: list[Participant]
    body: str
    path: str
    body_first_line: int
    meta: dict = field(default_factory=dict)

    def participant(self, pid: str) -> Participant | None:
        return next((p for p in self.participants if p.id == pid), None)


@dataclass(frozen=True)
class Segment:
    """A paragraph of a speaker turn: the coding unit."""

    id: str
    doc: str
    n: int
    start: int
    end: int
    text: str
    speaker: str | None
    speaker_label: str | None
    role: str | None
    territory: str
    atelier: str
    kind: str
    line: int
    turn: int = 0  # 1-based speaker turn; 0 for narration outside any turn


@dataclass
class Corpus:
    """Documents and segments of a corpus folder, and what was wrong in it."""

    root: Path
    documents: dict[str, Document]
    segments: list[Segment]
    problems: Problems

    def segments_of(self, doc_id: str) -> list[Segment]:
        """The segments of one document, in order (indexed once, on first use)."""
        index = getattr(self, "_by_doc", None)
        if index is None or getattr(self, "_indexed", -1) != len(self.segments):
            index = {}
            for s in self.segments:
                index.setdefault(s.doc, []).append(s)
            self._by_doc, self._indexed = index, len(self.segments)
        return list(index.get(doc_id, []))

    @property
    def territories(self) -> list[str]:
        return sorted({d.territory for d in self.documents.values()})

    def subset(self, territories: list[str]) -> "Corpus":
        """The same corpus restricted to some territories (problems are kept)."""
        keep = set(territories)
        docs = {k: d for k, d in self.documents.items() if d.territory in keep}
        return Corpus(self.root, docs, [s for s in self.segments if s.territory in keep], self.problems)


def read_text(path: str | Path) -> str:
    """Read a UTF-8 file (BOM allowed) and normalise line ends to LF.

    Raises
    ------
    CorpusError
        If the bytes are not valid UTF-8: decoding them as Latin-1 or cp1252
        would silently corrupt every accented letter.
    """
    raw = Path(path).read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise CorpusError(
            f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start})",
            path, line,
            hint="re-save the file as UTF-8; it looks like another encoding such as cp1252 or Latin-1",
        ) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def split_front_matter(text: str) -> tuple[str, str, int]:
    """Return ``(front_matter_yaml, body, body_first_line)`` of a document text."""
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        raise CorpusError("missing YAML front matter",
                          hint="start the file with a line '---', the metadata, then '---'")
    for i in range(1, len(lines)):
        if lines[i].strip() in ("---", "..."):
            front = "\n".join(lines[1:i])
            body = "\n".join(lines[i + 1:])
            return front, body, i + 2
    raise CorpusError("front matter is not closed",
                      hint="add a line '---' after the metadata")


def yaml_line(node: yaml.Node | None, path: list) -> int | None:
    """1-based line of the YAML node reached by ``path`` (keys and indices)."""
    if node is None:
        return None
    line = node.start_mark.line + 1
    for key in path:
        if isinstance(node, yaml.MappingNode):
            nxt = next((v for k, v in node.value if k.value == key), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            nxt = node.value[key]
        else:
            nxt = None
        if nxt is None:
            break
        node = nxt
        line = node.start_mark.line + 1
    return line


def _validate_meta(meta: dict, node: yaml.Node, rel: str, first_line: int,
                   folder: str, stem: str, problems: Problems) -> bool:
    """Check the front matter against the schema and the folder; report every problem."""
    ok = True
    for err in _schema_errors(meta):
        where = ".".join(str(p) for p in err.path) or "front matter"
        line = yaml_line(node, list(err.path))
        problems.add(rel, f"{where}: {err.message}", None if line is None else line + first_line - 1,
                     hint=_schema_hint(err))
        ok = False
    if not ok:
        return False
    if meta["territory"] != folder:
        problems.add(rel, f"territory '{meta['territory']}' differs from its folder '{folder}'",
                     yaml_line(node, ["territory"]) + first_line - 1,
                     hint=f"set territory: {folder} or move the file to corpus/{meta['territory']}/")
        ok = False
    if meta["id"] != stem:
        problems.add(rel, f"id '{meta['id']}' differs from the file name '{stem}.md'",
                     yaml_line(node, ["id"]) + first_line - 1,
                     hint="rename the file or the id: segment ids are built from it")
        ok = False
    try:
        _dt.date.fromisoformat(meta["date"])
    except ValueError:
        problems.add(rel, f"date '{meta['date']}' is not a real calendar date",
                     yaml_line(node, ["date"]) + first_line - 1, hint="use YYYY-MM-DD")
        ok = False
    seen: set[str] = set()
    for i, p in enumerate(meta["participants"]):
        if p["id"] in seen:
            problems.add(rel, f"participant id '{p['id']}' is declared twice",
                         yaml_line(node, ["participants", i]) + first_line - 1,
                         hint="give each participant its own id")
            ok = False
        seen.add(p["id"])
    return ok


def _schema_hint(err: "jsonschema.ValidationError") -> str:  # noqa: F821
    if err.validator == "enum":
        return "allowed: " + ", ".join(map(str, err.validator_value))
    if err.validator == "required":
        return "add the missing field"
    if err.validator == "pattern" and "date" in list(map(str, err.path)):
        return "use an ISO date YYYY-MM-DD"
    return ""


def _paragraphs(body: str):
    """Yield ``(start, end, first_line_index)`` of each blank-line separated paragraph."""
    pos = 0
    start = None
    start_line = 0
    for i, line in enumerate(body.split("\n")):
        blank = not line.strip()
        if not blank and start is None:
            start, start_line = pos, i
        if blank and start is not None:
            yield start, pos - 1, start_line
            start = None
        pos += len(line) + 1
    if start is not None:
        yield start, len(body), start_line


def parse_segments(doc: Document, problems: Problems) -> list[Segment]:
    """Split a document's body into speaker turns, then segments at blank lines."""
    segments: list[Segment] = []
    speaker = label = role = None
    turn = 0
    body = doc.body
    for start, end, line_idx in _paragraphs(body):
        line = doc.body_first_line + line_idx
        m = SPEAKER_MARKER.match(body, start, end)
        if m:
            pid = m.group("id")
            participant = doc.participant(pid)
            if participant is None:
                known = ", ".join(p.id for p in doc.participants)
                problems.add(doc.path, f"unknown speaker '{pid}'", line,
                             hint=f"declare it under participants (declared: {known})")
                speaker = label = role = None
                continue
            speaker, label, role = pid, (m.group("label") or "").strip() or None, participant.role
            turn += 1
            start = m.end()
        elif speaker is None and doc.kind not in NARRATIVE_KINDS:
            problems.add(doc.path, "text before the first speaker turn", line,
                         hint="start the paragraph with a marker such as '**P1 (élue)** : '")
            continue
        while end > start and body[end - 1].isspace():
            end -= 1
        while start < end and body[start].isspace():
            start += 1
        if start >= end:
            problems.add(doc.path, "empty speaker turn", line, severity="warning")
            continue
        n = len(segments) + 1
        segments.append(Segment(
            id=f"{doc.id}#{n}", doc=doc.id, n=n, start=start, end=end, text=body[start:end],
            speaker=speaker, speaker_label=label, role=role, territory=doc.territory,
            atelier=doc.atelier, kind=doc.kind, line=line, turn=turn if speaker else 0,
        ))
    return segments


def load_document(path: str | Path, root: str | Path | None = None) -> tuple[Document | None, list[Segment], Problems]:
    """Load one document file; return it (or None), its segments and its problems."""
    path = Path(path)
    problems = Problems()
    rel = str(path.relative_to(root)) if root is not None and path.is_relative_to(root) else str(path)
    try:
        text = read_text(path)
        front, body, first_line = split_front_matter(text)
    except CorpusError as exc:
        problems.add(rel, exc.message, exc.line, exc.hint)
        return None, [], problems
    try:
        node, meta = _compose_and_construct(front)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = None if mark is None else mark.line + 2
        problems.add(rel, f"front matter is not valid YAML: {getattr(exc, 'problem', exc)}", line,
                     hint="check indentation, colons and quotes")
        return None, [], problems
    if not isinstance(meta, dict):
        problems.add(rel, "front matter is not a mapping of fields", 2,
                     hint="write one 'field: value' per line")
        return None, [], problems
    if not _validate_meta(meta, node, rel, 2, path.parent.name, path.stem, problems):
        return None, [], problems
    known = {"id", "title", "territory", "kind", "atelier", "date", "language", "synthetic", "participants"}
    doc = Document(
        id=meta["id"], title=meta["title"], territory=meta["territory"], kind=meta["kind"],
        atelier=meta["atelier"], date=meta["date"], language=meta["language"],
        synthetic=meta["synthetic"],
        participants=[Participant(p["id"], p["name"], p["role"]) for p in meta["participants"]],
        body=body, path=rel, body_first_line=first_line,
        meta={k: v for k, v in meta.items() if k not in known},
    )
    segments = parse_segments(doc, problems)
    if not segments:
        problems.add(rel, "document has no segment", first_line, hint="add speaker turns after the front matter")
    return doc, segments, problems


def document_paths(root: str | Path) -> list[Path]:
    """Every document file of a corpus folder, in a stable order."""
    root = Path(root)
    paths = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        if folder.name.startswith((".", "_")) or folder.name in NON_TERRITORY_DIRS:
            continue
        paths.extend(p for p in sorted(folder.glob("*.md")) if p.name.lower() != "readme.md")
    return paths


def load_corpus(root: str | Path = "corpus") -> Corpus:
    """Load every document under ``root``; invalid files are reported, not fatal.

    Examples
    --------
    >>> corpus = load_corpus("corpus")               # doctest: +SKIP
    >>> [str(p) for p in corpus.problems.errors]     # doctest: +SKIP
    []
    """
    root = Path(root)
    if not root.is_dir():
        raise CorpusError("corpus folder not found", root, hint="pass --corpus PATH")
    documents: dict[str, Document] = {}
    segments: list[Segment] = []
    problems = Problems()
    for path in document_paths(root):
        if not TERRITORY_SLUG.match(path.parent.name):
            problems.add(path.relative_to(root), f"folder '{path.parent.name}' is not a territory slug",
                         hint="use lowercase letters, digits and hyphens, e.g. grande-synthe")
            continue
        doc, segs, probs = load_document(path, root)
        problems.extend(probs)
        if doc is None:
            continue
        if doc.id in documents:
            problems.add(doc.path, f"document id '{doc.id}' is also used by {documents[doc.id].path}",
                         hint="document ids must be unique across territories")
            continue
        documents[doc.id] = doc
        segments.extend(segs)
    return Corpus(root, documents, segments, problems)


def documents_frame(corpus: Corpus) -> pd.DataFrame:
    """One row per document: metadata, word count, segment and participant counts."""
    seg_counts: dict[str, int] = {}
    for s in corpus.segments:
        seg_counts[s.doc] = seg_counts.get(s.doc, 0) + 1
    rows = [{
        "doc": d.id, "territory": d.territory, "kind": d.kind, "atelier": d.atelier,
        "date": d.date, "title": d.title, "language": d.language, "synthetic": d.synthetic,
        "participants": len(d.participants), "segments": seg_counts.get(d.id, 0),
        "turns": max((s.turn for s in corpus.segments_of(d.id)), default=0),
        "words": sum(count_words(s.text) for s in corpus.segments_of(d.id)), "path": d.path,
    } for d in corpus.documents.values()]
    columns = ["doc", "territory", "kind", "atelier", "date", "title", "language", "synthetic",
               "participants", "turns", "segments", "words", "path"]
    return pd.DataFrame(rows, columns=columns).sort_values("doc", ignore_index=True)


def segments_frame(corpus: Corpus) -> pd.DataFrame:
    """One row per segment (tidy): id, document, offsets, speaker, role, text, words."""
    columns = ["segment", "doc", "n", "turn", "territory", "atelier", "kind", "speaker", "speaker_label",
               "role", "start", "end", "line", "words", "text"]
    rows = [{
        "segment": s.id, "doc": s.doc, "n": s.n, "turn": s.turn, "territory": s.territory, "atelier": s.atelier,
        "kind": s.kind, "speaker": s.speaker, "speaker_label": s.speaker_label, "role": s.role,
        "start": s.start, "end": s.end, "line": s.line, "words": count_words(s.text), "text": s.text,
    } for s in corpus.segments]
    return pd.DataFrame(rows, columns=columns)


def _print_segments(path: str) -> int:
    """Debug aid: ``python -m analyse.model.corpus FILE`` prints the numbered segments."""
    doc, segments, problems = load_document(path)
    for p in problems:
        print(p, file=sys.stderr)
    for s in segments:
        preview = s.text.replace("\n", " ")
        print(f"{s.n:>3} [{s.speaker or '-'}] {preview[:90]}")
    return 1 if problems.errors else 0


if __name__ == "__main__":  # pragma: no cover - convenience entry point
    sys.exit(_print_segments(sys.argv[1]))
