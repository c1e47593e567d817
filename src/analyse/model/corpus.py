"""Load and validate the corpus: documents, speaker turns and segments.

Why this module is long: the front-matter schema, its checks and the segmenter all report
problems by line of the same file, and share the document model; the readers of other formats live
in :mod:`analyse.model.readers`.

A document is ``corpus/<territory>/<doc-id>.md``: a YAML front matter between
``---`` lines, then a body of speaker turns such as ``**P1 (élue)** : …``.
A turn may span several paragraphs; each paragraph is a *segment*, the coding
unit, with the stable id ``<doc-id>#<n>`` (n counted from 1 over the body).

Offsets are Python ``str`` indices (Unicode code points) into the *body*, after
the BOM is dropped and CRLF/CR line ends are normalised to LF: the body text
that :func:`load_corpus` exposes is the reference every coding points into.

A paragraph may open with a timecode mark, ``[00:03:12]`` or
``[00:03:12-00:03:20]`` (written by ``analyse import``), read into
``Segment.start_time``/``end_time``; the mark stays in the text.

An inter-territory document (``territory: inter-territoires`` or a list of
slugs, in ``corpus/inter-territoires/``) gives each participant a territory;
a segment's territory is its speaker's (None for a facilitator without one).

Loading never stops at the first bad file: problems are collected with the
file and line, and every valid document is still returned. Files of a
territory folder that no registered reader takes (:mod:`analyse.model.readers`)
are reported as warnings.
"""

from __future__ import annotations

import datetime as _dt
import functools
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from analyse.errors import CorpusError, Problems
from analyse.messages import msg
from analyse.textutil import fr_yaml_error

if TYPE_CHECKING:   # pandas only where a table is built: loading and validating need none
    import pandas as pd

TERRITORY_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
KINDS = ("transcript", "recit", "entretien", "note")
ATELIERS = ("engagement", "transversalite", "cooperation", "valeur", "synthese", "none")
ROLES = ("elu", "services", "acteur-economique", "citoyen", "animateur", "autre")
# Kinds whose body may hold narration outside any speaker turn.
NARRATIVE_KINDS = ("recit", "note")
# Folders under corpus/ that are not territories.
NON_TERRITORY_DIRS = ("codings",)
# Territory (and folder) of documents that gather several territories (peer workshops):
# each participant then carries a territory, and a segment's territory is its speaker's.
INTER_TERRITORIES = "inter-territoires"
# Inline timecode at the start of a paragraph (after the speaker marker): `[00:03:12]`,
# `[03:12]`, `[00:03:12.500]`, or a range `[00:03:12-00:03:20]` (also `–` or `-->`).
_CLOCK = r"\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d{1,3})?"
TIMECODE = re.compile(rf"\[(?P<start>{_CLOCK})(?:\s*(?:-->|-|–|—)\s*(?P<end>{_CLOCK}))?\]")

