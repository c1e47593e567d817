"""REFI-QDA exchange: the standard read by NVivo, ATLAS.ti, MAXQDA, QualCoder, Taguette.

Why this module is long: reading and writing REFI-QDA share one model (RefiProject and its
sources, codes, selections), the GUID scheme and the offset conversions (UTF-16 for NVivo, code points
elsewhere); splitting them would put that model in a third module both halves reach into.

Three things:

1. :func:`export_codebook` writes the codebook as a REFI-QDA codebook
   (``.qdc``, valid against ``Codebook.xsd``) or as the CSV Taguette's
   codebook import reads (columns ``tag``, ``description``).
2. :func:`export_project` writes a REFI-QDA project (``.qdpx``: a zip holding
   ``project.qde``, valid against ``Project.xsd``, and ``Sources/``).
3. :func:`read_project` and :func:`import_project` read projects (or
   codebooks) exported by other tools, and Taguette's project export
   (:mod:`analyse.exchange.taguette`), and write their codings into the codings store.

Choices made on export
----------------------
- GUIDs are ``uuid5`` of a fixed project namespace and a readable key
  (``code:ENG.1``, ``source:le-mene-valeur``, ``user:A``...), so re-exporting
  the same data gives byte-identical files and an import recognises our own
  codes by GUID even after they were renamed in another tool.
- Code hierarchy: each *dimension* (ENG, SYS...) is a top-level, non-codable
  code; balises and concepts sit under their dimension, modes and dispositifs
  under their ``parent`` balise. A code is named ``"<id> <label>"`` and its
  ``<Description>`` holds the definition and the include/exclude criteria.
- Each document is a ``TextSource`` whose plain text is the document *body*
  exactly as :func:`analyse.model.corpus.load_corpus` exposes it (UTF-8, no BOM,
  LF), so offsets need no conversion. Each coding is one
  ``PlainTextSelection`` (code-point offsets, start inclusive, end exclusive;
  ``name`` = the quote, as ATLAS.ti does; ``Description`` = the memo) holding
  one ``Coding`` whose ``creatingUser`` is the coder's ``User``.
- Territory, atelier, document kind and the participants' roles are
  *Variables* with a value on every source (the roles value lists the roles
  present, since REFI-QDA has no per-paragraph attribute); each territory is
  also a *Case* grouping its sources, which NVivo and MAXQDA show as cases.
- A coder's coverage (documents fully coded, see :mod:`analyse.model.codings`) is a
  ``Set`` named ``coverage:<coder>`` whose members are those sources; the
  import reads it back, so a round trip keeps "no code applies".
- The memos of ``corpus/memos.jsonl`` are ``<Note>``s (author as a ``User``,
  date, text) reached by a ``<NoteRef>`` from the project, the source, the code
  or the coding they are about, each named by its memo's target
  (``segment:le-mene-valeur#4``): the whole-project import
  (:mod:`analyse.exchange.refi_project`) gives them back their exact target.

Quirks handled on import (see ``shared/refi-qda/SOURCES.md``)
-------------------------------------------------------------
``Sources/`` or ``sources/``; a ``.qde`` not named ``project.qde``; text
with a BOM and/or CRLF; NVivo's positions in UTF-16 code units with CR
counted; ATLAS.ti's ``Parent::child`` code names and its pseudo-user
``ATLAS.ti``; Taguette's codebook with an empty ``<Sets/>``; lowercase,
uppercase or braced GUIDs.
"""

from __future__ import annotations

import bisect
import csv
import io
import re
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from analyse import __version__
from analyse.model.codebook import Codebook, Code
from analyse.model.codings import (VALENCES, CodingStore, check_coder_id, load_codings, now_iso,
                                   memo_with_valence, split_valence_memo)
from analyse.model.corpus import Corpus
from analyse.fileio import atomic_write
from analyse.errors import AnalyseError, Problems, UsageError
from analyse.messages import msg
from analyse.textutil import check_choice
from analyse.exchange.taguette import TAGUETTE_USER, is_taguette_export
from analyse.exchange.taguette import read_export as read_taguette_export

PROJECT_NS = "urn:QDA-XML:project:1.0"
CODEBOOK_NS = "urn:QDA-XML:codebook:1.0"
# Fixed namespace of every GUID we derive: never change it, or every GUID in
# projects already shared with other tools changes too.
BALISES_NAMESPACE = uuid.UUID("6f1c2a4e-9b57-5d2e-8a43-b4a11e5e0001")
ORIGIN = f"Balises analyse {__version__}"
# ATLAS.ti adds this user to every export; it never stands for a person.
ATLAS_PSEUDO_USER = "c32a2bd5-537f-4838-8b17-df9efbafdf4b"
COVERAGE_SET = "coverage:"
# Zip entries get a fixed date so that two exports of the same data are identical.
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
OFFSET_UNITS = ("auto", "codepoints", "utf16")


def guid_for(kind: str, key: str) -> str:
    """The stable GUID of one exported entity.

    Examples
    --------
    >>> guid_for("code", "ENG.1") == guid_for("code", "ENG.1")
    True
    >>> len(guid_for("user", "A"))
    36
    """
    return str(uuid.uuid5(BALISES_NAMESPACE, f"{kind}:{key}"))


def norm_guid(value: str | None) -> str:
    """GUIDs compare case-insensitively and may be braced (``{…}``)."""
    return (value or "").strip().strip("{}").lower()


# ---------------------------------------------------------------- export

def _p(tag: str) -> str:
    return f"{{{PROJECT_NS}}}{tag}"


def code_description(code: Code) -> str:
    """Definition and criteria of a code, as one French text."""
    parts = [code.definition.strip()]
    if code.include:
        parts.append("À coder si :\n" + "\n".join(f"- {c}" for c in code.include))
    if code.exclude:
        parts.append("Ne pas coder si :\n" + "\n".join(f"- {c}" for c in code.exclude))
    if code.examples:
        parts.append("Exemples :\n" + "\n".join(f"- {c}" for c in code.examples))
    return "\n\n".join(parts)


def code_name(code: Code) -> str:
    """``"<id> <label>"``: readable in other tools, and the import finds the id back."""
    return f"{code.id} {code.label}"