FRONT_MATTER_SCHEMA = {
    "type": "object",
    "required": ["id", "title", "territory", "kind", "atelier", "date", "language",
                 "participants", "synthetic"],
    "properties": {
        "id": {"type": "string", "pattern": r"^[a-z0-9][a-z0-9-]*$"},
        "title": {"type": "string", "minLength": 1},
        "territory": {"oneOf": [
            {"type": "string", "pattern": TERRITORY_SLUG.pattern},
            {"type": "array", "minItems": 1, "uniqueItems": True,
             "items": {"type": "string", "pattern": TERRITORY_SLUG.pattern}},
        ]},
        "kind": {"enum": list(KINDS)},
        "atelier": {"enum": list(ATELIERS)},
        "date": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"},
        "language": {"type": "string", "pattern": r"^[a-z]{2}$"},
        "synthetic": {"type": "boolean"},
        # Set by `analyse refi import`: the source's GUID in the tool it came from (re-imports skip it).
        "source_guid": {"type": "string", "pattern": r"^[0-9A-Fa-f{}-]{32,38}$"},
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
                    "territory": {"type": "string", "pattern": TERRITORY_SLUG.pattern},
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
    """Number of words in ``text`` (apostrophes and hyphens join a word; timecodes are not words)."""
    return len(WORD.findall(TIMECODE.sub(" ", text) if "[" in text else text))


def clock(value: str) -> str:
    """``3:12`` → ``00:03:12``, ``1:02:03,5`` → ``01:02:03.5``: one spelling for timecodes."""
    value = value.replace(",", ".")
    main, _, frac = value.partition(".")
    parts = [int(p) for p in main.split(":")]
    while len(parts) < 3:
        parts.insert(0, 0)
    out = "{:02d}:{:02d}:{:02d}".format(*parts)
    return f"{out}.{frac}" if frac else out


@dataclass(frozen=True)
class Participant:
    id: str
    name: str
    role: str
    territory: str | None = None  # set in inter-territory documents


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
    # Territories a document covers: [territory], or its participants' in an inter-territory document.
    territories: list[str] = field(default_factory=list)

    @property
    def inter_territory(self) -> bool:
        return self.territory == INTER_TERRITORIES

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
    territory: str | None  # the speaker's in an inter-territory document (None for a facilitator)
    atelier: str
    kind: str
    line: int
    turn: int = 0  # 1-based speaker turn; 0 for narration outside any turn
    start_time: str | None = None  # from a `[00:03:12]` mark opening the paragraph
    end_time: str | None = None    # from a `[00:03:12-00:03:20]` range


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

    def segment_words(self) -> list[int]:
        """The word count (:func:`count_words`) of each segment, in order; counted once while the
        segments stay the same, since the document table and the segment table both need them."""
        cached = getattr(self, "_words", None)
        if cached is None or cached[0] is not self.segments or cached[1] != len(self.segments):
            cached = (self.segments, len(self.segments), [count_words(s.text) for s in self.segments])
            self._words = cached
        return cached[2]

    @property
    def territories(self) -> list[str]:
        """Territories of the material: an inter-territory document adds its speakers' territories."""
        return sorted({t for d in self.documents.values() for t in (d.territories or [d.territory])})

    def subset(self, territories: list[str]) -> "Corpus":
        """The same corpus restricted to some territories (problems are kept).

        An inter-territory document is kept with the segments of the chosen territories only.
        """
        keep = set(territories)
        docs = {k: d for k, d in self.documents.items() if keep & set(d.territories or [d.territory])}
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
        raise CorpusError(msg("doc.not_utf8", byte=raw[exc.start], offset=exc.start), path, line,
                          hint=msg("doc.not_utf8_hint")) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def split_front_matter(text: str) -> tuple[str, str, int]:
    """Return ``(front_matter_yaml, body, body_first_line)`` of a document text."""
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        raise CorpusError(msg("doc.no_front_matter"), hint=msg("doc.no_front_matter_hint"))
    for i in range(1, len(lines)):
        if lines[i].strip() in ("---", "..."):
            front = "\n".join(lines[1:i])
            body = "\n".join(lines[i + 1:])
            return front, body, i + 2
    raise CorpusError(msg("doc.front_matter_open"), hint=msg("doc.front_matter_open_hint"))


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
        line = yaml_line(node, list(err.path))
        problems.add(rel, _schema_message(err), None if line is None else line + first_line - 1,
                     hint=_schema_hint(err))
        ok = False
    if not ok:
        return False
    territory = meta["territory"]
    inter = isinstance(territory, list) or territory == INTER_TERRITORIES
    home = INTER_TERRITORIES if inter else territory
    if home != folder:
        if isinstance(territory, list):
            problems.add(rel, f"document inter-territoires (territory: liste) rangé dans le dossier '{folder}'",
                         yaml_line(node, ["territory"]) + first_line - 1,
                         hint=f"déplacer le fichier dans corpus/{INTER_TERRITORIES}/")
        else:
            problems.add(rel, msg("doc.territory_folder", territory=territory, folder=folder),
                         yaml_line(node, ["territory"]) + first_line - 1,
                         hint=msg("doc.territory_folder_hint", folder=folder, territory=territory))
        ok = False
    ok = _check_participant_territories(meta, node, rel, first_line, inter, problems) and ok
    if meta["id"] != stem:
        problems.add(rel, msg("doc.id_file", id=meta["id"], stem=stem),
                     yaml_line(node, ["id"]) + first_line - 1, hint=msg("doc.id_file_hint"))
        ok = False
    try:
        _dt.date.fromisoformat(meta["date"])
    except ValueError:
        problems.add(rel, msg("doc.bad_date", date=meta["date"]),
                     yaml_line(node, ["date"]) + first_line - 1, hint=msg("doc.bad_date_hint"))
        ok = False
    seen: set[str] = set()
    for i, p in enumerate(meta["participants"]):
        if p["id"] in seen:
            problems.add(rel, msg("doc.participant_twice", id=p["id"]),
                         yaml_line(node, ["participants", i]) + first_line - 1,
                         hint=msg("doc.participant_twice_hint"))
            ok = False
        seen.add(p["id"])
    return ok


def _check_participant_territories(meta: dict, node: yaml.Node, rel: str, first_line: int,
                                   inter: bool, problems: Problems) -> bool:
    """In an inter-territory document every participant but a facilitator names a territory
    (one of the listed ones, if the document lists them); elsewhere a participant's territory,
    if given, is the document's."""
    ok = True
    listed = meta["territory"] if isinstance(meta["territory"], list) else None
    for i, p in enumerate(meta["participants"]):
        where = yaml_line(node, ["participants", i]) + first_line - 1
        own = p.get("territory")
        who = f"participant {p['id']} ({p['name']})"
        if inter and own is None and p["role"] != "animateur":
            problems.add(rel, f"{who} sans territoire dans un document inter-territoires", where,
                         hint="ajouter territory: <territoire> au participant (seul un animateur peut ne pas en avoir)")
            ok = False
        elif inter and own is not None and listed is not None and own not in listed:
            problems.add(rel, f"{who} : territoire inconnu '{own}' (le document liste {', '.join(listed)})", where,
                         hint="corriger le territoire du participant ou l'ajouter à la liste territory:")
            ok = False
        elif not inter and own is not None and own != meta["territory"]:
            problems.add(rel, f"{who} : territoire '{own}' différent de celui du document '{meta['territory']}'",
                         where, hint=f"un document qui réunit plusieurs territoires va dans corpus/{INTER_TERRITORIES}/ "
                                     f"avec territory: {INTER_TERRITORIES}")
            ok = False
    return ok


def _schema_message(err: "jsonschema.ValidationError") -> str:  # noqa: F821
    # jsonschema words its messages in English: say the same in French
    field = ".".join(str(p) for p in err.path) or msg("doc.front_matter")
    if err.validator == "enum":
        return msg("doc.schema_enum", field=field, value=err.instance)
    if err.validator == "required":
        missing = next((k for k in err.validator_value if k not in (err.instance or {})), "")
        return msg("doc.schema_required", field=field, name=missing)
    if err.validator == "type":
        return msg("doc.schema_type", field=field, value=err.instance, type=err.validator_value)
    if err.validator == "pattern":
        return msg("doc.schema_pattern", field=field, value=err.instance)
    return msg("doc.schema_other", field=field, error=err.message)


def _schema_hint(err: "jsonschema.ValidationError") -> str:  # noqa: F821
    if err.validator == "enum":
        return msg("doc.schema_allowed", values=", ".join(map(str, err.validator_value)))
    if err.validator == "required":
        return msg("doc.schema_add_field")
    if err.validator == "pattern" and "date" in list(map(str, err.path)):
        return msg("doc.schema_iso_date")
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
                problems.add(doc.path, msg("doc.unknown_speaker", id=pid), line,
                             hint=msg("doc.unknown_speaker_hint", known=known))
                speaker = label = role = None
                continue
            speaker, label, role = pid, (m.group("label") or "").strip() or None, participant.role
            turn += 1
            start = m.end()
        elif speaker is None and doc.kind not in NARRATIVE_KINDS:
            problems.add(doc.path, msg("doc.text_before_turn"), line, hint=msg("doc.text_before_turn_hint"))
            continue
        while end > start and body[end - 1].isspace():
            end -= 1
        while start < end and body[start].isspace():
            start += 1
        if start >= end:
            problems.add(doc.path, msg("doc.empty_turn"), line, severity="warning")
            continue
        n = len(segments) + 1
        mark = TIMECODE.match(body, start, end)
        territory = doc.territory
        if doc.inter_territory:
            participant = doc.participant(speaker) if speaker else None
            territory = participant.territory if participant else None
        segments.append(Segment(
            id=f"{doc.id}#{n}", doc=doc.id, n=n, start=start, end=end, text=body[start:end],
            speaker=speaker, speaker_label=label, role=role, territory=territory,
            atelier=doc.atelier, kind=doc.kind, line=line, turn=turn if speaker else 0,
            start_time=clock(mark["start"]) if mark else None,
            end_time=clock(mark["end"]) if mark and mark["end"] else None,
        ))
    return segments


def load_document(path: str | Path, root: str | Path | None = None) -> tuple[Document | None, list[Segment], Problems]:
    """Load one document file; return it (or None), its segments and its problems."""
    path = Path(path)
    rel = str(path.relative_to(root)) if root is not None and path.is_relative_to(root) else str(path)
    try:
        text = read_text(path)
    except CorpusError as exc:
        problems = Problems()
        problems.add(rel, exc.message, exc.line, exc.hint)
        return None, [], problems
    return parse_document(text, rel, path.parent.name, path.stem)


def parse_document(text: str, rel: str, folder: str, stem: str) -> tuple[Document | None, list[Segment], Problems]:
    """Validate and segment a document's text (LF line ends) as if it were ``<folder>/<stem>.md``.

    Importers call this on the text they are about to write, so a file is only written once
    the loader accepts it.
    """
    problems = Problems()
    try:
        front, body, first_line = split_front_matter(text)
    except CorpusError as exc:
        problems.add(rel, exc.message, exc.line, exc.hint)
        return None, [], problems
    try:
        node, meta = _compose_and_construct(front)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = None if mark is None else mark.line + 2
        problems.add(rel, msg("doc.front_matter_yaml", error=fr_yaml_error(exc)), line,
                     hint=msg("doc.front_matter_yaml_hint"))
        return None, [], problems
    if not isinstance(meta, dict):
        problems.add(rel, msg("doc.front_matter_mapping"), 2, hint=msg("doc.front_matter_mapping_hint"))
        return None, [], problems
    if not _validate_meta(meta, node, rel, 2, folder, stem, problems):
        return None, [], problems
    known = {"id", "title", "territory", "kind", "atelier", "date", "language", "synthetic", "participants"}
    participants = [Participant(p["id"], p["name"], p["role"], p.get("territory")) for p in meta["participants"]]
    if isinstance(meta["territory"], list) or meta["territory"] == INTER_TERRITORIES:
        territory = INTER_TERRITORIES
        territories = sorted(set(meta["territory"]) if isinstance(meta["territory"], list)
                             else {p.territory for p in participants if p.territory})
    else:
        territory, territories = meta["territory"], [meta["territory"]]
    doc = Document(
        id=meta["id"], title=meta["title"], territory=territory, kind=meta["kind"],
        atelier=meta["atelier"], date=meta["date"], language=meta["language"],
        synthetic=meta["synthetic"], participants=participants,
        body=body, path=rel, body_first_line=first_line,
        meta={k: v for k, v in meta.items() if k not in known}, territories=territories,
    )
    segments = parse_segments(doc, problems)
    if not segments:
        problems.add(rel, msg("doc.no_segment"), first_line, hint=msg("doc.no_segment_hint"))
    return doc, segments, problems


def corpus_files(root: str | Path) -> list[Path]:
    """Every visible file of the territory folders of a corpus, in a stable order (READMEs aside)."""
    root = Path(root)
    paths = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        if folder.name.startswith((".", "_")) or folder.name in NON_TERRITORY_DIRS:
            continue
        paths.extend(p for p in sorted(folder.iterdir())
                     if p.is_file() and not p.name.startswith((".", "~"))
                     and p.stem.lower() != "readme")
    return paths


def document_paths(root: str | Path) -> list[Path]:
    """Every document file of a corpus folder (a registered document reader reads it)."""
    from analyse.model.readers import document_reader

    return [p for p in corpus_files(root) if document_reader(p) is not None]


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
        raise CorpusError(msg("corpus.not_found"), root, hint=msg("corpus.not_found_hint"))
    from analyse.model.readers import document_reader, source_reader
    documents: dict[str, Document] = {}
    segments: list[Segment] = []
    problems = Problems()
    for path in corpus_files(root):
        reader = document_reader(path)
        if reader is None:
            # A transcript dropped here as is would otherwise be silently left out of every analysis.
            what = ("une transcription à importer" if source_reader(path) is not None
                    else "un fichier que le corpus ne lit pas")
            problems.add(path.relative_to(root), f"fichier ignoré : {what}", severity="warning",
                         hint=f"lancer `analyse import {path} --territory {path.parent.name}` pour en faire un document, "
                              "ou ranger ce fichier hors de corpus/")
            continue
        if not TERRITORY_SLUG.match(path.parent.name):
            problems.add(path.relative_to(root), msg("corpus.bad_folder", folder=path.parent.name),
                         hint=msg("corpus.bad_folder_hint"))
            continue
        doc, segs, probs = reader(path, root)
        problems.extend(probs)
        if doc is None:
            continue
        if doc.id in documents:
            problems.add(doc.path, msg("corpus.duplicate_id", id=doc.id, other=documents[doc.id].path),
                         hint=msg("corpus.duplicate_id_hint"))
            continue
        documents[doc.id] = doc
        segments.extend(segs)
    _check_known_territories(root, documents, problems)
    return Corpus(root, documents, segments, problems)


def _check_known_territories(root: Path, documents: dict[str, Document], problems: Problems) -> None:
    """Warn when an inter-territory document names a territory that has no folder (a typo, often)."""
    folders = {p.name for p in root.iterdir() if p.is_dir()} - {INTER_TERRITORIES}
    for doc in documents.values():
        if not doc.inter_territory:
            continue
        for t in doc.territories:
            if t not in folders:
                problems.add(doc.path, f"territoire inconnu '{t}' : aucun dossier corpus/{t}/", severity="warning",
                             hint="vérifier l'orthographe du territoire (un nouveau territoire a son propre dossier)")


def documents_frame(corpus: Corpus) -> pd.DataFrame:
    """One row per document: metadata, word count, segment and participant counts."""
    import pandas as pd

    seg_counts: dict[str, int] = {}
    turns: dict[str, int] = {}
    words: dict[str, int] = {}
    for s, n in zip(corpus.segments, corpus.segment_words()):   # one pass for every document
        seg_counts[s.doc] = seg_counts.get(s.doc, 0) + 1
        turns[s.doc] = max(turns.get(s.doc, 0), s.turn)
        words[s.doc] = words.get(s.doc, 0) + n
    rows = [{
        "doc": d.id, "territory": d.territory, "kind": d.kind, "atelier": d.atelier,
        "date": d.date, "title": d.title, "language": d.language, "synthetic": d.synthetic,
        "participants": len(d.participants), "segments": seg_counts.get(d.id, 0),
        "turns": turns.get(d.id, 0), "words": words.get(d.id, 0), "path": d.path,
    } for d in corpus.documents.values()]
    columns = ["doc", "territory", "kind", "atelier", "date", "title", "language", "synthetic",
               "participants", "turns", "segments", "words", "path"]
    return pd.DataFrame(rows, columns=columns).sort_values("doc", ignore_index=True)


def segments_frame(corpus: Corpus) -> pd.DataFrame:
    """One row per segment (tidy): id, document, offsets, speaker, role, text, words."""
    import pandas as pd

    columns = ["segment", "doc", "n", "turn", "territory", "atelier", "kind", "speaker", "speaker_label",
               "role", "start", "end", "line", "words", "text", "start_time", "end_time"]
    if not corpus.segments:
        return pd.DataFrame([], columns=columns)       # every column of dtype object, as ever
    fields = {c: c for c in columns} | {"segment": "id"}
    # column by column (a row of dicts per segment is several times slower to build)
    table = {c: [getattr(s, fields[c]) for s in corpus.segments] for c in columns if c != "words"}
    table["words"] = list(corpus.segment_words())
    return pd.DataFrame(table, columns=columns)


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