def _codes_tree(book: Codebook, ns: str):
    """The ``<Codes>`` element: dimensions on top, codes under their parent."""
    codes_el = etree.Element(f"{{{ns}}}Codes")
    placed: set[str] = set()

    def add(parent_el, code: Code) -> None:
        if code.id in placed:  # a parent cycle must not loop forever
            return
        placed.add(code.id)
        el = etree.SubElement(parent_el, f"{{{ns}}}Code", guid=guid_for("code", code.id),
                              name=code_name(code), isCodable="true")
        etree.SubElement(el, f"{{{ns}}}Description").text = code_description(code)
        for child in book.children(code.id):
            add(el, child)

    for dim, label in book.dimensions.items():
        el = etree.SubElement(codes_el, f"{{{ns}}}Code", guid=guid_for("dimension", dim),
                              name=f"{dim} {label}", isCodable="false")
        etree.SubElement(el, f"{{{ns}}}Description").text = label
        for code in book.codes.values():
            if code.dimension == dim and (code.parent is None or code.parent not in book.codes):
                add(el, code)
    # Codes whose dimension is not declared still get exported (at top level).
    for code in book.codes.values():
        if code.id not in placed and (code.parent is None or code.parent not in book.codes):
            add(codes_el, code)
    return codes_el


def codebook_qdc(book: Codebook) -> bytes:
    """The codebook as REFI-QDA ``.qdc`` bytes (valid against ``Codebook.xsd``).

    Examples
    --------
    >>> from analyse.model.codebook import load_codebook
    >>> xml = codebook_qdc(load_codebook("codebook/balises.yaml"))  # doctest: +SKIP
    >>> xml.startswith(b"<?xml")  # doctest: +SKIP
    True
    """
    root = etree.Element(f"{{{CODEBOOK_NS}}}CodeBook", nsmap={None: CODEBOOK_NS}, origin=ORIGIN)
    root.append(_codes_tree(book, CODEBOOK_NS))
    return etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True)


def codebook_taguette_csv(book: Codebook) -> str:
    """The codebook as the CSV Taguette's "Import codebook" reads.

    Taguette looks for a ``tag`` column (the tag path, ``.`` separating
    levels, so ``ENG.1`` shows under ``ENG``) and an optional ``description``.

    Examples
    --------
    >>> from analyse.model.codebook import load_codebook
    >>> codebook_taguette_csv(load_codebook("codebook/balises.yaml")).splitlines()[0]  # doctest: +SKIP
    'tag,description'
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["tag", "description"])
    for code in book.codes.values():
        writer.writerow([code.id, f"{code.label} — {code.definition.strip()}"])
    return out.getvalue()


def export_codebook(book: Codebook, out: str | Path, fmt: str = "qdc") -> Path:
    """Write the codebook to ``out`` as ``qdc`` or ``taguette-csv``; return the path."""
    if fmt == "qdc":
        data = codebook_qdc(book)
    elif fmt == "taguette-csv":
        data = codebook_taguette_csv(book).encode("utf-8")
    else:
        check_choice("fmt", fmt, ("qdc", "taguette-csv"))
    _write_atomic(Path(out), data)
    return Path(out)


def _write_atomic(path: Path, data: bytes) -> None:
    atomic_write(path, data)


def _variable_values(parent, values: dict[str, str]) -> None:
    for name, value in values.items():
        vv = etree.SubElement(parent, _p("VariableValue"))
        etree.SubElement(vv, _p("VariableRef"), targetGUID=guid_for("variable", name))
        etree.SubElement(vv, _p("TextValue")).text = value


VARIABLES = {
    "territoire": "Territoire du document",
    "atelier": "Atelier (engagement, transversalite, cooperation, valeur, synthese, none)",
    "type": "Type de document (transcript, recit, entretien, note)",
    "roles": "Rôles des participants présents dans le document",
}


def project_qde(corpus: Corpus, book: Codebook, frame, coverage,
                memos: list[dict] | None = None) -> tuple[bytes, dict[str, str]]:
    """Build ``project.qde`` bytes and the ``{zip entry: text}`` of the sources.

    ``frame`` and ``coverage`` are :class:`~analyse.model.codings.Codings` tables; ``memos`` the
    records of ``corpus/memos.jsonl`` (see :func:`_add_notes`).
    """
    memos = memos or []
    root = etree.Element(_p("Project"), nsmap={None: PROJECT_NS}, name=book.name or "Balises",
                         origin=ORIGIN)
    coders = sorted(set(frame["coder"]) | set(coverage["coder"]))
    authors = sorted({str(m.get("author") or "") for m in memos} - set(coders) - {""})
    if coders or authors:
        users = etree.SubElement(root, _p("Users"))
        for coder in coders:
            etree.SubElement(users, _p("User"), guid=guid_for("user", coder), name=coder, id=coder)
        for author in authors:           # memo authors who code nothing
            etree.SubElement(users, _p("User"), guid=guid_for("user", author), name=author)
    cb = etree.SubElement(root, _p("CodeBook"))
    cb.append(_codes_tree(book, PROJECT_NS))
    docs = sorted(corpus.documents.values(), key=lambda d: d.id)
    if docs:
        variables = etree.SubElement(root, _p("Variables"))
        for name, desc in VARIABLES.items():
            v = etree.SubElement(variables, _p("Variable"), guid=guid_for("variable", name), name=name,
                                 typeOfVariable="Text")
            etree.SubElement(v, _p("Description")).text = desc
        cases = etree.SubElement(root, _p("Cases"))
        for territory in sorted({d.territory for d in docs}):
            case = etree.SubElement(cases, _p("Case"), guid=guid_for("case", territory), name=territory)
            etree.SubElement(case, _p("Description")).text = f"Territoire : {territory}"
            _variable_values(case, {"territoire": territory})
            for d in docs:
                if d.territory == territory:
                    etree.SubElement(case, _p("SourceRef"), targetGUID=guid_for("source", d.id))
    texts: dict[str, str] = {}
    coding_els: dict[tuple[str, str, str], list] = {}   # (coder, segment, code) -> <Coding> elements
    rows = frame.sort_values(["doc", "start", "end", "coder", "code"], kind="stable")
    by_doc = {doc: g for doc, g in rows.groupby("doc", sort=True)}
    if docs:
        sources = etree.SubElement(root, _p("Sources"))
    for d in docs:
        sguid = guid_for("source", d.id)
        texts[f"Sources/{sguid}.txt"] = d.body
        src = etree.SubElement(sources, _p("TextSource"), guid=sguid, name=d.id,
                               plainTextPath=f"internal://{sguid}.txt")
        etree.SubElement(src, _p("Description")).text = d.title
        seen: set[str] = set()
        for r in (by_doc[d.id].itertuples() if d.id in by_doc else ()):
            key = f"{r.coder}:{d.id}:{r.start}:{r.end}:{r.code}"
            if key in seen:  # the same coding twice in a coder file: one selection
                continue
            seen.add(key)
            user = guid_for("user", r.coder)
            attrs = {"guid": guid_for("selection", key), "name": r.quote,
                     "startPosition": str(int(r.start)), "endPosition": str(int(r.end)),
                     "creatingUser": user}
            at = str(r.at) if r.at else ""
            if at:
                attrs["creationDateTime"] = at
            sel = etree.SubElement(src, _p("PlainTextSelection"), **attrs)
            memo = memo_with_valence(str(r.memo or ""), getattr(r, "valence", None))
            if memo:
                etree.SubElement(sel, _p("Description")).text = memo
            coding_attrs = {"guid": guid_for("coding", key), "creatingUser": user}
            if at:
                coding_attrs["creationDateTime"] = at
            coding = etree.SubElement(sel, _p("Coding"), **coding_attrs)
            etree.SubElement(coding, _p("CodeRef"), targetGUID=guid_for("code", r.code))
            coding_els.setdefault((str(r.coder), str(getattr(r, "segment", "")), str(r.code)), []).append(coding)
        roles = sorted({p.role for p in d.participants})
        _variable_values(src, {"territoire": d.territory, "atelier": d.atelier, "type": d.kind,
                               "roles": ", ".join(roles)})
    covered = {c: sorted(set(coverage.loc[coverage["coder"] == c, "doc"]) & set(corpus.documents))
               for c in coders}
    covered = {c: ds for c, ds in covered.items() if ds}
    if covered:
        sets = etree.SubElement(root, _p("Sets"))
        for coder, ds in covered.items():
            s = etree.SubElement(sets, _p("Set"), guid=guid_for("set", f"coverage:{coder}"),
                                 name=f"{COVERAGE_SET}{coder}")
            etree.SubElement(s, _p("Description")).text = \
                f"Documents entièrement codés par {coder} (un segment sans code = aucun code ne s'applique)"
            for doc in ds:
                etree.SubElement(s, _p("MemberSource"), targetGUID=guid_for("source", doc))
    _add_notes(root, memos, corpus, coding_els)
    xml = etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True)
    return xml, texts


def _add_notes(root, memos: list[dict], corpus: Corpus, coding_els: dict) -> None:
    """The memos as REFI-QDA ``<Note>``s, each reached by a ``<NoteRef>`` from what it is about.

    A memo on the project or a territory (a REFI case cannot hold notes) hangs on the project, on a
    document or a segment on its ``<TextSource>``, on a code on its ``<Code>``, on a coding on its
    ``<Coding>`` (or its document's source when the coding is not exported). The note's name is the
    memo's target as Balises writes it (``segment:le-mene-valeur#4``), so that importing the project
    back gives every memo its exact target; its author is a ``<User>``, its date the note's.
    """
    if not memos:
        return
    ns_notes = etree.Element(_p("Notes"))
    refs: list[tuple[object, str]] = []          # (owner element or None for the project, note GUID)
    by_guid = {el.get("guid"): el for el in root.iter(_p("TextSource"), _p("Code"))}
    for m in memos:
        kind, target = str(m.get("target_type") or "project"), str(m.get("target") or "")
        guid = guid_for("memo", str(m.get("id") or f"{kind}:{target}:{m.get('at')}:{m.get('text')}"))
        attrs = {"guid": guid, "name": f"{kind}:{target}" if kind != "project" else "project"}
        if m.get("author"):
            attrs["creatingUser"] = guid_for("user", str(m["author"]))
        if _is_datetime(m.get("at")):
            attrs["creationDateTime"] = str(m["at"])
        note = etree.SubElement(ns_notes, _p("Note"), **attrs)
        etree.SubElement(note, _p("PlainTextContent")).text = str(m.get("text") or "")
        doc = target.split("#")[0] if kind in ("document", "segment") else \
            target.split(":")[1].split("#")[0] if kind == "coding" and target.count(":") == 2 else ""
        owners = []
        if kind == "code":
            owners = [by_guid.get(guid_for("code", target))]
        elif kind == "coding" and target.count(":") == 2:
            owners = coding_els.get(tuple(target.split(":")), [])
        if not [o for o in owners if o is not None] and doc in corpus.documents:
            owners = [by_guid.get(guid_for("source", doc))]
        owners = [o for o in owners if o is not None] or [None]
        refs += [(owner, guid) for owner in owners]
    sets = root.find(_p("Sets"))
    if sets is not None:
        sets.addprevious(ns_notes)
    else:
        root.append(ns_notes)
    for owner, guid in refs:
        ref = etree.Element(_p("NoteRef"), targetGUID=guid)
        if owner is None:
            root.append(ref)                     # the project's notes come last
            continue
        tag = etree.QName(owner).localname
        # each parent orders its children: the NoteRef goes before what the schema puts after it
        after = {"TextSource": ("VariableValue",), "Code": ("Code",), "Coding": ()}[tag]
        nxt = next((c for c in owner if etree.QName(c).localname in after), None)
        if nxt is not None:
            nxt.addprevious(ref)
        else:
            owner.append(ref)


def _is_datetime(value) -> bool:
    import datetime as _dt

    try:
        _dt.datetime.fromisoformat(str(value))
    except ValueError:
        return False
    return bool(value)


def _zip_bytes(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name in sorted(entries, key=lambda n: (n != "project.qde", n)):
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, entries[name])
    return buf.getvalue()


def export_project(corpus: Corpus, book: Codebook, out: str | Path,
                   codings_folder: str | Path | None = None) -> dict:
    """Write the corpus, codebook and codings as a REFI-QDA project (``.qdpx``).

    The archive is checked with :func:`check_qdpx` before it replaces
    ``out``: a project that would not read back is never written.

    Returns
    -------
    dict
        ``{"path", "sources", "codings", "users", "problems"}`` where
        ``problems`` are the codings-store problems (bad lines are skipped).

    Examples
    --------
    >>> corpus = load_corpus("corpus")  # doctest: +SKIP
    >>> export_project(corpus, load_codebook(), "projet.qdpx")["sources"]  # doctest: +SKIP
    32
    """
    from analyse.model.memos import MemoStore, memos_path

    codings = load_codings(corpus, book, codings_folder)
    frame = codings.frame[codings.frame["code"].isin(list(book.codes))]
    memos = MemoStore(memos_path(corpus.root)).records()
    xml, texts = project_qde(corpus, book, frame, codings.coverage, memos)
    entries = {"project.qde": xml}
    entries.update({name: text.encode("utf-8") for name, text in texts.items()})
    data = _zip_bytes(entries)
    problems = check_qdpx(io.BytesIO(data), label=str(out))
    if problems.errors:
        first = problems.errors[0]
        raise AnalyseError(msg("refi.self_check", message=first.message), first.path, first.line,
                           hint=msg("refi.self_check_hint", n=len(problems.errors)))
    _write_atomic(Path(out), data)
    project = etree.fromstring(xml)
    return {"path": Path(out), "sources": len(texts),
            "codings": len(project.findall(f".//{_p('Coding')}")), "memos": len(memos),
            "users": len(project.findall(f"{_p('Users')}/{_p('User')}")),
            "problems": codings.problems}


# ---------------------------------------------------------------- checks

def check_qdpx(source, label: str | None = None) -> Problems:
    """Check what the XML schema cannot: references, uniqueness, paths, quotes.

    - every ``guid`` is unique;
    - every ``CodeRef``/``SourceRef``/``VariableRef``/``MemberSource``/
      ``MemberCode`` target and every user attribute resolves;
    - every ``internal://`` path is an entry of the archive;
    - every ``PlainTextSelection`` lies inside its text and, when the project
      is ours, ``text[start:end]`` equals the selection's ``name`` (the quote).

    Parameters
    ----------
    source : path or binary file
        The ``.qdpx``.
    label : str, optional
        Name used in problem messages (default: the path).

    Examples
    --------
    >>> check_qdpx("projet.qdpx").errors  # doctest: +SKIP
    []
    """
    label = label or str(source)
    problems = Problems()
    zf, qde_name = _open_zip(source, label)
    where = f"{label}:{qde_name}"
    root = _parse_xml(_read_entry(zf, qde_name, where), where)
    if etree.QName(root).localname != "Project":
        problems.add(where, msg("refi.root_not_project", name=etree.QName(root).localname))
        return problems
    guids: dict[str, int] = {}
    kinds: dict[str, set[str]] = {"Code": set(), "User": set(), "Source": set(), "Variable": set(),
                                  "Selection": set()}
    for el in root.iter(etree.Element):
        g = el.get("guid")
        if g is None:
            continue
        g = norm_guid(g)
        if g in guids:
            problems.add(where, msg("refi.guid_twice", guid=g, first=guids[g], second=el.sourceline), el.sourceline)
        guids[g] = el.sourceline
        name = etree.QName(el).localname
        if name.endswith("Source"):
            kinds["Source"].add(g)
        elif name.endswith("Selection"):
            kinds["Selection"].add(g)
        elif name in kinds:
            kinds[name].add(g)
    refs = {"CodeRef": "Code", "MemberCode": "Code", "SourceRef": "Source", "MemberSource": "Source",
            "VariableRef": "Variable", "SelectionRef": "Selection"}
    for el in root.iter(etree.Element):
        name = etree.QName(el).localname
        if name in refs and norm_guid(el.get("targetGUID")) not in kinds[refs[name]]:
            problems.add(where, msg("refi.unknown_target", element=name, kind=refs[name],
                                     guid=el.get("targetGUID")), el.sourceline)
        for attr in ("creatingUser", "modifyingUser", "creatingUserGUID", "modifyingUserGUID"):
            if el.get(attr) is not None and norm_guid(el.get(attr)) not in kinds["User"]:
                problems.add(where, msg("refi.not_user", attr=attr, value=el.get(attr)), el.sourceline)
    ours = (root.get("origin") or "").startswith("Balises")
    entries = _entry_index(zf)
    for el in root.iter(etree.Element):
        for attr in ("plainTextPath", "richTextPath", "path"):
            value = el.get(attr)
            if value and value.startswith("internal://") and _find_entry(entries, value) is None:
                problems.add(where, msg("refi.not_in_archive", attr=attr, value=value), el.sourceline)
    for src in root.iter(_p("TextSource")):
        text = _source_text(zf, entries, src, where, problems)
        if text is None:
            continue
        for sel in src.findall(_p("PlainTextSelection")):
            start, end = _int_attr(sel, "startPosition"), _int_attr(sel, "endPosition")
            if start is None or end is None or not 0 <= start < end <= len(text):
                problems.add(where, msg("refi.selection_outside", start=sel.get("startPosition"), end=sel.get("endPosition"),
                                         source=src.get("name"), n=len(text)), sel.sourceline)
            elif ours and sel.get("name") is not None and text[start:end] != sel.get("name"):
                problems.add(where, msg("refi.selection_quote", start=start, end=end, source=src.get("name")),
                             sel.sourceline)
    return problems


def _int_attr(el, name: str) -> int | None:
    try:
        return int(el.get(name))
    except (TypeError, ValueError):
        return None


# ---------------------------------------------------------------- reading

@dataclass
class RefiCode:
    guid: str
    name: str
    path: tuple[str, ...]  # names from the top-level code down to this one
    description: str = ""
    codable: bool = True


@dataclass
class RefiCoding:
    code: str  # code GUID (normalised)
    user: str  # user GUID (normalised), "" if none
    at: str


@dataclass
class RefiSelection:
    guid: str
    start: int  # code points into RefiSource.text (BOM dropped, LF line ends)
    end: int
    name: str
    memo: str
    codings: list[RefiCoding]
    line: int | None


@dataclass
class RefiSource:
    guid: str
    name: str
    text: str | None  # None when the source has no readable plain text
    selections: list[RefiSelection] = field(default_factory=list)


@dataclass
class RefiProject:
    """What an imported ``.qdpx`` or ``.qdc`` holds, offsets already in code points."""

    path: str
    kind: str  # "project" or "codebook"
    origin: str
    users: dict[str, dict]  # guid -> {"name", "id"}
    codes: dict[str, RefiCode]
    sources: list[RefiSource]
    sets: dict[str, list[str]]  # set name -> member source GUIDs
    unit: str  # how the positions were counted: "codepoints", "utf16" or "utf8" (Taguette)
    problems: Problems = field(default_factory=Problems)

    @property
    def selections(self) -> int:
        return sum(len(s.selections) for s in self.sources)


def _open_zip(source, label: str) -> tuple[zipfile.ZipFile, str]:
    try:
        zf = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as exc:
        raise AnalyseError(msg("refi.not_zip", error=msg("zip.not_zip") if isinstance(exc, zipfile.BadZipFile) else exc), label, hint=msg("refi.not_zip_hint")) from None
    _check_sizes(zf, label)
    names = [i.filename for i in zf.infolist() if not i.is_dir()]
    top = [n for n in names if "/" not in n and n.lower().endswith(".qde")]
    # The standard names it project.qde; ATLAS.ti writes Project.qde or <project name>.qde.
    exact = [n for n in top if n.lower() == "project.qde"]
    if exact:
        return zf, exact[0]
    if len(top) == 1:
        return zf, top[0]
    raise AnalyseError(msg("refi.no_qde") if not top else msg("refi.several_qde", names=", ".join(sorted(top))),
                       label, hint=msg("refi.qde_hint"))


MAX_ENTRY_BYTES = 256 * 1024 * 1024      # one source text or project.qde, uncompressed
MAX_ARCHIVE_BYTES = 1024 * 1024 * 1024   # the whole archive, uncompressed


def _check_sizes(zf: zipfile.ZipFile, label: str) -> None:
    total = sum(i.file_size for i in zf.infolist())
    if total > MAX_ARCHIVE_BYTES:
        raise AnalyseError(f"archive refusée : elle se décompresse en {total / 2**20:.0f} Mio (plus que "
                           f"{MAX_ARCHIVE_BYTES / 2**20:.0f} Mio)", label,
                           hint="un projet de codage n'est jamais si gros : vérifier la provenance du fichier, "
                                "ou l'exporter sans les médias (audio, vidéo, images)")


def _read_entry(zf: zipfile.ZipFile, name: str, where: str) -> bytes:
    """An entry of the archive, read by pieces and refused past :data:`MAX_ENTRY_BYTES`
    (the size written in the archive's directory can lie: the bytes are counted)."""
    info = zf.getinfo(name)
    hint = ("un texte ou un project.qde n'est jamais si gros : vérifier la provenance du fichier, "
            "ou l'exporter sans les médias")
    if info.file_size > MAX_ENTRY_BYTES:
        raise AnalyseError(f"élément « {name} » refusé : {info.file_size / 2**20:.0f} Mio une fois décompressé "
                           f"(limite {MAX_ENTRY_BYTES / 2**20:.0f} Mio)", where, hint=hint)
    chunks, size = [], 0
    with zf.open(info) as fh:
        while True:
            chunk = fh.read(1 << 20)
            if not chunk:
                break
            size += len(chunk)
            if size > MAX_ENTRY_BYTES:
                raise AnalyseError(f"élément « {name} » refusé : plus de {MAX_ENTRY_BYTES / 2**20:.0f} Mio une "
                                   "fois décompressé", where, hint=hint)
            chunks.append(chunk)
    return b"".join(chunks)


def _parse_xml(data: bytes, where: str):
    # No QDA tool declares entities in project.qde: a declaration is an attack (billion laughs, a
    # local file read through an external entity) or a forgery, refused before any parsing.
    at = data.find(b"<!ENTITY", 0, 1 << 20)
    if at >= 0:
        raise AnalyseError(msg("refi.entities"), where, data[:at].count(b"\n") + 1, hint=msg("refi.entities_hint"))
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
    try:
        return etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise AnalyseError(msg("refi.bad_xml", error=exc.msg), where, exc.lineno,
                           hint=msg("refi.bad_xml_hint")) from None


def _entry_index(zf: zipfile.ZipFile) -> dict[str, str]:
    """``{lowercased entry name: entry name}``: NVivo Mac writes ``sources/``, others ``Sources/``."""
    return {i.filename.lower(): i.filename for i in zf.infolist() if not i.is_dir()}


def _find_entry(entries: dict[str, str], internal: str) -> str | None:
    rel = internal[len("internal://"):].lstrip("/")
    for candidate in (f"sources/{rel}", rel):
        if candidate.lower() in entries:
            return entries[candidate.lower()]
    return None


def _decode_text(raw: bytes, where: str) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise AnalyseError(msg("refi.source_not_utf8", offset=exc.start), where,
                           hint=msg("refi.source_not_utf8_hint")) from None
    return text[1:] if text.startswith("\ufeff") else text


def _source_text(zf, entries, src, where: str, problems: Problems) -> str | None:
    """The raw text of a TextSource (BOM dropped, line ends kept), or None."""
    content = src.find(_p("PlainTextContent"))
    if content is not None:
        return content.text or ""
    path = src.get("plainTextPath")
    if not path:
        return None
    if not path.startswith("internal://"):
        problems.add(where, msg("refi.source_outside", source=src.get("name"), path=path),
                     src.sourceline, severity="warning")
        return None
    entry = _find_entry(entries, path)
    if entry is None:
        problems.add(where, msg("refi.source_missing", path=path, source=src.get("name")),
                     src.sourceline, hint=msg("refi.source_missing_hint"), severity="warning")
        return None
    return _decode_text(_read_entry(zf, entry, where), f"{where}:{entry}")


class OffsetConverter:
    """Turn positions counted on a raw source text into code points of its LF-normalised text.

    NVivo counts positions in UTF-16 code units (an emoji counts 2) on the
    text with its CRs (CRLF counts 2); the standard and the other tools count
    characters. Either way the result indexes ``normalised``, the text with
    CRLF and lone CR turned into LF, which is how the corpus stores bodies.

    Examples
    --------
    >>> conv = OffsetConverter("a😀b\\r\\nc", "utf16")
    >>> conv.normalised
    'a😀b\\nc'
    >>> conv(5), conv(6)  # UTF-16: a=0, 😀=1-2, b=3, CR=4, LF=5, c=6
    (3, 4)
    """

    def __init__(self, raw: str, unit: str = "codepoints"):
        self.raw = raw
        self.unit = unit
        self.normalised = raw.replace("\r\n", "\n").replace("\r", "\n")
        # Positions (in code points of raw) of each CR that is dropped (CR of a CRLF).
        self._dropped = [m.start() for m in re.finditer("\r\n", raw)]
        self._u2c: list[int] | None = None
        if unit == "utf16" and any(ord(c) > 0xFFFF for c in raw):
            # Hand-written because no library maps UTF-16 unit indices back to
            # str indices; one pass over the text, then O(1) per position.
            u2c = []
            for i, c in enumerate(raw):
                u2c.append(i)
                if ord(c) > 0xFFFF:
                    u2c.append(i)  # the low surrogate belongs to the same character
            u2c.append(len(raw))
            self._u2c = u2c
        self.length = (len(self._u2c) - 1) if self._u2c is not None else len(raw)

    def __call__(self, pos: int) -> int:
        if not 0 <= pos <= self.length:
            raise IndexError(pos)
        cp = self._u2c[pos] if self._u2c is not None else pos
        return cp - bisect.bisect_left(self._dropped, cp)


def _codes_of(parent, ns: str, path: tuple[str, ...], out: dict[str, RefiCode]) -> None:
    for el in parent.findall(f"{{{ns}}}Code"):
        name = el.get("name") or ""
        desc = el.find(f"{{{ns}}}Description")
        code = RefiCode(norm_guid(el.get("guid")), name, path + (name,),
                        (desc.text or "") if desc is not None else "",
                        (el.get("isCodable") or "true").strip().lower() in ("true", "1"))
        out[code.guid] = code
        _codes_of(el, ns, code.path, out)


def _detect_unit(origin: str, unit: str) -> str:
    check_choice("offsets", unit, OFFSET_UNITS)
    if unit != "auto":
        return unit
    # NVivo (Windows and Mac) counts UTF-16 code units: see shared/refi-qda/SOURCES.md.
    return "utf16" if origin.lower().startswith("nvivo") else "codepoints"


def read_project(path: str | Path, offsets: str = "auto") -> RefiProject:
    """Read a REFI-QDA project (``.qdpx``) or codebook (``.qdc``) from any tool.

    A Taguette project export (``.sqlite3``, recognised by its content) is
    read by :func:`analyse.exchange.taguette.read_export` into the same structure.

    Parameters
    ----------
    path : path
        The ``.qdpx`` archive, or a ``.qdc`` / ``.qde`` XML file.
    offsets : {"auto", "codepoints", "utf16"}
        How the tool counted selection positions; ``auto`` means UTF-16 for
        NVivo, code points otherwise.

    Returns
    -------
    RefiProject
        Selections carry code-point offsets into the LF-normalised text.

    Raises
    ------
    AnalyseError
        The file is not a zip/XML, is not REFI-QDA, or a selection lies
        outside its text (the message names the file and line).

    Examples
    --------
    >>> p = read_project("../shared/refi-qda/samples/taguette-1.5.2-codebook.qdc")  # doctest: +SKIP
    >>> sorted(c.name for c in p.codes.values())  # doctest: +SKIP
    ['economy', 'economy.rent', 'interesting']
    """
    path = Path(path)
    label = str(path)
    if not path.is_file():
        raise UsageError(msg("no_such_file"), label)
    _detect_unit("", offsets)  # a bad --offsets value is refused whatever the file
    if is_taguette_export(path):
        # Taguette has no .qdpx export; its project export (SQLite) holds the highlights.
        return read_taguette_export(path)
    with open(path, "rb") as fh:
        is_zip = fh.read(4) == b"PK\x03\x04"
    zf = None
    if is_zip or path.suffix.lower() == ".qdpx":
        zf, qde = _open_zip(path, label)
        where = f"{label}:{qde}"
        root = _parse_xml(_read_entry(zf, qde, where), where)
    else:
        where = label
        if path.suffix.lower() in (".sqlite3", ".sqlite", ".db"):
            raise AnalyseError("ce fichier n'est pas une base SQLite (un export de projet Taguette) malgré son "
                               "extension", label, hint="dans Taguette, « Exporter le projet » donne le bon "
                                                        "fichier .sqlite3 ; ne pas le renommer ni l'ouvrir dans "
                                                        "un éditeur de texte")
        if path.stat().st_size > MAX_ENTRY_BYTES:
            raise AnalyseError(f"fichier refusé : plus de {MAX_ENTRY_BYTES / 2**20:.0f} Mio", label,
                               hint="une grille ou un projet REFI-QDA n'est jamais si gros")
        root = _parse_xml(path.read_bytes(), where)
    qname = etree.QName(root)
    if (qname.namespace, qname.localname) == (CODEBOOK_NS, "CodeBook"):
        codes: dict[str, RefiCode] = {}
        codes_el = root.find(f"{{{CODEBOOK_NS}}}Codes")
        if codes_el is not None:
            _codes_of(codes_el, CODEBOOK_NS, (), codes)
        return RefiProject(label, "codebook", root.get("origin") or "", {}, codes, [], {},
                           "codepoints")
    if (qname.namespace, qname.localname) != (PROJECT_NS, "Project"):
        raise AnalyseError(msg("refi.not_project", name=qname.localname, namespace=qname.namespace or ""),
                           where, root.sourceline, hint=msg("refi.not_project_hint", namespace=PROJECT_NS))
    origin = root.get("origin") or ""
    unit = _detect_unit(origin, offsets)
    problems = Problems()
    users = {norm_guid(u.get("guid")): {"name": u.get("name") or "", "id": u.get("id") or ""}
             for u in root.iter(_p("User"))}
    codes = {}
    codes_el = root.find(f"{_p('CodeBook')}/{_p('Codes')}")
    if codes_el is not None:
        _codes_of(codes_el, PROJECT_NS, (), codes)
    entries = _entry_index(zf) if zf is not None else {}
    sources: list[RefiSource] = []
    sources_el = root.find(_p("Sources"))
    for src in (sources_el.findall(_p("TextSource")) if sources_el is not None else []):
        raw = _source_text(zf, entries, src, where, problems) if zf is not None else None
        if raw is None and src.find(_p("PlainTextContent")) is not None:
            raw = src.find(_p("PlainTextContent")).text or ""
        conv = OffsetConverter(raw, unit) if raw is not None else None
        source = RefiSource(norm_guid(src.get("guid")), src.get("name") or "",
                            conv.normalised if conv else None)
        default_user = norm_guid(src.get("creatingUser"))
        for sel in src.findall(_p("PlainTextSelection")):
            start, end = _int_attr(sel, "startPosition"), _int_attr(sel, "endPosition")
            if start is None or end is None:
                problems.add(where, msg("refi.selection_no_int"), sel.sourceline)
                continue
            if conv is None:
                if sel.findall(_p("Coding")):
                    problems.add(where, msg("refi.selection_no_text", start=start, end=end, source=source.name),
                                 sel.sourceline, severity="warning")
                continue
            try:
                s, e = conv(start), conv(end)
            except IndexError:
                problems.add(where, msg("refi.selection_beyond", start=start, end=end, source=source.name,
                                         n=conv.length, unit=unit), sel.sourceline,
                             hint=msg("refi.selection_beyond_hint"))
                continue
            if e <= s:
                problems.add(where, msg("refi.selection_empty", start=start, end=end, source=source.name),
                             sel.sourceline)
                continue
            sel_user = norm_guid(sel.get("creatingUser")) or default_user
            codings = []
            for c in sel.findall(_p("Coding")):
                ref = c.find(_p("CodeRef"))
                if ref is None:
                    continue
                codings.append(RefiCoding(norm_guid(ref.get("targetGUID")),
                                          norm_guid(c.get("creatingUser")) or sel_user,
                                          c.get("creationDateTime") or sel.get("creationDateTime") or ""))
            desc = sel.find(_p("Description"))
            source.selections.append(RefiSelection(
                norm_guid(sel.get("guid")), s, e, sel.get("name") or "",
                (desc.text or "").strip() if desc is not None else "", codings, sel.sourceline))
        sources.append(source)
    media = [el for tag in ("PictureSelection", "PDFSelection", "AudioSelection", "VideoSelection",
                            "TranscriptSelection") for el in root.iter(_p(tag)) if el.find(_p("Coding")) is not None]
    if media:
        problems.add(where, msg("refi.media", n=len(media)), media[0].sourceline, severity="warning")
    sets = {}
    for s in root.iter(_p("Set")):
        sets[s.get("name") or ""] = [norm_guid(m.get("targetGUID")) for m in s.findall(_p("MemberSource"))]
    return RefiProject(label, "project", origin, users, codes, sources, sets, unit, problems)


# ---------------------------------------------------------------- mapping and import

def match_code(code: RefiCode, book: Codebook, by_guid: dict[str, str] | None = None) -> str | None:
    """The codebook id a foreign code stands for, or None.

    Tried in order: our own GUID; the name as an id; a name starting with an
    id (``"ENG.1 S'inscrire…"``, our export); the name as a label (case and
    spacing ignored). ATLAS.ti writes hierarchy in names (``Parent::child``),
    so the last part is tried too.

    Examples
    --------
    >>> book = load_codebook("codebook/balises.yaml")  # doctest: +SKIP
    >>> match_code(RefiCode("x", "ENG::ENG.1", ("ENG::ENG.1",)), book)  # doctest: +SKIP
    'ENG.1'
    """
    if by_guid is None:
        by_guid = _our_guids(book)
    if code.guid in by_guid:
        return by_guid[code.guid]
    labels = {_fold(c.label): c.id for c in book.codes.values()}
    candidates = [code.name]
    if "::" in code.name:
        candidates.append(code.name.split("::")[-1])
    for cand in candidates:
        cand = cand.strip()
        if cand in book.codes:
            return cand
        head = cand.split(None, 1)[0] if cand.split() else ""
        if head in book.codes:
            return head
        if _fold(cand) in labels:
            return labels[_fold(cand)]
    return None


def _our_guids(book: Codebook) -> dict[str, str | None]:
    """GUIDs of our export: code GUID -> id; dimension GUID -> None (a dimension is not a code,
    even when a transverse balise shares its id, as MGT and ECH do)."""
    guids: dict[str, str | None] = {guid_for("dimension", d): None for d in book.dimensions}
    guids.update({guid_for("code", cid): cid for cid in book.codes})
    return guids


def _fold(text: str) -> str:
    return " ".join(text.casefold().replace("’", "'").split())


def match_source(source: RefiSource, corpus: Corpus) -> str | None:
    """The corpus document a foreign source is: by name (doc id or title), then by text."""
    name = source.name.strip()
    stem = re.sub(r"\.(txt|md|docx?|pdf)$", "", name, flags=re.I)
    for cand in (name, stem):
        if cand in corpus.documents:
            return cand
    for doc in corpus.documents.values():
        if name and _fold(doc.title) in (_fold(name), _fold(stem)):
            return doc.id
    if source.text is not None:
        text = source.text.strip()
        for doc in corpus.documents.values():
            if doc.body.strip() == text:
                return doc.id
    return None


@dataclass
class ImportReport:
    """What an import found and (unless dry-run) wrote."""

    path: str
    records: dict[str, list[dict]]  # coder -> coding and coverage records to write
    written: dict[str, int]
    duplicates: dict[str, int]
    unknown_codes: dict[str, int]  # foreign code name -> codings using it
    unmatched_sources: list[str]
    skipped_users: dict[str, int]  # foreign user name -> codings not imported
    codes_mapped: dict[str, str]  # foreign code name -> codebook id
    problems: Problems

    def summary(self) -> str:
        lines = []
        for coder in sorted(set(self.records) | set(self.duplicates)):
            recs = self.records.get(coder, [])
            n = sum(1 for r in recs if r.get("type") != "coverage")
            cov = len(recs) - n
            lines.append(msg("refi.sum.coder", coder=coder, n=n, coverage=cov)
                         + (msg("refi.sum.already", n=self.duplicates.get(coder, 0)) if self.duplicates.get(coder) else ""))
        lines.append(msg("refi.sum.totals", mapped=len(self.codes_mapped), unknown=len(self.unknown_codes),
                         unmatched=len(self.unmatched_sources)))
        unused = sum(1 for n in self.unknown_codes.values() if not n)
        for name, n in sorted(self.unknown_codes.items()):
            if n:
                lines.append(msg("refi.sum.unknown_code", name=name, n=n))
        if unused:
            lines.append(msg("refi.sum.unused_codes", n=unused))
        for name in self.unmatched_sources:
            lines.append(msg("refi.sum.unmatched_source", name=name))
        for name, n in sorted(self.skipped_users.items()):
            lines.append(msg("refi.sum.skipped_user", name=name, n=n))
        return "\n".join(lines)


def parse_coder_map(items: list[str] | None) -> dict[str, str]:
    """``["Gergo=A", …]`` -> ``{"Gergo": "A"}`` (the value must be a valid coder id)."""
    result = {}
    for item in items or []:
        if "=" not in item:
            raise UsageError(msg("refi.bad_coder_map", item=item), hint=msg("refi.bad_coder_map_hint"))
        other, coder = item.rsplit("=", 1)
        result[other.strip()] = check_coder_id(coder.strip())
    return result


def _coder_for(user_guid: str, users: dict[str, dict], coder_map: dict[str, str]) -> str | None:
    user = users.get(user_guid, {"name": "", "id": ""})
    keys = [user["name"], user["id"], user_guid]
    if coder_map:
        for k in keys:
            if k and k in coder_map:
                return coder_map[k]
        return None
    if user_guid == ATLAS_PSEUDO_USER:
        return None
    for k in (user["name"], user["id"]):
        if k:
            try:
                return check_coder_id(k)
            except UsageError:
                continue
    return None


def plan_import(project: RefiProject, corpus: Corpus, book: Codebook,
                coder_map: dict[str, str] | None = None,
                store: CodingStore | None = None) -> ImportReport:
    """Map a read project onto the corpus and codebook; nothing is written.

    Codings whose code, source or user cannot be mapped are counted in the
    report, never dropped silently. Codings already in a coder's file (same
    doc, start, end, code) are not planned again, so re-importing is harmless.
    """
    coder_map = coder_map or {}
    problems = Problems()
    problems.extend(project.problems)
    known_users = {k for u in project.users.values() for k in (u["name"], u["id"]) if k}
    known_users |= set(project.users)
    for other in coder_map:
        if other not in known_users:
            raise UsageError(msg("refi.no_user", user=other, path=project.path),
                             hint=msg("refi.users_hint", users=", ".join(sorted(u["name"] for u in project.users.values()))
                                      or msg("none")))
    by_guid = _our_guids(book)
    mapped: dict[str, str | None] = {g: match_code(c, book, by_guid) for g, c in project.codes.items()}
    codes_mapped = {project.codes[g].name: cid for g, cid in mapped.items() if cid}
    unknown: dict[str, int] = {}
    for g, cid in mapped.items():
        if cid is None and project.codes[g].codable:
            unknown.setdefault("::".join(project.codes[g].path), 0)
    docs = {s.guid: match_source(s, corpus) for s in project.sources}
    unmatched = [s.name for s in project.sources if docs[s.guid] is None]
    records: dict[str, list[dict]] = {}
    skipped_users: dict[str, int] = {}
    existing: dict[str, set] = {}
    duplicates: dict[str, int] = {}
    for source in project.sources:
        doc_id = docs[source.guid]
        if doc_id is None:
            continue
        body = corpus.documents[doc_id].body
        for sel in source.selections:
            s, e = sel.start, sel.end
            quote = source.text[s:e]
            if source.text != body:
                # Same document, different text (edited since, or exported with
                # other line ends): place the quote at its nearest occurrence.
                hits = [m.start() for m in re.finditer(re.escape(quote), body)]
                if not hits:
                    problems.add(project.path, msg("refi.quote_not_found", start=s, end=e, doc=doc_id), sel.line,
                                 severity="warning")
                    continue
                s = min(hits, key=lambda h: abs(h - s))
                e = s + len(quote)
            for c in sel.codings:
                code = project.codes.get(c.code)
                cid = mapped.get(c.code)
                if cid is None:
                    name = "::".join(code.path) if code else f"GUID {c.code}"
                    unknown[name] = unknown.get(name, 0) + 1
                    continue
                coder = _coder_for(c.user, project.users, coder_map)
                if coder is None:
                    uname = project.users.get(c.user, {}).get("name") or c.user or msg("refi.no_user_name")
                    skipped_users[uname] = skipped_users.get(uname, 0) + 1
                    continue
                if coder not in existing:
                    existing[coder] = _existing_keys(store, coder)
                key = (doc_id, s, e, cid)
                if key in existing[coder]:
                    duplicates[coder] = duplicates.get(coder, 0) + 1
                    continue
                existing[coder].add(key)
                memo, valence = split_valence_memo(sel.memo)
                records.setdefault(coder, []).append({
                    "doc": doc_id, "start": s, "end": e, "quote": body[s:e], "code": cid, "coder": coder,
                    "at": c.at or now_iso(), "origin": "human", "score": None, "memo": memo,
                    **({"valence": valence} if valence != VALENCES[0] else {}),
                    # the codes were matched against this codebook
                    **({"codebook_version": str(book.version)} if book.version else {})})
    # Coverage sets (ours): "coverage:<user name>" -> the mapped coder covers those documents.
    users_by_name = {u["name"]: g for g, u in project.users.items()}
    for set_name, members in sorted(project.sets.items()):
        if not set_name.startswith(COVERAGE_SET):
            continue
        uname = set_name[len(COVERAGE_SET):]
        coder = _coder_for(users_by_name.get(uname, ""), project.users, coder_map) if uname in users_by_name else None
        if coder is None:
            continue
        for g in members:
            if docs.get(g):
                if ("coverage", docs[g]) in existing.setdefault(coder, _existing_keys(store, coder)):
                    continue
                records.setdefault(coder, []).append({"type": "coverage", "doc": docs[g], "coder": coder,
                                                      "at": now_iso()})
    return ImportReport(project.path, records, {}, duplicates, unknown, unmatched, skipped_users,
                        codes_mapped, problems)


def _existing_keys(store: CodingStore | None, coder: str) -> set:
    keys: set = set()
    for rec in store.records(coder) if store is not None else []:
        if rec.get("type") == "coverage":
            keys.add(("coverage", rec.get("doc")))
        else:
            keys.add((rec.get("doc"), rec.get("start"), rec.get("end"), rec.get("code")))
    return keys


def import_project(path: str | Path, corpus: Corpus, book: Codebook, codings_folder: str | Path,
                   coder_map: dict[str, str] | None = None, dry_run: bool = False,
                   offsets: str = "auto") -> ImportReport:
    """Import the codings of a REFI-QDA project into the codings store.

    All or nothing: the project is read and mapped completely first; if any
    error was found (a selection beyond its text, a broken file...) an
    :class:`~analyse.errors.AnalyseError` is raised and no coder file changes.

    Parameters
    ----------
    path : path
        ``.qdpx`` (or ``.qdc``: codes are mapped and reported, nothing written).
    corpus, book : the project's corpus and codebook.
    codings_folder : path
        The codings store (``corpus/codings``).
    coder_map : dict, optional
        ``{foreign user name, id or GUID: coder id}``. When given, only these
        users are imported; otherwise users whose name is a valid coder id
        keep it.
    dry_run : bool
        Report what would be written, write nothing.
    offsets : {"auto", "codepoints", "utf16"}

    Examples
    --------
    >>> r = import_project("projet.qdpx", corpus, book, "corpus/codings",
    ...                    coder_map={"A": "A2"}, dry_run=True)  # doctest: +SKIP
    >>> sorted(r.records)  # doctest: +SKIP
    ['A2']
    """
    project = read_project(path, offsets)
    if project.origin == "Taguette" and not coder_map:
        raise UsageError(msg("refi.taguette_who"), str(path), hint=msg("refi.taguette_who_hint", user=TAGUETTE_USER))
    store = CodingStore(codings_folder)
    report = plan_import(project, corpus, book, coder_map, store)
    errors = report.problems.errors
    if errors:
        first = errors[0]
        more = msg("refi.more_errors", n=len(errors) - 1) if len(errors) > 1 else ""
        raise AnalyseError(first.message, first.path, first.line,
                           hint=(first.hint + " ; " if first.hint else "") + msg("refi.nothing_imported") + more)
    if not dry_run:
        # All coders' files together: a failure leaves every one of them unchanged.
        report.written = store.append_many(report.records)
    return report
